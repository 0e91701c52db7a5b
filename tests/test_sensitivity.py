"""Tests of experiments.sensitivity: SALib designs, indices, distributions, noise (issue 4)."""

from __future__ import annotations

import logging
import math
import sqlite3
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from SALib.util import scale_samples

from experiments import sensitivity as sa
from experiments.errors import InputError
from experiments.sensitivity import (
    Factor,
    SensitivitySpec,
    SensitivitySpecError,
    analyze_sensitivity,
    as_sensitivity_spec,
    problem,
    replication_noise,
    sensitivity_design,
)
from model.outcomes import RunOutput

CLASSROOM = Path(__file__).resolve().parents[1] / "scenarios" / "classroom.toml"
# Ishigami (a = 7, b = 0.1) on [-π, π]³: its analytic first-order and total indices.
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)
# Largest error seen over seeds 0-19 at N = 1024 was 0.035; the tolerance leaves a margin.
ISHIGAMI_TOLERANCE = 0.05


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """The Ishigami function of the rows of ``x`` (three columns)."""
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_spec(samples: int = 1024, seed: int = 1) -> SensitivitySpec:
    """A Sobol' spec over the Ishigami function's three inputs."""
    factors = tuple(Factor(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3))
    return SensitivitySpec("sobol", factors, samples=samples, seed=seed)


def as_matrix(spec: SensitivitySpec, points: list[dict[str, float]]) -> np.ndarray:
    """Design points as a points × factors array in factor order."""
    return np.array([[p[name] for name in spec.names] for p in points], dtype=float)


def indices(frame: pd.DataFrame, outcome: str, index_name: str) -> pd.Series:
    """One index of one outcome, by factor."""
    rows = frame[(frame.outcome == outcome) & (frame.index_name == index_name)]
    return rows.set_index("factor")["value"]


def test_sobol_recovers_ishigami_indices() -> None:
    """Sobol' S1 and ST of the Ishigami function match the analytic values."""
    spec = ishigami_spec()
    points = sensitivity_design(spec)
    assert len(points) == spec.design_size == 1024 * 5, "N·(D+2) points without second order"
    frame = analyze_sensitivity(spec, points, {"y": ishigami(as_matrix(spec, points))})
    assert list(frame.columns) == list(sa.RESULT_COLUMNS), f"columns are {list(frame.columns)}"
    s1, st = indices(frame, "y", "S1"), indices(frame, "y", "ST")
    for name, expected_s1, expected_st in zip(spec.names, ISHIGAMI_S1, ISHIGAMI_ST, strict=True):
        assert abs(s1[name] - expected_s1) < ISHIGAMI_TOLERANCE, (
            f"S1[{name}] = {s1[name]:.3f}, expected {expected_s1}"
        )
        assert abs(st[name] - expected_st) < ISHIGAMI_TOLERANCE, (
            f"ST[{name}] = {st[name]:.3f}, expected {expected_st}"
        )
    conf = frame["conf"]
    assert (conf > 0).all() and (conf < 0.2).all(), (
        f"intervals should be small and positive: {conf.tolist()}"
    )
    assert (frame["note"] == "").all(), "no outcome should be dropped"


def test_sobol_second_order_rows() -> None:
    """With calc_second_order, the design grows to N·(2D+2) and S2 rows name factor pairs."""
    base = ishigami_spec(samples=256)
    spec = SensitivitySpec("sobol", base.factors, samples=256, seed=1, calc_second_order=True)
    points = sensitivity_design(spec)
    assert len(points) == 256 * 8, f"expected N·(2D+2) = 2048 points, got {len(points)}"
    frame = analyze_sensitivity(spec, points, {"y": ishigami(as_matrix(spec, points))})
    s2 = indices(frame, "y", "S2")
    assert sorted(s2.index) == ["x1:x2", "x1:x3", "x2:x3"], f"S2 pairs are {sorted(s2.index)}"
    assert abs(s2["x1:x3"] - 0.244) < 0.1, f"S2[x1:x3] = {s2['x1:x3']:.3f}, expected ≈ 0.244"


