"""一张屏: sensor and camera alarms, true and false (F6.6, F1.4).

Cameras and sensors (Yongchuan: 2.5万 cameras, 29万 sensing resources, 2,886 mapped
risk points, F6.6) detect a share ``detection.sensor_coverage_share`` of the
public-space problems and sensor-visible needs nobody reported; those alarms become
``sensor`` cases (model/casework.py). They also raise *false alarms* (误报): an alarm
with no problem behind it, ``detection.false_alarms_per_grid_per_day_at_full_coverage``
per grid per day at full coverage, scaling with coverage. A false alarm is not a case
(no need behind it, nobody waits, rates or calls again), but it costs staff time: the
district centre registers and reviews it, and after the hand-off a grid worker goes to
the site to check and finds nothing. Those hours take the same desks and grid teams
as cases do, and are counted as they are spent: a review's hours when the centre has
reviewed the alarm, a check's when the grid worker is back. A false alarm of the measured
period whose check has not finished when the run ends is counted open
(``false_alarm_checks_open``), so that every false alarm is either checked or open
(docs/design.md "One thing and one screen").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.calendar import WorkCalendar
from model.events import EventCalendar
from model.geography import Geography
from model.parameters import ModelParameters

if TYPE_CHECKING:  # the outcome registry imports this module: no agents, no Mesa (issue 11)
    from model.units import Units


class FalseAlarm:
    """One false alarm on its way: its grid, whether it is measured, its check's hours."""

    __slots__ = ("check_hours", "grid", "measured")

    def __init__(self, grid: int, measured: bool) -> None:
        self.grid = grid
        self.measured = measured
        self.check_hours = 0.0


class SensorNetwork:
    """Raises each day's false alarms and sends a grid worker to check each one.

    Args:
        parameters: detection, offices, coordination and time limits of the run.
        calendar, events: working hours and the event calendar.
        units: the district centre (registers alarms) and the grid teams (check them).
        geography: the grid travel of community types.
        rng: the ``sensors`` stream.
        warmup_days: alarms raised before this day are not counted in the outcomes.
    """

    def __init__(
        self,
        parameters: ModelParameters,
        calendar: WorkCalendar,
        events: EventCalendar,
        units: Units,
        geography: Geography,
        rng: np.random.Generator,
        warmup_days: int,
    ) -> None:
        d = parameters.detection
        self.rate_per_grid = (
            d.sensor_coverage_share * d.false_alarms_per_grid_per_day_at_full_coverage
        )
        self.review_hours = parameters.offices.centre_review_hours
        self.check_hours = parameters.offices.verification_hours
        self.handoff_hours = parameters.coordination.handoff_delay_hours
        self.limit_days = parameters.time_limits.sensor
        self.calendar = calendar
        self.events = events
        self.units = units
        self.geography = geography
        self.rng = rng
        self.warmup_days = warmup_days
        self.false_alarms = 0  # raised in the measured period
        # staff hours on them (reviews and checks finished so far), measured period
        self.false_alarm_hours = 0.0
        self.checks_open = 0  # false alarms of the measured period whose check has not finished

    def raise_false_alarms(self, day: int) -> None:
        """Today's false alarms, each at its time of day in a random grid."""
        if self.rate_per_grid <= 0:
            return
        grids = self.geography.n_grids
        n = int(self.rng.poisson(self.rate_per_grid * grids))
        if n == 0:
            return
        times = np.sort(day + self.rng.random(n)).tolist()
        where = self.rng.integers(0, grids, n).tolist()
        measured = day >= self.warmup_days
        self.false_alarms += n if measured else 0
        self.checks_open += n if measured else 0
        for t, g in zip(times, where, strict=True):
            self.events.schedule(t, self._register, FalseAlarm(g, measured))

    def _register(self, alarm: FalseAlarm) -> None:
        """The district centre registers the alarm and dispatches a check (F6.5)."""
        deadline = self.calendar.add_working_days(self.events.now, self.limit_days)
        self.units.centre.station.arrive(self.review_hours, self._dispatch, alarm, deadline)

    def _dispatch(self, alarm: FalseAlarm) -> None:
        """Reviewed (its hours are spent): handed to the grid worker of the alarm's grid."""
        if alarm.measured:
            self.false_alarm_hours += self.review_hours
        at = self.calendar.add_working_hours(self.events.now, self.handoff_hours)
        self.events.schedule(at, self._check, alarm)

    def _check(self, alarm: FalseAlarm) -> None:
        """A grid worker of the alarm's grid goes on site, and finds nothing."""
        travel = self.geography.grid_travel_hours
        hours = self.check_hours + (travel[alarm.grid] if travel else 0.0)
        alarm.check_hours = hours
        deadline = self.calendar.add_working_days(self.events.now, self.limit_days)
        self.units.grid_workers[alarm.grid].station.arrive(hours, self._checked, alarm, deadline)

    def _checked(self, alarm: FalseAlarm) -> None:
        """Checked (its hours are spent): nothing found, the alarm is closed."""
        if alarm.measured:
            self.checks_open -= 1
            self.false_alarm_hours += alarm.check_hours


def sensor_outcomes(
    network: SensorNetwork, true_alarms: int, patrol_found: int
) -> dict[str, float]:
    """一张屏 outcomes of the measured period, from its cases found by sensors
    (``true_alarms``) and by patrols: alarms (true and false), false alarms, the staff
    hours spent on them so far, those whose check is still open at the end, the false
    share of alarms, and the share of found problems that sensors found (patrols the
    rest)."""
    found = true_alarms + patrol_found
    alarms = true_alarms + network.false_alarms
    return {
        "sensor_alarms": float(alarms),
        "false_alarms": float(network.false_alarms),
        "false_alarm_hours": float(network.false_alarm_hours),
        "false_alarm_checks_open": float(network.checks_open),
        "false_alarm_share": network.false_alarms / alarms if alarms else float("nan"),
        "sensor_detection_share": true_alarms / found if found else float("nan"),
    }
