"""The agents' per-case decisions, computed by the compiled lifecycle, against the reference
(issue 11, twenty-third round).

Where a department, a grid worker or an office decides by the methods model/agents.py gives
its class, the compiled lifecycle computes the decision itself with the method's float
operations (a department's work, queue order, effort, rating, resolution, acceptance and
re-filing; a grid worker's check; an office's first answer); anything else is asked as the
reference asks it: a subclass's own method, a method given to the class or the agent after
the lifecycle has run, a wrapper, handling parameters that are not the frozen model's,
ratings that are not float64, numbers that are not plain floats. Each is checked here on
twin models (tests/test_lifecycle_twins.py), step by step, with the state after each call.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import sys
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from test_lifecycle_twins import STEPS, lead, open_cases, outcome, same_call, state, twins

from model.agents import Department, GridWorker, Office
from model.casework import Casework
from model.engine_backend import compiled_engine
from model.lifecycle import PythonLifecycle
from model.parameters import HandlingParameters
from model.policies.base import Unit, Visit
from model.units import Units

pytestmark = pytest.mark.skipif(compiled_engine() is None, reason="the engine is not built")

# steps that ask a department, a grid worker or an office for a decision
DECIDING = ("_turned_away", "_visit_arrive", "_visit_done", "_handled", "_verified")
# ranked on quality (more care, some premature closures) or on timeliness (re-filing)
WEIGHTS = {
    "quality": {"resolution": 0.5, "satisfaction": 0.5},
    "timeliness": {"on_time": 0.7, "street_rating": 0.3},
}
GAMING = HandlingParameters(
    gaming_propensity=0.8, care_gain=1.5, dispute_probability=0.6, premature_effort_share=0.25
)


def under_pressure(casework: Casework, ranked: str, handling: Any = GAMING) -> None:
    """Every department of ``casework`` under pressure spread over [0, 1], ranked on
    ``ranked``, with ``handling`` given after the lifecycle has run; half the open cases of
    disputed ownership."""
    departments = casework.units.departments
    for k, department in enumerate(departments):
        department.respond_to(k / max(1, len(departments) - 1), WEIGHTS[ranked])
        department.handling = handling
    for k, cid in enumerate(open_cases(casework)):
        casework.cases.disputed[cid] = k % 2


def run_steps(compiled: Casework, reference: Casework, names: tuple[str, ...]) -> None:
    """Each step in ``names`` on each open case, compiled and reference, state compared."""
    for name in names:
        for cid in open_cases(compiled):
            if cid in compiled.progress:
                for casework in (compiled, reference):
                    casework.cases.reopened[cid] = 0  # the grid worker's check is asked
                    casework.cases.resolved[cid] = 0
                same_call(compiled, reference, name, STEPS[name], cid)


@pytest.mark.parametrize("ranked", sorted(WEIGHTS))
def test_departments_under_pressure_decide_as_the_reference(ranked: str) -> None:
    """Departments under pressure, ranked on quality or on timeliness, with handling
    parameters given later: their effort (more care, premature closures), acceptance of
    disputed cases and re-filing are the reference's, and each branch is taken."""
    compiled, reference = twins()
    for casework in (compiled, reference):
        under_pressure(casework, ranked)
    deadlines = list(compiled.cases.deadline)
    returns = sum(compiled.cases.handoffs)
    run_steps(compiled, reference, DECIDING)
    assert any(compiled.cases.premature), "a premature closure"
    assert sum(compiled.cases.handoffs) > returns, "a case returned"
    if ranked == "timeliness":
        assert list(compiled.cases.deadline) != deadlines, "a case re-filed"


@pytest.mark.parametrize("effort", [0.3, 1, 0.0, 2.5, -0.5, float("inf"), np.float64(0.7)])
def test_any_effort_resolves_as_the_reference(effort: Any) -> None:
    """A handling's resolution for an effort of any kind (an int, none, more than full,
    negative, infinite, a numpy float) is the reference's: plain floats in [0, ∞) are
    computed, anything else asked."""
    compiled, reference = twins()
    for cid in open_cases(compiled):
        same_call(
            compiled,
            reference,
            "_visit_done",
            lambda cw, c: ((c, Unit("department", lead(cw, c)), "handle", effort, False),),
            cid,
        )


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