def test_morris_ranks_inert_factor_last() -> None:
    """Morris gives an inert factor mu_star = 0 and ranks it last."""
    factors = (Factor("a", 0.0, 1.0), Factor("b", 0.0, 1.0), Factor("inert", 0.0, 1.0))
    spec = SensitivitySpec("morris", factors, samples=20, seed=3)
    points = sensitivity_design(spec)
    assert len(points) == 20 * 4, f"r·(D+1) = 80 points expected, got {len(points)}"
    x = as_matrix(spec, points)
    y = 2.0 * x[:, 0] + np.sin(3.0 * x[:, 1]) + x[:, 0] * x[:, 1]
    frame = analyze_sensitivity(spec, points, {"y": y})
    mu_star = indices(frame, "y", "mu_star")
    assert mu_star["inert"] == pytest.approx(0.0, abs=1e-12), f"inert mu_star = {mu_star['inert']}"
    assert mu_star.idxmin() == "inert", f"ranking: {mu_star.sort_values().to_dict()}"
    assert mu_star["a"] > 1.0 and mu_star["b"] > 0.5, (
        f"active factors should stand out: {mu_star.to_dict()}"
    )
    names = set(frame.index_name)
    assert names == {"mu_star", "sigma", "mu"}, f"Morris index names are {names}"
    assert frame.loc[frame.index_name != "mu_star", "conf"].isna().all(), (
        "sigma and mu carry no interval"
    )


def test_non_power_of_two_sobol_samples_is_a_clear_error() -> None:
    """Sobol' with N = 1000 names the field and the nearest powers of two."""
    with pytest.raises(SensitivitySpecError) as caught:
        ishigami_spec(samples=1000)
    message = str(caught.value)
    assert "sensitivity.samples = 1000" in message and "512 or 1024" in message, message
    assert isinstance(caught.value, InputError | ValueError), (
        "the CLI prints InputErrors without traceback"
    )
    # Morris takes any number of trajectories.
    SensitivitySpec("morris", ishigami_spec().factors, samples=7, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "x", "lower": 2.0, "upper": 1.0}, "upper = 1.0: must be above lower = 2"),
        ({"name": "x", "lower": 0.0, "upper": 1.0, "distribution": "lognormal"}, "lower > 0"),
        (
            {"name": "x", "lower": 0.0, "upper": 1.0, "distribution": "beta"},
            "allowed: uniform, normal",
        ),
        ({"name": "x", "lower": 0.5, "upper": 3.0, "integer": True}, "whole-number bounds"),
        ({"name": "x", "lower": 0.0, "upper": 1.0, "mode": 0.5}, "only triangular"),
        (
            {"name": "x", "lower": 0.0, "upper": 1.0, "distribution": "triangular", "mode": 2.0},
            "must lie in",
        ),
    ],
)
def test_bad_factor_is_a_clear_error(kwargs: dict[str, object], fragment: str) -> None:
    """A bad factor names the key, the value and the factor."""
    with pytest.raises(SensitivitySpecError) as caught:
        Factor(**kwargs)  # type: ignore[arg-type]
    assert fragment in str(caught.value) and "factor 'x'" in str(caught.value), str(caught.value)


def test_spec_from_file_table_names_the_field() -> None:
    """as_sensitivity_spec reads a [sensitivity] table and names bad fields with their index."""
    block = {
        "method": "morris",
        "samples": 4,
        "factors": [
            {"name": "coordination.classification_accuracy", "lower": 0.6, "upper": 0.9},
            {"name": "offices.community_staff", "lower": 1, "upper": 4, "integer": True},
        ],
    }
    spec = as_sensitivity_spec(block, seed=5)
    assert spec.names == ["coordination.classification_accuracy", "offices.community_staff"], (
        spec.names
    )
    bad = {**block, "factors": [block["factors"][0], {"name": "y", "lower": 3, "upper": 1}]}  # type: ignore[index]
    with pytest.raises(SensitivitySpecError, match=r"sensitivity\.factors\[1\]\.upper = 1"):
        as_sensitivity_spec(bad, seed=5)
    with pytest.raises(
        SensitivitySpecError, match=r"sensitivity\.factors\[0\]\.bounds = \[0, 1\]: unknown key"
    ):
        as_sensitivity_spec(
            {**block, "factors": [{"name": "x", "lower": 0, "upper": 1, "bounds": [0, 1]}]}, 5
        )
    with pytest.raises(SensitivitySpecError, match=r"sensitivity\.morris_levels = 3"):
        as_sensitivity_spec({**block, "morris_levels": 3}, seed=5)


