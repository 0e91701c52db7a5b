"""一件事 bundles and 一张屏 sensors: linked requests handled as one case in one pass, and
sensor coverage whose false alarms cost checks that are counted."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from experiments.runs import run_single
from experiments.scenario_files import apply_overrides, load_scenario
from model import bundles
from model.bundles import OneThing, planned_handoffs
from model.casework import CaseTable
from model.governance import GovernanceModel
from model.mechanisms import BEHAVIOURS
from model.outcomes import RunOutput
from model.parameters import DemandParameters, IntakeParameters
from model.policies.base import CaseView, Route, Stage, SystemView, Unit, Visit
from model.policies.routing import HierarchicalRouting

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SEEDS = (31, 32)
FROZEN = {  # same needs in every variant: trust feedback off
    "feedback.trust_learning_rate": 0.0,
    "social.neighbour_influence_per_day": 0.0,
    "social.disposition_weight_per_day": 0.0,
    "feedback.collective_issue_trust_drag_per_year": 0.0,
}


@cache
def _runs(overrides: tuple[tuple[str, object], ...]) -> tuple[RunOutput, ...]:
    scenario = load_scenario(SCENARIOS / "classroom.toml")
    base = {"consultation.kind": "none", "simulation.warmup_days": 20, **FROZEN}
    scenario = apply_overrides(scenario, {**base, **dict(overrides)})
    return tuple(run_single(scenario, seed, days=90) for seed in SEEDS)


def runs(**overrides: object) -> tuple[RunOutput, ...]:
    return _runs(tuple(sorted((k.replace("__", "."), v) for k, v in overrides.items())))


# ------------------------------------------------------------------ unit: bundles
def one_thing(share: float = 1.0, bundling: bool = True, hours: float = 0.5) -> OneThing:
    return OneThing(
        DemandParameters(linked_request_share=share),
        IntakeParameters(one_thing_bundles=bundling, bundle_coordination_hours=hours),
        np.random.default_rng(0),
    )


def test_only_residents_multi_department_needs_are_linked() -> None:
    """A linked request needs several departments and a resident; none at share 0."""
    departments = np.array([[0, 1, -1, -1], [2, -1, -1, -1], [3, 4, 5, -1]], dtype=np.int16)
    resident = np.array([7, 8, -1])
    ot = one_thing()
    ot.draw(departments, resident, first_need=100, day=0)
    assert ot.linked == {100}, ot.linked
    assert ot.is_linked(100, source=0) and not ot.is_linked(100, source=3), "patrols file none"
    none = one_thing(share=0.0)
    none.draw(departments, resident, first_need=100, day=0)
    assert none.linked == frozenset(), "share 0: nothing linked"


def test_one_pass_merges_the_handling_under_a_lead() -> None:
    """A bundle's departments handle it in one joint stage under a lead, who pays the
    coordination hours per extra department; the hand-offs saved are recorded."""
    sequential = Route(
        stages=(
            Stage((Visit(Unit("street", 0)),), "review"),
            Stage((Visit(Unit("department", 1)),), "handle"),
            Stage((Visit(Unit("department", 2)),), "handle"),
        )
    )
    merged = one_thing(hours=0.5)._merge(sequential, 2)
    assert [s.role for s in merged.stages] == ["review", "handle"], merged.stages
    assert len(merged.stages[1].visits) == 2 and merged.first_unit_leads, "joint, with a lead"
    assert merged.overhead_hours == pytest.approx(0.5), "one extra department"
    joint = Route(stages=(merged.stages[1],), first_unit_leads=True)
    assert one_thing()._merge(joint, 2) is joint, "an already joint route stays"
    assert planned_handoffs(sequential, Unit("centre", 0)) == 3
    assert planned_handoffs(merged, Unit("centre", 0)) == 3, "street, and two departments"


def test_one_pass_records_handoffs_of_the_separate_requests() -> None:
    """Under hierarchical routing two separate hotline requests plan four hand-offs, the
    bundle three: one saved."""
    case = CaseView(0, "help", "hotline", (1, 2), 0, 0, 0, False, False, False, 0.5, 7.0, 0)
    system = SystemView(
        ("a", "b", "c"), np.ones(3), np.zeros(3), np.ones(3), np.zeros(3, bool),
        0.7, 4.0, 0.3, 0.3, 0.5, 1.0, 1.0,
    )  # fmt: skip
    routing = HierarchicalRouting()
    ot = one_thing()
    cases = CaseTable()
    cid = cases.add((1, 2), (1.0, 1.0))
    cases.bundle[cid] = 1
    cases.need[cid] = 5  # the bundle's would-be routes draw from a generator keyed by it
    route = routing.route(case, system, np.random.default_rng(0))
    ot.one_pass(cid, cases, route, case, routing, system, Unit("centre", 0))
    assert cases.handoffs_saved[cid] == 1, cases.handoffs_saved
    assert cases.bundle[cid] == 2, "recorded once: a second pass keeps the count"


@dataclass(frozen=True)
class CountingHierarchical(HierarchicalRouting):
    """Hierarchical routing that declares what it reads (as its parent) and counts its calls."""

    ROUTE_FIELDS: ClassVar[tuple[str, ...]] = HierarchicalRouting.ROUTE_FIELDS
    calls: list[tuple[int, ...]] = field(default_factory=list, compare=False, hash=False)

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        self.calls.append(case.departments)
        return super().route(case, system, rng)


class CountingUndeclared(CountingHierarchical):
    """The same routes and count without the declaration (it is not inherited): asked
    every time."""


@dataclass(frozen=True)
class DrawingUndeclared(HierarchicalRouting):
    """Undeclared, and its routes depend on draws: a second street review by chance."""

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        route = super().route(case, system, rng)
        if rng.random() < 0.5:
            extra = Stage((Visit(Unit("street", case.street + 1)),), "review")
            return dataclasses.replace(route, stages=(extra, *route.stages))
        return route


@dataclass(frozen=True)
class EnforcementAware(HierarchicalRouting):
    """Declares the enforcement flag and the street, which its routes depend on."""

    ROUTE_FIELDS: ClassVar[tuple[str, ...]] = ("departments", "enforcement", "street")

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        visits = tuple(Visit(Unit("department", d)) for d in case.departments)
        reviews = [Stage((Visit(Unit("street", case.street)),), "review")]
        if case.enforcement:  # the centre reviews too: one hand-off more
            reviews.append(Stage((Visit(Unit("centre", 0)),), "review"))
        return Route(stages=(*reviews, Stage(visits, "handle")))


def _saved_before(ot: OneThing, cid: int, cases: CaseTable, route: Route, case: CaseView,
                  routing: object, system: SystemView, intake: Unit) -> int:  # fmt: skip
    """The hand-offs saved as ``one_pass`` counted them before the memo (0817bfb), verbatim:
    a fresh generator per bundle, the policy asked for every would-be request."""
    together = ot._merge(route, len(case.departments))
    rng = np.random.default_rng([ot.key, 2, int(cases.need[cid]), int(cases.contact[cid])])
    separate = sum(
        planned_handoffs(
            routing.route(  # type: ignore[attr-defined]
                dataclasses.replace(case, departments=(d,), work_hours=(w,)), system, rng
            ),
            intake,
        )
        for d, w in zip(case.departments, case.work_hours or (0.0,) * 8, strict=False)
    )
    return separate - planned_handoffs(together, intake)


def test_would_be_separate_routes_are_asked_once_per_declared_key() -> None:
    """A policy declaring ROUTE_FIELDS is asked for a bundle's would-be separate request once
    per value of those fields and the intake unit; an undeclared one for every request,
    with each bundle's own generator. The hand-offs saved are those counted before the memo
    (the policy asked every time, a fresh generator per bundle), whatever the bundles' work
    content, enforcement flag or street, and in rows reused after release."""
    system = SystemView(
        ("a", "b", "c", "d"), np.ones(4), np.zeros(4), np.ones(4), np.array([1, 0, 0, 1], bool),
        0.7, 4.0, 0.3, 0.3, 0.5, 1.0, 1.0,
    )  # fmt: skip
    rng = np.random.default_rng(1)
    bundles = []
    for k in range(40):
        departments = tuple(int(d) for d in rng.permutation(4)[: int(rng.integers(2, 4))])
        work = tuple(float(w) for w in rng.exponential(2.0, len(departments)))
        source = ("hotline", "grid_worker")[k % 2]
        case = CaseView(k, "help", source, departments, k % 3, k % 3, k % 2, k % 5 == 0,
                        k % 3 == 1, False, 0.5, 7.0, 0, work_hours=work)  # fmt: skip
        intake = Unit("centre", 0) if source == "hotline" else Unit("grid", k % 3)
        bundles.append((case, intake))
    saved: dict[str, list[int]] = {}
    asked: dict[str, int] = {}  # the policy's calls from one_pass
    for routing in (
        CountingHierarchical(),
        CountingUndeclared(),
        DrawingUndeclared(),
        EnforcementAware(),
    ):
        ot, before, cases = one_thing(), one_thing(), CaseTable()
        name = type(routing).__name__
        for case, intake in bundles:
            cid = cases.add(case.departments, case.work_hours or ())
            cases.bundle[cid], cases.need[cid] = 1, case.case_id
            route = routing.route(case, system, np.random.default_rng(0))
            expected = _saved_before(before, cid, cases, route, case, routing, system, intake)
            calls = getattr(routing, "calls", [])
            already = len(calls)
            ot.one_pass(cid, cases, route, case, routing, system, intake)
            asked[name] = asked.get(name, 0) + len(calls) - already
            assert cases.bundle[cid] == 2
            assert cases.handoffs_saved[cid] == expected, (name, case.case_id)
            saved.setdefault(name, []).append(expected)
            if case.case_id % 4 == 3:  # the row is freed and reused by the next bundle
                cases.release([cid])
    assert saved["CountingHierarchical"] == saved["CountingUndeclared"]
    assert len({tuple(v) for v in saved.values()}) == 3, "the draws and flags change routes"
    # every would-be request, or each distinct key once
    keys = {
        (intake, case.source, case.community, case.street, case.minor, d, case.enforcement)
        for case, intake in bundles
        for d in case.departments
    }
    assert asked["CountingUndeclared"] == sum(len(c.departments) for c, _ in bundles)
    assert asked["CountingHierarchical"] == len(keys) < asked["CountingUndeclared"]


@dataclass(frozen=True)
class HandedHierarchical(HierarchicalRouting):
    """Hierarchical routing that keeps the generator each call was handed; ``declared``
    subclasses declare what they read (the declaration is not inherited)."""

    handed: list[np.random.Generator] = field(default_factory=list, compare=False, hash=False)

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        self.handed.append(rng)
        return super().route(case, system, rng)


@dataclass(frozen=True)
class HandedDeclared(HandedHierarchical):
    ROUTE_FIELDS: ClassVar[tuple[str, ...]] = HierarchicalRouting.ROUTE_FIELDS


@pytest.mark.parametrize("declared", [True, False])
def test_a_bundle_s_generator_is_made_only_for_a_policy_that_may_draw(
    declared: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy that declares ROUTE_FIELDS promises to draw nothing: its would-be separate
    routes are asked with one generator made with the bundles' (``_no_draws``), and no
    bundle's own is made (issue 11, twenty-seventh round). An undeclared one is handed each
    bundle's own generator, keyed on its need and contact, for all its requests in turn."""
    system = SystemView(
        ("a", "b", "c"), np.ones(3), np.zeros(3), np.ones(3), np.zeros(3, bool),
        0.7, 4.0, 0.3, 0.3, 0.5, 1.0, 1.0,
    )  # fmt: skip
    routing = HandedDeclared() if declared else HandedHierarchical()
    ot, cases = one_thing(), CaseTable()
    made: list[object] = []
    default_rng = np.random.default_rng
    seeded_generator = bundles.seeded_generator

    def counted(seed: tuple[int, ...]) -> np.random.Generator:
        made.append(seed)
        return seeded_generator(seed)

    monkeypatch.setattr(bundles, "seeded_generator", counted)
    for k in range(6):  # distinct streets: no key met twice
        case = CaseView(k, "help", "hotline", (1, 2), k, k, k, False, False, False, 0.5, 7.0, 0)
        cid = cases.add(case.departments, (1.0, 1.0))
        cases.bundle[cid], cases.need[cid] = 1, 100 + k
        route = HierarchicalRouting().route(case, system, default_rng(0))
        routing.handed.clear()
        ot.one_pass(cid, cases, route, case, routing, system, Unit("centre", 0))
        assert len(routing.handed) == 2, "one would-be request per department"
        if declared:
            assert all(rng is ot._no_draws for rng in routing.handed)
        else:
            first, second = routing.handed
            assert first is second is not ot._no_draws
            entropy = [ot.key, 2, 100 + k, cases.contact[cid]]
            assert list(made[-1]) == entropy
            # default_rng(entropy)'s generator (hierarchical routing draws nothing from it)
            assert first.bit_generator.state == default_rng(entropy).bit_generator.state
    assert len(made) == (0 if declared else 6)


