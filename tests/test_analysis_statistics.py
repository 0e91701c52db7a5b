"""Reading results folders and the statistics of analysis/, checked against scipy and numpy."""

from __future__ import annotations

import logging
import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analysis_fixtures import (
    BIN_UPPERS,
    FakeResults,
    write_compare,
    write_sensitivity,
    write_sweep,
)
from scipy import stats

from analysis import statistics as st
from analysis.results import ResultsError, load_results

CONFIDENCE = 0.95


@pytest.fixture(scope="module")
def compare_results(tmp_path_factory: pytest.TempPathFactory) -> FakeResults:
    """A compare experiment: three scenarios × five replications (read-only in tests)."""
    return write_compare(tmp_path_factory.mktemp("compare") / "results")


@pytest.fixture(scope="module")
def sweep_results(tmp_path_factory: pytest.TempPathFactory) -> FakeResults:
    """A one-factor sweep over four levels."""
    return write_sweep(tmp_path_factory.mktemp("sweep") / "results")


@pytest.fixture(scope="module")
def sobol_results(tmp_path_factory: pytest.TempPathFactory) -> FakeResults:
    """A Sobol sensitivity experiment."""
    return write_sensitivity(tmp_path_factory.mktemp("sobol") / "results", method="sobol")


@pytest.fixture(scope="module")
def morris_results(tmp_path_factory: pytest.TempPathFactory) -> FakeResults:
    """A Morris screening experiment."""
    return write_sensitivity(tmp_path_factory.mktemp("morris") / "results", method="morris")


def _t_interval(values: list[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Independent reference: scipy's t interval of a mean."""
    data = np.asarray(values, dtype=float)
    low, high = stats.t.interval(confidence, len(data) - 1, loc=data.mean(), scale=stats.sem(data))
    return float(low), float(high)


# ---------------------------------------------------------------------- reading
def test_results_reads_meta_and_manifest(compare_results: FakeResults) -> None:
    """Meta values are JSON-decoded and the manifest is read; the reference comes first."""
    results = load_results(compare_results.path)
    assert results.kind == "compare", f"kind {results.kind!r}"
    assert results.reference == "baseline", f"reference {results.reference!r}"
    assert results.scenarios() == list(compare_results.scenarios), results.scenarios()
    assert results.outcomes_of_interest == list(compare_results.outcomes), "outcomes of interest"
    assert results.meta["replications"] == 5, "meta 'replications' should decode to an int"
    assert results.manifest["seeds"]["root"] == 20260101, "manifest root seed"


def test_outcomes_wide_and_tidy_agree(compare_results: FakeResults) -> None:
    """Wide and tidy outcomes hold the same stored numbers, one row per ok run."""
    results = load_results(compare_results.path)
    wide = results.outcomes(wide=True)
    tidy = results.outcomes()
    assert len(wide) == 15, f"3 scenarios × 5 replications, got {len(wide)} rows"
    stored = compare_results.values[("integrated", 2)]["resolution_time_mean_days"]
    row = wide[(wide["scenario"] == "integrated") & (wide["replication"] == 2)]
    assert row["resolution_time_mean_days"].item() == pytest.approx(stored), "wide value"
    picked = tidy[(tidy["run_key"] == "integrated/r0002") & (tidy["outcome"] == "on_time_share")]
    assert picked["value"].item() == pytest.approx(
        compare_results.values[("integrated", 2)]["on_time_share"]
    ), "tidy value"


def test_stored_scenario_order_is_kept(tmp_path: Path) -> None:
    """Scenarios keep the experiment's order (reference first), not alphabetical order."""
    fake = write_compare(tmp_path / "o", scenarios=("zeta", "beta", "alpha"), replications=2)
    results = load_results(fake.path)
    wide = results.outcomes(wide=True)
    assert list(dict.fromkeys(wide["scenario"])) == ["zeta", "beta", "alpha"], "wide order"
    tidy_to_wide = st.to_wide(results.outcomes(outcomes=["trust_mean"]))
    assert list(tidy_to_wide["scenario"]) == ["zeta"] * 2 + ["beta"] * 2 + ["alpha"] * 2, (
        "to_wide keeps the order of its input"
    )
    effects = st.paired_differences(wide, "zeta", names=["trust_mean"])
    assert list(effects["scenario"]) == ["beta", "alpha"], "effects in stored order"


def test_failed_runs_are_left_out_unless_asked(tmp_path: Path) -> None:
    """A failed run has no outcomes in the statistics but is listed by failed_runs()."""
    fake = write_compare(tmp_path / "c", failed=[("integrated", 3)])
    results = load_results(fake.path)
    wide = results.outcomes(wide=True)
    assert len(wide) == 14, f"one of 15 runs failed, got {len(wide)} rows"
    failed = results.failed_runs()
    assert list(failed["run_key"]) == ["integrated/r0003"], f"failed runs {list(failed['run_key'])}"
    assert "ValueError" in failed["error"].item(), "the traceback is kept"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "no such results folder"),
        (lambda p: p, "results.sqlite is missing"),
        (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", "not a results folder"),
    ],
)
def test_not_a_results_folder_is_a_clear_error(tmp_path: Path, make, message: str) -> None:
    """Paths that are not results folders raise ResultsError naming the problem."""
    with pytest.raises(ResultsError, match=message):
        load_results(make(tmp_path))


