"""Micro-space projects (微改造、精提升) and 每月一题: the decisions, the demand hook, a
project's life, and directional checks on common random numbers."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model.demand import DemandGenerator
from model.governance import GovernanceModel
from model.outcomes import OUTCOME_NAMES, RunOutput
from model.parameters import ModelParameters
from model.policies.micro_renewal import MicroRenewal, best_free_cell
from model.project_types import PROJECT_TYPES
from model.projects import (
    BUILDING,
    FUNDING,
    IDLE,
    IN_USE,
    PROBLEM_TYPES,
    firm_contribution,
)
from model.streams import stream

SEEDS = (1, 2, 3)
SMALL = {
    "streets": 1,
    "communities_per_street": 2,
    "grids_per_community": 3,
    "residents_per_grid": 200,
}
OPEN = {"kind": "open_deliberation", "cycle_days": 30, "first_meeting_day": 5}
# a generous budget and strong effects, so that a small district builds enough to compare
RENEWAL: dict[str, Any] = {
    "kind": "micro_renewal",
    "budget_yuan_per_community_per_year": 400_000.0,
    "source_fix_strength": 3.0,
    "use_experience_weight": 0.2,
    "firm_cofunding_probability": 0.3,
}
NEUTRAL = {
    **RENEWAL,
    "source_fix_strength": 0.0,
    "use_experience_weight": 0.0,
    "firm_cofunding_probability": 0.0,
}
PROJECT_OUTCOMES = (
    "projects_proposed",
    "projects_built",
    "projects_in_use",
    "projects_given_up",
    "projects_lapsed",
    "project_cost_yuan",
    "project_firm_funding_share",
    "project_staff_hours",
    "needs_prevented",
    "targeted_needs_prevented_share",
    "monthly_topics_chosen",
    "monthly_topics_tackled",
)


def parameters(projects: dict[str, Any], days: int = 365, **extra: Any) -> ModelParameters:
    """The small district with open deliberation and the given projects block."""
    return ModelParameters.model_validate(
        {
            "population": SMALL,
            "consultation": OPEN,
            "projects": projects,
            "simulation": {"days": days, "warmup_days": 0},
            "demand": {"collective_issues_per_community_per_year": 12.0},
            **extra,
        }
    )


@cache
def run(projects: tuple[tuple[str, Any], ...], seed: int, days: int = 365) -> RunOutput:
    """One run of the small district (cached: several tests compare the same runs)."""
    model = GovernanceModel(parameters(dict(projects), days), seed)
    model.run(days)
    return model.output()


def mean(outcome: str, projects: dict[str, Any]) -> float:
    """Mean of ``outcome`` over the seeds."""
    key = tuple(sorted(projects.items()))
    return float(np.mean([run(key, s).summary[outcome] for s in SEEDS]))


# ------------------------------------------------------------------ decisions
def test_firms_pay_nothing_when_none_cofunds() -> None:
    """With a co-funding probability of zero, firms add no money."""
    rng = np.random.default_rng(0)
    assert firm_contribution(5, 0.0, 0.5, 100_000.0, rng) == 0.0


@given(
    firms=st.integers(0, 50),
    probability=st.floats(0.0, 1.0),
    share=st.floats(0.0, 1.0),
    cost=st.floats(0.0, 1e7),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_firms_never_pay_more_than_the_cost(
    firms: int, probability: float, share: float, cost: float, seed: int
) -> None:
    """Firms' money is between nothing and the whole cost."""
    money = firm_contribution(firms, probability, share, cost, np.random.default_rng(seed))
    assert 0.0 <= money <= cost


@given(
    counts=arrays(np.float64, (4, 5), elements=st.floats(0.0, 100.0)),
    free=arrays(np.bool_, (4, 5)),
)
@settings(max_examples=60, deadline=None)
def test_the_community_picks_a_free_slot_with_the_most_problems(
    counts: np.ndarray, free: np.ndarray
) -> None:
    """The chosen (grid, type) is free and no free slot shows more problems; None if none is free."""
    choice = MicroRenewal().propose(counts, free)
    if not free.any():
        assert choice is None
        return
    assert choice is not None
    assert free[choice]
    assert counts[choice] == counts[free].max()