class _Asked:
    """Records each call of an agent's decision, then makes the decision as written."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def wrap(self, method: Any, name: str) -> Any:
        @functools.wraps(method)  # its name and qualified name copied: still a wrapper
        def asked(agent: Any, *args: Any) -> Any:
            shown = tuple("stream" if isinstance(a, np.random.Generator) else a for a in args)
            self.calls.append((name, shown))  # each twin has its own streams
            return method(agent, *args)

        return asked


AGENTS = {
    "department": (
        Department,
        ("work_hours", "queue_key", "effort", "rate", "resolves", "accepts", "reclassifies"),
    ),
    "grid worker": (GridWorker, ("verification_hours", "catches")),
    "office": (Office, ("classify", "accuracy_for")),
}


def _agents(casework: Casework, kind: str) -> list[Any]:
    units = casework.units
    if kind == "department":
        return list(units.departments)
    if kind == "grid worker":
        return list(units.grid_workers)
    return [units.centre, *units.streets, *units.communities]


@pytest.mark.parametrize(
    ("kind", "own"), list(itertools.product(sorted(AGENTS), ("subclass", "instance", "class")))
)
def test_agents_with_decisions_of_their_own_are_asked(
    kind: str, own: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent whose class is a subclass with its own decisions, an agent given its own,
    or a class given new ones (a wrapper, after the compiled lifecycle has looked at the
    class) is asked for every decision the reference asks it for, alike on both twins."""
    compiled, reference = twins()
    for casework in (compiled, reference):
        under_pressure(casework, "quality")
    run_steps(compiled, reference, DECIDING)  # the lifecycle has looked at every class
    base, names = AGENTS[kind]
    asked = {"compiled": _Asked(), "reference": _Asked()}
    for key, casework in (("compiled", compiled), ("reference", reference)):
        record = asked[key]
        if own == "class":
            if key == "compiled":  # one class for both: each twin's calls told apart below
                shared = _Asked()
                for name in names:
                    monkeypatch.setattr(base, name, shared.wrap(getattr(base, name), name))
            continue
        for agent in _agents(casework, kind):
            if own == "instance":
                for name in names:
                    method = getattr(type(agent), name)
                    setattr(agent, name, functools.partial(record.wrap(method, name), agent))
            else:
                cls = type(agent)
                agent.__class__ = type(
                    f"Own{cls.__name__}",
                    (cls,),
                    {name: record.wrap(getattr(cls, name), name) for name in names},
                )
    if own == "class":
        for name in DECIDING:
            for cid in open_cases(compiled):
                if cid in compiled.progress:
                    before = len(shared.calls)
                    got = outcome(getattr(compiled, name), *STEPS[name](compiled, cid))
                    mine = shared.calls[before:]
                    del shared.calls[before:]
                    expected = outcome(
                        getattr(PythonLifecycle, name), reference, *STEPS[name](reference, cid)
                    )
                    theirs = shared.calls[before:]
                    del shared.calls[before:]
                    assert got == expected and mine == theirs, f"{name}({cid})"
                    assert state(compiled) == state(reference), f"{name}({cid}) differs"
                    asked["compiled"].calls += mine
    else:
        run_steps(compiled, reference, DECIDING)
        assert asked["compiled"].calls == asked["reference"].calls
    assert asked["compiled"].calls, f"{kind}'s own decisions were asked"


def test_handling_that_is_not_the_frozen_parameters_is_read_at_every_decision() -> None:
    """Departments whose handling is another object (a namespace with the same numbers,
    changed between cases) decide as the reference does at every call: only model.
    parameters.HandlingParameters, frozen, is read once."""
    compiled, reference = twins()
    handled: dict[str, SimpleNamespace] = {}
    for key, casework in (("compiled", compiled), ("reference", reference)):
        handled[key] = SimpleNamespace(**GAMING.model_dump())
        under_pressure(casework, "quality", handled[key])
    for name in DECIDING:
        for k, cid in enumerate(open_cases(compiled)):
            for namespace in handled.values():  # new numbers for each case
                namespace.gaming_propensity = (k % 4) / 4
                namespace.resolution_probability_full_effort = 0.5 + (k % 3) / 6
                namespace.rating_memory = (k % 5) / 5
            if cid in compiled.progress:
                same_call(compiled, reference, name, STEPS[name], cid)