def test_integer_factor_rounding() -> None:
    """Integer factors are ints within bounds; uniform Sobol' draws hit each integer equally."""
    factors = (Factor("offices.community_staff", 1, 3, integer=True), Factor("z", 0.0, 1.0))
    spec = SensitivitySpec("sobol", factors, samples=512, seed=2)
    values = [p["offices.community_staff"] for p in sensitivity_design(spec)]
    assert all(type(v) is int for v in values), "integer factors are Python ints"
    shares = pd.Series(values).value_counts(normalize=True).sort_index()
    assert list(shares.index) == [1, 2, 3], f"values seen: {list(shares.index)}"
    assert np.allclose(shares.to_numpy(), 1 / 3, atol=0.03), (
        f"shares {shares.to_dict()} should each be ≈ 1/3"
    )
    assert problem(spec)["bounds"][0] == [0.5, 3.5], "uniform integer range widened by half a unit"

    morris = SensitivitySpec("morris", factors, samples=10, seed=2)
    morris_values = {p["offices.community_staff"] for p in sensitivity_design(morris)}
    assert morris_values <= {1, 2, 3} and {1, 3} <= morris_values, f"Morris values {morris_values}"


def test_distributions_map_to_salib_dists() -> None:
    """Our sampling equals SALib's scaling with problem(spec), and lower/upper keep one meaning."""
    factors = (
        Factor("u", 2.0, 5.0),
        Factor("n", 1.0, 3.0, distribution="normal"),
        Factor("ln", 0.5, 8.0, distribution="lognormal"),
        Factor("t", 1.0, 4.0, distribution="triangular", mode=1.75),
    )
    spec = SensitivitySpec("sobol", factors, samples=4096, seed=4)
    salib = problem(spec)
    assert salib["dists"] == ["unif", "norm", "lognorm", "triang"], salib["dists"]
    assert salib["bounds"][0] == [2.0, 5.0], "uniform bounds are [lower, upper]"
    assert salib["bounds"][1] == pytest.approx([2.0, 1.0 / 1.959964]), "normal: [mean, sd]"
    assert salib["bounds"][3] == pytest.approx([1.0, 4.0, 0.25]), (
        "triangular: [lower, upper, peak share]"
    )
    unit = np.random.default_rng(0).random((500, 4))
    ours = sa._values(spec, unit)
    theirs = scale_samples(unit.copy(), dict(salib))
    assert np.allclose(ours, theirs, rtol=1e-12), (
        "our mapping must equal SALib's for the same problem"
    )

    x = as_matrix(spec, sensitivity_design(spec))
    for j, factor in enumerate(factors[1:3], start=1):
        low, high = np.quantile(x[:, j], [0.025, 0.975])
        assert low == pytest.approx(factor.lower, rel=0.05), (
            f"{factor.name}: 2.5 % quantile {low:.3f}"
        )
        assert high == pytest.approx(factor.upper, rel=0.05), (
            f"{factor.name}: 97.5 % quantile {high:.3f}"
        )
    assert x[:, 3].min() >= 1.0 and x[:, 3].max() <= 4.0, "triangular stays within [lower, upper]"
    assert np.median(x[:, 3]) < 2.5, "a mode below the midpoint pulls the median down"


def test_distributions_that_salib_cannot_sample() -> None:
    """Negative triangular bounds work, and Morris levels of normal factors are finite."""
    factors = (
        Factor("consultation.base_logit", -6.0, -3.0, distribution="triangular"),
        Factor("n", 1.0, 3.0, distribution="normal"),
    )
    sobol = SensitivitySpec("sobol", factors, samples=64, seed=0)
    logits = [p["consultation.base_logit"] for p in sensitivity_design(sobol)]
    assert -6.0 <= min(logits) and max(logits) <= -3.0, f"range {min(logits)}..{max(logits)}"
    morris = SensitivitySpec("morris", factors, samples=10, seed=0)
    normal = [p["n"] for p in sensitivity_design(morris)]
    assert all(math.isfinite(v) for v in normal), "Morris grid ends must not be ±∞"
    assert min(normal) == pytest.approx(1.0) and max(normal) == pytest.approx(3.0), (
        f"Morris grid of a normal factor spans lower..upper, got {min(normal)}..{max(normal)}"
    )