def test_monthly_topic_is_the_most_frequent_problem_and_only_with_the_practice() -> None:
    """每月一题 picks the most frequent problem; without the practice, or without a case, none."""
    counts = np.array([3.0, 9.0, 4.0])
    everywhere = np.ones(3, bool)
    assert MicroRenewal(monthly_topic=True).topic(counts, everywhere) == 1
    assert MicroRenewal(monthly_topic=False).topic(counts, everywhere) is None
    assert MicroRenewal(monthly_topic=True).topic(np.zeros(3), everywhere) is None


def test_monthly_topic_skips_a_problem_whose_spaces_all_exist() -> None:
    """A problem every grid already has a space for gives way to the next most frequent."""
    counts = np.array([3.0, 9.0, 4.0])
    assert MicroRenewal(monthly_topic=True).topic(counts, np.array([True, False, True])) == 2
    assert MicroRenewal(monthly_topic=True).topic(counts, np.zeros(3, bool)) is None


def test_best_free_cell_of_an_all_taken_grid_is_none() -> None:
    """No free slot, no proposal."""
    assert best_free_cell(np.ones((2, 2)), np.zeros((2, 2), bool)) is None


# ------------------------------------------------------------ the demand hook
def _generator(hooked: bool) -> DemandGenerator:
    p = ModelParameters.model_validate({"population": SMALL})
    seed = np.random.SeedSequence(5)
    demand = DemandGenerator(p, 20_000, stream(seed, "arrivals"), stream(seed, "case_attributes"))
    if hooked:
        demand.need_grid = lambda batch: np.zeros(len(batch), dtype=np.int64)
        demand.thinning = np.random.default_rng(9)
    return demand


def test_without_hooks_no_need_is_prevented() -> None:
    """A generator without rate factors marks nothing prevented."""
    assert _generator(hooked=False).draw(0).prevented is None


def test_rate_factors_compose_by_multiplication_and_keep_the_draws() -> None:
    """Two factors of 0.5 keep about a quarter of the needs; every other draw is unchanged."""
    plain, hooked = _generator(False), _generator(True)
    n_departments = plain.n_departments
    hooked.rate_factors.append(np.full((6, n_departments), 0.5))
    hooked.rate_factors.append(np.full((6, n_departments), 0.5))
    kept = total = 0
    for day in range(60):
        a, b = plain.draw(day), hooked.draw(day)
        assert np.array_equal(a.time, b.time) and np.array_equal(a.departments, b.departments)
        assert b.prevented is not None
        kept += int((~b.prevented).sum())
        total += len(b)
    assert total > 1000
    assert abs(kept / total - 0.25) < 0.04, kept / total
    assert hooked.needs_under_factors == total


def test_a_factor_of_zero_removes_only_its_department() -> None:
    """A factor of 0 for one department removes all its needs and none of the others'."""
    demand = _generator(True)
    factor = np.ones((6, demand.n_departments))
    factor[:, 0] = 0.0
    demand.rate_factors.append(factor)
    batch = demand.draw(0)
    assert batch.prevented is not None
    lead = batch.departments[:, 0]
    assert batch.prevented[lead == 0].all()
    assert not batch.prevented[lead != 0].any()


# ------------------------------------------------------------- a project's life
def _model(**projects: Any) -> GovernanceModel:
    return GovernanceModel(parameters({**RENEWAL, **projects}), 4)


def test_a_decided_project_is_funded_planned_built_and_removes_its_problem() -> None:
    """A decision becomes a project: funded, planned by community staff, built, then in use,
    lowering its problem's rate in its grid only."""
    model = _model()
    spaces = model.projects
    spaces.recent[1, spaces.type_problem[2]] = 50.0  # grid 1's cases show type 2's problem
    budget = float(spaces.budget[0])
    spaces.on_decision(0)
    assert spaces.status[1, 2] == BUILDING
    assert spaces.budget[0] < budget
    assert spaces.staff_hours == spaces.types[2].planning_staff_hours
    model.run(120)
    assert spaces.status[1, 2] == IN_USE
    d = int(spaces.type_problem[2])
    assert spaces.rate_factor[1, d] < 1.0
    assert (spaces.rate_factor[3:, d] == 1.0).all()  # the other community's grids


def test_a_project_waits_for_money_and_lapses_after_a_year() -> None:
    """With an empty purse a proposal waits for funding, and after a year lapses."""
    model = _model(budget_yuan_per_community_per_year=60_000.0, firm_cofunding_probability=0.0)
    spaces = model.projects
    spaces.budget[:] = 0.0
    spaces.on_decision(0)  # no case yet: the first affordable slot, a pocket park (150k)
    waiting = np.argwhere(spaces.status == FUNDING)
    assert len(waiting) == 1
    model.events.run_until(400.0)
    model.day = 400
    spaces.step(400)
    assert (spaces.status == IDLE).all()
    assert spaces.lapsed == 1