@pytest.mark.parametrize("ratings", ["float32", "list", "numpy numbers", "decimals"])
def test_ratings_or_pressure_of_other_kinds_are_asked(ratings: str) -> None:
    """Ratings that are not a float64 array (float32, a list), or pressure and focus that
    are numpy numbers or decimals (which floats do not multiply), give the reference's
    ratings and decisions, or its error."""
    compiled, reference = twins()
    for casework in (compiled, reference):
        under_pressure(casework, "timeliness")
        departments = casework.units.departments
        shared = departments[0]._ratings
        if ratings == "float32":
            shared = shared.astype(np.float32)
        elif ratings == "list":
            shared = np.asarray(shared).tolist()
        for department in departments:
            if ratings in ("numpy numbers", "decimals"):
                kind = np.float64 if ratings == "numpy numbers" else _decimal
                department.pressure = kind(department.pressure)
                department.timeliness_focus = kind(department.timeliness_focus)
            else:
                department._ratings = shared
    if ratings == "decimals":  # float * Decimal raises: both alike, with the same state
        run_steps(compiled, reference, DECIDING)
        return
    if ratings == "list":  # no .item: both raise alike (no ratings to compare)
        for cid in open_cases(compiled):
            for name in ("_visit_done", "_visit_arrive", "_turned_away"):
                got = outcome(getattr(compiled, name), *STEPS[name](compiled, cid))
                expected = outcome(
                    getattr(PythonLifecycle, name), reference, *STEPS[name](reference, cid)
                )
                assert got == expected, f"{name}({cid}): {got}, the reference {expected}"
        return
    run_steps(compiled, reference, DECIDING)
    assert [d.rating for d in compiled.units.departments] != [
        d.rating for d in twins()[0].units.departments
    ], "the ratings moved"


@pytest.mark.parametrize("accuracies", [(0.2, 0.9), (0.9, 0.2)])
def test_an_office_s_catalogue_names_the_lead_as_the_reference(
    accuracies: tuple[float, float],
) -> None:
    """Offices with a dispatch catalogue (一组库) naming some departments with another
    accuracy send each case where the reference sends it, above and below either accuracy."""
    compiled, reference = twins()
    for casework in (compiled, reference):
        for office in _agents(casework, "office"):
            office.catalogue = frozenset(range(0, office.n_departments, 2))
            office.accuracy, office.catalogue_accuracy = accuracies
        for k, cid in enumerate(open_cases(casework)):
            casework.cases.u_classify[cid] = (0.1, 0.5, 0.95)[k % 3]
    received = list(compiled.league["received"])
    run_steps(compiled, reference, ("_turned_away",))
    assert list(compiled.league["received"]) != received, "cases were sent"


def test_a_second_department_s_work_has_no_coordination_overhead() -> None:
    """A case needing two departments, on a route charging coordination to the lead (首接负责,
    F4.7): the lead's work includes the overhead and the other department's does not, as the
    reference has it; an int overhead is the same number."""
    compiled, reference = twins()
    cids = open_cases(compiled)
    for overhead in (2.5, 3):
        for casework in (compiled, reference):
            for cid in cids:
                prog = casework.progress[cid]
                prog.route = dataclasses.replace(prog.route, overhead_hours=overhead)
                casework.cases.departments[cid] = (1, 2)
                casework.cases.work[cid] = (1.25, 4.0)
        for cid, department in itertools.product(cids, (1, 2)):
            same_call(
                compiled,
                reference,
                "_visit_arrive",
                lambda cw, c, d=department: ((c, Visit(Unit("department", d)), "handle"),),
                cid,
            )


def test_a_case_the_grid_s_team_settled_is_not_caught_on_site() -> None:
    """The grid worker's on-site check never reopens a case the grid's own team settled
    (it saw the result, F9.5), on either lifecycle; one it did not settle is caught."""
    compiled, reference = twins()
    cids = open_cases(compiled)
    for casework in (compiled, reference):
        for k, cid in enumerate(cids):
            casework.progress[cid].settled_by_team = k % 2 == 0
    for cid in cids:
        for casework in (compiled, reference):
            casework.cases.resolved[cid] = 0
            casework.cases.reopened[cid] = 0
            casework.cases.u_verify[cid] = 0.0  # caught, if checked
            casework.cases.u_callback[cid] = 1.0  # not called back
        same_call(compiled, reference, "_verified", STEPS["_verified"], cid)
    settled = [c for k, c in enumerate(cids) if k % 2 == 0]
    assert all(compiled.cases.reopened[c] == 0 for c in settled)
    assert any(compiled.cases.reopened[c] for c in cids if c not in settled)


