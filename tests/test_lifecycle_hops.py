"""The case lifecycle's hops made cheaper in issue 11's eighth round keep their behaviour: the
return visit made once per department and check time is the visit a fresh construction
would give, and follows a changed check time; the route memo's key, made as a tuple display
for a few columns, is the tuple of the case's key columns; a progress record made with
positional arguments is the keyword one."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.scenario_files import load_scenario
from model.casework import Casework
from model.governance import GovernanceModel
from model.lifecycle import (
    CENTRE,
    NEIGHBOUR_DISPUTE,
    PATROL_SOURCE,
    Lifecycle,
    Progress,
    PythonLifecycle,
)
from model.policies.base import Route, Stage, Unit, Visit
from model.route_memo import CASE_VIEW_FIELDS, RouteMemo, key_columns

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
COMPILED = Lifecycle is not PythonLifecycle  # the lifecycle is the compiled engine's


@pytest.fixture(scope="module")
def model() -> GovernanceModel:
    """A classroom model after 12 days, of this module's own (the tests turn cases away)."""
    parameters = load_scenario(SCENARIOS / "classroom.toml").parameters
    built = GovernanceModel(parameters, seed=3)
    for _ in range(12):
        built.step()
    return built


def _turn_away(model: GovernanceModel, department: int, hours: float) -> Visit:
    """Have the centre name ``department`` for a case that does not need it, with the
    department's check time set to ``hours``; the visit of the return it schedules."""
    casework = model.casework
    cid = next(iter(casework.progress))  # a case in progress lends its row
    n = casework.n_departments
    office = casework.units.centre
    target = casework.units.departments[department]
    saved = (
        casework.cases.departments[cid],
        casework.progress[cid],
        target.return_check_hours,
        casework.events,
    )
    scheduled: list[Any] = []
    casework.cases.departments[cid] = ((department + 1) % n,)
    target.return_check_hours = hours
    office.classify = lambda *args: department  # type: ignore[method-assign]
    casework.events = SimpleNamespace(  # type: ignore[assignment]
        now=saved[3].now, schedule=lambda time, callback, item: scheduled.append(item)
    )
    try:
        prog = Progress(route=saved[1].route, at=CENTRE)
        assert casework._turned_away(cid, prog), "a department that is not needed returns it"
    finally:
        del office.classify
        casework.cases.departments[cid] = saved[0]
        casework.progress[cid] = saved[1]
        target.return_check_hours = saved[2]
        casework.events = saved[3]
    ((returned_cid, visit, role),) = scheduled
    assert (returned_cid, role) == (cid, "return")
    return visit


@settings(max_examples=30, deadline=None)
@given(department=st.integers(0, 7), hours=st.sampled_from((0.0, 0.25, 0.5, 1.0, 2.5)))
def test_the_return_visit_equals_a_fresh_one_and_is_made_once(
    model: GovernanceModel, department: int, hours: float
) -> None:
    """A return's visit is the department's Unit with its current check time, one object per pair."""
    department %= model.casework.n_departments
    visit = _turn_away(model, department, hours)
    assert visit == Visit(Unit("department", department), work_hours=hours)
    assert type(visit) is Visit
    assert _turn_away(model, department, hours) is visit, "made once per department and time"
    changed = _turn_away(model, department, hours + 0.125)
    assert changed == Visit(Unit("department", department), work_hours=hours + 0.125), (
        "a changed check time gives a visit with the new time"
    )


@settings(max_examples=60, deadline=None)
@given(
    fields=st.lists(st.sampled_from(CASE_VIEW_FIELDS), min_size=1, max_size=8, unique=True),
    rows=st.lists(st.integers(0, 10**6), min_size=1, max_size=5),
)
def test_a_route_key_is_the_tuple_of_its_columns(
    model: GovernanceModel, fields: list[str], rows: list[int]
) -> None:
    """The memo's key of a case is its key columns' values (a tuple when several), however many."""
    casework = model.casework
    cases, geography = casework.cases, casework.geography
    key = casework._memo(tuple(fields), lambda cid: Route(stages=())).key
    columns = key_columns(fields)
    for row in rows:
        cid = row % len(cases)
        grid = cases.grid[cid]
        community = geography.grid_community[grid]
        values = [
            community
            if column == "community"
            else geography.community_street[community]
            if column == "street"
            else getattr(cases, column)[cid]
            for column in columns
        ]
        expected = values[0] if len(values) == 1 else tuple(values)
        assert key(cid) == expected and type(key(cid)) is type(expected), f"{columns} of {cid}"