def test_same_seed_gives_identical_design_and_intervals() -> None:
    """Same spec ⇒ identical design and identical bootstrap intervals; another seed differs."""
    spec = ishigami_spec(samples=128, seed=0)
    first, second = sensitivity_design(spec), sensitivity_design(ishigami_spec(samples=128, seed=0))
    assert first == second, "same spec must give the same design"
    assert sensitivity_design(ishigami_spec(samples=128, seed=1)) != first, (
        "another seed, another design"
    )
    y = {"y": ishigami(as_matrix(spec, first))}
    pd.testing.assert_frame_equal(
        analyze_sensitivity(spec, first, y), analyze_sensitivity(spec, second, y)
    )
    morris = SensitivitySpec("morris", spec.factors, samples=6, seed=0)
    assert sensitivity_design(morris) == sensitivity_design(morris), (
        "Morris design is deterministic too"
    )


def test_nan_outcome_is_dropped_with_a_note(caplog: pytest.LogCaptureFixture) -> None:
    """An outcome with NaN (failed run) or no variance is noted, logged and skipped."""
    spec = ishigami_spec(samples=64)
    points = sensitivity_design(spec)
    y = ishigami(as_matrix(spec, points))
    broken = y.copy()
    broken[[3, 10]] = np.nan
    with caplog.at_level(logging.WARNING, logger="experiments.sensitivity"):
        frame = analyze_sensitivity(
            spec, points, {"y": y, "broken": broken, "constant": np.full_like(y, 2.0)}
        )
    by_outcome = frame.groupby("outcome")
    assert set(by_outcome.groups) == {"y", "broken", "constant"}, "every outcome keeps its rows"
    notes = by_outcome["note"].first()
    assert "2 of 320 design points" in notes["broken"], notes["broken"]
    assert "no variance" in notes["constant"], notes["constant"]
    assert notes["y"] == "", "a good outcome has no note"
    assert frame.loc[frame.outcome != "y", "value"].isna().all(), (
        "dropped outcomes have NaN indices"
    )
    assert frame.loc[frame.outcome == "y", "value"].notna().all(), "the good outcome is analysed"
    assert sum("dropped" in r.getMessage() for r in caplog.records) == 2, "each drop is logged"


def test_sparse_outcome_gets_a_note_instead_of_salib_warnings() -> None:
    """An outcome that changes at one point only gets a note, and SALib's warnings stay quiet."""
    spec = ishigami_spec(samples=64)
    points = sensitivity_design(spec)
    sparse = np.zeros(len(points))
    sparse[1] = 1.0  # row 1 is a cross-sampled (AB) point: the base samples A and B are constant
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning escaping the analysis fails the test
        frame = analyze_sensitivity(spec, points, {"sparse": sparse})
    assert frame["value"].notna().all(), "a sparse outcome still has indices"
    assert frame["note"].str.contains("unreliable").all(), frame["note"][0]


def test_design_that_does_not_match_the_spec_is_refused() -> None:
    """Outputs in another order or of another spec are an error, not wrong indices."""
    spec = ishigami_spec(samples=64)
    points = sensitivity_design(spec)
    y = {"y": ishigami(as_matrix(spec, points))}
    with pytest.raises(ValueError, match="differs from the spec's design"):
        analyze_sensitivity(spec, points[::-1], y)
    with pytest.raises(ValueError, match="shape"):
        analyze_sensitivity(spec, points[:-1], y)
    with pytest.raises(ValueError, match="values, but the design has"):
        analyze_sensitivity(spec, points, {"y": y["y"][:-1]})
    # A points × factors array in factor order is accepted too.
    frame = analyze_sensitivity(spec, as_matrix(spec, points), y)
    assert len(frame) == 6, f"3 factors × (S1, ST) rows expected, got {len(frame)}"


