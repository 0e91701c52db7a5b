"""Each compiled lifecycle step against its reference, one call at a time (issue 11).

Whole runs (tests/test_lifecycle_backends.py) compare the compiled ``Lifecycle`` with
``PythonLifecycle`` only through what a run reaches. Here two models are built from the
same seed on a town with typed communities (a rural town's trips to a site) and party
volunteers, and run to the same day, so they hold the same state. A step is then called
on open cases of one through the compiled class and on the other through the reference's
function (``PythonLifecycle.<step>(casework, …)``), and everything a step can change is
compared: the case table, the league, the cases in progress, the pending events and the
queues, the random streams, the residents' trust. A step's calls to other steps run
compiled on both, so a difference belongs to the step under test.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from experiments.scenario_files import load_mapping, merge_tables
from model.calendar import WorkCalendar
from model.cases import CASE_TYPES
from model.casework import CaseTable, Casework
from model.demand import INQUIRY
from model.engine_backend import compiled_engine
from model.governance import GovernanceModel
from model.lifecycle import HOTLINE, PATROL_SOURCE, PythonLifecycle
from model.parameters import ModelParameters
from model.policies.base import CaseView, Stage, Unit, Visit

pytestmark = pytest.mark.skipif(compiled_engine() is None, reason="the engine is not built")

ROOT = Path(__file__).resolve().parents[1]
DAYS = 40  # days run before the steps are called: cases at every point of their route
CASES = 16  # open cases each step is called on (at most)
# the party-building reform on two streets of typed communities: an urban street (half
# its communities old compounds) and a rural town, whose grid workers and departments
# travel to a site (community_types: grid_travel_hours, department_travel_hours)
TYPED_TOWN = {
    "population": {"streets": 2, "street_types": {"urban_street": 1, "rural_town": 1}},
    "community_types": {
        "urban_street": {
            "communities_per_street": 2,
            "grids_per_community": 2,
            "residents_per_grid": 500,
            "community_shares": {"old_compound": 0.5},
        },
        "rural_town": {
            "communities_per_street": 2,
            "grids_per_community": 2,
            "residents_per_grid": 400,
            "grid_travel_hours": 0.5,
            "department_travel_hours": 1.5,
        },
        "old_compound": {"need_rate_multiplier": 1.2},
    },
    "simulation": {"days": 150, "warmup_days": 0},
}


def parameters() -> ModelParameters:
    data = load_mapping(ROOT / "scenarios" / "reform_party_building.toml")
    return ModelParameters.model_validate(merge_tables(data, TYPED_TOWN))


def twins() -> tuple[Casework, Casework]:
    """Two models in the same state after ``DAYS`` days: their casework."""
    made = []
    for _ in range(2):
        model = GovernanceModel(parameters(), seed=11)
        for _ in range(DAYS):
            model.step()
        made.append(model.casework)
    return made[0], made[1]


def open_cases(casework: Casework) -> list[int]:
    """Up to ``CASES`` cases in progress, rural grids' and urban grids' alike (every other)."""
    return sorted(casework.progress)[::2][:CASES]


def state(casework: Casework) -> dict[str, Any]:
    """Everything a lifecycle step can change, comparable with ``==`` (the queued jobs'
    keys and work, and the departments' ratings, which the street moves after each
    handling)."""
    cases = casework.cases
    units = casework.units
    model = casework.residents._model
    return {
        "columns": {name: bytes(getattr(cases, name)) for name in CaseTable._SPEC},
        "departments": (list(cases.departments), list(cases.work)),
        "league": {name: list(counts) for name, counts in casework.league.items()},
        "progress": {cid: prog._fields() for cid, prog in casework.progress.items()},
        "events": [plain(event) for event in casework.events.pending()],
        "queues": [
            (
                station.queue_length,
                plain(station.queued_tokens()),
                [(bits(key), bits(work)) for key, work in station.queued_work()],
            )
            for station in units.all_stations()
        ],
        "streams": {
            name: getattr(casework, name).bit_generator.state
            for name in (
                "gaming_rng",
                "handling_rng",
                "classification_rng",
                "claims_rng",
                "contacts_rng",
            )
        },
        "dispute_streams": {
            cid: rng.bit_generator.state for cid, rng in casework.dispute_rngs.items()
        },
        "counters": (
            casework.closed_total,
            casework.parked_total,
            casework.disputes,
            casework.pending_found,
            casework.one_thing.separate_requests,
            {cid: sorted(d) for cid, d in casework.returned_by.items()},
            casework.deadlines.entries(),
        ),
        "trust": (bytes(model.population.trust), bytes(model.population.disposition)),
        "ratings": [bits(department.rating) for department in units.departments],
    }


def bits(number: Any) -> Any:
    """A float as its exact bits (-0.0 is not 0.0, a NaN is equal to itself)."""
    return number.hex() if isinstance(number, float) else number


def plain(value: Any) -> Any:
    """``value`` with every bound method (an event's callback, a queued visit's) replaced
    by its owner's class and its name, which is what two twins' methods have in common."""
    if isinstance(value, (tuple, list)):
        return type(value)(plain(v) for v in value)
    owner = getattr(value, "__self__", None)
    if owner is not None and callable(value):
        return (type(owner).__name__, value.__name__)
    return value


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [name for name in a if a[name] != b[name]]


def outcome(step: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """Call a step: what it returned, or the name of the exception it raised."""
    try:
        return "returned", step(*args)
    except Exception as error:  # both backends must raise the same
        return "raised", type(error).__name__


# a step's arguments for case ``cid`` of a casework (built on each twin from its own state)
Arguments = Callable[[Casework, int], tuple[Any, ...]]


def same_call(
    compiled: Casework, reference: Casework, name: str, arguments: Arguments, cid: int
) -> tuple[str, Any]:
    """Step ``name`` called on case ``cid``, compiled on one twin and the reference's on the
    other: both return or raise alike and leave the same state; what the call gave."""
    got = outcome(getattr(compiled, name), *arguments(compiled, cid))
    expected = outcome(getattr(PythonLifecycle, name), reference, *arguments(reference, cid))
    assert got == expected, f"{name}({cid}): {got}, the reference {expected}"
    after, expected_after = state(compiled), state(reference)
    assert after == expected_after, f"{name}({cid}) differs in {differences(after, expected_after)}"
    return got


def lead(casework: Casework, cid: int) -> int:
    prog = casework.progress[cid]
    return prog.lead if prog.lead >= 0 else casework.cases.departments[cid][0]


class _NeedRows:
    """The need rows ``_register_new`` reads of a day's item: the front desk's uniforms."""

    u_desk = (0.0, 0.99)  # an inquiry answered at the front desk, and one that is not
    public_shift = 0


def _new_day(
    cw: Casework, cid: int, part: int | None = None, desk: int | None = None
) -> tuple[Any, ...]:
    """A day's registration of case ``cid`` again, by hand: reported or found on patrol,
    whole, a bundle or a separate request (the first, and a later one with its own draws);
    ``desk`` 0: answered at the front desk if an inquiry, 1: not."""
    source = PATROL_SOURCE if cid % 3 == 0 else HOTLINE
    if part is None and desk is None:
        part = (None, -1, 0, 1)[cid % 4]
        desk = (cid // 2) % 2  # answered at the desk (if an inquiry): parts None and 1
    item = (cw.events.now, _NeedRows(), desk, source, cw.cases.need[cid], part)
    return ([cid], [item], [None], [None])


STEPS: dict[str, Arguments] = {
    # u_desk 0.7: answered at the desk under the scenario's share (0.9), not under CHANGED's
    "_register": lambda cw, cid: (
        cid,
        cw.cases.source[cid],
        cw.events.now,
        (0.0, 0.99, 0.7)[cid % 3],
    ),
    "_register_new": _new_day,
    "_restart": lambda cw, cid: (cid, lead(cw, cid)),
    "_route_case": lambda cw, cid: (cid, Unit("grid", cw.cases.grid[cid])),
    "_dispatch": lambda cw, cid: (cid,),
    "_enter_stage": lambda cw, cid: (cid,),
    "_turned_away": lambda cw, cid: (cid, cw.progress[cid]),
    "_offer_to_party": lambda cw, cid: (cid, (Visit(Unit("grid", cw.cases.grid[cid])),)),
    "_visit_arrive": lambda cw, cid: ((cid, Visit(Unit("department", lead(cw, cid))), "handle"),),
    "_visit_done": lambda cw, cid: ((cid, Unit("department", lead(cw, cid)), "handle", 0.3, True),),
    "_returned": lambda cw, cid: ((cid, lead(cw, cid)),),
    "_handled": lambda cw, cid: (cid,),
    "_verify": lambda cw, cid: ((cid, 2.0 * (cid % 2)),),
    "_verified": lambda cw, cid: (cid,),
    "_reopen": lambda cw, cid: (cid,),
    "_close": lambda cw, cid: (cid, cw.events.now + 3.0),
}


# steps set up to take each branch: the grid worker's check and the call-back
# (``_verified``: the case's resolution, reopenings so far, its check's and call-back's
# uniforms), and a day's registration of inquiries (some answered at the front desk)
CHECKS = {
    "caught-on-site": {"resolved": 0, "reopened": 0, "u_verify": 0.0, "u_callback": 1.0},
    "called-back-unresolved": {"resolved": 0, "reopened": 0, "u_verify": 1.0, "u_callback": 0.0},
    "called-back-resolved": {"resolved": 1, "reopened": 0, "u_verify": 1.0, "u_callback": 0.0},
    "not-called-back": {"resolved": 0, "reopened": 0, "u_verify": 1.0, "u_callback": 1.0},
    # called back under CHANGED's share (0.9), not under the scenario's (0.645)
    "called-back-at-0.7": {"resolved": 0, "reopened": 0, "u_verify": 1.0, "u_callback": 0.7},
    "reopened-before": {"resolved": 0, "reopened": 1, "u_verify": 0.5, "u_callback": 0.5},
    "at-the-reopen-limit": {"resolved": 0, "reopened": 99, "u_verify": 0.0, "u_callback": 0.0},
    "inquiries": {"case_type": INQUIRY},
    # a later separate request answered at the desk: rated with its own uniforms, drawn
    # before it is registered (the case's old one would rate it unsatisfied)
    "separate-request-at-the-desk": {"case_type": INQUIRY, "u_satisfy": 0.999999},
}
REGISTRATIONS = {"inquiries", "separate-request-at-the-desk"}
VARIANT_ARGUMENTS: dict[str, Arguments] = {
    "separate-request-at-the-desk": lambda cw, cid: _new_day(cw, cid, part=1, desk=0),
}
CASES_BY_STEP = [
    *[(name, None) for name in STEPS],
    *[("_register_new" if check in REGISTRATIONS else "_verified", check) for check in CHECKS],
    ("_register", "inquiries"),  # the front desk's share and minutes, read by the step itself
]


@pytest.mark.parametrize("given", ["built", "changed"])
@pytest.mark.parametrize(
    ("name", "check"), CASES_BY_STEP, ids=[f"{n}-{c}" for n, c in CASES_BY_STEP]
)
def test_each_step_changes_what_its_reference_changes(
    name: str, check: str | None, given: str
) -> None:
    """Called on the same open cases of two models in the same state, the compiled step
    and its reference raise alike and leave the same state (case rows, league, progress,
    events, queues, random streams, trust) after every call; the grid worker's check and the
    call-back in each of their branches."""
    compiled, reference = twins()
    assert state(compiled) == state(reference), "the twins differ before any call"
    if given == "changed":  # parameters given after the lifecycle was made (read once, in C)
        compiled.p = reference.p = changed_parameters()
    cids = open_cases(compiled)
    assert len(cids) >= 12
    arguments = VARIANT_ARGUMENTS.get(check or "", STEPS[name])
    reopened = 0  # cases the call reopened
    for cid in cids:
        if cid not in compiled.progress:  # closed by an earlier call (a reopening's end)
            continue
        if check is not None:
            for casework in (compiled, reference):
                for column, value in CHECKS[check].items():
                    if column == "reopened" and value == 99:
                        value = casework.p.feedback.reopen_limit
                    getattr(casework.cases, column)[cid] = value
        same_call(compiled, reference, name, arguments, cid)
        if check is not None:
            reopened += compiled.cases.reopened[cid] > CHECKS[check].get("reopened", 0)
    if check in ("caught-on-site", "called-back-unresolved"):
        assert reopened > 0, f"{check}: no case was reopened"


# parameters the compiled steps read once when ``p`` is set, all moved from the scenario's
CHANGED = {
    "feedback": {
        "satisfaction_logit_base": -0.7,
        "satisfaction_logit_resolved": 3.1,
        "satisfaction_logit_per_limit_late": -1.9,
        "satisfaction_logit_per_reopening": -0.45,
        "satisfaction_logit_repeat": -0.8,
        "reopen_limit": 1,
        "callback_share": 0.9,
    },
    "coordination": {"handoff_delay_hours": 11.5},
    "intake": {
        "registration_minutes": 17.0,
        "front_desk_minutes": 23.0,
        "front_desk_inquiry_resolution_share": 0.5,
    },
    "offices": {"on_the_spot_hours": 2.75},
    "party": {"claim_logging_hours": 0.9},
    "handling": {"returns_before_parking": 1},
}


def changed_parameters() -> ModelParameters:
    """The twins' scenario with ``CHANGED``'s values."""
    data = merge_tables(load_mapping(ROOT / "scenarios" / "reform_party_building.toml"), TYPED_TOWN)
    return ModelParameters.model_validate(merge_tables(data, CHANGED))


def test_parameters_given_later_are_the_ones_the_steps_read() -> None:
    """Parameters given to a lifecycle after it was made (``casework.p = …``) are the ones
    the compiled steps read (it reads them once, when they are given): the satisfaction
    chance of resolved and unresolved cases is the reference's under the new logits, and
    differs from the old (every step with them: test_each_step…'s ``changed``)."""
    compiled, reference = twins()
    before = [
        compiled.satisfaction_probability(cid, compiled.events.now + 2.0)
        for cid in open_cases(compiled)
    ]
    for casework in (compiled, reference):  # resolved cases read the "resolved" logit
        for k, cid in enumerate(open_cases(casework)):
            casework.cases.resolved[cid] = k % 2
    changed = changed_parameters()
    compiled.p = reference.p = changed
    assert compiled.p is changed
    now = compiled.events.now + 2.0
    after = [compiled.satisfaction_probability(cid, now) for cid in open_cases(compiled)]
    assert after == [
        PythonLifecycle.satisfaction_probability(reference, cid, now)
        for cid in open_cases(reference)
    ]
    assert after != before, "the changed logits change the chance"


@pytest.mark.parametrize("fresh", [False, True])
@pytest.mark.parametrize("settled", [False, True])
@pytest.mark.parametrize("role", ["review", "handle", "resolve", "return", "mediate"])
def test_travel_and_default_work_are_the_reference_s(role: str, settled: bool, fresh: bool) -> None:
    """A visit's trip (by the unit's level, the stage's role and who settled it) and an
    office's default work are the reference's for every kind of unit, in rural and urban
    grids; the trips that exist are there (a department handling on site, the moved staff
    or the grid's own team settling on site) and no other; with parameters given later, and levels and roles that
    are strings made at run time (``fresh``: equal to the literals, not interned)."""
    casework = twins()[0]
    if fresh:
        casework.p = changed_parameters()
        role = _fresh(role)
    geography = casework.geography
    levels = ("department", "embedded", "grid", "party", "community", "street", "centre")
    trips = 0
    for cid, level in itertools.product(open_cases(casework), levels):
        unit = Unit(_fresh(level) if fresh else level, 0)  # type: ignore[arg-type]
        hours = casework._travel_hours(cid, unit, role, settled)
        assert hours == PythonLifecycle._travel_hours(casework, cid, unit, role, settled)
        grid = casework.cases.grid[cid]
        if level == "department" and role == "handle":
            assert hours == geography.department_travel_hours[grid]
        elif role == "resolve" and (level == "embedded" or (level == "grid" and settled)):
            assert hours == geography.grid_travel_hours[grid]
        else:
            assert hours == 0.0, f"no trip for {level} in a {role} stage (settled {settled})"
        trips += hours > 0
        assert outcome(casework._default_work, cid, unit) == outcome(
            PythonLifecycle._default_work, casework, cid, unit
        )
    assert (trips > 0) == (role in ("handle", "resolve")), "only handling and settling travel"


def test_an_on_site_check_includes_the_trip() -> None:
    """When a handled case is checked on site (F9.5), the grid worker's hours include the
    trip to it in a rural grid, and none in an urban street's grid."""
    casework = twins()[0]
    geography = casework.geography
    rural = urban = 0
    for cid in open_cases(casework):
        prog = casework.progress[cid]
        grid = casework.cases.grid[cid]
        worker_hours = casework.units.grid_workers[grid].verification_hours(prog.settled_by_team)
        casework._handled(cid)
        checks = [a for _, f, a in casework.events.pending() if f.__name__ == "_verify"]
        hours = next(h for c, h in checks if c == cid)
        trip = geography.grid_travel_hours[grid]
        if worker_hours > 0:
            assert hours == worker_hours + trip
            rural += trip > 0
            urban += trip == 0
        else:
            assert hours == worker_hours
    assert rural and urban, "checks in both kinds of grid"


@pytest.mark.parametrize(
    ("reopened", "draws", "primary"), list(itertools.product((0, 1), (0, 1), (False, True)))
)
def test_the_first_quality_draw_is_the_pre_drawn_one_only_once(
    reopened: int, draws: int, primary: bool
) -> None:
    """A handling's quality uses the case's pre-drawn uniform only for the first primary
    judgement of a case never reopened; otherwise it draws from the handling stream, on
    either backend alike."""
    compiled, reference = twins()
    cid = open_cases(compiled)[0]
    values = []
    for casework, draw in (
        (compiled, compiled._quality_draw),
        (reference, lambda *a: PythonLifecycle._quality_draw(reference, *a)),
    ):
        casework.cases.reopened[cid] = reopened
        prog = casework.progress[cid]
        prog.quality_draws = draws
        before = casework.handling_rng.bit_generator.state
        u = draw(cid, prog, primary)
        advanced = casework.handling_rng.bit_generator.state != before
        values.append((u, prog.quality_draws, advanced))
    assert values[0] == values[1]
    u, quality_draws, advanced = values[0]
    first = primary and draws == 0 and reopened == 0
    assert (u == compiled.cases.u_quality[cid]) == first and advanced != first
    assert quality_draws == (1 if first else draws)


def test_satisfaction_is_the_reference_s_even_far_past_the_limit() -> None:
    """The chance of a "satisfied" rating is the reference's at any closing time, and a
    case closed absurdly late (thousands of limits) rates 0, not an overflow."""
    casework = twins()[0]
    for cid in open_cases(casework):
        registered, promised = casework.cases.registered[cid], casework.cases.promised[cid]
        span = promised - registered
        for limits_late in (0.0, 0.5, 3.0, 40.0, 1e3, 1e6):
            now = promised + limits_late * span
            p = casework.satisfaction_probability(cid, now)
            assert p == PythonLifecycle.satisfaction_probability(casework, cid, now)
            assert 0.0 <= p <= 1.0 and not math.isnan(p)
        assert casework.satisfaction_probability(cid, promised + 1e6 * span) == 0.0


@pytest.mark.parametrize("row", [-1, "past"])
def test_a_row_outside_the_case_table_is_refused(row: int | str) -> None:
    """A compiled step given a case outside the table raises IndexError naming it; it
    never reads past the typed columns."""
    casework = twins()[0]
    cid = len(casework.cases) if row == "past" else row
    with pytest.raises(IndexError, match=f"case {cid} is not a row of the case table"):
        casework.satisfaction_probability(cid, 1.0)
    with pytest.raises(IndexError, match="not a row"):
        casework._travel_hours(cid, Unit("department", 0), "handle", False)
    with pytest.raises(IndexError, match="not a row"):
        casework.case_view(cid)


def test_a_route_s_stages_may_be_a_list() -> None:
    """A third-party routing policy's route with its stages in a list runs as a tuple's."""
    compiled, reference = twins()
    cid = open_cases(compiled)[0]
    for casework in (compiled, reference):
        prog = casework.progress[cid]
        prog.route = type(prog.route)(**{**_fields(prog.route), "stages": list(prog.route.stages)})
        prog.stage = 0
    compiled._enter_stage(cid)
    PythonLifecycle._enter_stage(reference, cid)
    assert state(compiled) == state(reference)


@pytest.mark.parametrize("own", ["class", "instance"])
def test_a_calendar_with_its_own_add_working_hours_is_asked(own: str) -> None:
    """A calendar whose class, or the instance itself, has its own ``add_working_hours``
    (given after the lifecycle got the calendar) is asked for every hand-off and check, as
    the reference asks it; only WorkCalendar's own is computed without a call."""
    compiled, reference = twins()
    asked: dict[str, list[tuple[float, float]]] = {"compiled": [], "reference": []}

    def clock(key: str, cal: WorkCalendar) -> WorkCalendar:
        def add(t: float, hours: float) -> float:
            asked[key].append((t, hours))
            return t + 2.0 * hours / 24.0

        if own == "instance":
            cal.add_working_hours = add  # type: ignore[method-assign]
            return cal

        class Clock(type(cal)):  # type: ignore[misc]
            def add_working_hours(self, t: float, hours: float) -> float:
                return add(t, hours)

        cal.__class__ = Clock
        return cal

    for key, casework in (("compiled", compiled), ("reference", reference)):
        calendar = copy.copy(casework.calendar)
        casework.calendar = calendar
        clock(key, calendar)  # given after the lifecycle has the calendar: asked all the same
    for name in ("_enter_stage", "_handled", "_returned"):
        for cid in open_cases(compiled):
            if cid in compiled.progress:
                same_call(compiled, reference, name, STEPS[name], cid)
    assert asked["compiled"] == asked["reference"] != [], "the calendar's own was asked"


def test_residents_with_their_own_learning_are_asked() -> None:
    """The compiled lifecycle moves a resident's trust itself only for model.residents.
    Residents' own ``learn_from`` (given when the lifecycle gets the residents); a class of
    its own is asked for every closed case's resident, as the reference asks it."""
    compiled, reference = twins()
    asked: dict[str, list[tuple[int, bool]]] = {"compiled": [], "reference": []}
    for key, casework in (("compiled", compiled), ("reference", reference)):
        base = type(casework.residents)

        class Learning(base):  # type: ignore[misc,valid-type]
            __slots__ = ()

            def learn_from(self, row: int, satisfied: bool, key: str = key) -> None:
                asked[key].append((row, satisfied))
                super().learn_from(row, satisfied)

        residents = casework.residents
        residents.__class__ = Learning
        casework.residents = residents  # the lifecycle reads the class when given them
    step = PythonLifecycle._close
    for cid in open_cases(compiled):
        got = outcome(compiled._close, cid, compiled.events.now + 3.0)
        expected = outcome(step, reference, cid, reference.events.now + 3.0)
        assert got == expected
        assert state(compiled) == state(reference), f"_close({cid}) differs"
    assert asked["compiled"] == asked["reference"] != [], "the class's own was asked"


def test_a_party_member_s_own_agent_learns_from_their_case() -> None:
    """A closed case of a resident who is a party member is learnt from by the member's own
    agent (its ``learn_from``), on both lifecycles, not by the population's arrays."""
    compiled, reference = twins()
    cids = open_cases(compiled)[:4]
    asked: dict[str, list[bool]] = {"compiled": [], "reference": []}
    for key, casework in (("compiled", compiled), ("reference", reference)):
        members = casework.residents._members
        assert members, "the town has party members"
        for cid, row in zip(cids, sorted(members), strict=False):
            casework.cases.resident[cid] = row
            members[row].learn_from = lambda satisfied, key=key: asked[key].append(satisfied)
    for cid in cids:
        compiled._close(cid, compiled.events.now + 3.0)
        PythonLifecycle._close(reference, cid, reference.events.now + 3.0)
        assert state(compiled) == state(reference), f"_close({cid}) differs"
    assert asked["compiled"] == asked["reference"] and len(asked["compiled"]) == len(cids)


def test_a_closed_case_moves_trust_as_the_reference_even_out_of_bounds() -> None:
    """A resident's trust moved by a closed case is the reference's bit for bit, clipped to
    [0, 1] as it clips (``min(1, max(0, …))``), from trust already out of bounds or NaN."""
    compiled, reference = twins()
    cids = open_cases(compiled)
    starts = (1.7, -0.4, float("nan"), -0.0, 1.0, 0.3)
    for casework in (compiled, reference):
        trust = casework.residents._population.trust
        for k, cid in enumerate(cids):
            resident = casework.cases.resident[cid]
            if resident >= 0:
                trust[resident] = starts[k % len(starts)]
    moved = 0
    for cid in cids:
        resident = compiled.cases.resident[cid]
        before = compiled.residents._population.trust[resident] if resident >= 0 else 0.0
        compiled._close(cid, compiled.events.now + 3.0)
        PythonLifecycle._close(reference, cid, reference.events.now + 3.0)
        assert state(compiled) == state(reference), f"_close({cid}) differs"
        after = compiled.residents._population.trust[resident] if resident >= 0 else 0.0
        moved += resident >= 0 and not 0.0 <= before <= 1.0 and 0.0 <= after <= 1.0
    assert moved >= 2, "some trust out of bounds was clipped back"


def test_a_calendar_borrowing_the_compiled_conversion_is_refused_alike() -> None:
    """A calendar that is not a WorkCalendar but borrows the compiled ``add_working_hours``
    is refused (its ``self`` is not the calendar state) by both lifecycles alike, never
    read as one."""
    engine = compiled_engine()
    assert engine is not None

    class Borrowing:
        add_working_hours = engine.add_working_hours

    compiled, reference = twins()
    compiled.calendar = reference.calendar = Borrowing()
    raised = 0
    for cid in open_cases(compiled)[:6]:
        got = outcome(compiled._handled, cid)
        expected = outcome(PythonLifecycle._handled, reference, cid)
        assert got == expected, f"_handled({cid}): {got}, the reference {expected}"
        raised += got == ("raised", "TypeError")
    assert raised > 0, "the borrowed conversion was called and refused"


class _OwnDraws(np.random.Generator):
    """A generator with a ``random`` of its own (counting, and drawing twice)."""

    asked = 0

    def random(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        type(self).asked += 1
        super().random()
        return super().random(*args, **kwargs)


def test_streams_with_a_random_of_their_own_are_asked() -> None:
    """A stream whose class has its own ``random`` (a numpy Generator subclass) is asked for
    every draw the reference asks it for, by both lifecycles alike; only numpy's own
    Generator is drawn from directly."""
    compiled, reference = twins()
    for casework in (compiled, reference):
        for name in ("gaming_rng", "handling_rng", "classification_rng", "contacts_rng"):
            rng = getattr(casework, name)
            own = _OwnDraws(type(rng.bit_generator)(0))
            own.bit_generator.state = rng.bit_generator.state
            setattr(casework, name, own)
    _OwnDraws.asked = 0
    for name in ("_turned_away", "_visit_arrive", "_verified", "_returned"):
        step = getattr(PythonLifecycle, name)
        for cid in open_cases(compiled):
            if cid not in compiled.progress:
                continue
            for casework in (compiled, reference):
                casework.cases.reopened[cid] = 1  # the check and call-back draw afresh
            before = _OwnDraws.asked
            got = outcome(getattr(compiled, name), *STEPS[name](compiled, cid))
            by_compiled = _OwnDraws.asked - before
            expected = outcome(step, reference, *STEPS[name](reference, cid))
            assert got == expected, f"{name}({cid}): {got}, the reference {expected}"
            assert _OwnDraws.asked - before == 2 * by_compiled, f"{name}({cid}): asks differ"
            assert state(compiled) == state(reference), f"{name}({cid}) differs"
    assert _OwnDraws.asked > 0, "the streams were asked"


def test_the_dispatcher_of_a_holder_at_any_level_is_the_reference_s() -> None:
    """The office that classifies a case is the reference's for a holder at every level,
    its level a literal or a string made at run time (equal, not interned)."""
    casework = twins()[0]
    levels = ("centre", "street", "community", "grid", "party", "embedded", "department")
    for cid, level, fresh in itertools.product(open_cases(casework), levels, (False, True)):
        holder = Unit(_fresh(level) if fresh else level, 0)  # type: ignore[arg-type]
        got = casework.dispatcher(cid, holder)
        assert got is PythonLifecycle.dispatcher(casework, cid, holder), (cid, level, fresh)
    assert casework.dispatcher(cid, None) is PythonLifecycle.dispatcher(casework, cid, None)


def test_a_case_s_view_is_the_reference_s_field_by_field() -> None:
    """The compiled lifecycle's view of a case (its slots filled in C) is the reference's:
    equal, of the same type, frozen, with each field the same value of the same type (an
    int, a str, a tuple, a bool, a float, the time limit as the list holds it), its hash
    and text the same — for every case of the table, a freed row (case type −1, which the
    reference's tuple look-up wraps) and a row whose columns were set by hand among them —
    and the enforcement flag asked of ``_needs_enforcement`` as there."""
    casework = twins()[0]
    cases = casework.cases
    free = cases.allocate(1)[0]  # a fresh row: every column its default
    cases.departments[free], cases.work[free] = (0,), (1.5,)
    edited = cases.allocate(1)[0]
    cases.departments[edited], cases.work[edited] = (1, 0), (0.5, 2.0)
    cases.case_type[edited], cases.source[edited] = 3, 4
    cases.minor[edited], cases.repeat[edited], cases.severity[edited] = 1, 1, -0.0
    cases.returns[edited], cases.grid[edited] = 7, cases.grid[0]
    asked: list[tuple[int, ...]] = []
    written = type(casework)._needs_enforcement

    def needs_enforcement(departments: tuple[int, ...]) -> bool:
        asked.append(departments)
        return written(casework, departments)

    casework._needs_enforcement = needs_enforcement  # type: ignore[method-assign]
    for cid in range(cases.size):
        view = casework.case_view(cid)
        expected = PythonLifecycle.case_view(casework, cid)
        assert type(view) is CaseView and view == expected, cid
        for f in dataclasses.fields(CaseView):
            got, want = getattr(view, f.name), getattr(expected, f.name)
            assert type(got) is type(want) and repr(got) == repr(want), (cid, f.name)
        assert hash(view) == hash(expected) and repr(view) == repr(expected)
        with pytest.raises(dataclasses.FrozenInstanceError):
            view.grid = 0  # type: ignore[misc]
    assert asked[0::2] == asked[1::2] == list(cases.departments[: cases.size])
    assert casework.case_view(free).case_type == CASE_TYPES[-1], "−1 wraps as in the reference"
    assert (
        casework.case_view(edited).severity == 0.0
        and math.copysign(1.0, casework.case_view(edited).severity) == -1.0
    )
    with pytest.raises(IndexError, match="not a row"):
        casework.case_view(cases.size + 5)


def test_a_case_s_compiled_view_is_filled_without_its_init(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled view's slots are filled in C: ``CaseView.__init__`` (which sets each
    field by ``object.__setattr__``) is not called for it, as it is for the reference's."""
    casework = twins()[0]
    calls: list[int] = []
    written = CaseView.__init__

    def counted(self: CaseView, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        written(self, *args, **kwargs)

    monkeypatch.setattr(CaseView, "__init__", counted)
    cid = open_cases(casework)[0]
    assert casework.case_view(cid) == PythonLifecycle.case_view(casework, cid)
    assert calls == [1], "only the reference's view was made by __init__"


def _fresh(text: str) -> str:
    """``text`` as a new string object, equal but not interned (as read from a file)."""
    made = "".join(list(text))
    assert made == text and (len(text) < 2 or made is not text)
    return made


def _uninterned(route: Any) -> Any:
    """``route`` with every stage's role and every unit's level a fresh string."""
    stages = tuple(
        Stage(
            tuple(
                Visit(Unit(_fresh(v.unit.level), v.unit.index), v.work_hours, v.response_hours)
                for v in stage.visits
            ),
            _fresh(stage.role),
            stage.claimable,
        )
        for stage in route.stages
    )
    return type(route)(**{**_fields(route), "stages": stages})


def test_roles_and_levels_not_interned_are_equal_to_the_literals() -> None:
    """A third-party route whose roles and levels are strings made at run time (equal to
    the policies' literals, but other objects, not interned) takes every branch a route of
    literals takes: the compiled steps compare them by value, not only by identity."""
    compiled, reference = twins()
    cids = open_cases(compiled)
    for casework in (compiled, reference):
        for cid in cids:
            prog = casework.progress[cid]
            prog.route = _uninterned(prog.route)
            prog.at = None if prog.at is None else Unit(_fresh(prog.at.level), prog.at.index)
    for name in STEPS:
        step = getattr(PythonLifecycle, name)
        for cid in cids:
            if cid not in compiled.progress:
                continue
            arguments = STEPS[name](compiled, cid)
            expected_arguments = STEPS[name](reference, cid)
            if name in ("_visit_arrive", "_visit_done"):  # the unit's level fresh too
                arguments = _fresh_item(arguments)
                expected_arguments = _fresh_item(expected_arguments)
            got = outcome(getattr(compiled, name), *arguments)
            expected = outcome(step, reference, *expected_arguments)
            assert got == expected, f"{name}({cid}): {got}, the reference {expected}"
            assert state(compiled) == state(reference), f"{name}({cid}) differs"


def _fresh_item(arguments: tuple[Any, ...]) -> tuple[Any, ...]:
    """A visit's item with its unit's level and its role fresh strings."""
    (item,) = arguments
    cid, where, role, *rest = item
    if isinstance(where, Visit):
        where = Visit(Unit(_fresh(where.unit.level), where.unit.index), where.work_hours)
    else:
        where = Unit(_fresh(where.level), where.index)
    return ((cid, where, _fresh(role), *rest),)


def _fields(route: Any) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(route, f.name) for f in dataclasses.fields(route)}


def test_the_twins_cover_both_kinds_of_grid() -> None:
    """The open cases the steps are called on include rural grids' (with trips) and urban
    ones' (without)."""
    casework = twins()[0]
    trips = np.array(
        [casework.geography.grid_travel_hours[casework.cases.grid[c]] for c in open_cases(casework)]
    )
    assert (trips > 0).any() and (trips == 0).any()


def test_a_day_s_registration_takes_what_the_reference_takes() -> None:
    """A day's registration given its items as lists and its rows as a tuple registers as
    the reference does; too few rows or times raise the reference's IndexError."""
    compiled, reference = twins()
    cids = open_cases(compiled)[:4]
    for casework, register in (
        (compiled, compiled._register_new),
        (reference, lambda *a: PythonLifecycle._register_new(reference, *a)),
    ):
        rows, items, registered, deadlines = [], [], [], []
        for cid in cids:
            r, i, t, d = _new_day(casework, cid)
            rows += r
            items += [list(item) for item in i]
            registered += t
            deadlines += d
        register(tuple(rows), items, registered, deadlines)
    assert state(compiled) == state(reference)
    for casework, register in (
        (compiled, compiled._register_new),
        (reference, lambda *a: PythonLifecycle._register_new(reference, *a)),
    ):
        rows, items, registered, deadlines = _new_day(casework, cids[0])
        with pytest.raises(IndexError):
            register([], items, registered, deadlines)
        with pytest.raises(IndexError):
            register(rows, items, [], deadlines)
