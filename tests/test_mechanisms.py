"""Reform effects come from mechanisms: resolution, satisfaction and demand emerge, units
respond to accountability (考核), and every assumed strength has a neutral value."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from experiments.runs import run_single
from experiments.scenario_files import apply_overrides, load_scenario
from model.mechanisms import POLICY_BLOCKS, mechanisms_of, scenario_mechanisms
from model.outcomes import RunOutput
from model.parameters import ModelParameters
from model.policies.accountability import (
    METRICS,
    LeagueView,
    RankingAccountability,
    league_rank,
)
from model.policies.registry import builtin_kinds, policy_class, resolve_policy

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SEEDS = (21, 22, 23)
DAYS = 180


@cache
def _runs(overrides: tuple[tuple[str, object], ...], days: int = DAYS) -> tuple[RunOutput, ...]:
    scenario = load_scenario(SCENARIOS / "classroom.toml")
    base = {"consultation.kind": "none", "simulation.warmup_days": 30}
    scenario = apply_overrides(scenario, {**base, **dict(overrides)})
    return tuple(run_single(scenario, seed, days=days) for seed in SEEDS)


def mean(outcome: str, **overrides: object) -> float:
    """Mean of ``outcome`` over the seeds, for the classroom scenario with ``overrides``."""
    key = tuple(sorted((k.replace("__", "."), v) for k, v in overrides.items()))
    return float(np.mean([o.summary[outcome] for o in _runs(key)]))


# ------------------------------------------------------------------ the table itself
@pytest.mark.parametrize("family", POLICY_BLOCKS)
def test_every_declared_mechanism_names_a_field_with_a_valid_neutral_value(family: str) -> None:
    """Each mechanism's parameter is a field of its policy and its neutral value validates."""
    for kind in builtin_kinds(family):
        cls = policy_class(family, kind)
        names = {f.name for f in dataclasses.fields(cls)}
        for mechanism in mechanisms_of(cls):
            assert mechanism.parameter in names, f"{kind}.{mechanism.parameter} is not a field"
            assert mechanism.source, f"{kind}.{mechanism.name} has no source"
            policy = resolve_policy(family, {"kind": kind, mechanism.parameter: mechanism.neutral})
            assert getattr(policy, mechanism.parameter) == mechanism.neutral


def test_no_policy_field_scales_work_misrouting_or_resolution() -> None:
    """No lever fields: nothing named *_multiplier, *_speedup_*, *_reduction_share in policies."""
    for family in POLICY_BLOCKS:
        for kind in builtin_kinds(family):
            for f in dataclasses.fields(policy_class(family, kind)):
                assert not any(
                    word in f.name for word in ("speedup", "reduction_share", "misroute")
                ), f"{family} {kind}: {f.name} looks like an effect by fiat"


def test_scenario_mechanisms_find_the_reform_and_its_regime() -> None:
    """scenario_mechanisms lists immediate's routing and ranking mechanisms with their paths."""
    scenario = load_scenario(SCENARIOS / "reform_immediate.toml")
    paths = {m.path for m in scenario_mechanisms(scenario.parameters)}
    assert {"routing.first_unit_leads", "accountability.stakes"} <= paths, paths


# --------------------------------------------------------------- accountability regime
def _league(rates: dict[str, list[float]], overdue: list[int] | None = None) -> LeagueView:
    n = len(next(iter(rates.values())))
    return LeagueView(
        day=30,
        handled=np.full(n, 10),
        rates={k: np.array(v, dtype=float) for k, v in rates.items()},
        overdue=np.array(overdue or [0] * n),
    )


def test_ranking_puts_the_worst_department_under_the_most_pressure() -> None:
    """RankingAccountability.assess: pressure follows the weighted score's rank."""
    rates = {
        "response": [0.9, 0.5, 0.7],
        "resolution": [0.9, 0.5, 0.7],
        "satisfaction": [0.9, 0.5, 0.7],
        "on_time": [0.1, 0.9, 0.5],  # not ranked by default
        "street_rating": [0.1, 0.9, 0.5],  # not ranked by default
    }
    pressure = RankingAccountability().assess(_league(rates), np.random.default_rng(0)).pressure
    assert pressure.tolist() == [0.0, 1.0, 0.5], pressure
    calm = RankingAccountability(stakes=0.0).assess(_league(rates), np.random.default_rng(0))
    assert not calm.pressure.any(), "no stakes, no pressure"