def test_foreign_database_is_a_clear_error(tmp_path: Path) -> None:
    """An SQLite file without the store's tables, or not SQLite at all, raises ResultsError."""
    folder = tmp_path / "foreign"
    folder.mkdir()
    connection = sqlite3.connect(folder / "results.sqlite")
    connection.execute("CREATE TABLE other(x)")
    connection.close()
    with pytest.raises(ResultsError, match="missing table"):
        load_results(folder)
    (folder / "results.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ResultsError, match="not an SQLite results database"):
        load_results(folder)


def test_analysis_never_imports_experiments_or_pyplot() -> None:
    """No analysis module imports the experiments layer or pyplot's global state."""
    folder = Path(__file__).resolve().parents[1] / "analysis"
    offending = []
    for path in sorted(folder.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = line.strip().split()
            if words[:1] in (["import"], ["from"]) and len(words) > 1:
                module = words[1]
                if module.split(".")[0] == "experiments" or "pyplot" in line:
                    offending.append(f"{path.name}:{number}: {line.strip()}")
    assert not offending, f"forbidden imports: {offending}"


# ---------------------------------------------------------------------- intervals
def test_t_interval_matches_scipy() -> None:
    """t_interval equals scipy.stats.t.interval around the sample mean."""
    values = [3.1, 4.7, 2.2, 5.9, 4.4, 3.8]
    interval = st.t_interval(values, 0.9)
    low, high = _t_interval(values, 0.9)
    assert interval.low == pytest.approx(low) and interval.high == pytest.approx(high), (
        f"{interval} vs scipy ({low}, {high})"
    )
    assert math.isnan(st.t_interval([1.0]).low), "one value has no interval"


def test_quantile_interval_uses_binomial_order_statistics() -> None:
    """For n = 20 the 95 % median interval is (X(6), X(15)); too few values give NaN."""
    values = np.arange(1.0, 21.0)
    low, high = st.quantile_interval(values[::-1], 0.5, 0.95)
    assert (low, high) == (6.0, 15.0), f"median interval ({low}, {high})"
    coverage = stats.binom.cdf(14, 20, 0.5) - stats.binom.cdf(5, 20, 0.5)
    assert coverage >= 0.95, f"independent coverage check {coverage}"
    assert all(math.isnan(v) for v in st.quantile_interval([1, 2, 3, 4, 5], 0.5)), (
        "5 values cannot give a 95 % median interval"
    )


def test_summary_matches_scipy(compare_results: FakeResults) -> None:
    """Per scenario × outcome: mean, t interval, median and p90 across replications."""
    results = load_results(compare_results.path)
    summary = st.summarise(results.outcomes())
    for scenario in compare_results.scenarios:
        values = compare_results.series(scenario, "resolution_time_mean_days")
        row = summary[
            (summary["scenario"] == scenario) & (summary["outcome"] == "resolution_time_mean_days")
        ].iloc[0]
        low, high = _t_interval(values)
        assert row["n"] == 5, f"{scenario}: n = {row['n']}"
        assert row["mean"] == pytest.approx(np.mean(values)), f"{scenario}: mean"
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high)), f"{scenario}: CI"
        assert row["median"] == pytest.approx(np.median(values)), f"{scenario}: median"
        assert row["p90"] == pytest.approx(np.quantile(values, 0.9)), f"{scenario}: p90"


