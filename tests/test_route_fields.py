"""A route's, stage's, visit's and unit's fields read by the compiled lifecycle from their
slots (model/_fields.pxi; issue 11, twenty-eighth round).

For an object of model/policies/base.py's own class, the compiled lifecycle reads a field
from its slot, as the class's member descriptor does; anything else — a subclass, which may
give a field a property of its own, a class given another attribute after the lifecycle
ran, an empty slot — is read by ``getattr``. Checked on the reader itself, and on twin
models (tests/test_lifecycle_twins.py) stepping cases whose routes are made of subclasses.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_lifecycle_twins import lead, open_cases, same_call, twins

from model.casework import Casework
from model.engine_backend import compiled_engine
from model.policies.base import Route, Stage, Unit, Visit
from model.route_memo import RouteMemo

ENGINE = compiled_engine()
pytestmark = pytest.mark.skipif(ENGINE is None, reason="the engine is not built")

# each class and the fields the lifecycle reads of it, in the engine's order
FIELDS = {
    Route: ("stages", "handoff_delay_hours", "overhead_hours", "priority", "first_unit_leads"),
    Stage: ("visits", "role", "claimable"),
    Visit: ("unit", "work_hours", "response_hours"),
    Unit: ("level", "index"),
}
hours = st.one_of(st.none(), st.floats(allow_nan=False, min_value=0, max_value=100))
units = st.builds(Unit, st.sampled_from(["grid", "community", "department"]), st.integers(0, 9))
visits = st.builds(Visit, units, hours, hours)
stages = st.builds(
    Stage, st.tuples(visits, visits), st.sampled_from(["review", "handle"]), st.booleans()
)
routes = st.builds(
    Route, st.tuples(stages), hours, st.floats(0, 5), st.floats(-1, 1), st.booleans()
)


def reader(cls: type) -> Any:
    assert ENGINE is not None
    return ENGINE._Fields(cls, FIELDS[cls])


def recast(cls: type, obj: Any) -> Any:
    """``obj`` as an instance of ``cls``, a subclass of its class whose properties hide some
    of its fields: the same values in the class's slots, set as its ``__init__`` sets them."""
    base = type(obj)
    instance = object.__new__(cls)
    for name in base.__slots__:
        vars(base)[name].__set__(instance, getattr(obj, name))
    return instance


@given(routes)
def test_every_field_reads_as_getattr(route: Route) -> None:
    stage = route.stages[0]
    visit = stage.visits[1]
    for obj in (route, stage, visit, visit.unit):
        read = reader(type(obj))
        for k, name in enumerate(FIELDS[type(obj)]):
            assert read.read(obj, k) is getattr(obj, name)


def constant(value: object) -> Any:
    """A property that gives ``value`` whatever the slot beneath it holds."""
    return property(lambda self: value)


class LaterVisit(Visit):
    """A visit whose unit reports after five hours and whose work is two and a half."""

    response_hours = constant(5.0)
    work_hours = constant(2.5)


class EarlierRoute(Route):
    """A route served first, with four hours' overhead and a three-hour hand-off."""

    priority = constant(-1.0)
    overhead_hours = constant(4.0)
    handoff_delay_hours = constant(3.0)
    first_unit_leads = constant(True)


class TeamUnit(Unit):
    """A unit that names itself a grid's team, whatever its slot says."""

    level = constant("grid")


def test_a_subclass_s_properties_are_read() -> None:
    visit = recast(LaterVisit, Visit(Unit("department", 1)))
    route = recast(EarlierRoute, Route(()))
    unit = recast(TeamUnit, Unit("department", 2))
    assert [reader(Visit).read(visit, k) for k in (1, 2)] == [2.5, 5.0]
    assert [reader(Route).read(route, k) for k in (1, 2, 3, 4)] == [3.0, 4.0, -1.0, True]
    assert [reader(Unit).read(unit, k) for k in (0, 1)] == ["grid", 2]


def test_a_class_given_another_attribute_is_read_by_look_up() -> None:
    read = reader(Route)
    route = Route((), priority=0.5)
    assert read.read(route, 3) == 0.5  # the slot, read directly
    slot = vars(Route)["priority"]
    Route.priority = property(lambda self: 9.0)  # type: ignore[assignment,method-assign]
    try:
        # a look-up from Python first: it gives the changed class a new version tag
        assert route.priority == 9.0
        assert read.read(route, 3) == 9.0
    finally:
        Route.priority = slot  # type: ignore[method-assign]
    assert route.priority == 0.5
    assert read.read(route, 3) == 0.5
    assert read.read(Route((), priority=0.25), 3) == 0.25


def test_an_empty_slot_raises_the_look_up_s_error() -> None:
    empty = object.__new__(Unit)
    with pytest.raises(AttributeError, match="level"):
        reader(Unit).read(empty, 0)