# ------------------------------------------------------------ directional: bundles
def _mean(outputs: tuple[RunOutput, ...], key: str) -> float:
    return float(np.mean([o.summary[key] for o in outputs]))


def test_bundling_merges_linked_requests_into_fewer_cases_and_handoffs() -> None:
    """On the same needs, 一件事 turns separate linked requests into bundles: fewer cases,
    fewer hand-offs in all, fewer staff hours; the needs are the same."""
    separate = runs(demand__linked_request_share=0.5)
    bundled = runs(demand__linked_request_share=0.5, intake__one_thing_bundles=True)
    for a, b in zip(separate, bundled, strict=True):
        assert a.summary["needs_generated"] == b.summary["needs_generated"], "same needs"
    assert _mean(separate, "bundles") == 0 and _mean(separate, "linked_request_cases") > 50
    assert _mean(bundled, "linked_request_cases") == 0 and _mean(bundled, "bundles") > 20
    assert _mean(bundled, "requests_merged") >= 2 * _mean(bundled, "bundles")
    assert _mean(bundled, "handoffs_saved") > 0
    assert _mean(bundled, "cases_generated") < _mean(separate, "cases_generated")

    def handoffs(outputs: tuple[RunOutput, ...]) -> float:
        return float(np.mean([o.cases["handoffs"].sum() for o in outputs]))

    assert handoffs(bundled) < handoffs(separate), "fewer hand-offs in all"
    assert _mean(bundled, "staff_hours_total") < _mean(separate, "staff_hours_total")
    for o in (*bundled, *separate):
        s = o.summary
        assert s["cases_generated"] == s["cases_closed"] + s["cases_parked"] + s["cases_open"]
        made = s["needs_reported"] + s["needs_found"] + s["repeat_contacts"]
        assert s["cases_generated"] == made + s["separate_requests"], "the accounting is whole"
    assert _mean(separate, "separate_requests") > 0 == _mean(bundled, "separate_requests")