# ---------------------------------------------------------------------- paired effects
def test_paired_differences_match_scipy_ttest_rel(compare_results: FakeResults) -> None:
    """Mean difference, CI and p-value equal scipy.stats.ttest_rel on replication pairs."""
    results = load_results(compare_results.path)
    names = ["resolution_time_mean_days", "participation_share", "trust_mean"]
    effects = st.paired_differences(results.outcomes(wide=True), "baseline", names=names)
    for scenario in ("integrated", "whistle"):
        for outcome in ("resolution_time_mean_days", "participation_share", "trust_mean"):
            alt = np.array(compare_results.series(scenario, outcome))
            ref = np.array(compare_results.series("baseline", outcome))
            test = stats.ttest_rel(alt, ref)
            ci = test.confidence_interval(confidence_level=CONFIDENCE)
            row = effects[(effects["scenario"] == scenario) & (effects["outcome"] == outcome)]
            row = row.iloc[0]
            assert row["difference"] == pytest.approx(np.mean(alt - ref)), f"{scenario} {outcome}"
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high)), (
                f"{scenario} {outcome}: CI {row['ci_low']}, {row['ci_high']} vs {ci}"
            )
            assert row["p_value"] == pytest.approx(test.pvalue), f"{scenario} {outcome}: p"
            assert row["relative_change"] == pytest.approx(np.mean(alt - ref) / abs(ref.mean())), (
                f"{scenario} {outcome}: relative change"
            )
            assert row["excludes_zero"] == bool(ci.low > 0 or ci.high < 0), (
                f"{scenario} {outcome}: excludes_zero"
            )
    assert "baseline" not in set(effects["scenario"]), "the reference is not compared to itself"


def test_pairs_follow_replication_index(tmp_path: Path) -> None:
    """A failed replication drops its pair only; the others pair by replication index."""
    fake = write_compare(tmp_path / "c", failed=[("integrated", 1)])
    results = load_results(fake.path)
    effects = st.paired_differences(results.outcomes(wide=True), "baseline")
    row = effects[
        (effects["scenario"] == "integrated") & (effects["outcome"] == "on_time_share")
    ].iloc[0]
    alt = [fake.values[("integrated", r)]["on_time_share"] for r in (0, 2, 3, 4)]
    ref = [fake.values[("baseline", r)]["on_time_share"] for r in (0, 2, 3, 4)]
    ci = stats.ttest_rel(alt, ref).confidence_interval(CONFIDENCE)
    assert row["n"] == 4, f"4 pairs expected, got {row['n']}"
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high)), "paired CI"


def test_missing_reference_is_a_clear_error(compare_results: FakeResults) -> None:
    """Asking for a reference without runs names the scenarios that have runs."""
    results = load_results(compare_results.path)
    with pytest.raises(ValueError, match=r"has no successful runs.*baseline, integrated"):
        st.paired_differences(results.outcomes(), "nonexistent")