@pytest.fixture(scope="module")
def town() -> GovernanceModel:
    """Party building on two streets of typed communities after 30 days (several streets,
    communities and grids, so a key's community and street differ)."""
    from test_lifecycle_twins import parameters

    built = GovernanceModel(parameters(), seed=5)
    for _ in range(30):
        built.step()
    return built


def _kind(casework: Any, cid: int) -> str | None:
    """Which memo Casework._route reads for case ``cid`` (None: a bundle, routed there)."""
    cases = casework.cases
    if casework._digital_memo is not None and cases.source[cid] == PATROL_SOURCE:
        return "_digital_memo"
    if cases.bundle[cid]:
        return None
    if cases.case_type[cid] == NEIGHBOUR_DISPUTE:
        return "_mediation_memo"
    return "_routing_memo"


# each case made one kind in turn: (source, case type, bundle); None keeps the row's own
KINDS = (
    (None, None, 0),  # an ordinary case: the routing policy's memo
    (None, NEIGHBOUR_DISPUTE, 0),  # a neighbourhood dispute: the mediation policy's memo
    (PATROL_SOURCE, None, 0),  # a patrol's find: the digital network's memo
    (PATROL_SOURCE, None, 1),  # a bundle found on patrol: still the digital memo's
    (None, None, 1),  # a bundle: routed by Casework._route in one pass
)


@settings(max_examples=40, deadline=None)
@given(fields=st.lists(st.sampled_from(CASE_VIEW_FIELDS), max_size=8, unique=True))
def test_the_lifecycle_finds_a_memoized_route_under_the_memo_s_key(
    town: GovernanceModel, fields: list[str]
) -> None:
    """The lifecycle's own look-up of a memo hit (in C where compiled) makes the memo's key
    and reads the memo Casework._route would: a route stored under ``memo.key(cid)`` in
    that memo (a patrol's find's digital one, a dispute's mediation one, the routing one)
    is the route of case ``cid``, without Casework._route asked; a bundle's is asked of it.
    Every row of a town of several streets and communities, each made each kind."""
    casework = town.casework
    cases = casework.cases
    memos = {
        name: casework._memo(tuple(fields), lambda cid: pytest.fail("the policy was asked"))
        for name in MEMO_NAMES
    }
    asked: list[int] = []
    casework._route = lambda cid, intake: asked.append(cid) or Route(stages=())  # type: ignore[method-assign]
    kinds = set()
    try:
        with _memos_set(casework, memos):
            for cid in range(len(cases)):
                own = cases.source[cid], cases.case_type[cid], cases.bundle[cid]
                for source, case_type, bundle in KINDS:
                    cases.source[cid] = own[0] if source is None else source
                    cases.case_type[cid] = own[1] if case_type is None else case_type
                    cases.bundle[cid] = bundle
                    kind = _kind(casework, cid)
                    for memo in memos.values():
                        memo.routes.clear()
                    stored = Route(stages=(), priority=float(cid))
                    if kind is not None:
                        memos[kind].routes[memos[kind].key(cid)] = stored
                    found = casework._route_case(cid, CENTRE)
                    if kind is None:
                        assert asked[-1:] == [cid] and found is not stored, (
                            "a bundle goes to _route"
                        )
                    else:
                        assert found is stored, f"{kind} {fields} of {cid}"
                    kinds.add(kind)
                cases.source[cid], cases.case_type[cid], cases.bundle[cid] = own
    finally:
        del casework._route
    assert kinds == {None, *MEMO_NAMES}


def _memos_asking(casework: Any, memo_class: type = RouteMemo) -> tuple[dict, list[int]]:
    """A memo of each kind (routing, mediation, digital; the routing memo's fields) for
    ``casework`` (:func:`_memos_set` puts them on), each asking a policy that records the
    cases it is asked about and gives a route of its own; the memos and the cases asked."""
    asked: list[int] = []

    def fresh(cid: int) -> Route:
        asked.append(cid)
        return Route(stages=(), priority=float(cid))

    fields = ("departments", "community", "minor")
    memos = {}
    for name in ("_routing_memo", "_mediation_memo", "_digital_memo"):
        parts = casework._key_parts(fields)
        memos[name] = memo_class(None, fresh, parts)
    return memos, asked


@contextmanager
def _calls_of(function: Any) -> Iterator[list[Any]]:
    """The first argument after ``self`` of each call of ``function`` (a Python function)
    while inside, from Python or from the compiled lifecycle."""
    calls: list[Any] = []
    code = function.__code__

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is code:
            calls.append(frame.f_locals[code.co_varnames[1]])

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


MEMO_NAMES = ("_routing_memo", "_mediation_memo", "_digital_memo")


