"""The answer of a compare report: verdicts by direction and threshold, the ranking, run facts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from analysis_fixtures import write_compare, write_sensitivity

from analysis import answer
from analysis.results import load_results
from model.parameters import PopulationParameters


@pytest.mark.parametrize(
    ("outcome", "difference", "low", "high", "threshold", "verdict"),
    [
        ("resolution_time_median_days", -2.0, -2.5, -1.5, 0.5, answer.BETTER),
        ("resolution_time_median_days", 2.0, 1.5, 2.5, 0.5, answer.WORSE),
        ("on_time_share", 0.05, 0.03, 0.07, 0.02, answer.BETTER),
        ("on_time_share", 0.05, -0.01, 0.11, 0.02, answer.UNCLEAR),
        ("trust_mean", 0.0013, 0.0005, 0.002, 0.01, answer.NO_PRACTICAL_DIFFERENCE),
        ("trust_mean", 0.001, -0.05, 0.05, 0.01, answer.UNCLEAR),
        ("trust_mean", 0.001, -0.005, 0.006, 0.01, answer.NO_PRACTICAL_DIFFERENCE),
        ("cases_generated", 100.0, 50.0, 150.0, 10.0, answer.HIGHER),
        ("on_time_share", math.nan, math.nan, math.nan, 0.02, answer.NO_DATA),
    ],
)
def test_judge(
    outcome: str, difference: float, low: float, high: float, threshold: float, verdict: str
) -> None:
    """Better/worse follow the registry direction; small effects are no practical difference."""
    assert answer.judge(outcome, difference, low, high, threshold) == verdict


def _effects(rows: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "scenario": s,
                "outcome": o,
                "difference": d,
                "ci_low": lo,
                "ci_high": hi,
                "reference_mean": 10.0,
            }
            for s, o, d, lo, hi in rows
        ]
    )


def test_ranking_counts_verdicts_then_sizes() -> None:
    """More outcomes better ranks first; a worse outcome costs a place; ties go by size."""
    effects = _effects(
        [
            ("a", "resolution_time_median_days", -1.0, -1.2, -0.8),  # better
            ("a", "on_time_share", 0.03, 0.02, 0.04),  # better
            ("b", "resolution_time_median_days", -3.0, -3.5, -2.5),  # better, larger
            ("b", "on_time_share", -0.03, -0.04, -0.02),  # worse
            ("c", "resolution_time_median_days", -2.0, -2.2, -1.8),  # better
            ("c", "on_time_share", 0.001, -0.001, 0.003),  # no practical difference
            ("d", "resolution_time_median_days", -4.0, -4.5, -3.5),  # better, largest
            ("d", "on_time_share", 0.0, -0.001, 0.001),  # no practical difference
        ]
    )
    verdicts = answer.verdict_table(effects, {})
    ranking = answer.rank_reforms(verdicts, ["resolution_time_median_days", "on_time_share"])
    assert list(ranking["scenario"]) == ["a", "d", "c", "b"], ranking
    assert list(ranking["rank"]) == [1, 2, 3, 4]
    assert ranking.set_index("scenario").loc["b", "worse"] == 1


def test_threshold_override_changes_the_verdict() -> None:
    """An experiment's threshold replaces the registry default."""
    effects = _effects([("a", "on_time_share", 0.03, 0.02, 0.04)])
    assert answer.verdict_table(effects, {})["verdict"][0] == answer.BETTER
    strict = answer.verdict_table(effects, {"on_time_share": 0.05})
    assert strict["verdict"][0] == answer.NO_PRACTICAL_DIFFERENCE


