"""一件事 bundles keep common random numbers: the same needs are linked whatever the intake
does with them, and neighbourhood disputes move no linked need nor its draws."""

from __future__ import annotations

from pathlib import Path

from experiments.runs import run_single
from experiments.scenario_files import apply_overrides, load_scenario
from model.governance import GovernanceModel

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FROZEN = {  # same needs reported in every variant: trust feedback off
    "feedback.trust_learning_rate": 0.0,
    "social.neighbour_influence_per_day": 0.0,
    "social.disposition_weight_per_day": 0.0,
    "feedback.collective_issue_trust_drag_per_year": 0.0,
}


def _linked_by_day(bundling: bool, dispute_rate: float, days: int = 60) -> list[frozenset[int]]:
    """Each day's linked needs, by number among the needs (disputes left out)."""
    scenario = apply_overrides(
        load_scenario(SCENARIOS / "classroom.toml"),
        {
            "simulation.warmup_days": 0,
            "demand.linked_request_share": 0.5,
            "intake.one_thing_bundles": bundling,
            "demand.neighbour_disputes_per_resident_per_year": dispute_rate,
        },
    )
    model = GovernanceModel(scenario.parameters, 7)
    out = []
    for _ in range(days):
        before = model.casework.dispute_needs  # the day's needs come before its disputes
        model.step()
        out.append(frozenset(n - before for n in model.casework.one_thing.linked))
    return out


def test_the_same_needs_are_linked_with_and_without_bundling() -> None:
    """Baseline and 一件事 intake link the same needs on every day, not only the first."""
    separate = _linked_by_day(bundling=False, dispute_rate=0.0)
    bundled = _linked_by_day(bundling=True, dispute_rate=0.0)
    assert sum(len(d) for d in separate) > 20, "too few linked needs to test anything"
    assert separate == bundled


def test_disputes_move_no_linked_need() -> None:
    """The linked needs (numbered among the other needs) do not depend on the dispute rate."""
    without = _linked_by_day(bundling=False, dispute_rate=0.0)
    for rate in (0.01, 0.03):
        assert _linked_by_day(bundling=False, dispute_rate=rate) == without, rate


def test_linked_request_cases_do_not_depend_on_the_dispute_rate() -> None:
    """With trust feedback off, the cases filed as separate linked requests are the same
    at every dispute rate (disputes take no draw meant for a linked need)."""
    counts = []
    for rate in (0.0, 0.01, 0.03):
        scenario = apply_overrides(
            load_scenario(SCENARIOS / "classroom.toml"),
            {
                "simulation.warmup_days": 10,
                "demand.linked_request_share": 0.5,
                "demand.neighbour_disputes_per_resident_per_year": rate,
                **FROZEN,
            },
        )
        out = run_single(scenario, 5, days=60)
        counts.append(out.summary["linked_request_cases"])
    assert counts[0] > 20, counts
    assert counts == [counts[0]] * 3, counts