def test_written_criticism_adds_pressure_to_a_department_with_long_overdue_cases() -> None:
    """通报批评 (F9.4): a long-overdue case adds criticism_pressure."""
    rates = {m: [0.9, 0.5, 0.7] for m in METRICS}
    regime = RankingAccountability(criticism_pressure=0.3)
    pressure = regime.assess(_league(rates, [1, 0, 0]), np.random.default_rng(0)).pressure
    assert pressure[0] == pytest.approx(0.3), "best placed, but criticised"


def test_league_rank_shares_ties() -> None:
    """league_rank: best 0, worst 1, ties share their places."""
    assert league_rank(np.array([3.0, 1.0, 2.0])).tolist() == [0.0, 1.0, 0.5]
    assert league_rank(np.array([1.0, 1.0])).tolist() == [0.5, 0.5]


# ------------------------------------------------------------------ directional, CRN
def test_a_responsibility_gap_parks_cases_under_hierarchy_more_than_with_a_lead() -> None:
    """Disputed ownership (职责交叉) raises parked cases and lowers resolution under
    hierarchical routing more than under direct dispatch with 首接负责 (F4.7, F9.5)."""
    gap = {"demand__disputed_ownership_share": 0.4}
    none = {"demand__disputed_ownership_share": 0.0}
    lead = {"routing__kind": "integrated"}
    parked_h = mean("parked_share", **gap) - mean("parked_share", **none)
    parked_i = mean("parked_share", **gap, **lead) - mean("parked_share", **none, **lead)
    resolved_h = mean("resolution_share", **gap) - mean("resolution_share", **none)
    resolved_i = mean("resolution_share", **gap, **lead) - mean("resolution_share", **none, **lead)
    assert parked_h > 0.02 and parked_h > parked_i + 0.02, (parked_h, parked_i)
    assert resolved_h < resolved_i - 0.02, (resolved_h, resolved_i)


def test_ranking_on_satisfaction_raises_satisfaction_and_gaming_brings_premature_closures() -> None:
    """A ranking weighted on satisfaction raises satisfaction (more care); with gaming on,
    units under pressure close cases prematurely, and verification catches some."""
    ranked = {
        "accountability__kind": "ranking",
        "accountability__response_weight": 0.0,
        "accountability__resolution_weight": 0.0,
        "accountability__satisfaction_weight": 1.0,
        "accountability__criticism_pressure": 0.0,
        # ample staff, so that the extra care does not turn into queues: in a loaded system
        # care costs timeliness, which also counts in satisfaction (M11) — a real trade-off
        **{
            f"departments__{name}__staff_per_100k_residents": 100.0
            for name in ModelParameters().departments
        },
    }
    honest = mean("satisfaction_share", **ranked, handling__gaming_propensity=0.0)
    staff = {k: v for k, v in ranked.items() if k.startswith("departments")}
    baseline = mean("satisfaction_share", handling__gaming_propensity=0.0, **staff)
    assert honest > baseline, f"satisfaction {baseline:.3f} → {honest:.3f} under the ranking"
    gaming = mean("premature_closures", **ranked, handling__gaming_propensity=0.5)
    assert mean("premature_closures", **ranked, handling__gaming_propensity=0.0) == 0.0
    assert gaming > 10, f"premature closures with gaming: {gaming}"
    assert mean("premature_caught_share", **ranked, handling__gaming_propensity=0.5) > 0.2


def test_repeat_contacts_rise_with_unresolved_cases() -> None:
    """Poorer handling quality → more unresolved cases → more repeat contacts (M12)."""
    good = mean("repeat_contacts", handling__resolution_probability_full_effort=0.97)
    poor = mean("repeat_contacts", handling__resolution_probability_full_effort=0.6)
    assert poor > 2 * good > 0, f"repeat contacts {good:.0f} → {poor:.0f}"


def test_satisfaction_has_no_cap_by_construction() -> None:
    """With strong logits, satisfaction approaches 1 (no fixed ceiling)."""
    high = mean(
        "satisfaction_share",
        feedback__satisfaction_logit_resolved=10.0,
        handling__resolution_probability_full_effort=1.0,
        feedback__satisfaction_logit_per_limit_late=0.0,
    )
    assert high > 0.97, f"satisfaction {high:.3f}"