def test_precision_warning_flag_message_and_log(
    compare_results: FakeResults, caplog: pytest.LogCaptureFixture
) -> None:
    """Too few replications for a precision target: flag, message, n_needed, one log line."""
    results = load_results(compare_results.path)
    wide = results.outcomes(wide=True)
    with caplog.at_level(logging.WARNING, logger="analysis.statistics"):
        effects = st.paired_differences(
            wide, "baseline", names=["resolution_time_mean_days", "trust_mean"], precision=0.001
        )
    assert not effects["precise"].any(), "a ±0.1 % target cannot be met by 5 replications"
    row = effects.iloc[0]
    assert "replications are needed" in row["warning"], f"message: {row['warning']!r}"
    target = 0.001 * abs(row["reference_mean"])
    n = int(row["n_needed"])
    half = lambda k: stats.t.ppf(0.975, k - 1) * row["sd"] / math.sqrt(k)  # noqa: E731
    if n < st.MAX_REPLICATIONS_ESTIMATE:
        assert half(n) <= target < half(n - 1), f"n_needed {n} is not the smallest sufficient n"
    else:  # the estimate is capped: even the cap is not enough
        assert half(n) > target, f"n_needed is capped at {n} only when the cap is not enough"
    assert any("miss the requested precision" in r.message for r in caplog.records), "logged"
    loose = st.paired_differences(wide, "baseline", names=["trust_mean"], precision=100.0)
    assert loose["precise"].all() and (loose["warning"] == "").all(), "a loose target is met"


def test_precision_from_meta_reads_the_experiment_block() -> None:
    """The stored [precision] block becomes a target for its outcomes only."""
    target = st.precision_from_meta(
        {"outcomes": ["on_time_share"], "target": 0.02, "relative": False, "confidence": 0.9}
    )
    assert target == st.PrecisionTarget(0.02, relative=False, outcomes=("on_time_share",)), target
    assert target.half_width("on_time_share", 5.0) == 0.02, "absolute target"
    assert target.half_width("trust_mean", 5.0) is None, "other outcomes have no target"
    assert st.precision_from_meta(None) is None, "no block, no target"


# ---------------------------------------------------------------------- distributions
def test_pooled_distribution_sums_run_histograms(compare_results: FakeResults) -> None:
    """Pooled counts equal the sum of the stored per-run histograms; the ECDF ends at 1."""
    results = load_results(compare_results.path)
    pooled = st.pooled_distribution(results.distributions("resolution_time_days"))
    for scenario in compare_results.scenarios:
        expected = np.sum(
            [h for (p, _), h in compare_results.histograms.items() if p == scenario], axis=0
        )
        got = pooled[pooled["scenario"] == scenario]
        assert list(got["count"]) == list(expected), f"{scenario}: pooled counts"
        assert got["cumulative_share"].iloc[-1] == pytest.approx(1.0), f"{scenario}: ECDF end"
        assert list(got["bin_upper"]) == list(BIN_UPPERS), f"{scenario}: bins"


def test_histogram_quantile_interpolates_within_bins() -> None:
    """Quantiles interpolate linearly inside a bin; an open last bin gives its lower edge."""
    pooled = pd.DataFrame(
        {"bin_lower": [0.0, 1.0, 2.0], "bin_upper": [1.0, 2.0, math.inf], "count": [50, 30, 20]}
    )
    assert st.histogram_quantile(pooled, 0.25) == pytest.approx(0.5), "inside the first bin"
    assert st.histogram_quantile(pooled, 0.65) == pytest.approx(1.5), "inside the second bin"
    assert st.histogram_quantile(pooled, 0.9) == pytest.approx(2.0), "open bin: lower edge"


def test_timeseries_bands_match_scipy(compare_results: FakeResults) -> None:
    """The band of a day is the t interval of that day's values across replications."""
    results = load_results(compare_results.path)
    series = results.timeseries(["backlog"])
    bands = st.timeseries_bands(series, "backlog")
    day = series[(series["scenario"] == "whistle") & (series["day"] == 7)]["value"].tolist()
    row = bands[(bands["scenario"] == "whistle") & (bands["day"] == 7)].iloc[0]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(_t_interval(day)), "band"
    assert list(dict.fromkeys(bands["scenario"])) == ["baseline", "integrated", "whistle"], (
        "scenarios keep their stored order"
    )


