"""Routing policies decide on fake views, without a model (docs/design.md "Conventions")."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from model.parameters import ModelParameters
from model.policies.base import CaseView, Route, RoutingPolicy, SystemView, Unit
from model.policies.grid_first import GridFirstRouting, on_the_spot_hours
from model.policies.immediate import ImmediateRouting
from model.policies.registry import PolicyError, builtin_kinds, policy_kind, resolve_policy
from model.policies.routing import (
    HierarchicalRouting,
    IntegratedRouting,
    digital_city_management_route,
)
from model.policies.whistle import WhistleRouting

DEPARTMENTS = ("urban_management", "public_security", "transport", "civil_affairs")
ENFORCEMENT = np.array([True, True, False, False])


def make_case(**changes: object) -> CaseView:
    """A single-department, minor, non-enforcement help case reported to a grid worker."""
    base = CaseView(
        case_id=1,
        case_type="help",
        source="grid_worker",
        departments=(2,),
        grid=7,
        community=3,
        street=1,
        minor=True,
        enforcement=False,
        repeat=False,
        severity=0.2,
        time_limit_working_days=7.0,
        returns=0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def make_system(**changes: object) -> SystemView:
    """Four departments, two of them enforcement, all rated 1.0."""
    base = SystemView(
        department_names=DEPARTMENTS,
        department_staff=np.array([10, 5, 4, 4]),
        department_queue_length=np.zeros(4, dtype=np.int64),
        department_rating=np.ones(4),
        department_enforcement=ENFORCEMENT,
        classification_accuracy=0.7,
        handoff_delay_hours=4.0,
        centre_review_hours=0.3,
        street_review_hours=0.5,
        community_review_hours=0.5,
        on_the_spot_hours=1.0,
        return_check_hours=1.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def rng(seed: int = 0) -> np.random.Generator:
    """A seeded generator for one decision."""
    return np.random.default_rng(seed)


def handle_stages(route: Route) -> list[tuple[int, ...]]:
    """Department indices of each 'handle' stage."""
    return [
        tuple(v.unit.index for v in stage.visits)
        for stage in route.stages
        if stage.role == "handle"
    ]


def review_units(route: Route) -> list[Unit]:
    """Units of the 'review' stages, in order."""
    return [stage.visits[0].unit for stage in route.stages if stage.role == "review"]


CROSS = make_case(departments=(2, 3), minor=False)


# --------------------------------------------------------------------------- all policies


@pytest.mark.parametrize(
    "kind", ["hierarchical", "integrated", "whistle", "immediate", "grid_first"]
)
def test_every_builtin_routing_policy_returns_a_valid_route(kind: str) -> None:
    """Every built-in routing policy builds from defaults and returns a well-formed Route."""
    policy = resolve_policy("routing", {"kind": kind})
    assert isinstance(policy, RoutingPolicy), f"{kind} does not satisfy the RoutingPolicy protocol"
    assert policy_kind(policy) == kind, f"{kind} does not round-trip through policy_kind"
    for case in (
        make_case(),
        CROSS,
        make_case(source="hotline", enforcement=True, departments=(0,)),
    ):
        route = policy.route(case, make_system(), rng())
        assert route.stages, f"{kind} returned an empty route for {case}"
        assert route.overhead_hours >= 0.0, f"{kind}: negative overhead {route.overhead_hours}"
        handled = {d for stage in handle_stages(route) for d in stage}
        resolved = any(s.role == "resolve" for s in route.stages)
        assert resolved or set(case.departments) <= handled, (
            f"{kind} does not send {case.departments} to its departments: {route}"
        )


def test_builtin_kinds_list_the_reform_menu() -> None:
    """The reform policies are registered under their scenario kinds."""
    assert set(builtin_kinds("routing")) >= {
        "hierarchical",
        "integrated",
        "whistle",
        "immediate",
        "grid_first",
    }, f"missing routing kinds: {builtin_kinds('routing')}"


# --------------------------------------------------------------------------- baselines


def test_hierarchical_climbs_levels_and_handles_departments_one_after_another() -> None:
    """hierarchical: community → street reviews, then one handle stage per department."""
    route = HierarchicalRouting().route(CROSS, make_system(), rng())
    assert review_units(route) == [Unit("community", 3), Unit("street", 1)], f"reviews {route}"
    assert handle_stages(route) == [(2,), (3,)], f"departments should be sequential: {route}"


def test_digital_city_management_goes_centre_to_departments_on_its_own_network() -> None:
    """数字城管: the command centre reviews a patrol case and sends it straight to the
    departments, one after another; every hand-off takes the network's dispatch hours."""
    patrol = dataclasses.replace(CROSS, source="patrol", case_type="patrol")
    route = digital_city_management_route(patrol, make_system(), 1.5)
    assert review_units(route) == [Unit("centre", 0)], f"no level climbed: {route}"
    assert route.stages[0].visits[0].work_hours == 0.3, "the centre's own review time"
    assert handle_stages(route) == [(2,), (3,)], route
    assert route.handoff_delay_hours == 1.5, "the network's hand-off, not the system's"
    levels = HierarchicalRouting().route(patrol, make_system(), rng())
    assert len(levels.stages) == len(route.stages) + 1, "hierarchical climbs one level more"


