"""Calibration: target files, the calibrate experiment kind, recovery, holdouts, kill and resume."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import hardening_runner_standins as hs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.report import write_report
from experiments.calibration import run_calibration
from experiments.calibration_search import (
    Candidate,
    Dimension,
    StudyPlan,
    objective_value,
    propose,
    stop_reason,
)
from experiments.errors import InputError
from experiments.executors import SerialExecutor
from experiments.experiment_files import load_experiment
from experiments.runs import run_single
from experiments.scenario_files import SCENARIOS_FOLDER, apply_overrides, load_scenario
from experiments.scenario_writer import scenario_tables
from experiments.seeds import replication_seed
from experiments.store import ResultStore
from experiments.targets import check_outcomes, load_targets

CLASSROOM = SCENARIOS_FOLDER / "classroom.toml"
NEEDS = "demand.needs_per_resident_per_year"
SATISFACTION = "handling.resolution_probability_full_effort"
TRUTH = {NEEDS: 0.8, SATISFACTION: 0.75}
# Recovery tolerance: within 15 % of the searched range, on the search scale (log for NEEDS).
# With 3 replications of 60 days and 32 candidates, seeds 3…29 gave errors up to 10 %: the
# best candidate is partly chosen for its luck on the fit seeds (docs/design.md).
RECOVERY_TOLERANCE = 0.15


def target_entry(
    name: str, outcome: str, value: float, uncertainty: float, group: str = "fit"
) -> str:
    """One [[targets]] table."""
    return (
        f'[[targets]]\nname = "{name}"\noutcome = "{outcome}"\nvalue = {value!r}\n'
        f'uncertainty = {uncertainty!r}\nsource = "test"\nperiod = "simulated"\n'
        f'reform = "none"\ngroup = "{group}"\n\n'
    )


def experiment_text(
    targets: str,
    *,
    seed: int = 11,
    replications: int = 2,
    days: int = 30,
    candidates: int = 12,
    batch: int = 4,
    sampler: str = "tpe",
    extra: str = "",
) -> str:
    """A classroom calibration of NEEDS and SATISFACTION."""
    return f"""
name = "calibration_test"
kind = "calibrate"
scenario = "{CLASSROOM}"
targets = "{targets}"
seed = {seed}
replications = {replications}
days = {days}

[calibration]
sampler = "{sampler}"
batch = {batch}
max_candidates = {candidates}
patience = 100
startup_candidates = 8

[[calibration.parameters]]
name = "{NEEDS}"
lower = 0.3
upper = 2.0
log = true

[[calibration.parameters]]
name = "{SATISFACTION}"
lower = 0.5
upper = 1.0
{extra}
"""


def truth_targets(seed: int, replications: int, days: int, holdout_value: float = 0.5) -> str:
    """Targets computed from the model at TRUTH on the calibration's own seeds."""
    scenario = apply_overrides(load_scenario(CLASSROOM), TRUTH)
    runs = [
        run_single(scenario, replication_seed(seed, r), days=days).summary
        for r in range(replications)
    ]
    volume = float(np.mean([s["cases_generated"] for s in runs]))
    resolution = float(np.mean([s["resolution_share"] for s in runs]))
    return (
        target_entry("volume", "cases_generated", volume, 0.05 * volume)
        + target_entry("resolution", "resolution_share", resolution, 0.02)
        + target_entry("trust", "trust_mean", holdout_value, 0.05, group="holdout")
    )