def test_replication_noise_separates_seed_noise_from_parameter_effects() -> None:
    """On synthetic data with known variances, the noise share is recovered."""
    rng = np.random.default_rng(11)
    points, replications = 400, 4
    between_sd, within_sd = math.sqrt(3.0), 1.0
    effect = rng.normal(0.0, between_sd, size=(points, 1))
    values = effect + rng.normal(0.0, within_sd, size=(points, replications))
    pure_noise = rng.normal(5.0, 2.0, size=(points, replications))
    frame = replication_noise({"mixed": values, "noise": pure_noise}).set_index("outcome")
    assert list(frame.reset_index().columns) == list(sa.NOISE_COLUMNS), "noise columns"
    mixed = frame.loc["mixed"]
    assert mixed.noise_share == pytest.approx(0.25, abs=0.04), (
        f"noise share {mixed.noise_share:.3f}, expected 0.25"
    )
    expected_means = (1.0 / 4) / (3.0 + 1.0 / 4)
    assert mixed.noise_share_of_point_means == pytest.approx(expected_means, abs=0.02), (
        f"noise share of means {mixed.noise_share_of_point_means:.3f}, "
        f"expected {expected_means:.3f}"
    )
    assert mixed.within_variance == pytest.approx(1.0, rel=0.1), (
        f"within {mixed.within_variance:.3f}"
    )
    assert mixed.between_variance == pytest.approx(3.0, rel=0.15), (
        f"between {mixed.between_variance:.3f}"
    )
    assert frame.loc["noise"].noise_share > 0.95, "pure seed noise should be (almost) all noise"

    # The tidy store form gives the same answer, and NaN runs are left out.
    tidy = pd.DataFrame(
        [
            {"point_id": f"s{p:04d}", "replication": r, "outcome": "mixed", "value": values[p, r]}
            for p in range(points)
            for r in range(replications)
        ]
    )
    same = replication_noise(tidy).set_index("outcome").loc["mixed"]
    assert same.noise_share == pytest.approx(mixed.noise_share, rel=1e-12), (
        "tidy input, same answer"
    )
    holed = values.copy()
    holed[0, :3] = np.nan
    with_nan = replication_noise({"mixed": holed}).set_index("outcome").loc["mixed"]
    assert math.isfinite(with_nan.noise_share), "NaN runs are skipped, not propagated"
    assert with_nan.points == points - 1, "the point without every replication is left out"
    assert "1 point(s)" in with_nan.note and "left out" in with_nan.note, with_nan.note

    single = replication_noise({"one": values[:, :1]}).iloc[0]
    assert math.isnan(single.noise_share) and "two replications" in single.note, single.note


def test_replication_noise_leaves_out_a_seed_shift_common_to_every_point() -> None:
    """Replication r runs on one seed at every point (common random numbers): a shift that
    seed gives every point alike cancels in the point means' differences, so it is not
    noise. A one-way analysis counted it as noise (a sensitivity run once reported 100 %
    seed noise for an outcome whose first-order index was 0.61)."""
    rng = np.random.default_rng(5)
    points, replications = 300, 2
    effect = rng.normal(0.0, 1.0, size=(points, 1))  # parameter effects, variance 1
    shift = np.array([[0.0, 5.0]])  # replication 1's seed adds 5 at every point
    interaction = rng.normal(0.0, 0.1, size=(points, replications))  # variance 0.01
    values = effect + shift + interaction
    row = replication_noise({"y": values}).iloc[0]
    assert row.within_variance == pytest.approx(0.01, rel=0.25), row.within_variance
    assert row.between_variance == pytest.approx(1.0, rel=0.2), row.between_variance
    expected = (0.01 / 2) / (0.01 / 2 + 1.0)
    assert row.noise_share_of_point_means == pytest.approx(expected, abs=0.003), (
        f"{row.noise_share_of_point_means:.4f}: the shift of 5 is not noise"
    )
    assert row.note == "", row.note

    # a shift alone: the point means do not vary, and nothing is called noise
    only_shift = replication_noise({"y": np.zeros((points, 1)) + shift}).iloc[0]
    assert only_shift.within_variance == 0.0 and only_shift.between_variance == 0.0
    assert math.isnan(only_shift.noise_share) and "do not vary" in only_shift.note

    # with every point but one incomplete, it falls back to the one-way analysis and says so
    holed = values.copy()
    holed[1:, 1] = np.nan
    fallback = replication_noise({"y": holed}).iloc[0]
    assert "one-way" in fallback.note, fallback.note


