"""Memoized routes (model/route_memo.py): exact for the policies that declare ROUTE_FIELDS,
never used for the others."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.casework as casework_module
from model.cases import CASE_TYPES, SOURCES
from model.governance import GovernanceModel
from model.parameters import ModelParameters
from model.policies.base import CaseView, Route, SystemView
from model.policies.grid_first import GridFirstRouting
from model.policies.immediate import ImmediateRouting
from model.policies.mediation import CommunityMediation, JointPlatformMediation
from model.policies.routing import (
    DIGITAL_CITY_MANAGEMENT_FIELDS,
    HierarchicalRouting,
    IntegratedRouting,
    digital_city_management_route,
)
from model.policies.whistle import WhistleRouting
from model.route_memo import (
    CASE_VIEW_FIELDS,
    RouteFieldsError,
    RouteMemo,
    declared_route_fields,
    key_columns,
    key_function,
)

N_DEPARTMENTS = 4


class NoDraws:
    """A random generator that fails the test if a memoized policy draws from it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a memoized route used rng.{name}")


@dataclass(frozen=True)
class DigitalRoute:
    """数字城管's route as a policy, with the fields the lifecycle memoizes it by."""

    dispatch_hours: float = 0.5
    ROUTE_FIELDS: ClassVar[tuple[str, ...]] = DIGITAL_CITY_MANAGEMENT_FIELDS

    def route(self, case: CaseView, system: SystemView, rng: Any) -> Route:
        return digital_city_management_route(case, system, self.dispatch_hours)


DECLARING = (
    HierarchicalRouting(),
    IntegratedRouting(),
    IntegratedRouting(joint_coordination_hours=1.25, first_unit_leads=False),
    ImmediateRouting(),
    ImmediateRouting(multi_department_via_street=False, repeat_priority_days=0.0),
    CommunityMediation(),
    DigitalRoute(),
)


@st.composite
def case_views(draw: st.DrawFn) -> CaseView:
    """Any case: every field drawn."""
    departments = tuple(
        draw(
            st.lists(
                st.integers(0, N_DEPARTMENTS - 1), min_size=1, max_size=N_DEPARTMENTS, unique=True
            )
        )
    )
    return CaseView(
        case_id=draw(st.integers(0, 10_000)),
        case_type=draw(st.sampled_from(CASE_TYPES)),
        source=draw(st.sampled_from(SOURCES)),
        departments=departments,
        grid=draw(st.integers(0, 30)),
        community=draw(st.integers(0, 6)),
        street=draw(st.integers(0, 2)),
        minor=draw(st.booleans()),
        enforcement=draw(st.booleans()),
        repeat=draw(st.booleans()),
        severity=draw(st.floats(0.0, 1.0)),
        time_limit_working_days=draw(st.sampled_from((1.0, 5.0, 15.0))),
        returns=draw(st.integers(0, 3)),
        work_hours=tuple(draw(st.floats(0.1, 8.0)) for _ in departments),
    )


@st.composite
def systems(draw: st.DrawFn) -> SystemView:
    """A system view: fixed fields and live arrays drawn."""
    return SystemView(
        department_names=tuple(f"d{d}" for d in range(N_DEPARTMENTS)),
        department_staff=np.array([10, 5, 4, 4]),
        department_queue_length=np.array(
            draw(st.lists(st.integers(0, 50), min_size=4, max_size=4))
        ),
        department_rating=np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4))),
        department_enforcement=np.array([True, True, False, False]),
        classification_accuracy=0.7,
        handoff_delay_hours=4.0,
        centre_review_hours=draw(st.floats(0.1, 2.0)),
        street_review_hours=draw(st.floats(0.1, 2.0)),
        community_review_hours=draw(st.floats(0.1, 2.0)),
        on_the_spot_hours=1.0,
        return_check_hours=1.0,
        embedded_departments=np.array(draw(st.lists(st.booleans(), min_size=4, max_size=4))),
        management_enforcement_joint=draw(st.booleans()),
    )