@contextmanager
def _memos_set(casework: Any, memos: dict[str, RouteMemo]) -> Iterator[None]:
    """``memos`` put on ``casework`` by name while inside, its own put back after."""
    saved = {name: getattr(casework, name) for name in memos}
    try:
        for name, memo in memos.items():
            setattr(casework, name, memo)
        yield
    finally:
        for name, memo in saved.items():
            setattr(casework, name, memo)


@contextmanager
def _one_of_each_kind(casework: Any) -> Iterator[dict[str, int]]:
    """Three cases not found on patrol, not bundles, not disputes, made one of each memo's
    kind while inside (the first left as it is, the second a dispute, the third a patrol's
    find), as KINDS makes them; by the memo Casework._route reads for each."""
    cases = casework.cases
    rows = [
        c
        for c in range(len(cases))
        if cases.source[c] != PATROL_SOURCE
        and cases.case_type[c] != NEIGHBOUR_DISPUTE
        and not cases.bundle[c]
    ][:3]
    own = [(cases.source[c], cases.case_type[c]) for c in rows]
    cases.case_type[rows[1]] = NEIGHBOUR_DISPUTE
    cases.source[rows[2]] = PATROL_SOURCE
    try:
        chosen = {_kind(casework, c): c for c in rows}
        assert len(chosen) == 3, f"three kinds (the digital memo set): {chosen}"
        yield chosen  # type: ignore[misc]
    finally:
        for c, (source, case_type) in zip(rows, own, strict=True):
            cases.source[c], cases.case_type[c] = source, case_type


def test_a_memo_miss_is_made_as_casework_route_makes_it(town: GovernanceModel) -> None:
    """A case whose key its memo lacks (the lifecycle's own look-up misses, in C where
    compiled): the memo's policy is asked once, the route is the policy's and is kept under
    ``memo.key(cid)`` — what Casework._route and RouteMemo.route make of a miss — and the
    next look-up finds it without asking again; for each memo, Casework._route not asked."""
    casework = town.casework
    memos, asked = _memos_asking(casework)
    with _memos_set(casework, memos), _one_of_each_kind(casework) as chosen:
        assert set(chosen) == set(MEMO_NAMES), f"a case of each kind: {chosen}"
        for kind, cid in chosen.items():
            memo = memos[kind]
            asked.clear()
            with _calls_of(Casework._route) as routed:
                found = casework._route_case(cid, CENTRE)
            assert asked == [cid] and found == Route(stages=(), priority=float(cid))
            assert memo.routes == {memo.key(cid): found}, kind
            assert routed == ([] if COMPILED else [cid]), "compiled: made without _route"
            assert casework._route_case(cid, CENTRE) is found and asked == [cid]


def test_a_miss_keeps_its_route_in_the_routes_the_memo_holds_after_asking(
    town: GovernanceModel,
) -> None:
    """RouteMemo.route keeps a miss's route with ``self.routes[key] = self.fresh(cid)``,
    reading the routes after the policy is asked: a policy that gives the memo new routes
    meanwhile finds the route kept in the new ones, the old left as they were."""
    casework = town.casework
    memos, asked = _memos_asking(casework)
    memo = memos["_routing_memo"]
    old, new = memo.routes, {}
    asking = memo.fresh

    def fresh(cid: int) -> Route:
        memo.routes = new
        return asking(cid)

    memo.fresh = fresh
    with _memos_set(casework, memos), _one_of_each_kind(casework) as chosen:
        cid = chosen["_routing_memo"]
        found = casework._route_case(cid, CENTRE)
    assert asked == [cid] and old == {} and new == {memo.key(cid): found}


class _OwnRouteMemo(RouteMemo):
    """A memo whose ``route`` is its own: it keeps what it finds under a key of its own."""

    def route(self, cid: int) -> Route:
        return self.routes.setdefault(("own", cid), self.fresh(cid))