def write_setup(folder: Path, targets: str, **options) -> Path:
    """Write targets.toml and experiment.toml into ``folder``; return the experiment file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "targets.toml").write_text(targets, encoding="utf-8")
    path = folder / "experiment.toml"
    path.write_text(experiment_text("targets.toml", **options), encoding="utf-8")
    return path


def candidate_rows(folder: Path) -> list[tuple]:
    """Every stored candidate: point_id, parameters, objective, status."""
    connection = sqlite3.connect(folder / "results.sqlite")
    try:
        return connection.execute(
            "SELECT point_id, parameters, objective, status FROM calibration_candidates "
            "ORDER BY point_id"
        ).fetchall()
    finally:
        connection.close()


def search_scale_error(name: str, value: float) -> float:
    """|fitted − true| as a share of the searched range, on the search scale."""
    if name == NEEDS:
        return abs(math.log(value / TRUTH[name])) / math.log(2.0 / 0.3)
    return abs(value - TRUTH[name]) / 0.5


# ---------------------------------------------------------------------- target files
def test_target_file_errors_name_file_target_and_field(write_toml) -> None:
    """Unknown keys, a missing uncertainty and a bad group are reported with file and field."""
    path = write_toml(
        "targets.toml",
        """
        [[targets]]
        name = "volume"
        outcome = "cases_generated"
        value = 100
        uncertanity = 5
        source = "F8.4"
        period = "before 2018"
        reform = "before 接诉即办"
        group = "fitting"
        """,
    )
    with pytest.raises(InputError) as caught:
        load_targets(path)
    message = str(caught.value)
    assert str(path) in message
    assert "targets[0].uncertanity (target 'volume'): unknown key" in message
    assert "did you mean 'uncertainty'?" in message
    assert "targets[0].group (target 'volume')" in message and "fit, holdout" in message


def test_target_without_uncertainty_or_tolerance_is_refused(write_toml) -> None:
    """A target needs an uncertainty or a tolerance to be standardised."""
    text = target_entry("volume", "cases_generated", 100.0, 5.0).replace("uncertainty = 5.0\n", "")
    path = write_toml("targets.toml", text)
    with pytest.raises(InputError, match=r"targets\[0\] \(target 'volume'\).*give 'uncertainty'"):
        load_targets(path)


def test_duplicate_target_names_are_refused(write_toml) -> None:
    """Two targets with one name are an error naming the second one's field."""
    entry = target_entry("volume", "cases_generated", 100.0, 5.0)
    path = write_toml("targets.toml", entry + entry)
    with pytest.raises(InputError, match=r"targets\[1\]\.name.*also used by targets\[0\]"):
        load_targets(path)


def test_unknown_fit_outcome_is_an_error_and_unknown_holdout_is_listed(write_toml) -> None:
    """A fit target must name an outcome the run reports; an unknown holdout is only listed."""
    path = write_toml(
        "targets.toml",
        target_entry("volume", "requests_per_resident_per_year", 0.19, 0.03)
        + target_entry("growth", "requests_growth_share", 0.0, 0.1, group="holdout"),
    )
    targets = load_targets(path)  # names the model lacks are fine until a run says so
    with pytest.raises(InputError, match=r"targets\[0\]\.outcome \(target 'volume'\)"):
        check_outcomes(targets, ["cases_generated", "resolution_share"])
    missing = check_outcomes(targets, ["requests_per_resident_per_year"])
    assert [t.name for t in missing] == ["growth"]


def test_shipped_target_file_loads_and_has_a_holdout() -> None:
    """scenarios/targets/pre_reform.toml is valid, cites sources and holds F1.2 as a holdout
    (and the patrol timeliness of F5, which no non-reform parameter reaches, with its reason)."""
    targets = load_targets(SCENARIOS_FOLDER / "targets" / "pre_reform.toml")
    assert {t.source for t in targets.fit} >= {"F8.1", "F8.2", "F8.3", "F8.4"}
    assert sorted(t.source for t in targets.holdout) == ["F1.2", "F5.1", "F5.4"]
    assert all(t.note for t in targets.holdout)
    assert all(t.period and t.reform for t in targets.targets)