@pytest.mark.parametrize("policy", DECLARING, ids=lambda p: type(p).__name__)
@given(
    case=case_views(),
    other=case_views(),
    system=systems(),
    queues=st.lists(st.integers(0, 50), min_size=4, max_size=4),
    ratings=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4),
)
@settings(max_examples=100, deadline=None)
def test_a_declared_route_depends_on_its_fields_only(
    policy: Any,
    case: CaseView,
    other: CaseView,
    system: SystemView,
    queues: list[int],
    ratings: list[float],
) -> None:
    """Two cases equal in the declared fields get equal routes, whatever their other fields and
    the live system arrays, and no draw: the memoized route is the one computed fresh."""
    fields = declared_route_fields(policy)
    assert fields is not None, f"{type(policy).__name__} should declare ROUTE_FIELDS"
    same = dataclasses.replace(other, **{f: getattr(case, f) for f in fields})
    if len(same.work_hours) != len(same.departments):  # the view's own consistency
        same = dataclasses.replace(same, work_hours=case.work_hours)
    live = dataclasses.replace(
        system, department_queue_length=np.array(queues), department_rating=np.array(ratings)
    )
    fresh = policy.route(case, system, NoDraws())
    assert policy.route(same, live, NoDraws()) == fresh, (
        f"{type(policy).__name__}: a case equal in {fields} got another route"
    )


@pytest.mark.parametrize(
    "policy",
    [
        GridFirstRouting(),
        WhistleRouting(),
        JointPlatformMediation(),
    ],
    ids=lambda p: type(p).__name__,
)
def test_policies_that_draw_or_read_more_are_not_memoized(policy: Any) -> None:
    """grid_first and whistle draw from rng; the joint platform reads each dispute's severity."""
    assert declared_route_fields(policy) is None, f"{type(policy).__name__} must not be memoized"


@dataclass(frozen=True)
class DrawingHierarchical(HierarchicalRouting):
    """A third-party subclass that draws from rng: it inherits no declaration."""

    def route(self, case: CaseView, system: SystemView, rng: Any) -> Route:
        rng.random()
        return super().route(case, system, rng)


def test_the_declaration_is_not_inherited() -> None:
    """A subclass of a declaring policy is memoized only if it declares its own fields."""
    assert declared_route_fields(DrawingHierarchical()) is None, "declaration inherited"


@pytest.mark.parametrize(
    ("fields", "match"),
    [(("departments", "budget"), "'budget'.*allowed: case_id"), ("departments", "tuple")],
)
def test_a_bad_declaration_is_refused_with_the_field_named(fields: Any, match: str) -> None:
    """ROUTE_FIELDS naming something that is not a CaseView field, or a bare string, is an error."""

    @dataclass(frozen=True)
    class Odd:
        ROUTE_FIELDS: ClassVar[Any] = fields

        def route(self, case: CaseView, system: SystemView, rng: Any) -> Route:
            return Route(stages=())

    with pytest.raises(RouteFieldsError, match=match):
        declared_route_fields(Odd())


def test_every_case_view_field_has_a_key_column() -> None:
    """Each CaseView field can be declared, and the street is implied by the community or grid."""
    for field in CASE_VIEW_FIELDS:
        assert key_columns((field,)), f"no key column for {field}"
    assert key_columns(("street", "community", "grid")) == ("grid",)
    assert key_columns(("street", "community")) == ("community",)
    assert key_columns(("enforcement", "departments", "time_limit_working_days")) == (
        "case_type",
        "departments",
    )


# ------------------------------------------------------------------ whole runs
SMALL = {
    "streets": 1,
    "communities_per_street": 2,
    "grids_per_community": 3,
    "residents_per_grid": 250,
}


def _parameters(routing: Any, **changes: Any) -> ModelParameters:
    return ModelParameters.model_validate(
        {
            "population": SMALL,
            "routing": routing,
            "demand": {
                "neighbour_disputes_per_resident_per_year": 0.1,
                "linked_request_share": 0.5,
            },
            "simulation": {"days": 90, "warmup_days": 10},
            **changes,
        }
    )


def _run(parameters: ModelParameters, seed: int = 3) -> tuple[pd.DataFrame, dict[str, Any]]:
    model = GovernanceModel(parameters, seed=seed)
    model.run()
    out = model.output()
    return out.cases, dict(out.summary)