def test_guanzhi_liandong_joins_management_and_enforcement_in_one_stage() -> None:
    """管执联动: a case needing an enforcement department and another is handled jointly."""
    case = dataclasses.replace(CROSS, enforcement=True)
    joint = HierarchicalRouting().route(case, make_system(management_enforcement_joint=True), rng())
    assert handle_stages(joint) == [(2, 3)], f"one joint stage expected: {joint}"
    apart = HierarchicalRouting().route(
        CROSS, make_system(management_enforcement_joint=True), rng()
    )
    assert handle_stages(apart) == [(2,), (3,)], "no enforcement department: one after another"


@pytest.mark.parametrize("kind", ["hierarchical", "integrated", "immediate", "whistle"])
def test_sunk_department_minor_cases_are_settled_in_the_community(kind: str) -> None:
    """下沉 with tasks: a minor one-department case of a sunk department is resolved by the
    staff moved down to its community, under every built-in dispatch policy."""
    sunk = make_system(embedded_departments=np.array([False, False, True, False]))
    policy = resolve_policy("routing", {"kind": kind})
    case = make_case(departments=(2,), minor=True)
    route = policy.route(case, sunk, rng())
    last = route.stages[-1]
    assert last.role == "resolve" and last.visits[0].unit == Unit("embedded", 3), f"{kind}: {route}"
    major = policy.route(make_case(departments=(2,), minor=False), sunk, rng())
    assert major.stages[-1].role == "handle", f"{kind}: a major case still goes to the department"
    other = policy.route(make_case(departments=(1,), minor=True), sunk, rng())
    assert other.stages[-1].role == "handle", f"{kind}: department 1 moved nobody down"


def test_integrated_handles_jointly_at_the_centre() -> None:
    """integrated: centre review (the centre classifies), one joint stage, coordination overhead."""
    route = IntegratedRouting().route(CROSS, make_system(), rng())
    assert review_units(route) == [Unit("centre", 0)], f"integrated reviews at the centre: {route}"
    assert handle_stages(route) == [(2, 3)], f"departments should be joint: {route}"
    assert route.overhead_hours == pytest.approx(0.5), "one extra department costs 0.5 h"


# --------------------------------------------------------------------------- whistle


def test_whistle_summons_needed_departments_jointly_within_the_deadline() -> None:
    """whistle: a cross-department case goes to the street, then one joint summoned stage."""
    route = WhistleRouting().route(CROSS, make_system(), rng())
    assert review_units(route)[-1] == Unit("street", 1), f"the street blows the whistle: {route}"
    assert handle_stages(route) == [(2, 3)], f"needed departments handle jointly: {route}"
    handle = next(s for s in route.stages if s.role == "handle")
    assert all(v.response_hours == 0.5 for v in handle.visits), (
        "summons must answer in 0.5 h (F4.3)"
    )
    assert all(v.work_hours is None for v in handle.visits), "needed departments do their own work"
    assert route.priority < 0.0, "whistled cases are served earlier"


def test_whistle_also_covers_single_department_enforcement_cases() -> None:
    """whistle: an enforcement case is eligible even with one department."""
    case = make_case(departments=(0,), enforcement=True, minor=False)
    route = WhistleRouting().route(case, make_system(), rng())
    handle = next(s for s in route.stages if s.role == "handle")
    assert handle.visits[0].response_hours == 0.5, f"enforcement case should be whistled: {route}"


def test_whistle_passes_ineligible_cases_to_the_inner_policy() -> None:
    """whistle: a single-department non-enforcement case goes through the inner policy unchanged."""
    case = make_case(minor=False)
    policy = WhistleRouting(inner=IntegratedRouting())
    assert policy.route(case, make_system(), rng()) == IntegratedRouting().route(
        case, make_system(), rng()
    ), "ineligible case should follow the inner policy"