@pytest.mark.parametrize(
    "scenario", sorted(SCENARIOS_FOLDER.glob("*_calibrated.toml")), ids=lambda p: p.name
)
def test_shipped_calibrated_scenarios_record_the_files_they_were_fitted_with(
    scenario: Path,
) -> None:
    """A shipped fitted scenario's header names the experiment and target files it was
    written from, by their sha256: the files as they are now, so that rerunning the
    experiment reproduces it (an experiment file edited after its fit, even in a comment,
    fails here until the calibration is rerun)."""
    root = SCENARIOS_FOLDER.parent
    header = scenario.read_text(encoding="utf-8").split("\n\n", 1)[0]
    recorded = re.findall(
        r"^# (experiment|target) file: (\S+) \(sha256 ([0-9a-f]+)…?\)$", header, re.M
    )
    assert {kind for kind, _, _ in recorded} == {"experiment", "target"}, header
    for kind, name, digest in recorded:
        actual = hashlib.sha256((root / name).read_bytes()).hexdigest()
        assert actual.startswith(digest), (
            f"{scenario.name}: its {kind} file {name} has changed since the fit "
            f"(recorded {digest[:16]}…, now {actual[:16]}…); rerun `microgov calibrate "
            f"<experiment> --scenario-out scenarios/{scenario.name}`"
        )


# ---------------------------------------------------------------------- experiment files
@pytest.mark.parametrize("field", ["routing.kind", "consultation.cycle_days", "accountability.x"])
def test_reform_parameters_cannot_be_fitted(tmp_path: Path, field: str) -> None:
    """Fields under routing., consultation. and accountability. are refused with the reason."""
    path = write_setup(tmp_path, target_entry("v", "cases_generated", 1.0, 1.0))
    text = path.read_text().replace(f'name = "{SATISFACTION}"', f'name = "{field}"')
    path.write_text(text)
    with pytest.raises(InputError, match=r"calibration\.parameters\[1\]\.name.*reform parameter"):
        load_experiment(path)


def test_integer_field_needs_integer_flag(tmp_path: Path) -> None:
    """An integer field without integer = true is refused, naming the parameter."""
    path = write_setup(tmp_path, target_entry("v", "cases_generated", 1.0, 1.0))
    text = path.read_text().replace(
        f'name = "{SATISFACTION}"', 'name = "social.building_ties_per_resident"'
    )
    text = text.replace("lower = 0.5\nupper = 1.0", "lower = 1\nupper = 4")
    path.write_text(text)
    with pytest.raises(InputError, match=r"calibration\.parameters\[1\].*add integer = true"):
        load_experiment(path)


def test_log_scale_needs_positive_lower_bound(tmp_path: Path) -> None:
    """log = true with lower <= 0 is refused naming the parameter entry."""
    path = write_setup(tmp_path, target_entry("v", "cases_generated", 1.0, 1.0))
    path.write_text(path.read_text().replace("lower = 0.3", "lower = 0.0"))
    with pytest.raises(
        InputError, match=r"calibration\.parameters\[0\].*log = true needs lower > 0"
    ):
        load_experiment(path)


# ---------------------------------------------------------------------- the objective
def test_objective_is_the_weighted_sum_of_squared_standardised_distances() -> None:
    """J = Σ w ((mean − value) / uncertainty)², over the replication means."""
    targets = load_targets(SCENARIOS_FOLDER / "targets" / "pre_reform.toml").fit[:2]
    values = {targets[0].outcome: [0.5, 0.3], targets[1].outcome: [0.7, math.nan]}
    expected = sum(
        t.weight * ((np.nanmean(values[t.outcome]) - t.value) / t.scale) ** 2 for t in targets
    )
    got, reason = objective_value(targets, values)
    assert reason is None and got == pytest.approx(expected)
    missing, why = objective_value(targets, {targets[0].outcome: [math.nan]})
    assert missing is None and "undefined in every replication" in str(why)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.0, 100.0, allow_nan=False), min_size=1, max_size=12))