def test_an_unkept_space_wears_and_is_given_up() -> None:
    """With no money for upkeep, a space's condition wears until it is given up."""
    model = _model(budget_yuan_per_community_per_year=0.0, wear_per_year=2.0)
    spaces = model.projects
    assert not spaces.affordable.any()  # nothing can be proposed with no money at all
    spaces.status[0, 0] = IN_USE
    spaces.condition[0, 0] = 1.0
    for day in range(400):
        spaces.step(day)
        if spaces.status[0, 0] != IN_USE:
            break
    assert spaces.status[0, 0] == IDLE
    assert spaces.given_up == 1
    assert 200 < day < 300  # exp(-2 t) < 0.3 after ≈0.6 years


def test_the_project_types_address_departments_of_the_default_scenario() -> None:
    """Every project type names a default department and a share of its problem in [0, 1]."""
    names = set(ModelParameters().departments)
    for kind in PROJECT_TYPES:
        assert kind.problem in names
        assert 0.0 <= kind.sources_removed <= 1.0


# ------------------------------------------------------------- end to end
def test_baseline_has_no_projects_and_reports_them_as_zero() -> None:
    """Without a programme nothing is proposed, built or prevented; the outcomes are registered."""
    out = run((("kind", "none"),), SEEDS[0])
    for name in PROJECT_OUTCOMES:
        assert name in OUTCOME_NAMES
    assert out.summary["projects_built"] == 0
    assert out.summary["needs_prevented"] == 0


def test_micro_renewal_builds_spaces_that_remove_needs_and_raise_trust() -> None:
    """On common random numbers, micro-renewal builds spaces, removes needs at their source,
    costs money and staff time, draws firms' money and raises trust."""
    off, on = {"kind": "none"}, RENEWAL
    assert mean("projects_built", on) > 0
    assert mean("needs_prevented", on) > 0
    assert mean("needs_generated", on) < mean("needs_generated", off)
    assert mean("project_cost_yuan", on) > 0 and mean("project_staff_hours", on) > 0
    assert mean("project_firm_funding_share", on) > 0
    assert 0 < mean("targeted_needs_prevented_share", on) < 1
    assert mean("trust_mean", on) > mean("trust_mean", off)


def test_micro_renewal_at_neutral_strengths_removes_nothing_and_moves_no_trust_by_use() -> None:
    """With every assumed strength neutral, no need is removed and firms pay nothing; the
    needs that arise are exactly those without the programme."""
    off = {"kind": "none"}
    assert mean("projects_built", NEUTRAL) > 0  # the structure is still there
    assert mean("needs_prevented", NEUTRAL) == 0
    assert mean("needs_generated", NEUTRAL) == mean("needs_generated", off)
    assert mean("project_firm_funding_share", NEUTRAL) == 0


def test_monthly_topics_are_chosen_and_tackled() -> None:
    """每月一题 chooses at most one topic a month per street (fewer once the small district's
    slots fill up) and turns topics into projects through consultation."""
    proactive = {**RENEWAL, "monthly_topic": True}
    out = run(tuple(sorted(proactive.items())), SEEDS[0])
    assert 6 <= out.summary["monthly_topics_chosen"] <= 12
    assert out.summary["monthly_topics_tackled"] > 0
    assert mean("projects_proposed", proactive) > mean("projects_proposed", RENEWAL)


@pytest.mark.parametrize("seed", SEEDS[:1])
def test_projects_in_use_settle(seed: int) -> None:
    """With a modest budget, spaces in use settle: the sixth year's mean is close to the
    fifth's, and never more than the grids' slots."""
    days = 6 * 365
    p = parameters({**RENEWAL, "budget_yuan_per_community_per_year": 50_000.0}, days)
    model = GovernanceModel(p, seed)
    model.run(days)
    series = model.output().timeseries["projects_in_use"].to_numpy()
    assert series.max() <= model.projects.status.size
    fifth, sixth = series[4 * 365 : 5 * 365].mean(), series[5 * 365 :].mean()
    assert sixth > 0
    assert abs(sixth - fifth) <= 0.2 * fifth + 1.0, (fifth, sixth)