# Three share fields of the classroom scenario, each mapped from [0, 1] to [-π, π].
ISHIGAMI_FIELDS = (
    "coordination.classification_accuracy",
    "feedback.callback_share",
    "handling.dispute_probability",
)


def ishigami_stand_in(
    scenario: Any, seed: np.random.SeedSequence, days: int | None = None
) -> RunOutput:
    """A picklable run function: Ishigami of three scenario fields, and an outcome of seed noise.

    Like ``tests/standins.ishigami_run`` but without time series or case log, which
    keeps hundreds of runs through the runner and store within a few seconds.
    """
    p = scenario.parameters
    shares = np.array(
        [
            [
                p.coordination.classification_accuracy,
                p.feedback.callback_share,
                p.handling.dispute_probability,
            ]
        ]
    )
    y = float(ishigami(-math.pi + 2 * math.pi * shares)[0])
    noise = float(np.random.default_rng(seed).random())
    summary = {"resolution_time_mean_days": y, "trust_mean": noise}
    return RunOutput(summary, pd.DataFrame(), pd.DataFrame())


def test_runner_gives_the_in_memory_indices_and_separates_seed_noise(tmp_path: Path) -> None:
    """Through experiment file, runner and store, indices equal the in-memory analysis exactly.

    The accuracy of the Ishigami indices through the runner is checked in
    tests/test_experiments_sensitivity.py; this test checks that the runner hands the
    analysis the per-point means in design order, and that seed noise is told apart.
    """
    from experiments.experiment_files import load_experiment
    from experiments.runner import run_experiment

    factors = "".join(
        f'\n[[sensitivity.factors]]\nname = "{name}"\nlower = 0.0\nupper = 1.0\n'
        for name in ISHIGAMI_FIELDS
    )
    path = tmp_path / "ishigami.toml"
    path.write_text(
        f'name = "ishigami"\nkind = "sensitivity"\nscenario = "{CLASSROOM.as_posix()}"\n'
        'seed = 7\nreplications = 2\ndays = 2\n\n[sensitivity]\nmethod = "sobol"\nsamples = 64\n'
        + factors,
        encoding="utf-8",
    )
    experiment = load_experiment(path)
    report = run_experiment(experiment, tmp_path / "results", workers=1, run_fn=ishigami_stand_in)
    assert report.failed == 0, f"stand-in runs should not fail: {report.failed_runs}"
    assert report.sensitivity is not None and report.noise is not None, "a sensitivity report"

    spec = experiment.salib_spec
    shares = as_matrix(spec, experiment.design)
    y = ishigami(-math.pi + 2 * math.pi * shares)
    direct = analyze_sensitivity(spec, experiment.design, {"resolution_time_mean_days": y})
    stored = report.sensitivity[report.sensitivity.outcome == "resolution_time_mean_days"]
    pd.testing.assert_frame_equal(stored.reset_index(drop=True), direct, rtol=1e-12)

    # The stand-in's trust_mean depends on the replication seed only: pure seed noise,
    # the same at every point (common random numbers), so Sobol' has nothing to apportion.
    noise = report.noise.set_index("outcome")
    assert noise.loc["resolution_time_mean_days", "noise_share"] == pytest.approx(0.0, abs=1e-12), (
        "a deterministic outcome has no seed noise"
    )
    # a shift every point shares: not noise (it cancels in the indices), and no point effect
    trust_noise = noise.loc["trust_mean"]
    assert trust_noise.within_variance == pytest.approx(0.0, abs=1e-12), "no interaction"
    assert math.isnan(trust_noise.noise_share) and "do not vary" in trust_noise.note
    trust_notes = report.sensitivity.loc[report.sensitivity.outcome == "trust_mean", "note"]
    assert trust_notes.str.contains("no variance").all(), "trust_mean is dropped with a note"
    with sqlite3.connect(tmp_path / "results" / "results.sqlite") as connection:
        query = "SELECT COUNT(*) FROM sensitivity WHERE method = 'sobol'"
        count = connection.execute(query).fetchone()[0]
    assert count == len(report.sensitivity), f"stored {count} rows of {len(report.sensitivity)}"