def test_stop_reason_budget_and_patience(objectives: list[float]) -> None:
    """A study stops at its budget, or after `patience` batches without a better best."""
    history = [
        Candidate(f"c{i:04d}", "fit", i, i // 2, {}, value, "complete")
        for i, value in enumerate(objectives)
    ]
    plan = StudyPlan("fit", 0, "c", (), {}, budget=10, batch=2, patience=2, startup=2)
    reason = stop_reason(plan, history)
    best_batch = min(history, key=lambda c: (c.objective, c.number)).batch
    if len(history) >= 10:
        assert reason is not None and "budget" in reason
    elif history[-1].batch - best_batch >= 2:
        assert reason is not None and "no better candidate" in reason
    else:
        assert reason is None


def test_proposals_depend_only_on_the_stored_history() -> None:
    """The same history, study and batch give the same candidates (resume reaches the same result)."""
    dims = (Dimension(NEEDS, 0.3, 2.0, log=True), Dimension(SATISFACTION, 0.5, 1.0))
    plan = StudyPlan("fit", 0, "c", dims, {}, budget=40, batch=4, patience=None, startup=4)
    rng = np.random.default_rng(3)
    history = [
        Candidate(
            f"c{i:04d}",
            "fit",
            i,
            i // 4,
            {NEEDS: float(rng.uniform(0.3, 2.0)), SATISFACTION: float(rng.uniform(0.5, 1.0))},
            float(rng.uniform(0, 10)),
            "complete",
        )
        for i in range(8)
    ]
    first = propose(plan, history, 4, 2, root_seed=5, sampler="tpe")
    again = propose(plan, history, 4, 2, root_seed=5, sampler="tpe")
    assert first == again
    assert all(0.3 <= c[NEEDS] <= 2.0 and 0.5 <= c[SATISFACTION] <= 1.0 for c in first)


def test_scenario_tables_group_dotted_fields() -> None:
    """Dotted fields become TOML tables that load back to the same values."""
    import tomllib

    text = "\n".join(
        scenario_tables({NEEDS: 0.25, "departments.health.work_hours_mean": 2.5, SATISFACTION: 0.9})
    )
    loaded = tomllib.loads(text)
    assert loaded["demand"]["needs_per_resident_per_year"] == 0.25
    assert loaded["departments"]["health"]["work_hours_mean"] == 2.5


# ---------------------------------------------------------------------- end to end
def test_recovers_known_parameters(tmp_path: Path) -> None:
    """Targets from the model at known values are fitted back within 15 % of the searched range."""
    seed, replications, days = 23, 3, 60
    path = write_setup(
        tmp_path,
        truth_targets(seed, replications, days),
        seed=seed,
        replications=replications,
        days=days,
        candidates=32,
    )
    report = run_calibration(path, tmp_path / "results", executor=SerialExecutor())
    for name, value in report.best_parameters.items():
        error = search_scale_error(name, value)
        assert error <= RECOVERY_TOLERANCE, f"{name}: fitted {value}, true {TRUTH[name]}"
    calibrated = load_scenario(report.scenario_file)
    assert calibrated.parameters.demand.needs_per_resident_per_year == report.best_parameters[NEEDS]
    text = report.scenario_file.read_text()
    assert "sha256" in text and "objective value" in text and "seeds: root 23" in text
    paths = write_report(tmp_path / "results")
    html = paths.html.read_text(encoding="utf-8")
    for heading in ("Fit targets against the model", "Holdout targets", "Objective history"):
        assert heading in html, heading


@pytest.mark.slow
def test_recovers_known_parameters_with_profiles(tmp_path: Path) -> None:
    """A longer fit (60 days, 3 replications, 60 candidates) recovers the values within 10 % and profiles them."""
    seed, replications, days = 4, 3, 60
    profile = "\n[calibration.profile]\npoints = 4\ncandidates = 4\n"
    path = write_setup(
        tmp_path,
        truth_targets(seed, replications, days),
        seed=seed,
        replications=replications,
        days=days,
        candidates=60,
        extra=profile,
    )
    report = run_calibration(path, tmp_path / "results", workers=2)
    for name, value in report.best_parameters.items():
        assert search_scale_error(name, value) <= 0.1, f"{name}: fitted {value}"
    assert report.profiles == 2 * 4 * 4
    paths = write_report(tmp_path / "results")
    assert any("profile_" in p.name for p in paths.figures)


def test_holdout_targets_never_touch_the_fit(tmp_path: Path) -> None:
    """Changing a holdout target leaves every candidate and objective bit-identical."""
    seed, replications, days = 3, 2, 20
    rows = []
    for value in (0.2, 0.9):
        folder = tmp_path / f"holdout_{value}"
        path = write_setup(
            folder,
            truth_targets(seed, replications, days, holdout_value=value),
            seed=seed,
            replications=replications,
            days=days,
            candidates=8,
        )
        report = run_calibration(path, folder / "results", executor=SerialExecutor())
        rows.append((candidate_rows(folder / "results"), report.best_parameters))
    assert rows[0] == rows[1]


def test_candidate_runs_warnings_are_counted_and_the_best_s_named(tmp_path: Path, caplog) -> None:
    """Candidate runs' warnings are stored and counted, the best candidate's named in the
    summary, and not logged run by run (a calibration's runs printed them from every worker)."""
    from model import outcomes

    def warning_run(scenario, seed, days=None, progress=None, case_sink=None):
        output = run_single(scenario, seed, days=days, case_sink=case_sink)
        needs = scenario.parameters.demand.needs_per_resident_per_year
        message = f"stand-in warning: needs {'above' if needs > 0.8 else 'at most'} 0.8"
        outcomes.logger.warning(message, extra={outcomes._RUN_WARNING: True})  # as the model
        return hs.with_warnings(output, (message,))

    replications = 2
    options = dict(seed=3, replications=replications, days=20, candidates=4)
    path = write_setup(tmp_path, truth_targets(3, replications, 20), **options)
    caplog.set_level(logging.INFO)
    caplog.clear()  # (the targets' own runs above log theirs)
    report = run_calibration(
        path, tmp_path / "results", executor=SerialExecutor(), run_fn=warning_run
    )
    # four candidates' runs and the best one's check on fresh seeds: every run warned
    assert report.warned_runs == report.ran >= 4 * replications, report.summary()
    with ResultStore.open(tmp_path / "results") as store:
        stored = store.warnings()
    best_messages = set(
        stored.loc[stored["run_key"].str.startswith(report.best_point + "/"), "message"]
    )
    assert len(best_messages) == 1 and report.best_warnings == sorted(best_messages)
    summary = report.summary()
    assert f"{report.ran} candidate run(s) reported warnings" in summary, summary
    assert f"the best candidate's runs reported: {report.best_warnings[0]}" in summary, summary
    logged = [
        r for r in caplog.records if r.name == "model.outcomes" and r.levelno >= logging.WARNING
    ]
    assert logged == [], [r.getMessage() for r in logged]


def test_kill_and_resume_evaluates_no_candidate_twice(tmp_path: Path) -> None:
    """SIGKILL a real `microgov calibrate` mid-run; --resume reruns nothing and reaches the same result."""
    seed, replications, days = 9, 2, 20
    targets = truth_targets(seed, replications, days)
    options = dict(seed=seed, replications=replications, days=days, candidates=16)
    reference = write_setup(tmp_path / "reference", targets, **options)
    expected = run_calibration(
        reference, tmp_path / "reference" / "results", executor=SerialExecutor()
    )

    path = write_setup(tmp_path / "killed", targets, **options)
    folder = tmp_path / "killed" / "results"
    command = [sys.executable, "-m", "app.cli", "calibrate", str(path), "--out", str(folder)]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen(
        [*command, "--workers", "1", "--no-progress"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
        if (folder / "results.sqlite").exists():
            try:
                done = sum(1 for r in candidate_rows(folder) if r[3] == "complete")
            except sqlite3.OperationalError:  # the table is not there yet
                continue
            if done >= 5:
                break
    assert process.poll() is None, "the calibration ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    connection = sqlite3.connect(folder / "results.sqlite")
    before = dict(connection.execute("SELECT run_key, started_at FROM runs").fetchall())
    connection.close()
    assert 0 < len(before) < 16 * replications, "killed mid-run"

    resumed = run_calibration(path, folder, executor=SerialExecutor(), resume=True)
    connection = sqlite3.connect(folder / "results.sqlite")
    after = dict(connection.execute("SELECT run_key, started_at FROM runs").fetchall())
    connection.close()
    assert {k: after[k] for k in before} == before, "a stored run was evaluated again"
    assert len(after) == (resumed.candidates + 1) * replications, "fit candidates and the check"
    assert candidate_rows(folder) == candidate_rows(tmp_path / "reference" / "results")
    assert resumed.best_parameters == expected.best_parameters
    assert resumed.best_objective == expected.best_objective


def test_progress_events_count_candidates_and_track_the_best(tmp_path: Path) -> None:
    """The progress callback sees every candidate once, with a best objective that never rises."""
    path = write_setup(
        tmp_path, target_entry("volume", "cases_generated", 30.0, 5.0), days=5, candidates=6
    )
    events = []
    report = run_calibration(
        path, tmp_path / "results", executor=SerialExecutor(), progress=events.append
    )
    assert [e.done for e in events] == list(range(1, report.candidates + 2))
    bests = [e.best for e in events if e.best is not None]
    assert bests == sorted(bests, reverse=True) and bests[-1] == report.best_objective
    assert all(e.total == 6 + 1 for e in events), "the budget and the check on fresh seeds"


def test_resume_refuses_changed_fit_targets(tmp_path: Path) -> None:
    """Resuming after a fit target changed is an error; nothing is mixed."""
    path = write_setup(
        tmp_path, target_entry("volume", "cases_generated", 100.0, 10.0), days=5, candidates=2
    )
    run_calibration(path, tmp_path / "results", executor=SerialExecutor())
    (tmp_path / "targets.toml").write_text(target_entry("volume", "cases_generated", 90.0, 10.0))
    with pytest.raises(InputError, match="fit targets of the target file changed"):
        run_calibration(path, tmp_path / "results", executor=SerialExecutor(), resume=True)


def test_serial_and_dask_give_the_same_fit(tmp_path: Path) -> None:
    """The Dask executor (LocalCluster) proposes and scores exactly what the serial one does."""
    from experiments.executors import DaskExecutor

    targets = target_entry("volume", "cases_generated", 30.0, 5.0)
    path = write_setup(tmp_path, targets, days=5, candidates=4, replications=2)
    run_calibration(path, tmp_path / "serial", executor=SerialExecutor())
    with DaskExecutor("local", workers=2, processes=False) as executor:
        run_calibration(path, tmp_path / "dask", executor=executor)
    assert candidate_rows(tmp_path / "serial") == candidate_rows(tmp_path / "dask")
    stored = json.loads(candidate_rows(tmp_path / "dask")[0][1])
    assert set(stored) == {NEEDS, SATISFACTION}


def test_cli_calibrates_and_writes_the_scenario(tmp_path: Path, capsys) -> None:
    """`microgov calibrate` exits 0, prints the summary and writes the calibrated scenario where asked."""
    from app.cli import main

    path = write_setup(
        tmp_path, target_entry("volume", "cases_generated", 30.0, 5.0), days=5, candidates=4
    )
    scenario = tmp_path / "scenarios" / "classroom_fitted.toml"
    arguments = ["calibrate", str(path), "--out", str(tmp_path / "results"), "--workers", "1"]
    status = main([*arguments, "--no-progress", "--scenario-out", str(scenario)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "4 candidate(s) evaluated" in printed and str(scenario) in printed
    fitted = load_scenario(scenario)
    assert fitted.parameters.population.communities_per_street == 1, "extends the classroom"
    # a title is not inherited through `extends`: the fitted file names itself for readers
    assert fitted.parameters.title == "Classroom community · 教学社区 (fitted)"


def test_cli_reports_unknown_fit_outcomes_without_a_traceback(tmp_path: Path, capsys) -> None:
    """`microgov calibrate` on targets the model lacks exits 2 naming the target and outcome."""
    from app.cli import main

    path = write_setup(tmp_path, target_entry("volume", "no_such_outcome", 0.5, 0.03), days=2)
    status = main(["calibrate", str(path), "--out", str(tmp_path / "results"), "--workers", "1"])
    assert status == 2
    error = capsys.readouterr().err
    assert "targets[0].outcome (target 'volume')" in error and "Traceback" not in error
    assert not (tmp_path / "results").exists(), "nothing is written before the check"


def test_bounds_outside_the_field_are_refused(tmp_path: Path) -> None:
    """A bound the scenario field does not accept is an error naming the bound."""
    path = write_setup(tmp_path, target_entry("v", "cases_generated", 1.0, 1.0))
    path.write_text(path.read_text().replace("upper = 1.0", "upper = 1.5"))
    with pytest.raises(InputError, match=r"calibration\.parameters\[1\]\.upper"):
        load_experiment(path)


def test_the_shipped_pre_reform_targets_name_outcomes_the_model_reports() -> None:
    """scenarios/targets/pre_reform.toml names only outcomes a run's summary has."""
    targets = load_targets(SCENARIOS_FOLDER / "targets" / "pre_reform.toml")
    scenario = apply_overrides(load_scenario(CLASSROOM), {"simulation.warmup_days": 0})
    summary = run_single(scenario, 0, days=5).summary
    missing = check_outcomes(targets, summary.keys())
    assert not missing, f"targets naming outcomes the model lacks: {[t.name for t in missing]}"


def test_scenario_out_is_checked_before_any_run(tmp_path: Path) -> None:
    """``--scenario-out`` onto a file microgov did not write, or inside a file, is refused
    before the calibration runs anything (it ran every candidate, then said "File exists"),
    and the file is kept."""
    path = write_setup(tmp_path, target_entry("needs", "needs_per_resident_per_year", 1.0, 0.1))
    mine = tmp_path / "mine.toml"
    mine.write_text('name = "mine"\n', encoding="utf-8")
    ran = []

    def run_fn(*args, **kwargs):  # type: ignore[no-untyped-def]
        ran.append(args)
        raise AssertionError("no run before the check")

    for target, said in ((mine, "not written by microgov"), (mine / "x.toml", "which is a file")):
        with pytest.raises(InputError, match=said):
            run_calibration(path, tmp_path / "results", run_fn=run_fn, scenario_out=target)
    assert ran == [] and mine.read_text(encoding="utf-8") == 'name = "mine"\n'
    assert not (tmp_path / "results").exists(), "no results folder made"


def test_validate_refuses_a_fit_target_the_model_does_not_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``microgov validate`` said "ok" for a calibration whose fit target names an outcome
    the model does not report; calibrate then failed after starting. Now validate fails."""
    from app.cli import main

    path = write_setup(tmp_path, target_entry("sat", "satisfaction", 0.8, 0.1))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is not an outcome this model reports" in err and "satisfaction" in err, err
    (tmp_path / "good").mkdir()
    good = write_setup(
        tmp_path / "good", target_entry("n", "requests_per_resident_per_year", 1.0, 0.1)
    )
    assert main(["validate", str(good)]) == 0, capsys.readouterr().err