VARIANTS = {
    "hierarchical_sinking": (
        {"kind": "hierarchical"},
        {
            "coordination": {
                "staff_moved_to_communities_share": 0.2,
                "tasks_moved_with_staff": True,
                "management_enforcement_joint": True,
            }
        },
    ),
    "integrated_bundles": (
        {"kind": "integrated"},
        {"intake": {"one_thing_bundles": True}},
    ),
    "immediate_digital": (
        {"kind": "immediate"},
        {"detection": {"digital_city_management": True}},
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_memoized_runs_equal_fresh_runs_bit_for_bit(
    variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every memoized route equals the route computed fresh for that case, and the run's case
    log and summary equal those of a run that asks the policies for every case, and those of
    a run whose memo hits the lifecycle looks up itself (the compiled class: in C)."""
    routing, changes = VARIANTS[variant]
    parameters = _parameters(routing, **changes)
    hits_in_lifecycle = _run(parameters)
    # every look-up through RouteMemo.route, where it is checked
    monkeypatch.setattr(casework_module, "RouteMemo", _MemoWithoutParts)
    checked = {"calls": 0, "keys": 0}
    memos: list[RouteMemo] = []
    plain_route = RouteMemo.route

    def checking_route(self: RouteMemo, cid: int) -> Route:
        route = plain_route(self, cid)
        assert route == self.fresh(cid), f"case {cid}: the memoized route is not the fresh one"
        if self not in memos:
            memos.append(self)
        checked["calls"] += 1
        return route

    monkeypatch.setattr(RouteMemo, "route", checking_route)
    memoized = _run(parameters)
    if "bundles" in variant:
        assert memoized[1]["bundles"] > 0, "no bundle was routed"
    if "digital" in variant:
        assert (memoized[0]["source"] == "patrol").any(), "no patrol case took the digital route"
    checked["keys"] = sum(len(m.routes) for m in memos)
    assert checked["keys"] < checked["calls"], f"no route was reused: {checked}"
    monkeypatch.setattr(RouteMemo, "route", plain_route)
    monkeypatch.setattr(casework_module, "declared_route_fields", lambda policy: None)
    monkeypatch.setattr(
        casework_module.Casework,
        "_route",
        _route_without_memo,
    )
    fresh = _run(parameters)
    for other in (fresh, hits_in_lifecycle):
        pd.testing.assert_frame_equal(memoized[0], other[0])
        differ = {
            k: (v, other[1].get(k))
            for k, v in memoized[1].items()
            if not (v == other[1].get(k) or (v != v and other[1].get(k) != other[1].get(k)))
        }
        assert memoized[1].keys() == other[1].keys() and not differ, f"summaries differ: {differ}"


class _MemoWithoutParts(RouteMemo):
    """A memo the lifecycle does not look into (no ``parts``): every route through ``route``."""

    __slots__ = ()

    def __init__(self, key: Any, fresh: Any, parts: Any = None) -> None:
        assert key is None, "made as Casework._memo makes a memo: of parts"
        super().__init__(key_function(parts), fresh, None)


def _route_without_memo(self: Any, cid: int, intake: Any) -> Route:
    """Casework._route as it was before memoization: a CaseView and a policy call every time."""
    view = self.case_view(cid)
    digital = self.digital_dispatch_hours
    if digital is not None and self.cases.source[cid] == casework_module.PATROL_SOURCE:
        return digital_city_management_route(view, self.system, digital)
    policy = (
        self.mediation
        if self.cases.case_type[cid] == casework_module.NEIGHBOUR_DISPUTE
        else self.routing
    )
    route = policy.route(view, self.system, self.routing_rng)
    if self.cases.bundle[cid]:
        route = self.one_thing.one_pass(
            cid, self.cases, route, view, self.routing, self.system, intake
        )
    return route


@dataclass(frozen=True)
class CountingRouting:
    """A third-party policy without the declaration: counts its calls (in a shared list)."""

    calls: list[int] = dataclasses.field(default_factory=list, compare=False, hash=False)

    def route(self, case: CaseView, system: SystemView, rng: Any) -> Route:
        self.calls.append(case.case_id)
        return IntegratedRouting().route(case, system, rng)


def test_a_policy_without_the_declaration_is_called_for_every_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An undeclared policy is asked for every routing, returns included; declared ones fewer times."""
    asked: list[int] = []
    original = casework_module.Casework._route

    def counting(self: Any, cid: int, intake: Any) -> Route:
        if self.cases.case_type[cid] != casework_module.NEIGHBOUR_DISPUTE:
            asked.append(cid)
        return original(self, cid, intake)

    monkeypatch.setattr(casework_module.Casework, "_route", counting)
    policy = CountingRouting()
    _run(_parameters(policy))
    assert asked, "no case was routed"
    assert len(policy.calls) == len(asked), (
        f"the policy was called {len(policy.calls)} times for {len(asked)} routings"
    )


def test_a_memo_takes_a_key_or_the_parts_its_key_is_made_from() -> None:
    """A memo of parts makes its key from them (the key the lifecycle makes from the parts
    itself); a memo given both a key and parts, or neither, is refused."""
    column = [5, 7, 9]
    memo = RouteMemo(None, lambda cid: Route(()), ((column, None, None),))
    assert memo.key(1) == 7
    with pytest.raises(ValueError, match="not both"):
        RouteMemo(lambda cid: cid, lambda cid: Route(()), ((column, None, None),))
    with pytest.raises(ValueError, match="not neither"):
        RouteMemo(None, lambda cid: Route(()))
