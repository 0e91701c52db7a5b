"""[calibration.settle]: a field set to the level the fitted dynamics keep, then a refit."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_calibration import CLASSROOM, NEEDS, SATISFACTION, candidate_rows, target_entry
from test_calibration import write_setup as write_calibration

from experiments.calibration import run_calibration
from experiments.calibration_settle import SettleStep, iterate
from experiments.errors import InputError
from experiments.executors import SerialExecutor
from experiments.experiment_files import load_experiment
from experiments.runs import run_single
from experiments.scenario_files import apply_overrides, load_scenario
from experiments.seeds import replication_seed

TRUST = "population.initial_trust_mean"
VOLUME = target_entry("volume", "cases_generated", 40.0, 5.0)


def write_setup(folder: Path, extra: str, seed: int = 11, replications: int = 2) -> Path:
    """A classroom calibration of NEEDS and SATISFACTION (4 candidates of 20 days) plus ``extra``."""
    return write_calibration(
        folder, VOLUME, seed=seed, replications=replications, days=20, candidates=4, extra=extra
    )


SETTLE = """
[calibration.settle]
parameter = "{parameter}"
outcome = "{outcome}"
days = 30
iterations = 3
tolerance = 0.001
refit_candidates = 4
"""


def _settle_block(parameter: str = TRUST, outcome: str = "trust_mean") -> str:
    return SETTLE.format(parameter=parameter, outcome=outcome)


@settings(max_examples=40, deadline=None)
@given(
    start=st.floats(0.0, 1.0),
    slope=st.floats(-0.8, 0.8),
    level=st.floats(0.1, 0.9),
)
def test_iterate_finds_the_fixed_point_of_a_contraction(
    start: float, slope: float, level: float
) -> None:
    """f(v) = level + slope·(v − level): the iteration ends within its tolerance of the fixed point."""

    def once(v: float) -> SettleStep:
        return SettleStep(v, level + slope * (v - level), ())

    plain = iterate(once, start, iterations=500, tolerance=1e-9, accelerate=False)
    assert plain[0].start == start
    assert all(a.settled == b.start for a, b in itertools.pairwise(plain)), "chained"
    assert abs(plain[-1].step) <= 1e-9
    assert plain[-1].settled == pytest.approx(level, abs=1e-8)
    fast = iterate(once, start, iterations=500, tolerance=1e-9)
    assert fast[-1].settled == pytest.approx(level, abs=1e-8)
    assert len(fast) <= min(len(plain), 5), "Aitken's jump lands on a linear fixed point"


def test_a_slow_contraction_settles_in_a_few_runs_and_jumps_stay_valid() -> None:
    """Trust closing 10 % of its gap per run: five runs settle it; no jump leaves the valid range."""

    def once(v: float) -> SettleStep:
        return SettleStep(v, v + 0.1 * (0.7 - v) + 0.02 * (0.7 - v) ** 2, ())

    steps = iterate(once, 0.3, iterations=8, tolerance=1e-4, valid=lambda v: 0 <= v <= 1)
    assert steps[-1].settled == pytest.approx(0.7, abs=1e-3)
    assert len(steps) <= 6
    assert all(0 <= s.start <= 1 for s in steps)


def test_iterate_reuses_stored_steps_and_respects_the_budget() -> None:
    """Stored steps that start where the iteration is are not run again; at most `iterations` run."""
    calls: list[float] = []

    def once(v: float) -> SettleStep:
        calls.append(v)
        return SettleStep(v, v + 0.1, ())

    done = [SettleStep(0.2, 0.3, ()), SettleStep(0.3, 0.4, ())]
    steps = iterate(once, 0.2, iterations=4, tolerance=0.01, done=done, accelerate=False)
    assert [s.start for s in steps] == pytest.approx([0.2, 0.3, 0.4, 0.5])
    assert calls == pytest.approx([0.4, 0.5]), "only the two steps not stored ran"


def test_settled_calibration_writes_the_fixed_point_and_refits_on_it(tmp_path: Path) -> None:
    """End to end: pre-fit, fixed-point iterations chained from the scenario's value, a refit
    whose candidates run with the settled value, and a written scenario that keeps it."""
    seed = 5
    path = write_setup(tmp_path, _settle_block(), seed=seed)
    report = run_calibration(path, tmp_path / "results", executor=SerialExecutor())
    connection = sqlite3.connect(tmp_path / "results" / "results.sqlite")
    try:
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        studies = dict(
            connection.execute(
                "SELECT study, COUNT(*) FROM calibration_candidates GROUP BY study"
            ).fetchall()
        )
        digests = dict(connection.execute("SELECT point_id, digest FROM points").fetchall())
    finally:
        connection.close()
    steps = json.loads(meta["settle_steps"])
    base = load_scenario(CLASSROOM)
    assert steps[0]["start"] == base.parameters.population.initial_trust_mean
    assert steps[1]["start"] == steps[0]["settled"], "the second run starts where the first ended"
    value = steps[-1]["settled"]
    assert report.settled == {TRUST: value}
    assert studies == {"prefit": 4, "fit": 4, "check": 1}
    # the refit's candidates ran on the settled scenario
    settled = apply_overrides(base, {TRUST: value})
    stored = json.loads({row[0]: row[1] for row in candidate_rows(tmp_path / "results")}["c0000"])
    assert digests["c0000"] == str(apply_overrides(settled, stored).digest)
    # the written scenario holds the settled value and the fitted ones …
    calibrated = load_scenario(report.scenario_file)
    assert calibrated.parameters.population.initial_trust_mean == value
    assert calibrated.parameters.demand.needs_per_resident_per_year == report.best_parameters[NEEDS]
    assert "settled: trust_mean" in report.scenario_file.read_text(encoding="utf-8")
    # … and the residual is what one more settling run of it really moves
    end = run_single(calibrated, replication_seed(seed, 0), days=30).summary["trust_mean"]
    assert report.settle_residual == pytest.approx(end - value, abs=1e-12)


@pytest.mark.parametrize(
    ("parameter", "outcome", "message"),
    [
        (NEEDS, "trust_mean", "also a fitted parameter"),
        ("routing.classification_accuracy", "trust_mean", "reform parameter"),
        (TRUST, "no_such_outcome", "calibration.settle.outcome"),
        ("population.no_such_field", "trust_mean", "calibration.settle.parameter"),
    ],
)
def test_settle_block_errors_name_the_field(
    tmp_path: Path, parameter: str, outcome: str, message: str
) -> None:
    """A settled field that is fitted, a reform field, unknown, or an unknown outcome is refused."""
    path = write_setup(tmp_path, _settle_block(parameter, outcome))
    with pytest.raises(InputError, match=message) as error:
        load_experiment(path)
    assert str(path) in str(error.value)


def test_settle_never_touches_a_fitted_parameter() -> None:
    """The shipped street calibration settles initial trust and does not fit it."""
    exp = load_experiment(
        Path(__file__).resolve().parents[1] / "experiments/calibrate_baseline.toml"
    )
    block = exp.spec.calibration
    assert block.settle is not None and block.settle.parameter == TRUST
    assert TRUST not in {p.name for p in block.parameters}
    assert SATISFACTION in {p.name for p in block.parameters}


def test_the_fit_report_shows_the_settled_field(tmp_path: Path) -> None:
    """`microgov report` lists the settled field beside the fitted ones, with its iterations."""
    from analysis.report import write_report

    path = write_setup(tmp_path, _settle_block(), seed=3)
    report = run_calibration(path, tmp_path / "results", executor=SerialExecutor())
    text = write_report(tmp_path / "results").markdown.read_text(encoding="utf-8")
    assert f"| {TRUST} |" in text and "settled (not searched)" in text
    assert "fixed-point iteration(s)" in text and "pre-fit of 4 candidates" in text
    assert report.settled[TRUST] > 0


def test_settling_runs_retire_their_cases_and_keep_no_log() -> None:
    """A settling run of years is given a case sink when its run function takes one (memory
    stays flat, issue 13) and still reads the settle outcome; a run function without the
    keyword is called without it."""
    from experiments.calibration_settle import settle_function
    from experiments.experiment_files import SettleSpec

    base = apply_overrides(load_scenario(CLASSROOM), {"simulation.warmup_days": 5})
    spec = SettleSpec(parameter=TRUST, outcome="trust_mean", days=20)
    sinks: list[object] = []

    def with_sink(scenario, seed, days, case_sink=None):  # type: ignore[no-untyped-def]
        sinks.append(case_sink)
        return run_single(scenario, seed, days=days, case_sink=case_sink)

    step = settle_function(base, {}, spec, 3, with_sink)(0.5)
    assert len(sinks) == 1 and sinks[0] is not None, "a sink was not passed"
    assert sinks[0].cases > 0, "the run's cases went to the sink"  # type: ignore[attr-defined]
    plain = run_single(
        apply_overrides(base, {"population.initial_trust_mean": 0.5}),
        replication_seed(3, 0),
        days=20,
    )
    assert step.settled == plain.summary["trust_mean"], "the sink changed the outcome"

    def without_sink(scenario, seed, days):  # type: ignore[no-untyped-def]
        return run_single(scenario, seed, days=days)

    assert settle_function(base, {}, spec, 3, without_sink)(0.5).settled == step.settled