def test_a_class_without_those_slots_is_read_by_getattr() -> None:
    class Plain:
        level = "street"
        index = 4

    assert ENGINE is not None
    read = ENGINE._Fields(Plain, ("level", "index"))
    assert [read.read(Plain(), k) for k in (0, 1)] == ["street", 4]
    with pytest.raises(ValueError, match="at most 8"):
        ENGINE._Fields(Plain, tuple(f"f{k}" for k in range(9)))
    with pytest.raises(TypeError, match="a plain class"):
        ENGINE._Fields(Plain(), ("level",))
    with pytest.raises(IndexError, match="field 2 of 2"):
        read.read(Plain(), 2)


def _subclassed(route: Route) -> Route:
    """``route`` made of the subclasses above: every visit a LaterVisit, the route an
    EarlierRoute, each stage as it was."""
    stages = tuple(
        Stage(
            tuple(recast(LaterVisit, v) for v in s.visits),
            s.role,
            s.claimable,
        )
        for s in route.stages
    )
    return recast(EarlierRoute, dataclasses.replace(route, stages=stages))


def _on_subclassed_routes(casework: Casework) -> list[int]:
    cids = open_cases(casework)
    for cid in cids:
        prog = casework.progress[cid]
        prog.route = _subclassed(prog.route)
    return cids


STEPS = {
    "_enter_stage": lambda cw, cid: (cid,),
    "_turned_away": lambda cw, cid: (cid, cw.progress[cid]),
    "_visit_arrive": lambda cw, cid: (
        (cid, recast(LaterVisit, Visit(Unit("department", lead(cw, cid)))), "handle"),
    ),
    "_visit_done": lambda cw, cid: (
        (cid, recast(TeamUnit, Unit("department", lead(cw, cid))), "handle", 0.3, True),
    ),
}


@pytest.mark.parametrize("name", sorted(STEPS))
def test_routes_of_subclasses_step_as_the_reference(name: str) -> None:
    compiled, reference = twins()
    cids = _on_subclassed_routes(compiled)
    assert _on_subclassed_routes(reference) == cids
    for cid in cids:
        if cid in compiled.progress:
            same_call(compiled, reference, name, STEPS[name], cid)


def test_a_subclass_s_fields_change_the_step() -> None:
    """The properties are what the step reads: a visit's own work hours (2.5) are queued
    where the plain visit's department would queue the case's work content."""
    plain, subclassed = twins()
    cid = next(c for c in open_cases(plain) if c in plain.progress)
    queued = []
    for casework, visit_class in ((plain, Visit), (subclassed, LaterVisit)):
        department = lead(casework, cid)
        visit = Visit(Unit("department", department))
        if visit_class is LaterVisit:
            visit = recast(LaterVisit, visit)
        station = casework.units.departments[department].station
        casework._visit_arrive((cid, visit, "handle"))
        queued.append([*sorted(station.queued_work()), station.busy_hours])
    assert queued[0] != queued[1]


class SwappedMemo(RouteMemo):
    """A memo whose routes are another dictionary than its slot's (``swapped``)."""

    swapped: dict[Any, Route]

    @property  # type: ignore[override]
    def routes(self) -> dict[Any, Route]:
        return self.swapped


def swapped_memo(memo: RouteMemo, route: Route) -> SwappedMemo:
    """``memo``'s slots in a SwappedMemo whose routes have ``route`` for every key."""
    swapped = recast(SwappedMemo, memo)
    swapped.swapped = _Every(route)
    return swapped


class _Every(dict):  # type: ignore[type-arg]
    """A dictionary that has ``route`` for every key."""

    def __init__(self, route: Route) -> None:
        super().__init__()
        self.route = route

    def get(self, key: Any, default: Any = None) -> Route:  # type: ignore[override]
        return self.route


def test_a_memo_s_parts_and_routes_read_as_getattr() -> None:
    assert ENGINE is not None
    memo = RouteMemo(None, lambda cid: Route(()), (([0], None, None),))
    read = ENGINE._Fields(RouteMemo, ("parts", "routes"))
    assert read.read(memo, 0) is memo.parts
    assert read.read(memo, 1) is memo.routes


def test_a_memo_subclass_s_routes_are_looked_up() -> None:
    """A memo of a subclass with routes of its own gives the route both lifecycles find."""
    compiled, reference = twins()
    mark = Route((Stage((Visit(Unit("grid", 0)),), "resolve"),), priority=0.25)
    found = []
    for casework in (compiled, reference):
        memo = casework._memo(("departments",), lambda cid: Route(()))  # keyed on a column
        casework._routing_memo = swapped_memo(memo, mark)
    cids = [c for c in open_cases(compiled) if not compiled.cases.bundle[c]]
    assert cids
    for cid in cids:
        found.append(same_call(compiled, reference, "_route_case", _from_grid, cid))
    assert found == [("returned", mark)] * len(cids)


def _from_grid(casework: Casework, cid: int) -> tuple[int, Unit]:
    return cid, Unit("grid", casework.cases.grid[cid])