# --------------------------------------------- the hook acts where the problem arises
TYPED = {
    "population": {"streets": 2, "street_types": {"urban": 1, "rural": 1}},
    "community_types": {
        "urban": {
            "communities_per_street": 2,
            "grids_per_community": 3,
            "residents_per_grid": 150,
            "community_shares": {"old_compound": 0.5},
        },
        "rural": {"communities_per_street": 1, "grids_per_community": 2, "residents_per_grid": 100},
        "old_compound": {"public_problem_rate_multiplier": 3.0},
    },
    "consultation": OPEN,
    "projects": RENEWAL,
    "demand": {"neighbour_disputes_per_resident_per_year": 0.5},
    "detection": {"public_problems_per_resident_per_year": 2.0},
    "simulation": {"days": 20, "warmup_days": 0},
}


def test_the_hook_places_each_problem_in_the_grid_its_case_has() -> None:
    """With disputes numbered among the needs and community types weighting where public
    problems arise, the rate hook's grid of every need is the grid casework gives its case."""
    model = GovernanceModel(ModelParameters.model_validate(TYPED), 7)
    hook_grid: dict[int, int] = {}
    for day in range(20):
        batch = model.demand.draw(day)
        grids = model.projects.need_grid(batch)
        start = model.casework.need_offset
        hook_grid.update((start + i, g) for i, g in enumerate(grids.tolist()) if g >= 0)
        model.casework.receive(batch, day)
        model.casework.receive(model.disputes.draw(day), day)
        model.events.run_until(day + 1.0)
    assert model.casework.dispute_needs > 0
    cases = model.casework.cases
    rows = np.flatnonzero(cases.column("number") >= 0)
    need, grid = cases.column("need")[rows], cases.column("grid")[rows]
    public = cases.column("source")[rows] >= 3  # found by patrols and sensors
    checked = [(int(n), int(g)) for n, g, p in zip(need, grid, public, strict=True) if p]
    checked = [(n, g) for n, g in checked if n in hook_grid]
    assert len(checked) > 50
    assert all(hook_grid[n] == g for n, g in checked)


def test_the_hook_spares_inquiries_help_and_suggestions() -> None:
    """Only problems (complaints, reports, public problems) come from a place's condition:
    a zero factor everywhere removes them all and no inquiry, help request or suggestion."""
    model = GovernanceModel(ModelParameters.model_validate(TYPED), 7)
    model.projects.rate_factor[:] = 0.0
    batch = model.demand.draw(0)
    assert batch.prevented is not None
    problem = np.isin(batch.case_type, PROBLEM_TYPES)
    assert problem.any() and (~problem).any()
    assert batch.prevented[problem].all()
    assert not batch.prevented[~problem].any()


def test_the_monthly_counts_hold_first_contacts_of_problems_only() -> None:
    """The counts that guide 每月一题 and project choice are the first contacts of
    complaints, reports and found problems: no inquiry, help, suggestion, dispute or repeat."""
    days = 90
    p = ModelParameters.model_validate(
        {
            **TYPED,
            "simulation": {"days": days, "warmup_days": 0},
            "projects": {**RENEWAL, "source_fix_strength": 0.0},
        }
    )
    model = GovernanceModel(p, 3)
    model.run(days)
    spaces = model.projects
    spaces.month[:] = 0.0
    spaces.counted = 0
    spaces.tally()  # every case of the run, counted afresh
    cases = model.output().cases
    counted = cases[
        cases["case_type"].isin(["complaint", "report", "patrol", "sensor"])
        & (cases["repeat"] == 0)
    ]
    assert (cases["case_type"] == "neighbour_dispute").any()
    assert 0 < len(counted) < len(cases)
    by_grid = counted.groupby("grid").size().reindex(range(spaces.n_grids), fill_value=0)
    assert np.array_equal(spaces.month.sum(axis=1), by_grid.to_numpy())


def test_need_numbers_lie_below_the_needs_generated_and_prevented() -> None:
    """A need a space removed keeps its number: every case's need id is below
    needs_generated + needs_prevented (and some lie above needs_generated alone)."""
    out = run(tuple(sorted(RENEWAL.items())), SEEDS[0])
    generated, prevented = out.summary["needs_generated"], out.summary["needs_prevented"]
    assert prevented > 0
    assert out.cases["need"].max() < generated + prevented
    assert out.cases["need"].max() >= generated