def test_demand_responds_to_how_cases_turn_out() -> None:
    """Reporting follows trust, and trust follows experience: a year of satisfying outcomes
    draws more requests than a year of unsatisfying ones (M15; F1.2 is a holdout, not a target)."""

    def volume(logit: float) -> float:
        outs = _runs(
            (
                ("feedback.satisfaction_logit_base", logit),
                ("feedback.satisfaction_logit_resolved", 0.0),
                ("feedback.satisfaction_logit_per_limit_late", 0.0),
            ),
            days=365,
        )
        return float(np.mean([o.summary["requests_per_resident_per_year"] for o in outs]))

    satisfied, unsatisfied = volume(10.0), volume(-10.0)
    assert satisfied > 1.05 * unsatisfied, (
        f"requests per resident {unsatisfied:.3f} → {satisfied:.3f}"
    )


def test_trust_keeps_its_heterogeneity_over_three_years() -> None:
    """After three years the spread of trust is at least half the initial one."""
    from model.governance import GovernanceModel

    scenario = load_scenario(SCENARIOS / "classroom.toml")
    model = GovernanceModel(scenario.parameters, seed=4)
    initial = float(model.population.trust.std())
    model.run(days=3 * 365)
    final = float(model.population.trust.std())
    assert final >= 0.5 * initial, f"trust SD {initial:.3f} → {final:.3f}"


# ---------------------------------------------------------------- mechanism, not lever
def _neutral_strengths(path: str) -> dict[str, object]:
    """Every non-structural mechanism of a scenario's policies at its neutral value."""
    scenario = load_scenario(SCENARIOS / path)
    return {
        m.path: m.mechanism.neutral
        for m in scenario_mechanisms(scenario.parameters)
        if not m.mechanism.structural
    }


def test_immediate_with_neutral_strengths_still_changes_who_owns_a_case() -> None:
    """With every assumed strength neutral, 接诉即办 still differs from hierarchical in its
    direct results: a lead owns each case (no disputed returns), fewer parked cases,
    fewer hand-offs. The test asserts these, not a headline effect."""
    neutral = _neutral_strengths("reform_immediate.toml")
    assert neutral, "reform_immediate declares assumed strengths"
    immediate = apply_overrides(load_scenario(SCENARIOS / "reform_immediate.toml"), neutral)
    baseline = load_scenario(SCENARIOS / "baseline_calibrated.toml")  # the file it extends
    small = {"population.communities_per_street": 2, "simulation.warmup_days": 30}
    a = run_single(apply_overrides(immediate, small), 3, days=120).summary
    b = run_single(apply_overrides(baseline, small), 3, days=120).summary
    assert a["disputes"] == 0 < b["disputes"], (a["disputes"], b["disputes"])
    assert a["parked_share"] < b["parked_share"], (a["parked_share"], b["parked_share"])
    assert a["handoffs_per_case"] < b["handoffs_per_case"]


def test_the_reform_menu_lists_every_built_in_mechanism() -> None:
    """scenarios/README.md's mechanism table has a row for every declared mechanism."""
    text = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    for family in POLICY_BLOCKS:
        for kind in builtin_kinds(family):
            for m in mechanisms_of(policy_class(family, kind)):
                row = f"| {family} | `{kind}` | `{m.name}` | `{family}.{m.parameter}` |"
                assert row in text, f"missing from the reform menu: {row}"


def test_the_street_rating_feeds_the_league_table() -> None:
    """吹哨报到's street rating (F4.3) is a metric of the same league table."""
    rates = {m: [0.5, 0.5, 0.5] for m in METRICS}
    rates["street_rating"] = [0.2, 0.9, 0.6]
    regime = RankingAccountability(
        response_weight=0.0,
        resolution_weight=0.0,
        satisfaction_weight=0.0,
        street_rating_weight=1.0,
    )
    pressure = regime.assess(_league(rates), np.random.default_rng(0)).pressure
    assert pressure.tolist() == [1.0, 0.0, 0.5], pressure


def test_gaming_under_a_timeliness_ranking_reclassifies_cases() -> None:
    """Ranked on on-time rates, units that game re-file cases under longer limits (M10)."""
    ranked = {
        "accountability__kind": "ranking",
        "accountability__response_weight": 0.0,
        "accountability__resolution_weight": 0.0,
        "accountability__satisfaction_weight": 0.0,
        "accountability__on_time_weight": 1.0,
    }
    gaming = mean("reclassified_share", **ranked, handling__gaming_propensity=0.5)
    honest = mean("reclassified_share", **ranked, handling__gaming_propensity=0.0)
    assert honest == 0.0 < gaming, f"re-filed share {honest} → {gaming}"