@pytest.mark.parametrize("kept", ["as made", "none left", "a tuple", "none yet"])
def test_an_office_s_kept_wrong_departments_are_the_reference_s(kept: str) -> None:
    """A case the office does not name right goes to one of the wrong departments it keeps
    per departments needed (drawn as the reference draws), to the lead where none is left,
    and the office is asked where its list is of another kind or not made yet."""
    compiled, reference = twins()
    for casework in (compiled, reference):
        for office in _agents(casework, "office"):
            office.accuracy = office.catalogue_accuracy = 0.0  # never right
            for cid in open_cases(casework):
                needed = casework.cases.departments[cid]
                wrong = [d for d in range(office.n_departments) if d not in needed]
                if kept == "none left":
                    wrong = []
                casework.cases.owner[cid] = -1
                if kept == "none yet":
                    office._wrong_for.pop(needed, None)
                else:
                    office._wrong_for[needed] = tuple(wrong) if kept == "a tuple" else wrong
    run_steps(compiled, reference, ("_turned_away",))
    leads = [lead(compiled, cid) for cid in open_cases(compiled)]
    owners = [compiled.cases.owner[cid] for cid in open_cases(compiled)]
    if kept == "none left":
        assert any(o == first for o, first in zip(owners, leads, strict=True)), "the lead took one"
    else:
        assert all(o == -1 for o in owners), "sent to a wrong department, returned by it"


def _units_with_their_own(
    own: str,
    name: str,
    compiled: Casework,
    reference: Casework,
    look: Callable[[Casework], None],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, _Asked]:
    """Both twins' units given their own method ``name``, as ``own`` says: a subclass's, the
    object's own attribute, or (``"class"``) Units' own replaced by a wrapper after each
    lifecycle has looked at the class (``look``); the calls each twin's units are asked."""
    asked = {"compiled": _Asked(), "reference": _Asked()}
    if own == "class":
        for casework in (compiled, reference):
            look(casework)
        written = getattr(Units, name)

        def replaced(units: Units, unit: Unit) -> Any:  # each twin's calls told apart
            key = "compiled" if units is compiled.units else "reference"
            asked[key].calls.append((name, (unit,)))
            return written(units, unit)

        monkeypatch.setattr(Units, name, replaced)
    for key, casework in (("compiled", compiled), ("reference", reference)):
        units = casework.units
        method = asked[key].wrap(getattr(type(units), name), name)
        if own == "instance":
            setattr(units, name, functools.partial(method, units))
        elif own == "subclass":
            units.__class__ = type("OwnUnits", (type(units),), {name: method})
    return asked