def test_participation_groups_are_labelled_in_order() -> None:
    """Age groups come youngest first, then party members and non-members."""
    names = [
        "participation_share_non_member",
        "participation_share_age_70_plus",
        "participation_share",
        "participation_share_age_18_29",
        "participation_share_party_member",
    ]
    groups = st.participation_groups(names)
    assert [label for _, label, _ in groups] == ["18–29", "70+", "Party members", "Non-members"], (
        f"labels {groups}"
    )


# ---------------------------------------------------------------------- sweeps and sensitivity
def test_sweep_curves_by_point(sweep_results: FakeResults) -> None:
    """Each point's mean and band match scipy; the factor value is a column."""
    results = load_results(sweep_results.path)
    curves = st.sweep_curves(results.outcomes(), results.point_parameters())
    factor = "offices.grid_workers_per_grid"
    assert results.factors() == [factor], f"factors {results.factors()}"
    rows = curves[curves["outcome"] == "resolution_time_mean_days"]
    assert list(rows[factor]) == [1, 2, 3, 4], f"factor values {list(rows[factor])}"
    for row in rows.itertuples(index=False):
        values = sweep_results.series(row.point_id, "resolution_time_mean_days")
        assert row.mean == pytest.approx(np.mean(values)), f"{row.point_id}: mean"
        assert (row.ci_low, row.ci_high) == pytest.approx(_t_interval(values)), "band"


def test_sobol_table_pivots_stored_indices(sobol_results: FakeResults) -> None:
    """S1/ST and their intervals come from the stored rows, ranked by ST."""
    table = st.sobol_table(load_results(sobol_results.path).sensitivity())
    first = table.iloc[0]
    assert (first["factor"], first["S1"], first["ST"]) == (
        "coordination.classification_accuracy",
        pytest.approx(0.6),
        pytest.approx(0.7),
    ), f"first row {first.to_dict()}"
    assert first["ST_low"] == pytest.approx(0.66) and first["ST_high"] == pytest.approx(0.74), (
        "ST interval is value ∓ conf"
    )
    assert len(table) == 4, f"2 outcomes × 2 factors, got {len(table)}"


def test_morris_table_pivots_stored_indices(morris_results: FakeResults) -> None:
    """μ*, its interval, σ and μ per factor, ranked by μ*."""
    table = st.morris_table(load_results(morris_results.path).sensitivity())
    rows = table[table["outcome"] == "participation_share"]
    assert list(rows["mu_star"]) == [4.0, 2.0], f"mu_star {list(rows['mu_star'])}"
    assert list(rows["sigma"]) == [2.0, 1.0], f"sigma {list(rows['sigma'])}"
    assert rows["mu_star_low"].iloc[0] == pytest.approx(3.7), "μ* interval"


def test_morris_interval_is_cut_at_zero() -> None:
    """μ* is a mean of absolute effects: a bootstrap half-width wider than μ* gives a lower
    bound of 0, not a negative one (the Morris report once showed 8.53 [−2.22, 19.3])."""
    rows = [
        ("morris", "trust_mean", "a", "mu_star", 8.53, 10.75),
        ("morris", "trust_mean", "a", "sigma", 20.0, float("nan")),
        ("morris", "trust_mean", "a", "mu", 1.0, float("nan")),
        ("morris", "trust_mean", "b", "mu_star", 5.0, 1.0),
        ("morris", "trust_mean", "b", "sigma", 2.0, float("nan")),
        ("morris", "trust_mean", "b", "mu", 5.0, float("nan")),
    ]
    frame = pd.DataFrame(
        rows, columns=["method", "outcome", "factor", "index_name", "value", "conf"]
    )
    table = st.morris_table(frame).set_index("factor")
    assert table.loc["a", "mu_star_low"] == 0.0, table.loc["a"].to_dict()
    assert table.loc["a", "mu_star_high"] == pytest.approx(19.28)
    assert table.loc["b", "mu_star_low"] == pytest.approx(4.0), "a narrower interval is kept"