def test_whistle_share_zero_never_whistles_and_share_sets_the_rate() -> None:
    """whistle_share is the chance an eligible case is whistled."""
    never = WhistleRouting(whistle_share=0.0)
    assert never.route(CROSS, make_system(), rng()) == HierarchicalRouting().route(
        CROSS, make_system(), rng()
    ), "whistle_share 0 should behave as the inner policy"
    policy = WhistleRouting(whistle_share=0.3)
    generator = rng(1)
    whistled = sum(
        any(
            v.response_hours is not None
            for s in policy.route(CROSS, make_system(), generator).stages
            for v in s.visits
        )
        for _ in range(4000)
    )
    assert 0.27 < whistled / 4000 < 0.33, f"whistled share {whistled / 4000:.3f}, expected ≈0.3"


def test_whistle_extra_enforcement_summons_cost_staff_time() -> None:
    """summon_extra_enforcement brings unneeded enforcement departments, each spending summons_hours."""
    policy = WhistleRouting(summon_extra_enforcement=True, summons_hours=0.75)
    route = policy.route(CROSS, make_system(), rng())
    handle = next(s for s in route.stages if s.role == "handle")
    by_department = {v.unit.index: v for v in handle.visits}
    assert set(by_department) == {2, 3, 0, 1}, (
        f"needed + all enforcement expected: {sorted(by_department)}"
    )
    assert by_department[0].work_hours == 0.75 and by_department[1].work_hours == 0.75, (
        "unneeded summoned departments spend summons_hours"
    )
    assert by_department[2].work_hours is None, "needed departments keep their own work content"


def test_whistle_low_rated_departments_get_priority() -> None:
    """whistle: the lower a needed department's rating, the earlier (more negative) the priority."""
    policy = WhistleRouting()
    good = policy.route(CROSS, make_system(), rng())
    low = policy.route(CROSS, make_system(department_rating=np.array([1.0, 1.0, 1.0, 0.5])), rng())
    assert low.priority < good.priority, (
        f"low rating should raise priority: {low.priority} vs {good.priority}"
    )
    assert low.priority == pytest.approx(-(15.0 + 2.0 * 0.5)), (
        "priority = -(whistled + rating days × shortfall)"
    )
    unrelated = policy.route(
        CROSS, make_system(department_rating=np.array([0.0, 1.0, 1.0, 1.0])), rng()
    )
    assert unrelated.priority == good.priority, (
        "a department the case does not need must not matter"
    )


def test_whistle_asks_for_deadline_first_queues_unless_told_otherwise() -> None:
    """whistle: summons jump queues only in deadline-first queues, which it asks for by default."""
    assert WhistleRouting().queue_discipline == "deadline", "summons need deadline-first queues"
    policy = resolve_policy("routing", {"kind": "whistle", "queue_discipline": "fifo"})
    assert policy.queue_discipline == "fifo", "fifo isolates the joint stage"


def test_whistle_scope_all_whistles_ordinary_cases() -> None:
    """scope = 'all' (over-use) whistles even single-department ordinary cases."""
    route = WhistleRouting(scope="all").route(make_case(minor=False), make_system(), rng())
    assert any(v.response_hours is not None for s in route.stages for v in s.visits), (
        f"not whistled: {route}"
    )


# --------------------------------------------------------------------------- immediate


def test_immediate_dispatches_directly_with_ranking_pressure() -> None:
    """immediate: hotline case → centre → owning department, with the ranking's overhead."""
    policy = ImmediateRouting()
    route = policy.route(make_case(source="hotline"), make_system(), rng())
    assert review_units(route) == [Unit("centre", 0)], f"no street/community layering: {route}"
    assert handle_stages(route) == [(2,)], f"direct to the owner: {route}"
    assert route.overhead_hours == pytest.approx(0.25), "ranking costs staff time per case"
    assert policy.queue_discipline == "deadline", "接诉即办 asks for deadline-first queues"


