"""Neighbourhood disputes (矛盾纠纷): their demand, the platform's sit-in schedule, and the
mediators' decisions.

The dispute path itself is a route of ``mediate`` stages chosen by the mediation policy
(:mod:`model.policies.mediation`) and run by the case lifecycle (:mod:`model.casework`)
like any other route; this module holds what that path needs besides:

- :class:`DisputeDemand` draws each day's disputes from their own random stream, so the
  F2 needs, their attributes and every other stream are the same with or without them;
- :class:`ScheduleCalendar` is the working calendar of a profession that sits in at the
  joint platform only on its scheduled days (三官一律 下沉, seed §二(三));
- :func:`platform_stations` builds each street platform's sessions;
- :class:`Mediators` decides, for whoever mediates at a stage, whether the dispute is
  settled and whether the settlement holds.

Every rate and probability is an assumption (no stylized fact measures mediation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from model.calendar import WorkCalendar
from model.cases import CASE_TYPES
from model.categorical import choice_cdf, choose
from model.demand import MAX_DEPARTMENTS, NeedBatch, draw_residents
from model.events import EventCalendar
from model.policies.base import MediationPolicy, Unit
from model.policies.mediation import (
    PROFESSIONS,
    SCHEDULE_PERIOD_DAYS,
    SESSIONS_PER_STREET,
)
from model.scalar_draws import seeded_generator
from model.stations import Station

if TYPE_CHECKING:
    from model.parameters import ModelParameters
    from model.places import DemandWeights

NEIGHBOUR_DISPUTE = CASE_TYPES.index("neighbour_dispute")
# the level a dispute was settled at: grid worker, community, escalation (platform or department)
SETTLED_LEVELS: tuple[str, ...] = ("grid", "community", "escalation")
_LEVEL = {"grid": 0, "community": 1, "department": 2, "mediation": 2}


def settled_level(unit: Unit) -> int:
    """Index into :data:`SETTLED_LEVELS` of a mediation at ``unit``."""
    return _LEVEL[unit.level]


class DisputeDemand:
    """Draws each day's neighbourhood disputes from the ``disputes`` stream.

    A dispute is between a resident and a neighbour; it concerns one department's field
    (drawn with the departments' case shares: that department is the slow path's
    escalation before the reform). Its other draws (report, channel, call-back …) play
    the roles they play for any need.

    With community types (``places``, model/places.py), a resident's disputes arise in
    proportion to their community's need rate, as their needs do (``resident_cdf``):
    the rate is that of a resident of the default place (assumption: a community with
    more needs per resident — old compounds, urban villages — has more disputes too).
    """

    def __init__(
        self,
        parameters: ModelParameters,
        residents: int,
        rng: np.random.Generator,
        places: DemandWeights | None = None,
    ):
        self.rate = parameters.demand.neighbour_disputes_per_resident_per_year / 365.0
        self.residents = residents
        self.rng = rng
        self.resident_cdf = None if places is None else places.resident_cdf
        self.weight = residents if places is None else float(places.resident_cdf[-1])
        share = np.array([d.case_share for d in parameters.departments.values()])
        self.department_share = share / share.sum()
        self._department_cdf = choice_cdf(self.department_share)  # rng.choice's (issue 11)
        self._empty = self._batch(  # a day without disputes (read-only)
            np.empty((0, MAX_DEPARTMENTS), dtype=np.int16),
            np.empty((13, 0)),
            np.empty(0),
            np.empty(0, dtype=np.int64),
        )
        for field in self._empty.__dataclass_fields__:
            value = getattr(self._empty, field)
            if value is not None:
                value.flags.writeable = False

    def draw(self, day: int) -> NeedBatch:
        """The disputes arising on ``day``, in time order.

        The draws are those of ``rng.choice`` (the department), ``rng.random((13, n))``
        and ``rng.random(n)`` (the time), taken as one ``random`` call (the same numbers),
        then the residents; a day without disputes draws nothing after the count, and
        gives the same empty batch (issue 11).
        """
        rng = self.rng
        n = int(rng.poisson(self.rate * self.weight)) if self.rate > 0 else 0
        if n == 0:
            return self._empty
        uniforms = rng.random(15 * n)
        departments = np.full((n, MAX_DEPARTMENTS), -1, dtype=np.int16)
        departments[:, 0] = choose(self._department_cdf, uniforms[:n])
        u = uniforms[n : 14 * n].reshape(13, n)
        time = np.sort(day + uniforms[14 * n :])
        resident = draw_residents(rng, n, self.residents, self.resident_cdf)
        return self._batch(departments, u, time, resident)

    def _batch(
        self, departments: np.ndarray, u: np.ndarray, time: np.ndarray, resident: np.ndarray
    ) -> NeedBatch:
        """The batch of disputes of these drawn attributes (``u``: 13 uniforms each)."""
        n = len(time)
        work = np.zeros((n, MAX_DEPARTMENTS))
        work[:, 0] = 1.0  # unused: mediation stages carry their own hours
        return NeedBatch(
            resident=resident,
            time=time,
            case_type=np.full(n, NEIGHBOUR_DISPUTE, dtype=np.int8),
            departments=departments,
            severity=u[0],
            minor=np.zeros(n, dtype=bool),
            work=work,
            u_report=u[1],
            u_channel=u[2],
            u_desk=u[3],
            u_classify=u[4],
            u_satisfy=u[5],
            u_quality=u[6],
            u_sensor=u[7],
            u_callback=u[8],
            u_repeat=u[9],
            u_urge=u[10],
            u_dispute=u[11],
            u_verify=u[12],
            disputed=np.zeros(n, dtype=bool),
            patrol_delay_days=np.full(n, np.inf),
        )


class ScheduleCalendar(WorkCalendar):
    """Working time of a profession sitting in at the platform on ``days`` of the working
    days of every four-week month, spread evenly (offset by ``offset`` so that the
    professions do not all come on the same day)."""

    def __init__(self, base: WorkCalendar, days: int, offset: int) -> None:
        super().__init__(base.hours_per_day, 7, 0, base.horizon)
        self.open, self.length = base.open, base.length
        self._base = base
        self._days = days
        self._offset = offset
        self._working = []
        self._cum = [0.0]
        self._extend(base.horizon + 1)
        self.is_working = np.array(self._working[: base.horizon + 1])

    def present(self, day: int) -> bool:
        """Whether the profession sits in on ``day``."""
        start = day - day % SCHEDULE_PERIOD_DAYS
        if not self._base.works_on(day):
            return False
        month = [d for d in range(start, start + SCHEDULE_PERIOD_DAYS) if self._base.works_on(d)]
        n = len(month)
        k = (month.index(day) + self._offset) % n
        return (k * self._days) % n < self._days

    def _works_beyond(self, day: int) -> bool:
        return self.present(day)


def platform_stations(
    policy: MediationPolicy,
    streets: int,
    calendar: WorkCalendar,
    events: EventCalendar,
    deadline_first: bool,
) -> list[Station | None]:
    """Each street platform's sessions, street by street: its own mediators (every working
    day), then one professional per profession on that profession's days (None where the
    profession does not sit in, or there is no platform)."""
    staff = policy.platform_staff()
    if staff <= 0:
        return []
    days = policy.days_per_month()
    sessions: list[Station | None] = []
    for s in range(streets):
        sessions.append(
            Station(f"mediation:{s}:mediators", staff, calendar, events, deadline_first)
        )
        for k, name in enumerate(PROFESSIONS):
            if days[k] <= 0:
                sessions.append(None)
                continue
            offset = 5 * k  # a week apart
            schedule = ScheduleCalendar(calendar, days[k], offset)
            sessions.append(Station(f"mediation:{s}:{name}", 1.0, schedule, events, deadline_first))
    assert len(sessions) == streets * SESSIONS_PER_STREET
    return sessions


class Mediators:
    """Whoever mediates at a ``mediate`` stage decides whether the dispute is settled
    there, and whether the settlement holds (settlement probability by mediator type: the
    mediation policy's)."""

    def __init__(self, policy: MediationPolicy, rng: np.random.Generator) -> None:
        self.policy = policy
        self.key = int(rng.integers(2**62))  # from the run's ``mediation`` stream

    def case_rng(self, need: int, contact: int) -> np.random.Generator:
        """The random stream of one dispute case (its need and contact number): its draws
        do not depend on when other cases happen (common random numbers across policies)."""
        return seeded_generator((self.key, int(need), int(contact)))

    def settles(self, unit: Unit, u: float) -> bool:
        """Whether the mediators at ``unit`` settle the dispute (``u`` uniform)."""
        return u < self.policy.settlement_probability(unit)

    def relapses(self, unit: Unit, rng: np.random.Generator) -> bool:
        """Whether a settlement reached at ``unit`` fails later (the dispute comes back)."""
        return float(rng.random()) < self.policy.relapse_probability_at(unit)

    def relapse_delay_days(self, rng: np.random.Generator) -> float:
        """Days until a settlement that does not hold breaks down."""
        return float(rng.exponential(self.policy.relapse_delay_days))


def dispute_outcomes(count: Callable[..., int]) -> dict[str, float]:
    """Outcomes of the neighbourhood disputes reported in the measured period, from the case
    tallies ``count`` (``count(name)``, ``count(name, index)``: the ``dispute_*`` entries of
    ``model.case_tallies.TALLIES``): how many were brought, settled at which level,
    escalated beyond the community, closed unsettled, and how many came back (repeat
    disputes)."""
    n = count("dispute_cases")
    out = {
        "neighbour_disputes_brought": float(count("dispute_brought")),
        **{
            f"neighbour_disputes_settled_{name}": float(count("dispute_settled_by_level", k))
            for k, name in enumerate(SETTLED_LEVELS)
        },
        "neighbour_disputes_escalated": float(count("dispute_escalated")),
        "neighbour_disputes_unsettled": float(count("dispute_unsettled")),
        "repeat_neighbour_disputes": float(count("dispute_repeats")),
    }
    n_closed = count("dispute_closed")
    out["neighbour_dispute_settlement_share"] = (
        float(count("dispute_settled") / n_closed) if n_closed else math.nan
    )
    out["repeat_neighbour_dispute_share"] = out["repeat_neighbour_disputes"] / n if n else math.nan
    return out