def test_bundling_with_nothing_linked_does_nothing() -> None:
    """With no linked requests, switching 一件事 on changes no outcome."""
    off = runs()
    on = runs(intake__one_thing_bundles=True)
    for a, b in zip(off, on, strict=True):
        assert a.summary == pytest.approx(b.summary, nan_ok=True)


def test_coordination_hours_at_neutral_cost_nothing() -> None:
    """The bundle's coordination hours are an assumed strength: at its neutral 0 (the model
    default) the lead spends less than at 0.5."""
    costly = runs(
        demand__linked_request_share=0.5,
        intake__one_thing_bundles=True,
        intake__bundle_coordination_hours=0.5,
    )
    free = runs(
        demand__linked_request_share=0.5,
        intake__one_thing_bundles=True,
        intake__bundle_coordination_hours=0.0,
    )
    assert _mean(free, "staff_hours_total") < _mean(costly, "staff_hours_total")
    paths = {b.path: b.neutral for b in BEHAVIOURS}
    assert paths["intake.bundle_coordination_hours"] == 0.0, "declared with its neutral value"


# ------------------------------------------------------------ directional: sensors
def test_sensor_coverage_finds_problems_and_false_alarms_cost_checks() -> None:
    """Higher coverage finds more problems by sensor and fewer lapse; its false alarms are
    counted, cost centre and grid-worker hours, and are not cases."""
    none = runs()
    covered = runs(
        detection__sensor_coverage_share=0.8,
        detection__false_alarms_per_grid_per_day_at_full_coverage=0.0,
    )
    alarming = runs(
        detection__sensor_coverage_share=0.8,
        detection__false_alarms_per_grid_per_day_at_full_coverage=0.5,
    )
    assert _mean(none, "sensor_alarms") == 0 and _mean(none, "false_alarms") == 0
    assert _mean(covered, "sensor_detection_share") > 0.5
    assert _mean(covered, "needs_lapsed") < _mean(none, "needs_lapsed")
    assert _mean(covered, "false_alarms") == 0, "no false alarms at rate 0"
    false = _mean(alarming, "false_alarms")
    assert false == pytest.approx(0.5 * 0.8 * 6 * 90, rel=0.15), "rate × coverage × grids × days"
    hours = _mean(alarming, "false_alarm_hours")
    assert hours == pytest.approx(false * (0.3 + 0.5), rel=0.05), "review + on-site check each"
    assert _mean(alarming, "grid_worker_utilisation") > _mean(covered, "grid_worker_utilisation")
    assert _mean(alarming, "staff_hours_total") > _mean(covered, "staff_hours_total")
    assert 0 < _mean(alarming, "false_alarm_share") < 1
    for a, b in zip(covered, alarming, strict=True):
        first = ("needs_generated", "needs_reported", "needs_found")
        assert [a.summary[k] for k in first] == [b.summary[k] for k in first], "no cases"
        s = b.summary
        assert s["cases_generated"] == s["cases_closed"] + s["cases_parked"] + s["cases_open"]