@pytest.mark.parametrize("change", ["casework_route", "memo_route", "routes_mapping"])
def test_a_miss_is_asked_of_a_route_method_that_is_not_as_written(
    town: GovernanceModel, change: str
) -> None:
    """A miss is made by the lifecycle itself only where Casework._route and RouteMemo.route
    are as written and the routes are a plain dict; else the methods are asked: an instance's
    own ``_route``, a memo class's own ``route`` (which keeps routes its own way), routes in
    a dict subclass (whose own ``get`` both lifecycles ask, as RouteMemo.route asks it after
    their own look-up, and whose own item assignment keeps the route). For the routing
    memo's case."""
    casework = town.casework
    memo_class = _OwnRouteMemo if change == "memo_route" else RouteMemo
    memos, asked = _memos_asking(casework, memo_class)
    memo = memos["_routing_memo"]
    routed: list[int] = []
    looked: list[Any] = []
    stored: list[Any] = []
    if change == "casework_route":
        casework._route = lambda cid, intake: routed.append(cid) or memo.route(cid)  # type: ignore[method-assign]
    if change == "routes_mapping":

        class Routes(dict):
            def get(self, key: Any, default: Any = None) -> Any:
                looked.append(key)
                return super().get(key, default)

            def __setitem__(self, key: Any, value: Any) -> None:
                stored.append(key)
                super().__setitem__(key, value)

        memo.routes = Routes()
    try:
        with _memos_set(casework, memos), _one_of_each_kind(casework) as chosen:
            cid = chosen["_routing_memo"]
            found = casework._route_case(cid, CENTRE)
    finally:
        if change == "casework_route":
            del casework._route
    assert asked == [cid] and found == Route(stages=(), priority=float(cid))
    if change == "casework_route":
        assert routed == [cid]
    if change == "memo_route":
        assert dict(memo.routes) == {("own", cid): found}
    else:
        assert dict(memo.routes) == {memo.key(cid): found}
    if change == "routes_mapping":
        key = memo.key(cid)
        assert looked == [key, key], "the lifecycle's look-up, then RouteMemo.route's"
        assert stored == [key], "the mapping's own item assignment"


@given(
    stage=st.integers(0, 6),
    at=st.sampled_from((CENTRE, Unit("grid", 2), Unit("department", 1))),
)
def test_a_progress_made_positionally_is_the_default_record(stage: int, at: Unit) -> None:
    """Progress(route, stage, 0, False, at), as dispatch and a return make it, is the keyword record."""
    route = Route(stages=())
    made = Progress(route, stage, 0, False, at)
    assert made == Progress(route=route, stage=stage, at=at)


def _restart_by_definition(route: Route) -> int:
    """The stage a returned case starts again from, as first written (before issue 11's
    seventeenth round): the last review before the first handling, else the first handling,
    else the end."""
    first_handle = next(
        (k for k, s in enumerate(route.stages) if s.role == "handle"), len(route.stages)
    )
    reviews = [k for k, s in enumerate(route.stages[:first_handle]) if s.role == "review"]
    return reviews[-1] if reviews else first_handle


@settings(max_examples=120, deadline=None)
@given(roles=st.lists(st.sampled_from(("review", "handle", "resolve", "mediate")), max_size=7))
def test_a_returned_case_restarts_where_its_definition_says(
    model: GovernanceModel, roles: list[str]
) -> None:
    """After a return the policy's new route is entered at its last review before the first
    handling (the office that classified it reviews it again), else at the first handling."""
    casework = model.casework
    cid = next(iter(casework.progress))
    route = Route(stages=tuple(Stage((Visit(CENTRE),), role) for role in roles))  # type: ignore[arg-type]
    memos = casework._routing_memo, casework._mediation_memo, casework._digital_memo
    # no memo hit: the lifecycle asks Casework._route, which returns ``route``
    casework._routing_memo = casework._mediation_memo = casework._digital_memo = None
    casework._route = lambda *_: route  # type: ignore[method-assign]
    try:
        prog = casework._restart(cid, 1)
    finally:
        del casework._route
        casework._routing_memo, casework._mediation_memo, casework._digital_memo = memos
    assert prog.route is route
    assert prog.stage == _restart_by_definition(route), roles
    assert prog.at == Unit("department", 1) and not prog.classified


def test_a_memo_whose_parts_are_not_key_parts_is_asked_not_read(town: GovernanceModel) -> None:
    """A memo whose ``parts`` are not ``key_parts``' tuples (lists, the wrong length) is
    never read by the lifecycle's own look-up: the case goes to Casework._route."""
    casework = town.casework
    memo = casework._memo(("grid",), lambda cid: pytest.fail("the policy was asked"))
    saved = casework._routing_memo
    asked: list[int] = []
    casework._route = lambda cid, intake: asked.append(cid) or Route(stages=())  # type: ignore[method-assign]
    cid = next(
        c
        for c in range(len(casework.cases))
        if casework.cases.source[c] != PATROL_SOURCE
        and casework.cases.case_type[c] != NEIGHBOUR_DISPUTE
        and not casework.cases.bundle[c]
    )
    try:
        casework._routing_memo = memo
        assert memo.parts is not None
        for parts in (tuple(list(p) for p in memo.parts), tuple((*p, None) for p in memo.parts)):
            memo.parts = parts  # type: ignore[assignment]
            memo.routes[memo.key(cid)] = Route(stages=(), priority=1.0)
            casework._route_case(cid, CENTRE)
        assert asked == [cid, cid]
    finally:
        del casework._route
        casework._routing_memo = saved