def test_immediate_sends_multi_department_cases_to_the_street() -> None:
    """immediate: a multi-department case goes to its street, which leads joint handling (F4.7)."""
    route = ImmediateRouting().route(
        dataclasses.replace(CROSS, source="hotline"), make_system(), rng()
    )
    assert review_units(route) == [Unit("centre", 0), Unit("street", 1)], (
        f"direct-to-street: {route}"
    )
    assert handle_stages(route) == [(2, 3)], f"joint handling expected: {route}"
    plain = ImmediateRouting(multi_department_via_street=False).route(CROSS, make_system(), rng())
    assert Unit("street", 1) not in review_units(plain), "street step can be switched off"


def test_immediate_serves_repeat_complaints_first() -> None:
    """immediate: repeat complaints (F5.5) get a lower priority value."""
    policy = ImmediateRouting(repeat_priority_days=2.0)
    repeat = policy.route(make_case(repeat=True), make_system(), rng())
    first = policy.route(make_case(), make_system(), rng())
    assert repeat.priority == -2.0 and first.priority == 0.0, f"{repeat.priority}, {first.priority}"


# --------------------------------------------------------------------------- grid_first


def test_grid_first_settles_minor_cases_on_the_spot() -> None:
    """grid_first: an eligible minor case is one 'resolve' stage at its own grid."""
    route = GridFirstRouting(resolve_share=1.0, offer_to_party_members=False).route(
        make_case(), make_system(), rng()
    )
    assert [s.role for s in route.stages] == ["resolve"], f"expected on-the-spot: {route}"
    visit = route.stages[0].visits[0]
    assert visit.unit == Unit("grid", 7), f"resolved at the case's grid: {visit}"
    assert visit.work_hours == pytest.approx(on_the_spot_hours(make_case(), make_system())), (
        "grid worker time"
    )
    assert not route.stages[0].claimable, "not offered to party members when switched off"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"minor": False}, "not minor"),
        ({"departments": (2, 3)}, "needs several departments (大事镇上协调)"),
        ({"source": "hotline"}, "first contact not in the grid"),
        ({"severity": 0.9}, "too long for the grid worker (max 1.5 h here)"),
        ({"returns": 1}, "already returned once"),
    ],
)
def test_grid_first_passes_the_rest_to_the_inner_policy(
    change: dict[str, object], why: str
) -> None:
    """grid_first: cases outside the grid's time or skills go to the inner policy unchanged."""
    case = make_case(**change)
    route = GridFirstRouting(resolve_share=1.0, max_work_hours=1.5).route(
        case, make_system(), rng()
    )
    assert route == IntegratedRouting().route(case, make_system(), rng()), (
        f"{why}: expected inner route"
    )


def test_grid_first_exclude_enforcement_keeps_enforcement_cases_out() -> None:
    """Minor enforcement cases are settled in the grid unless exclude_enforcement is set."""
    case = make_case(enforcement=True, departments=(0,))
    allowed = GridFirstRouting(resolve_share=1.0).route(case, make_system(), rng())
    assert allowed.stages[0].role == "resolve", f"expected on-the-spot by default: {allowed}"
    excluded = GridFirstRouting(resolve_share=1.0, exclude_enforcement=True).route(
        case, make_system(), rng()
    )
    assert excluded == IntegratedRouting().route(case, make_system(), rng()), (
        "expected the inner route"
    )


def test_grid_first_resolve_share_sets_the_on_the_spot_rate() -> None:
    """resolve_share is the chance an eligible minor case is settled on the spot."""
    policy = GridFirstRouting(resolve_share=0.4)
    generator = rng(2)
    spot = sum(
        policy.route(make_case(), make_system(), generator).stages[0].role == "resolve"
        for _ in range(4000)
    )
    assert 0.37 < spot / 4000 < 0.43, f"on-the-spot share {spot / 4000:.3f}, expected ≈0.4"


def test_grid_first_offers_on_the_spot_cases_to_party_members() -> None:
    """grid_first: the on-the-spot stage is offered to the grid's party volunteers (任务快速认领);
    whether one claims it is the party member's decision (tests/test_agents.py)."""
    route = GridFirstRouting(resolve_share=1.0).route(
        make_case(source="party_member"), make_system(), rng()
    )
    stage = route.stages[0]
    assert stage.role == "resolve" and stage.claimable, f"offered to party members: {route}"
    assert stage.visits[0].unit == Unit("grid", 7), "the grid's own workers settle it otherwise"


