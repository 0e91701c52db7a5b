"""The case lifecycle (F4.5): intake → registration → dispatch → handling → return →
feedback → verification → call-back → closure → rating; and what residents do next
(repeat contacts, urging calls).

Cases are rows of a columnar :class:`CaseTable`; a case in progress also has a
small :class:`Progress` record (its route and stage). The routing policy decides
the route; the agents decide what happens at each unit (which department an office
names, whether a department accepts or returns a case, whether a party member
claims a task, how a grid worker verifies); this module keeps the ledger and the
event calendar and is given its collaborators explicitly.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from model.bundles import PATROL_CHANNEL, OneThing
from model.calendar import WorkCalendar
from model.cases import CASE_TYPES, REPORTED_TYPES
from model.deadline_days import DeadlineDays
from model.demand import PATROL, SENSOR, UNIFORM_ROWS, NeedBatch
from model.engine_backend import compiled_engine
from model.events import EventCalendar
from model.geography import Geography
from model.lifecycle import (
    HOTLINE,
    MINUTE,
    PATROL_SOURCE,
    SENSOR_SOURCE,
    Lifecycle,
    Progress,
)
from model.mediation import NEIGHBOUR_DISPUTE, Mediators, settled_level
from model.policies.accountability import METRICS, LeagueView
from model.policies.base import (
    MediationPolicy,
    Route,
    RoutingPolicy,
    SystemView,
    Unit,
    Visit,
)
from model.policies.routing import (
    DIGITAL_CITY_MANAGEMENT_FIELDS,
    digital_city_management_route,
)
from model.route_memo import (
    KeyPart,
    RouteMemo,
    declared_route_fields,
    key_parts,
)
from model.scalar_draws import uniform, uniforms
from model.units import Units

if TYPE_CHECKING:
    from model.parameters import ModelParameters
    from model.party import Organisations
    from model.residents import Residents

# the case type of a need found rather than reported, by its source
_FOUND_TYPE = {PATROL_SOURCE: PATROL, SENSOR_SOURCE: SENSOR}
# a batch of fewer cases (or found needs) than this takes the calendar's scalar forms, one
# by one; a larger one its vector forms, whose numpy calls cost more than a few cases' work
# (≈ 320 k instructions a batch against ≈ 9.5 k a case by the scalar forms, ≈ 2.8 k by the
# vector forms; docs/design.md "The small day's intake"; both give the same times, bit for bit)
SMALL_BATCH = 48
# a sensor's alarm registers a need five minutes after it arises (assumption)
SENSOR_DELAY = 5 * MINUTE
# whether a need of each case type (index into CASE_TYPES) can be seen by others than the
# one it concerns, by a sensor or a patrol: not an inquiry, a suggestion or a dispute
_VISIBLE_TYPE = np.array(
    [
        t not in ("inquiry", "suggestion") and i != NEIGHBOUR_DISPUTE
        for i, t in enumerate(CASE_TYPES)
    ]
)

_VISIBLE_BYTES = _VISIBLE_TYPE.astype(np.uint8)
_engine = compiled_engine()
BACKEND = "python" if _engine is None else "compiled"
"""Which code decides which needs become cases: ``"compiled"`` (model/_engine.pyx) or
``"python"`` (numpy masks)."""


def _python_fill_rows(column: array[float], rows: list[int], value: float) -> None:
    """``column[row] = value`` for each of ``rows`` (the reference of the compiled engine's
    ``fill_rows``)."""
    for row in rows:
        column[row] = value


def _python_number_rows(column: array[int], rows: list[int], first: int) -> None:
    """``column[rows[k]] = first + k`` for each ``k`` (the reference of the compiled
    engine's ``number_rows``)."""
    for k, row in enumerate(rows, first):
        column[row] = k


# a reused row's kept columns reset, and new rows numbered, by the compiled engine where it
# is built (≈ 1 ms of a district day in Python; issue 11, thirty-fourth round)
_fill_rows = _python_fill_rows if _engine is None else _engine.fill_rows
_number_rows = _python_number_rows if _engine is None else _engine.number_rows

NEED_VALUES = (
    "severity",
    "u_classify",
    "u_satisfy",
    "u_quality",
    "u_callback",
    "u_repeat",
    "u_urge",
    "u_dispute",
    "u_verify",
)
"""The need fields only the case writer reads, the columns of ``_NeedRows.values`` in this
order (each the case table's column of the same name)."""

# NeedBatch's block of uniforms (model/demand.py): the front desk's row, and the rows of
# NEED_VALUES' uniforms in their order
_DESK_ROW = UNIFORM_ROWS.index("u_desk")
_VALUE_ROWS = np.array([UNIFORM_ROWS.index(name) for name in NEED_VALUES[1:]], dtype=np.intp)
_VALUE_ROWS.flags.writeable = False

# the columns of a new case that _engine.write_cases writes, in the order it takes them
_WRITTEN_COLUMNS = (
    "need",
    "resident",
    "case_type",
    "source",
    "grid",
    "severity",
    "minor",
    "disputed",
    *NEED_VALUES[1:],  # the eight uniforms
    "reported",
    "repeat",
)

_TIMESTAMPS = (
    "reported",
    "registered",
    "dispatched",
    "handled",
    "verified",
    "closed",
    "parked",
    "deadline",
    "promised",
)


class CaseTable:
    """One row per case, stored column-wise in compact ``array.array`` columns.

    Scalar access by case id is what the lifecycle does most, and ``array.array``
    is several times faster at it than numpy while staying as compact; whole
    columns are exposed to numpy without copying by :meth:`column`. Timestamps are
    in days (NaN = not reached). The departments a case needs (lead first) and their
    work content are small tuples.
    """

    need: array[int]
    resident: array[int]
    case_type: array[int]
    source: array[int]
    grid: array[int]
    severity: array[float]
    minor: array[int]
    repeat: array[int]
    disputed: array[int]
    parent: array[int]
    contact: array[int]
    owner: array[int]
    u_classify: array[float]
    u_satisfy: array[float]
    u_quality: array[float]
    u_callback: array[float]
    u_repeat: array[float]
    u_urge: array[float]
    u_dispute: array[float]
    u_verify: array[float]
    handoffs: array[int]
    reopened: array[int]
    premature: array[int]
    urged: array[int]
    reclassified: array[int]
    returns: array[int]
    on_the_spot: array[int]
    resolved: array[int]
    satisfied: array[int]
    reported: array[float]
    registered: array[float]
    dispatched: array[float]
    handled: array[float]
    verified: array[float]
    closed: array[float]
    parked: array[float]
    deadline: array[float]
    promised: array[float]
    mediated_at: array[int]
    mediations: array[int]
    relapsed: array[int]
    number: array[int]
    followups: array[int]
    bundle: array[int]
    split: array[int]
    handoffs_saved: array[int]

    _SPEC: ClassVar[dict[str, tuple[str, float | int]]] = {
        "need": ("q", -1),
        "resident": ("q", -1),
        "case_type": ("b", -1),
        "source": ("b", -1),
        "grid": ("l", -1),
        "severity": ("d", 0.0),
        "minor": ("b", 0),
        "repeat": ("b", 0),
        "disputed": ("b", 0),
        "parent": ("q", -1),
        "contact": ("b", 1),
        "owner": ("l", -1),
        "u_classify": ("d", 0.0),
        "u_satisfy": ("d", 0.0),
        "u_quality": ("d", 0.0),
        "u_callback": ("d", 0.0),
        "u_repeat": ("d", 0.0),
        "u_urge": ("d", 0.0),
        "u_dispute": ("d", 0.0),
        "u_verify": ("d", 0.0),
        "handoffs": ("l", 0),
        "reopened": ("l", 0),
        "premature": ("l", 0),
        "urged": ("b", 0),
        "reclassified": ("b", 0),
        "returns": ("l", 0),
        "on_the_spot": ("b", 0),
        "resolved": ("b", 0),
        "satisfied": ("b", -1),
        **{name: ("d", math.nan) for name in _TIMESTAMPS},
        # neighbourhood disputes (model.mediation): the level that settled it (SETTLED_LEVELS,
        # -1 none), mediations held, and whether its settlement broke down later
        "mediated_at": ("b", -1),
        "mediations": ("b", 0),
        "relapsed": ("b", 0),
        # the case's id (its number in order of creation); -1 marks a free row
        "number": ("q", -1),
        # events still to come that read this row (a repeat contact about it)
        "followups": ("b", 0),
        # 一件事 (model.bundles): 1 a bundle, 2 one whose saved hand-offs are recorded; a
        # separate linked request; the hand-offs its separate requests would have had
        "bundle": ("b", 0),
        "split": ("b", 0),
        "handoffs_saved": ("l", 0),
    }
    _DTYPES: ClassVar[dict[str, type]] = {
        "q": np.int64,
        "b": np.int8,
        "l": np.int32 if array("l").itemsize == 4 else np.int64,
        "d": np.float64,
    }

    _BLOCK = 4096  # rows added at a time, so that adding a case is O(1) and cheap
    # columns a freed row keeps until it is reused: its finish times, so that a free row
    # never reads as an open case to whoever reads a whole column without the number
    # (GovernanceModel.unit_values' backlog, Casework.status); float columns ("d"), which
    # ``_fill_rows`` resets
    _KEPT: ClassVar[tuple[str, ...]] = ("closed", "parked")

    def __init__(self) -> None:
        self.size = 0  # rows in use or free (the length of :meth:`column`)
        self.added = 0  # cases ever added (the next case's number)
        self._free: list[int] = []  # rows of retired cases, for reuse (model.case_retirement)
        self._capacity = 0
        self.departments: list[tuple[int, ...]] = []
        self.work: list[tuple[float, ...]] = []
        for name, (code, _) in self._SPEC.items():
            setattr(self, name, array(code))
        # a freed row is reset to the defaults when it is released, in bulk, but for the
        # columns it keeps until reused (_KEPT), which a reused row resets one by one
        self._kept = [(getattr(self, name), self._SPEC[name][1]) for name in self._KEPT]
        self._reset = [
            (name, self._DTYPES[code], default)
            for name, (code, default) in self._SPEC.items()
            if name not in self._KEPT
        ]
        # each column's next block of default rows, ready to copy (not 4096 Python numbers)
        self._blocks = [
            (getattr(self, name), array(code, [default]) * self._BLOCK)
            for name, (code, default) in self._SPEC.items()
        ]

    def add(self, departments: tuple[int, ...], work: tuple[float, ...]) -> int:
        """Add a case with default values; return its row (its id while no case was retired)."""
        row = self.allocate(1)[0]
        self.departments[row] = departments
        self.work[row] = work
        return row

    def allocate(self, n: int) -> list[int]:
        """Rows for ``n`` new cases with default values, numbered in order: the rows ``n``
        calls of :meth:`add` would give (freed rows first, in the order they are reused,
        then new ones). Their departments and work content are the caller's to set (an
        empty tuple until then)."""
        free = self._free
        reused = min(n, len(free))
        rows: list[int] = []
        if reused:
            rows = free[len(free) - reused :]
            rows.reverse()  # a freed row is taken from the list's end (the lowest first)
            del free[len(free) - reused :]
            for column, default in self._kept:  # released: the defaults but for _KEPT
                _fill_rows(column, rows, default)
        new = n - reused
        if new:
            while self.size + new > self._capacity:
                for column, block in self._blocks:
                    column.extend(block)
                self._capacity += self._BLOCK
            self.departments += [()] * new
            self.work += [()] * new
            rows += range(self.size, self.size + new)
            self.size += new
        _number_rows(self.number, rows, self.added)
        self.added += n
        return rows

    def release(self, rows: Sequence[int]) -> None:
        """Free the rows of retired cases for reuse: every column back to its default (the
        number to −1), in one numpy assignment per column, but for the columns of
        ``_KEPT``, whose values stay until the row is reused."""
        index = np.asarray(rows, dtype=np.intp)
        for name, dtype, default in self._reset:
            np.frombuffer(getattr(self, name), dtype=dtype)[index] = default
        self._free.extend(sorted(rows, reverse=True))  # the lowest row is reused first

    @property
    def live(self) -> int:
        """Rows holding a case (not freed)."""
        return self.size - len(self._free)

    def column(self, name: str) -> np.ndarray:
        """A numpy view of one scalar column's filled rows (no copy)."""
        code = self._SPEC[name][0]
        data = getattr(self, name)
        if self.size == 0:
            return np.empty(0, dtype=self._DTYPES[code])
        return np.frombuffer(data, dtype=self._DTYPES[code])[: self.size]

    def __len__(self) -> int:
        return self.size


class Casework(Lifecycle):
    """The ledger of cases and their events; asks the units' agents at each step.

    Args:
        parameters: the run's validated parameters.
        calendar: working days and hours.
        events: the event calendar the daily step advances.
        units: the agents and stations of every unit.
        routing: the routing policy.
        system: the read-only system view the routing policy sees.
        residents: the resident agents by row (they rate outcomes and learn from them).
        trust: the residents' trust array (reporting propensity).
        geography: where residents, grids and communities sit.
        streams: the named random streams ('routing', 'classification', 'claims',
            'handling', 'gaming', 'contacts').
    """

    def __init__(
        self,
        parameters: ModelParameters,
        calendar: WorkCalendar,
        events: EventCalendar,
        units: Units,
        routing: RoutingPolicy,
        system: SystemView,
        residents: Residents,
        trust: np.ndarray,
        geography: Geography,
        streams: Mapping[str, np.random.Generator],
    ) -> None:
        p = parameters
        self.p = p
        self.calendar = calendar
        self.events = events
        self.units = units
        self.routing = routing
        self.system = system
        self.residents = residents
        self.trust = trust
        self.geography = geography
        self.routing_rng = streams["routing"]
        self.classification_rng = streams["classification"]
        self.claims_rng = streams["claims"]
        # who takes a small task offered in a grid (model.party); set by the model
        self.organisation: Organisations | None = None
        self.handling_rng = streams["handling"]
        self.gaming_rng = streams["gaming"]
        self.contacts_rng = streams["contacts"]
        self.one_thing = OneThing(p.demand, p.intake, streams["bundles"])  # 一件事 (bundles.py)
        self.travels = geography.travels  # some place travels to a site (places.py)
        # neighbourhood disputes bypass the routing policy: the mediation policy routes them
        self.mediation = p.mediation
        # 数字城管: patrol finds take their own network, with this hand-off (None: they do not)
        detection = p.detection
        self.digital_dispatch_hours = (
            detection.digital_dispatch_hours if detection.digital_city_management else None
        )
        self.mediators = Mediators(p.mediation, streams["mediation"])
        self.cases = CaseTable()
        # routes computed once per distinct case where the policy declares what they read
        self._routing_memo = self._route_memo(routing)
        self._mediation_memo = self._route_memo(self.mediation)
        # 数字城管: patrol finds take the city-management route (None: they do not)
        hours = self.digital_dispatch_hours
        self._digital_memo = (
            None
            if hours is None
            else self._memo(
                DIGITAL_CITY_MANAGEMENT_FIELDS,
                lambda cid: digital_city_management_route(self.case_view(cid), self.system, hours),
            )
        )
        self.progress: dict[int, Progress] = {}
        self._units_made: dict[tuple[str, int], Unit] = {}  # Lifecycle._unit
        self._return_visits: dict[tuple[int, float], Visit] = {}  # Lifecycle._turned_away
        self.returned_by: dict[int, set[int]] = {}  # departments that returned a case (退件)
        self.limits = [float(getattr(p.time_limits, t)) for t in CASE_TYPES]
        rep = p.reporting
        weights = np.array([rep.hotline_weight, rep.grid_worker_weight, rep.party_member_weight])
        self.channel_cdf = (
            np.cumsum(weights / weights.sum()) if weights.sum() > 0 else np.array([1.0, 1.0, 1.0])
        )
        # (resident × departments + category) → last report time
        self.last_need: dict[int, float] = {}
        self.need_offset = 0  # needs drawn so far (a need's number is its position)
        self.dispute_needs = 0  # neighbourhood disputes numbered so far
        # each open neighbourhood dispute's own random stream (Mediators.case_rng)
        self.dispute_rngs: dict[int, np.random.Generator] = {}
        self.closed_total = 0
        self.parked_total = 0
        self.lapsed_needs = 0
        self.pending_found = 0
        # day → needs a patrol finds that day, each as the day's intake takes it (the
        # moment, the need's number, its need rows, its row in them, PATROL_SOURCE)
        self.found: dict[int, list[tuple[float, int, _NeedRows, int, int]]] = {}
        self.needs_generated = 0
        self.needs_prevented = 0  # removed at their source (micro-space projects)
        self.needs_reported = 0
        self.needs_found = 0
        self.repeat_contacts = 0  # contacts about a need already reported (cases too)
        self.urging_calls = 0  # calls urging an overdue case (催办, F9.4); not cases
        self.disputes = 0  # returns of a case of disputed ownership by its owner
        self.needs_generated_mark = 0  # counters at the end of the warm-up
        self.lapsed_needs_mark = 0
        self.urging_calls_mark = 0
        self.disputes_mark = 0
        self.deadlines = DeadlineDays()  # (deadline, case) of residents' open cases
        self.enforcement = np.array([d.enforcement for d in p.departments.values()])
        self._enforcement = self.enforcement.tolist()
        self._enforcement_of: dict[tuple[int, ...], bool] = {}  # departments → any enforcement
        self.n_departments = len(self._enforcement)
        self.patrol_visible = np.array([d.patrol_visible for d in p.departments.values()])
        self.sensor_visible = np.array([d.sensor_visible for d in p.departments.values()])
        # the same as bytes, for the compiled engine's ``sort_needs``
        self._patrol_visible_bytes = self.patrol_visible.astype(np.uint8)
        self._sensor_visible_bytes = self.sensor_visible.astype(np.uint8)
        # which code decides which needs become cases: "compiled" (model/_engine.pyx, where
        # built) or "python" (numpy masks, ``_sort_needs``); the same decisions either way
        self.backend = BACKEND
        # the league table of the current period (考核): counts per department, as Python
        # lists (a count moves per case; a numpy element costs several times more, issue 11)
        self.league: dict[str, list[int]] = {
            name: [0] * self.n_departments
            for name in (
                "received",
                "accepted",
                "handled",
                "resolved",
                "rated",
                "satisfied",
                "on_time",
            )
        }
        # the lifecycle's callbacks bound once: a bound method made for every event it is
        # handed to costs more than the look-up (issue 11, seventh round; as Station._finished)
        self._arrive_callback = self._visit_arrive
        self._done_callback = self._visit_done
        self._returned_callback = self._returned
        self._verify_callback = self._verify
        self._verified_callback = self._verified
        self._dispatch_callback = self._dispatch
        self._answer_callback = self._answer

    def mark(self) -> None:
        """Start the measured period (need counters; the case ledger keeps every case)."""
        self.needs_generated_mark = self.needs_generated
        self.lapsed_needs_mark = self.lapsed_needs
        self.urging_calls_mark = self.urging_calls
        self.disputes_mark = self.disputes

    # ------------------------------------------------------------------ intake
    @property
    def _intake_engine(self) -> ModuleType | None:
        """The compiled engine the intake's loops run on: None where it is not built or the
        backend is "python" (then their Python references run)."""
        return _engine if self.backend == "compiled" else None

    def receive(self, batch: NeedBatch, day: int) -> None:
        """Decide for each of today's needs whether it becomes a case, when and how; and
        create the cases of needs patrols find today (even on a day with no new need)."""
        n = len(batch)
        if n == 0:
            self._create(self.found.pop(day, []))
            return
        if batch.case_type[0] != NEIGHBOUR_DISPUTE:  # a dispute batch has no linked needs
            self.one_thing.draw(batch.departments, batch.resident, self.need_offset, day)
        # which needs become cases, and how (reported by a channel, found by a sensor, left
        # for a patrol); needs whose source a rate hook removed do not arise (model/demand.py)
        # and keep their number, so every other need keeps its attributes (common random
        # numbers); ``position``: their positions in the batch, in order
        engine = self._intake_engine
        if engine is not None:
            n_prevented, n_reported, n_found, position, how = self._sort_compiled(batch)
        else:
            n_prevented, n_reported, n_found, position, how = self._sort_needs(batch)
        self.needs_prevented += n_prevented
        self.needs_generated += n - n_prevented
        # reported, found and prevented are disjoint; the rest lapse
        self.lapsed_needs += n - n_prevented - n_reported - n_found
        self.needs_reported += n_reported
        self.needs_found += n_found
        base = self.need_offset
        self.need_offset += n
        # only the needs that become cases are read row by row (most lapse, issue 11); ``j``
        # is a need's position among them, ``position[j]`` its position in the batch
        needs = _NeedRows(batch, position, engine is not None)
        # a public problem's place is a hash of its number among the other needs, so that
        # neighbourhood disputes (numbered with them) move no public problem (none hashed
        # on a day whose kept needs all have a resident: ``public_grid`` is read only for a
        # need without one)
        if needs.resident and min(needs.resident) < 0:
            numbers = base - self.dispute_needs + np.array(position, dtype=np.int64)
            needs.public_grid = self.geography.public_grids(numbers).tolist()
        needs.public_shift = self.dispute_needs
        if batch.case_type[0] == NEIGHBOUR_DISPUTE:
            self.dispute_needs += n
        times = needs.time
        # Today's new cases are created now, in time order: creating a case needs no event,
        # only its dispatch does (this keeps the event count per case low at district scale).
        # Each kept need is reported (by its channel), found by a sensor five minutes on, or
        # left for a patrol; the order of ``today`` before its sort does not matter (the
        # needs' numbers make every key distinct)
        entries = _today_entries if engine is None else engine.today_entries
        today, patrolled, batch_rows = entries(
            how, position, times, base, needs, SENSOR_DELAY, SENSOR_SOURCE
        )
        # found on a patrol in working hours, ``delay`` days later
        if patrolled:
            later = np.array(batch_rows, dtype=np.intp)
            when = batch.time[later] + batch.patrol_delay_days[later]
            if len(patrolled) < SMALL_BATCH:
                add_working_hours = self.calendar.add_working_hours
                found_at = [add_working_hours(t, 0.0) for t in when.tolist()]
            else:
                found_at = self.calendar.add_working_hours_array(when, 0.0).tolist()
            file_found = _file_found if engine is None else engine.file_found
            self.pending_found += file_found(
                self.found, patrolled, found_at, batch_rows, base, needs, PATROL_SOURCE
            )
        today += self.found.pop(day, [])  # kept in the intake's form: no tuple made again
        # by the moment, then the need's number: a plain sort of the tuples, whose first two
        # entries are those, and the numbers are distinct (no need rows are ever compared;
        # without a key function and its tuple per need: issue 11, twenty-seventh round)
        today.sort()
        self._create(today)

    def _sort_needs(self, batch: NeedBatch) -> tuple[int, int, int, list[int], list[int]]:
        """Which of ``batch``'s needs become cases, and how, by numpy masks (the reference of
        the compiled engine's ``sort_needs``, whose docstring says what is decided): the
        counts prevented, reported and found, the kept needs' positions and each one's
        source (its channel if reported, SENSOR_SOURCE, or −1: left for a patrol)."""
        p = self.p
        # (counts by ``count_nonzero`` and masks without ``~prevented`` when there is none:
        # a small day's batch costs its numpy calls, not their work; issue 11, ninth round)
        prevented = batch.prevented
        n_prevented = 0 if prevented is None else int(np.count_nonzero(prevented))
        has_resident = batch.resident >= 0
        if prevented is not None:
            has_resident &= ~prevented
        # a public problem's trust (read at row 0) is never used: it has no resident
        trust = self.trust[np.maximum(batch.resident, 0)]
        rep = p.reporting
        p_report = (
            rep.report_probability_at_zero_trust
            + (rep.report_probability_at_full_trust - rep.report_probability_at_zero_trust) * trust
        )
        reported = has_resident & (batch.u_report < p_report)
        lead = batch.departments[:, 0]
        # not reported, of a type others can see (a dispute unreported stays private)
        unseen = _VISIBLE_TYPE[batch.case_type] & ~reported
        if prevented is not None:
            unseen &= ~prevented
        sensor = (
            unseen
            & self.sensor_visible[lead]
            & (batch.u_sensor < p.detection.sensor_coverage_share)
        )
        lifetime = p.reporting.unreported_need_lifetime_days
        patrol = (  # ``unseen ^ sensor``: unseen and not found by a sensor (sensor ⊆ unseen)
            (unseen ^ sensor) & self.patrol_visible[lead] & (batch.patrol_delay_days <= lifetime)
        )
        n_reported = int(np.count_nonzero(reported))
        n_found = int(np.count_nonzero(sensor)) + int(np.count_nonzero(patrol))
        channel = self.channel_cdf.searchsorted(
            batch.u_channel[reported] * self.channel_cdf[-1], side="right"
        )
        channels = iter(np.minimum(channel, 2).tolist())
        kept = (reported | sensor | patrol).nonzero()[0]
        how = [
            next(channels) if is_reported else (SENSOR_SOURCE if by_sensor else -1)
            for is_reported, by_sensor in zip(
                reported[kept].tolist(), sensor[kept].tolist(), strict=True
            )
        ]
        return n_prevented, n_reported, n_found, kept.tolist(), how

    def _sort_compiled(self, batch: NeedBatch) -> tuple[int, int, int, list[int], list[int]]:
        """:meth:`_sort_needs` by the compiled engine's ``sort_needs`` (bit for bit)."""
        assert _engine is not None
        rep = self.p.reporting
        zero = rep.report_probability_at_zero_trust
        prevented = batch.prevented
        return _engine.sort_needs(
            batch.resident,
            None if prevented is None else prevented.view(np.uint8),
            self.trust,
            batch.u_report,
            zero,
            rep.report_probability_at_full_trust - zero,
            batch.case_type,
            _VISIBLE_BYTES,
            batch.departments,
            self._sensor_visible_bytes,
            batch.u_sensor,
            self.p.detection.sensor_coverage_share,
            self._patrol_visible_bytes,
            batch.patrol_delay_days,
            rep.unreported_need_lifetime_days,
            batch.u_channel,
            self.channel_cdf,
            SENSOR_SOURCE,
        )

    def _create(self, today: list[tuple[float, int, _NeedRows, int, int]]) -> None:
        """Needs become cases, in the order of ``today``: (the moment, the need's number, the
        need rows, the row, the source) of each need reported, or found by a patrol or sensor.

        A linked request (一件事, model/bundles.py) becomes one bundle (``part`` −1) under
        ``intake.one_thing_bundles``, else one case per department (``part`` 0, 1, …): the
        items, by the compiled engine's ``intake_items`` (its reference: :meth:`_items`;
        docs/design.md "A day's intake items made in C"). The registration times and time
        limits of a batch of ``SMALL_BATCH`` cases or more come from the calendar's vector
        forms (docs/design.md "The intake in batches"), of a smaller one from its scalar
        forms in _register (docs/design.md "The small day's intake"). The day's rows are
        allocated at once and written from the needs by the compiled engine's
        ``write_cases`` (its reference: :meth:`_write_cases`; docs/design.md "A day's new
        cases written in C"), which keeps the repeat-need dictionary in the cases' order;
        what must follow the order of creation in Python (the front desk's closures, the
        time limits kept for urging, the dispatch events) is then done case by case."""
        one_thing = self.one_thing
        items: list[tuple[float, _NeedRows, int, int, int, int | None]]
        now_of = in_person = limit_days = None  # the batch's arrays, where the engine made them
        engine = self._intake_engine
        if engine is not None:  # ``_items``' Python, in C
            items, case_types, now_of, in_person, limit_days = engine.intake_items(
                today,
                one_thing.linked if one_thing.share > 0 else None,
                one_thing.bundling,
                PATROL_CHANNEL,
                _FOUND_TYPE,
                HOTLINE,
                self.limits,
                SMALL_BATCH,
            )
        else:
            items, case_types = self._items(today)
        if not items:
            return
        # registration (F3.4, taken in person: when the grid worker is next at work, F4.6)
        # and the time limit (F4.1) of every case, as _register would compute them one by one
        registered: list[float] | list[None]
        deadlines: list[float] | list[None]
        if len(items) < SMALL_BATCH:  # _register's scalar forms: the same times, bit for bit
            registered = deadlines = [None] * len(items)
        else:
            calendar = self.calendar
            if now_of is None or in_person is None or limit_days is None:
                now_of = np.array([item[0] for item in items])
                in_person = np.array([item[3] for item in items]) != HOTLINE
                limits = self.limits
                limit_days = np.array([limits[c] for c in case_types])
            registered_at = (
                np.where(in_person, calendar.add_working_hours_array(now_of, 0.0), now_of)
                + self.p.intake.registration_minutes * MINUTE
            )
            deadlines = calendar.add_working_days_array(registered_at, limit_days).tolist()
            registered = registered_at.tolist()
        cases = self.cases
        cids = cases.allocate(len(items))
        if engine is not None:
            self._write_compiled(cids, items, case_types)
        else:
            self._write_cases(cids, items, case_types)
        # in the order of creation: the front desk's closures, the time limits kept for
        # urging, the dispatch events (and a separate linked request's own draws, before its
        # events)
        self._register_new(cids, items, registered, deadlines)

    def _items(
        self, today: list[tuple[float, int, _NeedRows, int, int]]
    ) -> tuple[list[tuple[float, _NeedRows, int, int, int, int | None]], list[int]]:
        """:meth:`_create`'s items — (the moment, the need rows, the row, the source, the
        need's number, the part: None, or a linked request's −1 as a bundle or 0, 1, … one
        per department) in ``today``'s order — and each one's case type (a patrol's or
        sensor's find is of its own type). The reference of the compiled engine's
        ``intake_items``."""
        one_thing = self.one_thing
        items: list[tuple[float, _NeedRows, int, int, int, int | None]] = []
        if one_thing.share > 0:
            for now, need, rows, i, source in today:
                if one_thing.is_linked(need, source):
                    parts = (-1,) if one_thing.bundling else range(len(rows.departments[i]))
                    items += [(now, rows, i, source, need, part) for part in parts]
                else:
                    items.append((now, rows, i, source, need, None))
        else:
            items = [(now, rows, i, source, need, None) for now, need, rows, i, source in today]
        case_types = [_FOUND_TYPE.get(source, r.case_type[i]) for _, r, i, source, _, _ in items]
        return items, case_types

    def _mark_linked(self, cid: int, batch: _NeedRows, need: int, part: int) -> None:
        """A linked request's case (一件事, model/bundles.py): a bundle (``part`` −1) or one
        separate request (``part`` 0, 1, …; from the second on with draws of its own)."""
        cases = self.cases
        if part < 0:
            cases.bundle[cid] = 1
            return
        cases.split[cid] = 1
        if part > 0:
            one_thing = self.one_thing
            one_thing.separate_requests += 1
            (
                cases.u_classify[cid],
                cases.u_satisfy[cid],
                cases.u_quality[cid],
                cases.u_callback[cid],
                cases.u_repeat[cid],
                cases.u_urge[cid],
                cases.u_dispute[cid],
                cases.u_verify[cid],
            ) = one_thing.separate_uniforms(need - batch.public_shift, part)

    def _write_compiled(
        self,
        rows: list[int],
        items: list[tuple[float, _NeedRows, int, int, int, int | None]],
        case_types: list[int],
    ) -> None:
        """:meth:`_write_cases` by the compiled engine's ``write_cases`` (bit for bit)."""
        assert _engine is not None
        cases = self.cases
        _engine.write_cases(
            rows,
            items,
            case_types,
            tuple(getattr(cases, name) for name in _WRITTEN_COLUMNS),
            cases.departments,
            cases.work,
            self.geography.resident_grids,
            self.last_need,
            self.n_departments,
            self.p.demand.repeat_complaint_window_days,
            PATROL_SOURCE,
            SENSOR_SOURCE,
            NEIGHBOUR_DISPUTE,
        )

    def _write_cases(
        self,
        rows: list[int],
        items: list[tuple[float, _NeedRows, int, int, int, int | None]],
        case_types: list[int],
    ) -> None:
        """The new cases' rows of the table, from their needs (the reference of the
        compiled engine's ``write_cases``, whose docstring says what is written): the
        departments and work content (one part of a separate linked request), the need's
        fields and uniforms, the source, the grid, the moment reported, and whether it
        repeats the resident's need of the same lead department within the window."""
        cases = self.cases
        resident_grid = self.geography.resident_grid
        last_need = self.last_need
        n_departments = self.n_departments
        window = self.p.demand.repeat_complaint_window_days
        for k, (now, batch, i, source, need, part) in enumerate(items):
            cid = rows[k]
            departments, work = batch.departments[i], batch.work[i]
            if part is not None and part >= 0:  # one of the separate linked requests
                departments, work = departments[part : part + 1], work[part : part + 1]
            cases.departments[cid] = departments
            cases.work[cid] = work
            resident = batch.resident[i]
            case_type = case_types[k]
            cases.need[cid] = need
            cases.case_type[cid] = case_type
            cases.source[cid] = source
            cases.grid[cid] = resident_grid[resident] if resident >= 0 else batch.public_grid[i]
            if source in (PATROL_SOURCE, SENSOR_SOURCE):
                # found, not reported: nobody is waiting for it, rates it, urges it or calls again
                resident = -1
            cases.resident[cid] = resident
            cases.minor[cid] = batch.minor[i]
            cases.disputed[cid] = batch.disputed[i]
            for name, value in zip(NEED_VALUES, batch.values[i].tolist(), strict=True):
                getattr(cases, name)[cid] = value
            cases.reported[cid] = now
            if resident >= 0 and case_type != NEIGHBOUR_DISPUTE:  # a dispute is no repeat need
                key = resident * n_departments + departments[0]
                last = last_need.get(key)
                cases.repeat[cid] = last is not None and now - last <= window
                last_need[key] = now

    def _contact_again(self, parent: int) -> None:
        """The resident contacts the system again about a problem that was not resolved:
        a new case about the same need (a repeat contact, by the hotline; M12, M14)."""
        cases = self.cases
        now = self.events.now
        cid = cases.add(cases.departments[parent], cases.work[parent])
        for name in ("need", "resident", "case_type", "grid", "severity", "minor", "disputed"):
            getattr(cases, name)[cid] = getattr(cases, name)[parent]
        cases.source[cid] = HOTLINE
        cases.repeat[cid] = True
        cases.parent[cid] = cases.number[parent]
        cases.followups[parent] -= 1
        cases.contact[cid] = cases.contact[parent] + 1
        u = uniforms(self._contacts(cid), 9)
        cases.u_classify[cid], cases.u_satisfy[cid], cases.u_quality[cid] = u[0], u[1], u[2]
        cases.u_callback[cid], cases.u_repeat[cid], cases.u_urge[cid] = u[3], u[4], u[5]
        cases.u_dispute[cid], cases.u_verify[cid] = u[7], u[8]
        cases.reported[cid] = now
        if cases.bundle[parent]:  # the resident calls again about the bundle
            cases.bundle[cid] = 1
        self.repeat_contacts += 1
        self._register(cid, HOTLINE, now, u[6])

    # ---------------------------------------------------------------- routing
    def _needs_enforcement(self, departments: tuple[int, ...]) -> bool:
        """Whether any of ``departments`` is an enforcement department (cached per tuple)."""
        known = self._enforcement_of.get(departments)
        if known is None:
            known = self._enforcement_of[departments] = any(
                self._enforcement[d] for d in departments
            )
        return known

    def _route(self, cid: int, intake: Unit) -> Route:
        """The routing policy's route; a bundle's is handled in one pass (model/bundles.py).
        A policy that declares ``ROUTE_FIELDS`` is asked once per distinct key (model/route_memo.py)."""
        cases = self.cases
        if self._digital_memo is not None and cases.source[cid] == PATROL_SOURCE:
            # found by an inspector: on the city-management network, not up the levels
            return self._digital_memo.route(cid)
        # neighbourhood disputes bypass the routing policy: the mediation policy routes them
        if cases.case_type[cid] == NEIGHBOUR_DISPUTE:
            policy, memo = self.mediation, self._mediation_memo
        else:
            policy, memo = self.routing, self._routing_memo
        bundle = cases.bundle[cid]
        if memo is not None and not bundle:
            return memo.route(cid)  # no CaseView needed
        view = self.case_view(cid)
        route = (
            memo.route(cid)
            if memo is not None
            else policy.route(view, self.system, self.routing_rng)
        )
        if bundle:
            route = self.one_thing.one_pass(
                cid, self.cases, route, view, self.routing, self.system, intake
            )
        return route

    def _route_memo(self, policy: RoutingPolicy | MediationPolicy) -> RouteMemo | None:
        """The memo of ``policy``'s routes; None when it does not declare ``ROUTE_FIELDS``."""
        fields = declared_route_fields(policy)
        if fields is None:
            return None
        route = policy.route
        return self._memo(
            fields, lambda cid: route(self.case_view(cid), self.system, self.routing_rng)
        )

    def _memo(self, fields: tuple[str, ...], fresh: Callable[[int], Route]) -> RouteMemo:
        """A memo of the routes ``fresh`` gives, keyed on the case columns ``fields`` read."""
        parts = self._key_parts(fields)
        return RouteMemo(None, fresh, parts)

    def _key_parts(self, fields: tuple[str, ...]) -> tuple[KeyPart, ...]:
        geography = self.geography
        return key_parts(fields, self.cases, geography.grid_community, geography.community_street)

    def _reclassify(self, cid: int) -> None:
        """Re-filed under the longest time limit of the reported case types (gaming, M10):
        the official deadline moves, the resident's promised one does not."""
        cases = self.cases
        longest = max(self.limits[CASE_TYPES.index(t)] for t in REPORTED_TYPES)
        extended = self.calendar.add_working_days(cases.registered[cid], longest)
        if extended > cases.deadline[cid]:
            cases.deadline[cid] = extended
            cases.reclassified[cid] = True

    def _stream(self, cid: int, default: np.random.Generator) -> np.random.Generator:
        """The stream of a draw about case ``cid``: a neighbourhood dispute draws from its own
        stream (:meth:`Mediators.case_rng`), so that disputes leave every other case's draws
        as they were and a dispute's draws do not depend on when other cases happen."""
        if self.cases.case_type[cid] != NEIGHBOUR_DISPUTE:
            return default
        rng = self.dispute_rngs.get(cid)
        if rng is None:
            rng = self.mediators.case_rng(self.cases.need[cid], self.cases.contact[cid])
            self.dispute_rngs[cid] = rng
        return rng

    def _contacts(self, cid: int) -> np.random.Generator:
        return self._stream(cid, self.contacts_rng)

    def _mediated(self, cid: int, unit: Unit, prog: Progress) -> bool:
        """A mediation ended: settled, the dispute goes to verification (True); else it goes
        on to the next stage, or, after the last, is handled unsettled (False)."""
        cases = self.cases
        cases.mediations[cid] += 1
        if prog.quality_draws == 0 and cases.reopened[cid] == 0:
            prog.quality_draws = 1
            u = cases.u_quality[cid]
        else:
            u = uniform(self._stream(cid, self.handling_rng))
        if self.mediators.settles(unit, u):
            cases.mediated_at[cid] = settled_level(unit)
            cases.relapsed[cid] = self.mediators.relapses(
                unit, self._stream(cid, self.handling_rng)
            )
            prog.failed = False
            self._handled(cid)
            return True
        prog.failed = prog.stage + 1 >= len(prog.route.stages)
        return False

    def _park(self, cid: int) -> None:
        """Parked (挂账, F4.5, F9.5): it leaves the active backlog unresolved; the resident
        counts it as a failure and may contact the system again."""
        cases = self.cases
        cases.parked[cid] = self.events.now
        self.parked_total += 1
        self.progress.pop(cid, None)
        self.returned_by.pop(cid, None)
        resident = cases.resident[cid]
        if resident >= 0:
            self.residents.learn_from(resident, False)
        self._maybe_contact_again(cid)
        self.dispute_rngs.pop(cid, None)  # its row may be reused (model.case_retirement)

    def _maybe_contact_again(self, cid: int) -> None:
        cases = self.cases
        resident = cases.resident[cid]
        if resident < 0:
            return
        rep = self.p.reporting
        if self.residents.contacts_again(
            resident,
            cases.contact[cid],
            rep.repeat_contact_probability,
            rep.contacts_per_need_max,
            cases.u_repeat[cid],
        ):
            delay = float(self._contacts(cid).exponential(rep.repeat_contact_delay_days))
            cases.followups[cid] += 1
            self.events.schedule(self.events.now + delay, self._contact_again, cid)

    def urge_overdue(self, now: float) -> None:
        """Residents whose open case passed its time limit call to urge it (催办, F9.4).

        The cases due come from :class:`~model.deadline_days.DeadlineDays` in (limit, case)
        order; which of them are still open is read for all at once, and only those cases'
        residents are asked, in that order (most cases close before their limit: issue 11)."""
        due = self.deadlines.pop_due(now)
        if not due:
            return
        cases = self.cases
        rows = np.array(due, dtype=np.intp)
        column = cases.column
        still_open = rows[np.isnan(column("closed")[rows]) & np.isnan(column("parked")[rows])]
        probability = self.p.reporting.urging_probability
        residents = self.residents
        resident_of, u_urge = cases.resident, cases.u_urge
        for cid in still_open.tolist():
            if residents.urges(resident_of[cid], probability, u_urge[cid]):
                cases.urged[cid] = True
                self.urging_calls += 1

    # ---------------------------------------------------------- accountability
    def league_table(self, day: int) -> LeagueView:
        """The departments' record since the last table (考核, F9.1), and their cases still
        open five working days or more past the limit (通报批评, F9.4)."""
        lg = {name: np.array(counts, dtype=np.int64) for name, counts in self.league.items()}
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = {
                "response": lg["accepted"] / lg["received"],
                "resolution": lg["resolved"] / lg["handled"],
                "satisfaction": lg["satisfied"] / lg["rated"],
                "on_time": lg["on_time"] / lg["handled"],
                "street_rating": np.array([d.rating for d in self.units.departments]),
            }
        col = self.cases.column
        now = float(day)
        late = now - 5.0 * 7.0 / max(self.p.calendar.working_days_per_week, 1)
        open_ = np.isnan(col("closed")) & np.isnan(col("parked")) & (col("owner") >= 0)
        overdue_cases = open_ & (col("deadline") < late)
        overdue = np.bincount(
            col("owner")[overdue_cases].astype(np.int64), minlength=self.n_departments
        )
        assert set(rates) == set(METRICS)
        return LeagueView(day=day, handled=lg["handled"], rates=rates, overdue=overdue)

    def reset_league(self) -> None:
        for counts in self.league.values():
            counts[:] = [0] * len(counts)

    # --------------------------------------------------------------- accounting
    def status(self) -> np.ndarray:
        """Per case: 'closed', 'parked' (挂账), 'queued' (waiting in a queue) or 'open'
        (in transit or in service)."""
        n = self.cases.size
        status = np.full(n, "open", dtype=object)
        status[~np.isnan(self.cases.column("closed"))] = "closed"
        status[~np.isnan(self.cases.column("parked"))] = "parked"
        for station in self.units.all_stations():
            for done, token in station.queued_jobs():
                if getattr(done, "__self__", None) is not self:
                    continue  # not a case's job (a false alarm's check, a project's planning)
                cid = token[0] if isinstance(token, tuple) else token
                if status[cid] == "open":
                    status[cid] = "queued"
        return status


def _today_entries(
    how: list[int],
    position: list[int],
    times: list[float],
    base: int,
    needs: _NeedRows,
    sensor_delay: float,
    sensor_source: int,
) -> tuple[list[tuple[float, int, _NeedRows, int, int]], list[int], list[int]]:
    """:meth:`Casework.receive`'s entries of the day — ``(moment, need's number, need rows,
    row, source)`` for each kept need found by a sensor (``how[j]`` is ``sensor_source``:
    its time plus ``sensor_delay``) or reported (any other ``how[j]`` ≥ 0, its channel: its
    time) — and, of those left for a patrol (−1), their rows among the kept needs and their
    positions in the batch. The reference of the compiled engine's ``today_entries`` (issue
    11, forty-third round)."""
    if len(position) != len(how) or len(times) != len(how):
        raise ValueError("today_entries: how, position and times of different lengths")
    today: list[tuple[float, int, _NeedRows, int, int]] = []
    patrolled: list[int] = []
    for j, source in enumerate(how):
        if source == sensor_source:
            today.append((times[j] + sensor_delay, base + position[j], needs, j, source))
        elif source >= 0:
            today.append((times[j], base + position[j], needs, j, source))
        else:
            patrolled.append(j)
    return today, patrolled, [position[j] for j in patrolled]


def _file_found(
    found: dict[int, list[tuple[float, int, _NeedRows, int, int]]],
    patrolled: list[int],
    found_at: list[float],
    batch_rows: list[int],
    base: int,
    needs: _NeedRows,
    patrol_source: int,
) -> int:
    """The patrol finds filed under the day they are found: for the ``k``-th patrolled need
    (row ``patrolled[k]`` among the kept needs, ``batch_rows[k]`` in the batch) found at
    ``found_at[k]``, ``(moment, need's number, need rows, row, patrol_source)`` appended to
    ``found[int(moment)]``; the number filed. The reference of the compiled engine's
    ``file_found`` (issue 11, forty-third round)."""
    for j, moment, row in zip(patrolled, found_at, batch_rows, strict=True):
        found.setdefault(int(moment), []).append((moment, base + row, needs, j, patrol_source))
    return len(patrolled)


class _NeedRows:
    """One day's needs that become cases (rows ``kept`` of the batch, in order): the fields
    read one need at a time in Python as plain lists, and the fields only the case writer
    reads (:data:`NEED_VALUES`) as one float64 array, a row of nine per need
    (``values[j]``: the ``j``-th kept need's severity and uniforms; issue 11, thirtieth
    round — a need found by a patrol days later is written from one row of its batch's
    array instead of nine Python floats, and the gather makes no float objects for them)."""

    __slots__ = (
        "case_type",
        "departments",
        "disputed",
        "minor",
        "public_grid",
        "public_shift",
        "resident",
        "time",
        "u_desk",
        "values",
        "work",
    )

    def __init__(self, batch: NeedBatch, position: list[int], compiled: bool = False) -> None:
        """The rows at ``position`` of ``batch``; by the compiled engine's ``gather_needs``
        (the same lists and values) when ``compiled``, the engine is built and the batch
        carries its block of uniforms, else by numpy's gathers."""
        self.public_grid: list[int] = []  # grid of each as a public problem (Casework.receive)
        self.public_shift = 0  # numbers taken by disputes before these needs (Casework.receive)
        self.values = np.empty((len(position), len(NEED_VALUES)))
        if compiled and _engine is not None and batch.uniforms is not None:
            (
                self.time,
                self.resident,
                self.case_type,
                self.minor,
                self.disputed,
                self.u_desk,
                self.departments,
                self.work,
            ) = _engine.gather_needs(
                position,
                batch.time,
                batch.resident,
                batch.case_type,
                batch.severity,
                batch.minor.view(np.uint8),
                batch.disputed.view(np.uint8),
                batch.uniforms,
                batch.departments,
                batch.work,
                _DESK_ROW,
                _VALUE_ROWS,
                self.values,
            )
            return
        kept = np.array(position, dtype=np.intp)
        self.time = batch.time[kept].tolist()
        self.resident = batch.resident[kept].tolist()
        self.case_type = batch.case_type[kept].tolist()
        self.minor = batch.minor[kept].tolist()
        values = self.values
        values[:, 0] = batch.severity[kept]
        if batch.uniforms is not None:  # the u_* rows of one block: one gather for all
            self.u_desk = batch.uniforms[_DESK_ROW, kept].tolist()
            values[:, 1:] = batch.uniforms[_VALUE_ROWS[:, None], kept].T  # one gather
        else:
            self.u_desk = batch.u_desk[kept].tolist()
            for c, name in enumerate(NEED_VALUES[1:], 1):
                values[:, c] = getattr(batch, name)[kept]
        self.disputed = batch.disputed[kept].tolist()
        # departments are lead first, then the others, then -1 padding: slice, don't filter;
        # most needs concern one department, so make those tuples in one go; the others are
        # those with a second department, their count the row's length less its padding (no
        # reduction over the rows: a small day's batch costs numpy's calls; ninth round)
        departments = batch.departments[kept]
        work_rows = batch.work[kept]
        self.departments = list(map(tuple, departments[:, :1].tolist()))
        self.work = list(map(tuple, work_rows[:, :1].tolist()))
        others = (departments[:, 1] >= 0).nonzero()[0].tolist()
        if others:
            width = departments.shape[1]
            for i, row, w in zip(
                others, departments[others].tolist(), work_rows[others].tolist(), strict=True
            ):
                k = width - row.count(-1)
                self.departments[i] = tuple(row[:k])
                self.work[i] = tuple(w[:k])