@pytest.mark.parametrize("own", ["subclass", "instance", "class"])
def test_units_with_their_own_stations_are_asked(own: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Units whose class (a subclass, or Units given a wrapper after the lifecycle looked
    at it), or the object itself, has its own ``station`` are asked for every visit's
    station that is not a department's, as the reference asks them."""
    compiled, reference = twins()

    def look(casework: Casework) -> None:  # a grid's team's station
        cid = open_cases(casework)[0]
        casework._visit_arrive((cid, Visit(Unit("grid", casework.cases.grid[cid])), "review"))

    asked = _units_with_their_own(own, "station", compiled, reference, look, monkeypatch)
    for name in ("_visit_arrive", "_enter_stage"):
        for cid in open_cases(compiled):
            if cid in compiled.progress:
                same_call(
                    compiled,
                    reference,
                    name,
                    lambda cw, c, n=name: (
                        ((c, Visit(Unit("grid", cw.cases.grid[c])), "resolve"),)
                        if n == "_visit_arrive"
                        else (c,)
                    ),
                    cid,
                )
    assert asked["compiled"].calls == asked["reference"].calls != []


@pytest.mark.parametrize("level", ["grid", "party", "community", "street", "centre"])
def test_a_visit_arrives_at_each_level_s_station(level: str) -> None:
    """A visit to a grid's team, its party volunteers or an office arrives at the station
    the reference's ``Units.station`` names (its queue and its events)."""
    compiled, reference = twins()

    def arguments(cw: Casework, cid: int) -> tuple[Any, ...]:
        grid = cw.cases.grid[cid]
        community = cw.geography.grid_community[grid]
        index = {
            "grid": grid,
            "party": grid,
            "community": community,
            "street": cw.geography.community_street[community],
            "centre": 0,
        }[level]
        return ((cid, Visit(Unit(level, index), work_hours=0.5 + cid % 3), "review"),)

    for cid in open_cases(compiled):
        same_call(compiled, reference, "_visit_arrive", arguments, cid)


def _office_units(cw: Casework, cid: int) -> list[Unit]:
    """The offices over case ``cid``'s grid, at every level: its community, street, centre."""
    community = cw.geography.grid_community[cw.cases.grid[cid]]
    return [
        Unit("community", community),
        Unit("street", cw.geography.community_street[community]),
        Unit("centre", 0),
    ]


def test_an_office_level_case_is_classified_by_the_office_units_name() -> None:
    """For an office's level, the compiled lifecycle finds the office itself where
    ``Units.dispatcher`` is as written (issue 11, twenty-seventh round): the office the
    reference's ``units.dispatcher`` names, and its review hours as a unit's default work;
    a level that is not an office's raises as the reference does."""
    compiled, reference = twins()
    for cid in open_cases(compiled):
        for unit in _office_units(compiled, cid):
            for casework, step in ((compiled, compiled.dispatcher), (reference, None)):
                office = (
                    step(cid, unit)
                    if step is not None
                    else PythonLifecycle.dispatcher(casework, cid, unit)
                )
                assert office is casework.units.dispatcher(unit)
            same_call(compiled, reference, "_default_work", lambda cw, c, u=unit: (c, u), cid)
        not_an_office = same_call(
            compiled, reference, "_default_work", lambda cw, c: (c, Unit("department", 0)), cid
        )
        assert not_an_office == ("raised", "ValueError")


@pytest.mark.parametrize("own", ["subclass", "instance", "class"])
def test_units_with_their_own_dispatcher_are_asked(
    own: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Units whose class (a subclass, or Units given a wrapper after the lifecycle looked
    at it), or the object itself, has its own ``dispatcher`` are asked for every office's
    level, as the reference asks them, and what they answer is used."""
    compiled, reference = twins()

    def look(casework: Casework) -> None:  # an office's default work
        cid = open_cases(casework)[0]
        casework._default_work(cid, _office_units(casework, cid)[0])

    asked = _units_with_their_own(own, "dispatcher", compiled, reference, look, monkeypatch)
    for cid in open_cases(compiled):
        for unit in _office_units(compiled, cid):
            same_call(compiled, reference, "_default_work", lambda cw, c, u=unit: (c, u), cid)
        same_call(compiled, reference, "_turned_away", STEPS["_turned_away"], cid)
    assert asked["compiled"].calls == asked["reference"].calls != []


@pytest.mark.parametrize("own", ["written", "subclass", "instance", "class"])
def test_unresolved_closures_ask_casework_s_own_maybe_contact_again(
    own: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unresolved case closes; the resident may contact the system again. Where
    ``Casework._maybe_contact_again`` is as written, the compiled lifecycle makes its
    decisions itself — nothing for a case nobody reported (issue 11, twenty-seventh round),
    the resident's choice and the contact scheduled for the others (thirty-fourth round) —
    and leaves the reference's state; a Casework whose class or object has its own is asked
    about every unresolved closure, found cases too, as the reference asks it."""
    compiled, reference = twins()
    calls: dict[str, list[int]] = {"compiled": [], "reference": []}
    written = Casework._maybe_contact_again

    def own_method(key: str) -> Any:
        def maybe_contact_again(self: Casework, cid: int) -> None:
            calls[key].append(cid)
            written(self, cid)

        return maybe_contact_again

    if own == "class":
        for casework in (compiled, reference):  # looked at: one unresolved closure each
            cid = open_cases(casework)[0]
            casework.cases.resolved[cid] = 0
            casework.cases.resident[cid] = -1
            casework._close(cid, casework.events.now + 3.0)

        def by_class(self: Casework, cid: int) -> None:
            calls["compiled" if self is compiled else "reference"].append(cid)
            written(self, cid)

        monkeypatch.setattr(Casework, "_maybe_contact_again", by_class)
    for key, casework in (("compiled", compiled), ("reference", reference)):
        if own == "instance":
            casework._maybe_contact_again = functools.partial(own_method(key), casework)  # type: ignore[method-assign]
        elif own == "subclass":
            casework.__class__ = type(
                "OwnCasework", (type(casework),), {"_maybe_contact_again": own_method(key)}
            )
    entered: list[int] = []  # calls of the method as written, on the compiled twin

    def profile(frame: Any, event: str, _: Any) -> None:
        if event == "call" and frame.f_code is written.__code__:
            if frame.f_locals.get("self") is compiled:
                entered.append(frame.f_locals["cid"])

    found = []
    reported = []
    for k, cid in enumerate(open_cases(compiled)):
        if cid not in compiled.progress:
            continue
        for casework in (compiled, reference):
            casework.cases.resolved[cid] = 0
            if k % 2:  # found by a patrol: nobody is waiting for it
                casework.cases.resident[cid] = -1
            else:  # every other resident calls again (u_repeat 0, or the probability)
                probability = casework.p.reporting.repeat_contact_probability
                casework.cases.u_repeat[cid] = (k % 4) / 2 * probability
        (found if k % 2 else reported).append(cid)
        sys.setprofile(profile)
        try:
            same_call(compiled, reference, "_close", STEPS["_close"], cid)
        finally:
            sys.setprofile(None)
    assert found
    assert calls["compiled"] == calls["reference"]
    if own == "written":  # decided by the lifecycle: no one without an agent is asked about
        members = compiled.residents._members
        assert all(compiled.cases.resident[cid] in members for cid in entered)
        again = [cid for cid in reported if compiled.cases.followups[cid]]
        assert again and set(again) < set(reported), "some residents call again, some do not"
    else:
        assert set(found) <= set(calls["compiled"])


@pytest.mark.parametrize("own", ["subclass", "class", "module", "member"])
def test_residents_own_repeat_contact_decisions_are_asked(
    own: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled lifecycle decides a repeat contact itself only where
    ``Residents.contacts_again`` and model.residents' ``contacts_again`` are as written and
    the resident has no agent of their own: Residents whose class has its own (a subclass,
    or Residents given a wrapper after the lifecycle looked at it; a Residents object has
    no attributes of its own: slots), a module function replaced, and a party member's
    agent are each asked about every reported
    unresolved closure, as the reference asks them, and what they answer is used (here:
    always yes, which the written rule would refuse)."""
    import model.residents as residents_module
    from model.residents import Residents

    compiled, reference = twins()
    cids = [cid for cid in open_cases(compiled) if compiled.cases.resident[cid] >= 0][:6]
    for casework in (compiled, reference):  # looked at: one unresolved closure each
        casework.cases.resolved[cids[0]] = 0
        casework._close(cids[0], casework.events.now + 3.0)
    asked: dict[str, list[float]] = {"compiled": [], "reference": [], "either": []}

    def answering(key: str) -> Any:
        def contacts_again(*args: Any) -> bool:
            asked[key].append(args[-1])  # the uniform the decision is given
            return True

        return contacts_again

    for key, casework in (("compiled", compiled), ("reference", reference)):
        residents = casework.residents
        if own == "subclass":
            residents.__class__ = type(
                "OwnResidents",
                (Residents,),
                {"__slots__": (), "contacts_again": lambda self, *a, key=key: answering(key)(*a)},
            )
        elif own == "member":
            members = residents._members
            for cid, row in zip(cids[1:], sorted(members), strict=False):
                casework.cases.resident[cid] = row
                members[row].contacts_again = answering(key)
    shared = answering("either")
    if own == "class":
        monkeypatch.setattr(Residents, "contacts_again", lambda self, *a: shared(*a))
    elif own == "module":
        monkeypatch.setattr(residents_module, "contacts_again", shared)
    for cid in cids[1:]:
        for casework in (compiled, reference):
            casework.cases.resolved[cid] = 0
            casework.cases.u_repeat[cid] = 0.999  # the written rule says no
        same_call(compiled, reference, "_close", STEPS["_close"], cid)
    if own in ("class", "module"):  # one function for both twins: asked twice a closure
        assert asked["either"] == [0.999] * 2 * len(cids[1:])
    else:
        assert asked["compiled"] == asked["reference"] and len(asked["compiled"]) == len(cids[1:])
    assert all(compiled.cases.followups[cid] == 1 for cid in cids[1:]), "their answer is used"