def test_grid_first_nested_inner_block_and_queue_discipline() -> None:
    """A nested [routing.inner] block is resolved; the inner policy's queue discipline shows through."""
    policy = resolve_policy("routing", {"kind": "grid_first", "inner": {"kind": "immediate"}})
    assert isinstance(policy.inner, ImmediateRouting), f"inner not resolved: {policy.inner!r}"
    assert policy.queue_discipline == "deadline", (
        "grid_first in front of immediate keeps deadline queues"
    )
    assert GridFirstRouting().queue_discipline is None, (
        "integrated inner leaves the scenario's discipline"
    )
    by_name = resolve_policy("routing", {"kind": "grid_first", "inner": "whistle"})
    assert isinstance(by_name.inner, WhistleRouting), "a bare kind name is accepted for inner"


def test_grid_first_in_a_scenario_parameters_block() -> None:
    """ModelParameters resolves grid_first with a nested integrated block, as scenario files write it."""
    parameters = ModelParameters.model_validate(
        {"routing": {"kind": "grid_first", "resolve_share": 0.5, "inner": {"kind": "integrated"}}}
    )
    assert parameters.routing == GridFirstRouting(resolve_share=0.5, inner=IntegratedRouting()), (
        f"unexpected policy {parameters.routing!r}"
    )


# --------------------------------------------------------------------------- malformed blocks


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"kind": "whistel"}, "did you mean 'whistle'"),
        ({"resolve_share": 0.5}, "needs a 'kind'"),
        ({"kind": "grid_first", "resolve_shar": 0.5}, "did you mean 'resolve_share'"),
        ({"kind": "grid_first", "resolve_share": 1.5}, "resolve_share"),
        ({"kind": "whistle", "response_deadline_hours": -1}, "response_deadline_hours"),
        ({"kind": "whistle", "scope": "some"}, "scope"),
        ({"kind": "immediate", "queue_discipline": "lifo"}, "queue_discipline"),
        ({"kind": "grid_first", "inner": 3}, "inner policy must be a routing policy"),
        ({"kind": "grid_first", "inner": {"kind": "nowhere"}}, "unknown routing kind 'nowhere'"),
        (
            {"kind": "grid_first", "inner": {"kind": "integrated", "speed": 2}},
            "no parameter 'speed'",
        ),
        (
            {"kind": "no_such_package.module:Policy"},
            "cannot import module 'no_such_package.module'",
        ),
        ({"kind": "model.policies.routing:Missing"}, "has no attribute 'Missing'"),
        ({"kind": "model.policies.routing:intake_unit"}, "not a dataclass policy class"),
        ("hierarchical", "must be a table"),
    ],
)
def test_malformed_routing_blocks_get_clear_errors(block: object, expected: str) -> None:
    """A malformed routing block raises PolicyError naming the problem."""
    with pytest.raises(PolicyError) as info:
        resolve_policy("routing", block)
    assert expected in str(info.value), f"error {info.value!s} should mention {expected!r}"


def test_malformed_block_in_model_parameters_names_the_field() -> None:
    """ModelParameters reports a bad routing block under the 'routing' field."""
    with pytest.raises(ValueError, match="routing") as info:
        ModelParameters.model_validate({"routing": {"kind": "whistle", "whistle_share": 2}})
    assert "whistle_share" in str(info.value), f"error should name the parameter: {info.value}"


@pytest.mark.parametrize("policy", [HierarchicalRouting(), IntegratedRouting()])
def test_routes_share_their_parts_and_keep_their_values(policy: RoutingPolicy) -> None:
    """The built-in policies make each part of a route once (model/policies/routing.py: a
    frozen part is shared between routes): the same case asked twice gets equal routes whose
    stages are the same objects, and a case whose review hours are an int keeps an int."""
    system = make_system()
    for case in (
        make_case(),
        make_case(departments=(0, 2), minor=False),
        make_case(source="hotline"),
    ):
        first, again = policy.route(case, system, rng()), policy.route(case, system, rng())
        assert first == again
        assert all(a is b for a, b in zip(first.stages, again.stages, strict=True))
    whole = policy.route(make_case(source="hotline"), make_system(centre_review_hours=1), rng())
    fraction = policy.route(
        make_case(source="hotline"), make_system(centre_review_hours=1.0), rng()
    )
    assert type(whole.stages[0].visits[0].work_hours) is int
    assert type(fraction.stages[0].visits[0].work_hours) is float
    for hours in (0.0, -0.0):  # equal keys but for their sign, which each part keeps
        route = policy.route(
            make_case(source="hotline"), make_system(centre_review_hours=hours), rng()
        )
        assert math.copysign(1.0, route.stages[0].visits[0].work_hours) == math.copysign(1.0, hours)
