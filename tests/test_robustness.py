"""Levers, uncertainties and the robustness table (analysis.robustness; issue 14)."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
import standins
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.results import ResultsError, load_results
from analysis.robustness import outcome_direction, robustness_frame, robustness_table
from experiments.errors import InputError
from experiments.experiment_files import load_experiment
from experiments.runner import run_experiment

LEVER, UNCERTAINTY = "routing.kind", "coordination.classification_accuracy"


def means(values: dict[tuple[str, float], float]) -> pd.DataFrame:
    """Point means from {(lever value, uncertainty value): mean}."""
    return pd.DataFrame(
        [{LEVER: lever, UNCERTAINTY: u, "mean": m} for (lever, u), m in values.items()]
    )


def test_regret_by_hand():
    """Max regret, best, worst and satisficing share match a hand computation."""
    # lower is better; in setting 0.6 the best is B (4), in 0.9 the best is A (1)
    frame = means({("A", 0.6): 6.0, ("A", 0.9): 1.0, ("B", 0.6): 4.0, ("B", 0.9): 2.0})
    table = robustness_frame(frame, [LEVER], [UNCERTAINTY], "x", "lower", threshold=3.0)
    rows = table.set_index(LEVER)
    assert rows.loc["A", "max_regret"] == 2.0, "A falls 2 short of B under 0.6"
    assert rows.loc["B", "max_regret"] == 1.0, "B falls 1 short of A under 0.9"
    assert list(table[LEVER]) == ["B", "A"], "B is ranked first: smaller maximum regret"
    assert (rows.loc["A", "best"], rows.loc["A", "worst"]) == (1.0, 6.0), "best and worst of A"
    assert rows.loc["A", "worst_at"] == f"{UNCERTAINTY}=0.6", "where A's worst case is"
    assert rows.loc["A", "satisficing_share"] == 0.5, "A meets ≤ 3 in one of two settings"
    assert rows.loc["B", "satisficing_share"] == 0.5, "B meets ≤ 3 in one of two settings"


def test_direction_higher_flips_best_and_worst():
    """For a higher-is-better outcome the best is the largest and regret is the shortfall below."""
    frame = means({("A", 0.6): 0.9, ("A", 0.9): 0.5, ("B", 0.6): 0.7, ("B", 0.9): 0.8})
    rows = robustness_frame(frame, [LEVER], [UNCERTAINTY], "y", "higher").set_index(LEVER)
    assert (rows.loc["A", "best"], rows.loc["A", "worst"]) == (0.9, 0.5), "best is the largest"
    assert rows.loc["A", "max_regret"] == pytest.approx(0.3), "A is 0.3 below B under 0.9"
    assert rows.loc["B", "max_regret"] == pytest.approx(0.2), "B is 0.2 below A under 0.6"
    assert rows.loc["B", "rank"] == 1, "B is the minimax-regret choice"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=6, max_size=6),
    st.sampled_from(["lower", "higher"]),
)
def test_regret_properties(values, direction):
    """Regrets are ≥ 0; best ≤ mean ≤ worst in the outcome's order; rank 1 has the least regret."""
    keys = list(itertools.product(["A", "B", "C"], [0.1, 0.2]))
    table = robustness_frame(
        means(dict(zip(keys, values, strict=True))), [LEVER], [UNCERTAINTY], "z", direction
    )
    assert (table["max_regret"] >= 0).all(), "regret is a shortfall, never negative"
    sign = 1 if direction == "lower" else -1
    tolerance = 1e-9 * (1 + table[["best", "worst"]].abs().max().max())
    assert (sign * (table["mean"] - table["best"]) >= -tolerance).all(), "best is the best"
    assert (sign * (table["worst"] - table["mean"]) >= -tolerance).all(), "worst is the worst"
    assert table["max_regret"].iloc[0] == table["max_regret"].min(), "rank 1 has least regret"
    dominant = [
        lever
        for lever in "ABC"
        for u in (0.1, 0.2)
        if all(
            sign * (values[keys.index((lever, u))] - values[keys.index((other, u))]) <= 0
            for other in "ABC"
        )
    ]
    for lever in set(dominant):
        if dominant.count(lever) == 2:  # best in both settings
            row = table[table[LEVER] == lever].iloc[0]
            assert row["max_regret"] == 0, f"{lever} dominates: no regret"