def test_false_alarm_hours_are_counted_as_spent_and_open_checks_reported() -> None:
    """At every day's end each false alarm is checked or open; the hours count each finished
    review and check, so the reviews of alarms still waiting for their check count too."""
    scenario = apply_overrides(
        load_scenario(SCENARIOS / "classroom.toml"),
        {
            "simulation.warmup_days": 0,
            "detection.sensor_coverage_share": 0.8,
            "detection.false_alarms_per_grid_per_day_at_full_coverage": 2.0,
        },
    )
    model = GovernanceModel(scenario.parameters, 3)
    net = model.sensors
    travel = max(net.geography.grid_travel_hours or [0.0])
    each = net.review_hours + net.check_hours
    reviews_waiting = 0
    for _ in range(30):
        model.step()
        checked = net.false_alarms - net.checks_open
        assert 0 <= net.checks_open <= net.false_alarms
        assert checked * each - 1e-9 <= net.false_alarm_hours
        assert net.false_alarm_hours <= net.false_alarms * (each + travel) + 1e-9
        reviews_waiting += net.false_alarm_hours > checked * (each + travel) + 1e-9
    assert reviews_waiting > 0, "some open alarms had been reviewed: their hours count"
    assert model.output().summary["false_alarm_checks_open"] == net.checks_open