def test_experiment_fields_and_titles(tmp_path: Path) -> None:
    """Question, main outcomes, thresholds and titles are read from the stored record."""
    keys = (
        'question = "Which is fastest?"\nmain_outcomes = ["on_time_share"]\n'
        "[thresholds]\non_time_share = 0.05\n"
    )
    fake = write_compare(tmp_path / "c", experiment_keys=keys, titles={"whistle": "Whistle 吹哨"})
    results = load_results(fake.path)
    assert answer.question(results) == "Which is fastest?"
    assert answer.main_outcomes(results, ["on_time_share", "trust_mean"]) == ["on_time_share"]
    assert answer.thresholds(results) == {"on_time_share": 0.05}
    titles = answer.scenario_titles(results)
    assert titles["whistle"] == "Whistle 吹哨" and titles["baseline"] == "baseline", titles
    assert answer.plain_title("Whistle 吹哨") == "Whistle"
    facts = answer.run_facts(results)
    defaults = PopulationParameters()  # the fixture's scenarios set no population field
    expected = (
        defaults.streets
        * defaults.communities_per_street
        * defaults.grids_per_community
        * defaults.residents_per_grid
    )
    assert facts.residents["baseline"] == expected, facts.residents
    whistle = {"population": {"communities_per_street": 1, "residents_per_grid": 100}}
    assert answer.residents(whistle) == defaults.streets * defaults.grids_per_community * 100
    assert facts.warmup_days is None, "no warm-up stored"
    warm = write_compare(tmp_path / "w", titles={"baseline": "Before the reform"})
    manifest = warm.path / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["scenarios"]["baseline"]["raw"]["simulation"] = {"days": 400, "warmup_days": 35}
    manifest.write_text(json.dumps(data), encoding="utf-8")
    facts = answer.run_facts(load_results(warm.path))
    assert facts.warmup_days == 35 and facts.days == 400, facts


def test_assumptions_from_a_sensitivity_folder(tmp_path: Path) -> None:
    """The factors with the largest total-order index on the main outcomes come first."""
    sobol = write_sensitivity(tmp_path / "sobol")
    keys = f'sensitivity_results = "{sobol.path}"\n'
    fake = write_compare(tmp_path / "c", experiment_keys=keys)
    found, note = answer.key_assumptions(load_results(fake.path), ["resolution_time_mean_days"])
    assert not note, note
    # write_sensitivity: ST = 0.7 for the first factor, 0.3 for the second
    assert [a.factor for a in found] == [
        "coordination.classification_accuracy",
        "offices.grid_workers_per_grid",
    ], found
    assert found[0].weight == pytest.approx(0.7)
    # with the index's interval (the fixture stores ST ± 0.04) and its kind
    assert found[0].conf == pytest.approx(0.04) and found[0].total_order, found
    # the source names the scenario the indices were computed on, here one compared
    assert found[0].source.endswith("sensitivity results sobol, computed on the baseline scenario")
    assert "compared here" not in found[0].source
    # indices of a scenario not compared (the demo's classroom Sobol' design beside a
    # street comparison) are still listed, but the reader is told
    other = write_compare(
        tmp_path / "o", scenarios=("street", "street_integrated"), experiment_keys=keys
    )
    found, _ = answer.key_assumptions(load_results(other.path), ["resolution_time_mean_days"])
    assert found and all(
        a.source.endswith("computed on the baseline scenario — not one compared here")
        for a in found
    ), found

    missing = write_compare(tmp_path / "m", experiment_keys='sensitivity_results = "nowhere"\n')
    found, note = answer.key_assumptions(load_results(missing.path), ["on_time_share"])
    assert not found and "do not exist yet" in note, note


def test_the_scenarios_sensitivity_indices_were_computed_on_are_named() -> None:
    """One scenario or several, and whether the comparison holds any of them."""
    on = answer._computed_on
    assert on([], ["street"]) == ""
    assert on(["classroom"], []) == ", computed on the classroom scenario"
    assert on(["classroom"], ["classroom", "street"]) == ", computed on the classroom scenario"
    assert on(["classroom"], ["street"]) == (
        ", computed on the classroom scenario — not one compared here"
    )
    assert on(["classroom", "village", "town"], ["street"]) == (
        ", computed on the classroom, village and town scenarios — none compared here"
    )
    assert on(["classroom", "street"], ["street"]) == (
        ", computed on the classroom and street scenarios"
    )