def test_incomplete_design_is_an_error():
    """A lever setting missing in an uncertainty setting is an error, not a shorter row."""
    frame = means({("A", 0.6): 1.0, ("A", 0.9): 2.0, ("B", 0.6): 3.0})
    with pytest.raises(ResultsError, match="no successful run"):
        robustness_frame(frame, [LEVER], [UNCERTAINTY], "x", "lower")
    with pytest.raises(ResultsError, match="at least one lever and one uncertainty"):
        robustness_frame(frame, [LEVER], [], "x", "lower")


def test_outcome_directions():
    """Directions come from the given mapping, then the registry or local table; else an error."""
    assert outcome_direction("resolution_time_median_days") == "lower", "shorter is better"
    assert outcome_direction("on_time_share") == "higher", "more on time is better"
    assert outcome_direction("cases_generated", {"cases_generated": "lower"}) == "lower", "given"
    with pytest.raises(ResultsError, match="has no direction"):
        outcome_direction("cases_generated")
    with pytest.raises(ResultsError, match="allowed: 'higher' or 'lower'"):
        outcome_direction("trust_mean", {"trust_mean": "up"})


SWEEP = """\
name = "roles"
kind = "sweep"
scenario = "../scenarios/tiny.toml"
seed = 3
replications = 2
days = 6
outcomes = ["resolution_time_mean_days", "on_time_share"]
[grid]
"routing.kind" = ["hierarchical", "integrated"]
"coordination.classification_accuracy" = [0.5, 0.9]
"""


def test_roles_are_validated(tmp_path):
    """Roles must name the sweep's factors, each factor needs one, and only two roles exist."""
    ok = (
        SWEEP
        + '[roles]\n"routing.kind" = "lever"\n"coordination.classification_accuracy" = "uncertainty"\n'
    )
    spec = load_experiment(standins.write_experiment(tmp_path, "ok", ok)).spec
    assert spec.roles == {LEVER: "lever", UNCERTAINTY: "uncertainty"}, "roles read"
    typo = (
        SWEEP
        + '[roles]\n"routing.knd" = "lever"\n"coordination.classification_accuracy" = "uncertainty"\n'
    )
    with pytest.raises(InputError, match=r"did you mean 'routing\.kind'"):
        load_experiment(standins.write_experiment(tmp_path, "typo", typo))
    partial = SWEEP + '[roles]\n"routing.kind" = "lever"\n'
    with pytest.raises(InputError, match="classification_accuracy have no role"):
        load_experiment(standins.write_experiment(tmp_path, "partial", partial))
    bad = (
        SWEEP
        + '[roles]\n"routing.kind" = "policy"\n"coordination.classification_accuracy" = "uncertainty"\n'
    )
    with pytest.raises(InputError, match="'lever' or 'uncertainty'"):
        load_experiment(standins.write_experiment(tmp_path, "bad", bad))


def test_robustness_of_a_real_sweep(tmp_path):
    """End to end: a real sweep with roles gives one row per lever setting and outcome."""
    text = (
        SWEEP
        + '[roles]\n"routing.kind" = "lever"\n"coordination.classification_accuracy" = "uncertainty"\n'
    )
    path = standins.write_experiment(tmp_path, "roles", text)
    run_experiment(path, tmp_path / "out", workers=1)
    results = load_results(tmp_path / "out")
    table = robustness_table(results)
    assert len(table) == 4, "2 outcomes × 2 routing kinds"
    assert set(table["outcome"]) == {"resolution_time_mean_days", "on_time_share"}, "of interest"
    assert (table["settings"] == 2).all(), "two uncertainty settings each"
    assert dict(zip(table["outcome"], table["direction"], strict=False)) == {
        "resolution_time_mean_days": "lower",
        "on_time_share": "higher",
    }, "directions"
    for _, group in table.groupby("outcome"):
        assert group["max_regret"].min() >= 0 and sorted(group["rank"]) == [1, 2], "ranked"
    with pytest.raises(ResultsError, match="vary between points but have no role"):
        robustness_table(results, roles={LEVER: "lever"})
