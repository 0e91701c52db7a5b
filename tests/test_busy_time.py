"""Staff hours within the measured period: a job's hours cut at the period's edges
(model/busy_time.py; docs/design.md "Busy hours within the measured period")."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.scenario_files import apply_overrides, load_scenario
from model.busy_time import unfinished_hours
from model.calendar import WorkCalendar
from model.events import EventCalendar
from model.governance import GovernanceModel
from model.stations import Station

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _office() -> WorkCalendar:
    """Eight working hours a day, Monday to Friday, day 0 a Monday."""
    return WorkCalendar(8.0, 5, 0, horizon_days=30)


def test_a_job_in_service_leaves_its_hours_still_to_work(engine_backend: str) -> None:
    """2.5 FTE (3 desks, each staffed 2.5/3 of the time): a 10-hour job needs 12 hours at
    its desk. Two working hours in, 10 of those 12 desk hours remain: 10 × 2.5/3 staff
    hours a job. A 60-hour job of one FTE started on Monday has 20 hours left on Friday
    evening, and still 20 on Sunday (nothing is worked at the weekend); at its end none.
    A job stretched by a work factor (a grid's patrol time) counts its stretched hours.
    A queued job (the desks all busy), an idle station and an event that is not a job's end
    count nothing."""
    calendar, events = _office(), EventCalendar()
    station = Station("s", 2.5, calendar, events)
    long = Station("t", 1.0, calendar, events)
    idle = Station("u", 1.0, calendar, events)
    start = calendar.add_working_hours(0.0, 0.0)  # Monday's opening
    events.run_until(start)
    for _ in range(4):  # the fourth waits for a desk
        station.arrive(10.0, lambda _: None, None)
    long.arrive(60.0, lambda _: None, None)
    stretched = Station("w", 1.0, calendar, events, work_factor=2.0)  # a grid's patrol stretch
    stretched.arrive(10.0, lambda _: None, None)  # 20 hours at the desk, 20 staff hours
    events.schedule(start + 1.0, lambda _: None, None)  # not a job's end
    assert station.busy_hours == pytest.approx(30.0), "counted at their start: three jobs"
    events.run_until(calendar.add_working_hours(start, 2.0))
    left = unfinished_hours(events)
    assert set(left) == {id(station), id(long), id(stretched)}, "the idle one has no job"
    assert left[id(station)] == pytest.approx(3 * 10.0 * 2.5 / 3)
    assert left[id(long)] == pytest.approx(58.0)
    assert left[id(stretched)] == pytest.approx(18.0) and stretched.busy_hours == 20.0
    friday = calendar.add_working_hours(start, 4 * 8.0)  # Friday's opening
    events.run_until(friday + 0.5)  # Friday evening, after closing
    assert unfinished_hours(events) == {id(long): pytest.approx(20.0)}
    events.run_until(friday + 2.5)  # Sunday
    assert unfinished_hours(events) == {id(long): pytest.approx(20.0)}
    events.run_until(friday + 30.0)
    assert unfinished_hours(events) == {}, "every job done"
    assert idle.busy_hours == 0.0


def test_a_starved_department_is_busy_its_staffs_whole_time() -> None:
    """A department with far too few staff keeps every desk busy through the measured
    period: its staff hours within the period are its staff's whole working time, to the
    float's precision. Counted whole at each job's start, as before this measure, they were
    off by up to the jobs in service at the edges (1.062 of the time, seed 0)."""
    scenario = load_scenario(SCENARIOS / "classroom.toml")
    parameters = apply_overrides(
        scenario, {"departments.transport.staff_per_100k_residents": 4.0}
    ).parameters
    model = GovernanceModel(parameters, seed=0)
    model.run(days=90)
    transport = model.department_stations[model.department_names.index("transport")]
    calendar = model.calendar
    hours = calendar.total_working_hours(model.day) - calendar.total_working_hours(
        model.warmup_days
    )
    busy = model.measured_busy()
    assert transport.queue_length > 0, "still starved at the end"
    assert busy(transport) == pytest.approx(hours * transport.staff, rel=1e-12)
    summary = model.output().summary
    assert summary["department_utilisation_transport"] == pytest.approx(1.0, rel=1e-12)
    for station in model.units.all_stations():
        assert busy(station) <= hours * station.staff * (1 + 1e-12), station.name
        assert busy(station) >= -1e-9, station.name


@pytest.mark.parametrize("seed", [1, 3])
def test_every_station_is_busy_within_its_own_working_time(seed: int) -> None:
    """Every station's staff hours within the measured period lie between none and its
    staff's whole working time on its own calendar — a profession's sessions at a joint
    mediation platform work on their sitting days only (``ScheduleCalendar``): read on the
    model's calendar, a judge's job ending at the next sitting counted the working days
    between, and the judges' sessions read −23 h (seed 1) and −17 h (seed 3)."""
    scenario = load_scenario(SCENARIOS / "reform_joint_mediation.toml")
    parameters = apply_overrides(scenario, {"simulation.warmup_days": 14}).parameters
    model = GovernanceModel(parameters, seed=seed)
    model.run(days=120)
    busy = model.measured_busy()
    sessions = [s for s in model.units.platforms if s is not None]
    assert sessions and any(busy(s) > 0 for s in sessions), "the platform worked"
    for station in model.units.all_stations():
        own = station.calendar
        capacity = station.staff * (
            own.working_hours_at(float(model.day)) - own.working_hours_at(float(model.warmup_days))
        )
        assert -1e-9 <= busy(station) <= capacity * (1 + 1e-12) + 1e-9, station.name