def test_false_alarms_scale_with_coverage() -> None:
    """Without coverage, a false-alarm rate raises no alarm at all."""
    out = runs(detection__false_alarms_per_grid_per_day_at_full_coverage=0.5)
    assert _mean(out, "false_alarms") == 0 and _mean(out, "false_alarm_hours") == 0


def test_the_reform_scenarios_turn_their_practice_on() -> None:
    """reform_one_thing bundles, reform_one_screen covers; the (fitted) baseline they extend
    has linked requests but neither bundles nor sensors."""
    base = load_scenario(SCENARIOS / "baseline_calibrated.toml").parameters
    thing = load_scenario(SCENARIOS / "reform_one_thing.toml").parameters
    screen = load_scenario(SCENARIOS / "reform_one_screen.toml").parameters
    assert base.demand.linked_request_share > 0 and not base.intake.one_thing_bundles
    assert base.detection.sensor_coverage_share == 0
    assert thing.intake.one_thing_bundles and thing.demand == base.demand
    assert screen.detection.sensor_coverage_share > 0
    assert screen.detection.false_alarms_per_grid_per_day_at_full_coverage > 0


def test_reform_one_thing_against_the_baseline_street() -> None:
    """reform_one_thing against the fitted baseline it extends (scaled down, same seed): the
    same needs, bundles instead of separate linked requests, fewer cases."""
    small = {"population.communities_per_street": 2, "simulation.warmup_days": 20}
    base = apply_overrides(load_scenario(SCENARIOS / "baseline_calibrated.toml"), small)
    reform = apply_overrides(load_scenario(SCENARIOS / "reform_one_thing.toml"), small)
    a = run_single(base, 4, days=60).summary
    b = run_single(reform, 4, days=60).summary
    assert a["needs_generated"] == b["needs_generated"], "same needs"
    assert (
        a["bundles"] == 0 < b["bundles"]
        and b["linked_request_cases"] == 0 < a["linked_request_cases"]
    )
    assert b["cases_generated"] < a["cases_generated"]
