"""`microgov run` and `microgov validate`, error handling of the CLI, and run_single."""

from __future__ import annotations

import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from experiments.errors import InputError
from experiments.runs import run_single
from experiments.scenario_files import Scenario, apply_overrides
from model.outcomes import OUTCOME_NAMES

ROOT = Path(__file__).resolve().parents[1]
RUN_DAYS = 30
# docs/design.md: the case log and daily series every run writes.
CASE_COLUMNS = (
    "case_id", "case_type", "category", "source", "grid", "departments_needed", "reported",
    "registered", "dispatched", "handled", "verified", "closed", "handoffs", "returns",
    "on_the_spot", "on_time", "satisfied", "status",
)  # fmt: skip
TIMESERIES_COLUMNS = ("day", "backlog", "cases_reported", "cases_closed", "trust_mean")


def _reject_nan(token: str) -> float:
    raise ValueError(f"summary.json must be strict JSON, found {token}")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of one `microgov run classroom --days 30` (shared by several tests)."""
    folder = tmp_path_factory.mktemp("run") / "out"
    status = main(
        ["run", "classroom", "--days", str(RUN_DAYS), "--seed", "7", "--out", str(folder)]
    )
    assert status == 0, f"microgov run should succeed, exit status {status}"
    return folder


# ---------------------------------------------------------------------------
# microgov run
# ---------------------------------------------------------------------------


def test_run_writes_summary_with_outcomes_and_run_keys(run_folder: Path) -> None:
    """summary.json holds scenario, digest, seed, days and every fixed outcome (strict JSON)."""
    text = (run_folder / "summary.json").read_text(encoding="utf-8")
    summary = json.loads(text, parse_constant=_reject_nan)
    assert summary["scenario"] == "classroom", f"scenario name: {summary['scenario']!r}"
    assert len(summary["scenario_digest"]) == 16, "the scenario digest is recorded"
    assert (summary["seed"], summary["days"]) == (7, RUN_DAYS), "seed and days are recorded"
    missing = [name for name in OUTCOME_NAMES if name not in summary]
    assert not missing, f"outcomes missing from summary.json: {missing}"
    assert summary["cases_generated"] > 0, "a month of a 3,000-resident community has cases"


def test_run_writes_timeseries_and_case_log(run_folder: Path) -> None:
    """timeseries.csv has one row per day; cases.csv has the case-log columns."""
    import pandas as pd

    timeseries = pd.read_csv(run_folder / "timeseries.csv")
    cases = pd.read_csv(run_folder / "cases.csv")
    assert len(timeseries) == RUN_DAYS, f"one row per simulated day, got {len(timeseries)}"
    missing_ts = [c for c in TIMESERIES_COLUMNS if c not in timeseries.columns]
    assert not missing_ts, f"timeseries.csv lacks {missing_ts}"
    missing_cases = [c for c in CASE_COLUMNS if c not in cases.columns]
    assert not missing_cases, f"cases.csv lacks {missing_cases}"
    assert len(cases) > 0, "the case log has rows"
    leftovers = [p.name for p in run_folder.iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def test_run_prints_a_grouped_outcome_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The printed table has the outcome groups and says where the files went."""
    status = main(["run", "classroom", "--days", "10", "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert status == 0, f"exit status {status}"
    for heading in ("volume", "time", "quality", "participation", "cost"):
        assert f"\n{heading}\n" in out, f"group {heading!r} missing from:\n{out}"
    assert "resolution_time_median_days" in out and " %" in out, "values are formatted"
    assert "wrote summary.json, timeseries.csv, cases.csv to" in out, "the output folder is named"


def test_run_refuses_to_overwrite_and_changes_nothing(
    run_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Running into a folder that holds results is an error before running; files stay."""
    before = (run_folder / "summary.json").read_bytes()
    status = main(["run", "classroom", "--days", "5", "--out", str(run_folder)])
    err = capsys.readouterr().err
    assert status == 2, f"exit status should be 2, got {status}"
    assert "already holds summary.json" in err and "--overwrite" in err, err
    assert (run_folder / "summary.json").read_bytes() == before, "existing files must be untouched"


def test_run_overwrite_replaces_only_the_outputs(tmp_path: Path) -> None:
    """--overwrite replaces the three outputs and leaves other files alone."""
    folder = tmp_path / "o"
    assert main(["run", "classroom", "--days", "3", "--out", str(folder)]) == 0, "first run"
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    status = main(["run", "classroom", "--days", "4", "--out", str(folder), "--overwrite"])
    assert status == 0, f"--overwrite should succeed, got {status}"
    assert json.loads((folder / "summary.json").read_text())["days"] == 4, "outputs replaced"
    assert (folder / "notes.txt").read_text() == "mine", "other files are never touched"


def test_run_unwritable_out_fails_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An --out that cannot be created is a clear error and no model is run."""
    import experiments.runs

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model must not run when the output folder is unusable")

    monkeypatch.setattr(experiments.runs, "run_single", must_not_run)
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    status = main(["run", "classroom", "--days", "2", "--out", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert status == 2, f"exit status should be 2, got {status}"
    assert err.startswith("error: ") and "cannot write to this output folder" in err, err
    assert "Traceback" not in err, "no traceback for bad input"


def test_run_default_folder_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --out, results go to results/run-<name>-seed<N>/, then -2, -3 …"""
    monkeypatch.chdir(tmp_path)
    assert main(["run", "classroom", "--days", "2", "--seed", "3"]) == 0, "first default run"
    assert main(["run", "classroom", "--days", "2", "--seed", "3"]) == 0, "second default run"
    capsys.readouterr()
    first = tmp_path / "results" / "run-classroom-seed3" / "summary.json"
    second = tmp_path / "results" / "run-classroom-seed3-2" / "summary.json"
    assert first.is_file() and second.is_file(), "the second run goes to a new folder"


def test_run_set_overrides_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """--set FIELD=VALUE changes the scenario for this run (TOML values, bare strings)."""
    status = main(
        ["run", "classroom", "--days", "2", "--no-files",
         "--set", "routing.kind=integrated", "--set", "offices.community_staff=3"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, f"exit status {status}"
    assert "routing integrated" in out, f"the override should show in the header:\n{out}"


def test_run_bad_override_suggests_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt --set field is an error with the closest valid path."""
    status = main(["run", "classroom", "--no-files", "--set", "population.streetz=2"])
    err = capsys.readouterr().err
    assert status == 2, f"exit status should be 2, got {status}"
    assert "did you mean 'population.streets'?" in err, err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "classroom", "--no-files", "--out", "{tmp}/kept"], "--out has nothing to act on"),
        (["run", "classroom", "--no-files", "--overwrite"], "--overwrite has nothing to act on"),
        (
            ["compare", "compare_reforms", "--cluster", "tcp://127.0.0.1:9", "--workers", "2"],
            "the cluster at tcp://127.0.0.1:9 runs on the workers it has",
        ),
    ],
)
def test_contradicting_options_are_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    """Options that contradict each other are refused, naming both, before anything runs or
    is written; never one of them silently ignored."""
    status = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    assert status == 2, f"exit status should be 2, got {status}: {err}"
    assert words in err and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == [], "nothing is written"


def test_workers_with_a_local_cluster_is_allowed() -> None:
    """--workers sizes --cluster local: the two together are not a contradiction."""
    from app.arguments import check_combinations
    from app.cli import build_parser

    args = build_parser().parse_args(["compare", "x", "--cluster", "local", "--workers", "2"])
    check_combinations(args)  # no error
    assert (args.cluster, args.workers) == ("local", 2), "both options are kept"


def test_run_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown scenario name lists the known ones and suggests the closest."""
    status = main(["run", "clasroom"])
    err = capsys.readouterr().err
    assert status == 2, f"exit status should be 2, got {status}"
    assert "did you mean 'classroom'?" in err, err


# ---------------------------------------------------------------------------
# microgov validate
# ---------------------------------------------------------------------------


def test_validate_folder_of_good_files(
    scenarios_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate on scenarios/ prints an ok line per file and exits 0."""
    status = main(["validate", str(scenarios_dir)])
    out = capsys.readouterr().out
    assert status == 0, f"all shipped scenarios are valid, exit status {status}:\n{out}"
    expected = (
        "classroom.toml  (classroom, 3,090 residents, routing hierarchical, consultation council)"
    )
    assert f"ok  {scenarios_dir / 'classroom.toml'}" in out and expected in out, out


def test_validate_reports_bad_files_and_fails(
    scenarios_dir: Path, write_toml, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate lists the errors of a bad file, still checks the good one, and exits 2."""
    bad = write_toml("bad.toml", '[routing]\nkind = "integrate"\n')
    status = main(["validate", str(bad), str(scenarios_dir / "baseline.toml")])
    captured = capsys.readouterr()
    assert status == 2, f"exit status should be 2, got {status}"
    assert f"FAIL  {bad}" in captured.out, captured.out
    assert "ok  " in captured.out, "the good file is still checked"
    assert "error: " in captured.err and "did you mean 'integrated'?" in captured.err, captured.err


def test_validate_checks_experiment_files_as_experiments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An experiment file (a top-level ``kind``) is checked as its command would load it,
    not as a scenario whose every section is an unknown key."""
    experiments = Path(__file__).resolve().parent.parent / "experiments"
    status = main(["validate", str(experiments / "compare_reforms.toml"),
                   str(experiments / "calibrate_baseline.toml")])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    assert "(experiment compare_reforms: compare, 6 scenarios, 5 replications each)" in out, out
    assert "calibrate, 6 parameters fitted to ../scenarios/targets/pre_reform.toml" in out, out
    assert "unknown key" not in out, out


def test_validate_reports_an_experiment_file_s_own_errors(
    write_toml, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad experiment file gets the experiment loader's errors (the field, what is
    allowed), said to be read as an experiment; a misspelt kind gets a suggestion."""
    bad = write_toml(
        "bad_compare.toml",
        'name = "x"\nkind = "compare"\nreplications = 0\n[[scenarios]]\npath = "classroom.toml"\n',
    )
    typo = write_toml("typo.toml", 'name = "x"\nkind = "compre"\n')
    status = main(["validate", str(bad), str(typo)])
    captured = capsys.readouterr()
    assert status == 2, captured.out
    assert f"FAIL  {bad}  (read as an experiment file)" in captured.out, captured.out
    assert "replications" in captured.err and "greater than or equal to 1" in captured.err, (
        captured.err
    )
    assert "did you mean 'compare'?" in captured.err, captured.err
    assert "unknown key" not in captured.err, captured.err


# ---------------------------------------------------------------------------
# Error handling of main()
# ---------------------------------------------------------------------------


def test_no_command_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    """No subcommand prints help; an unknown one is argparse's usage error; both exit 2."""
    assert main([]) == 2, "no command is a usage error"
    assert main(["frobnicate"]) == 2, "unknown command is a usage error"
    assert main(["--help"]) == 0, "--help exits 0"
    assert "Traceback" not in capsys.readouterr().err, "no traceback"


def test_unexpected_error_is_one_line_unless_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug gives exit 1 and one line; --debug adds the traceback."""
    import experiments.runs

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(experiments.runs, "run_single", broken)
    assert main(["run", "classroom", "--no-files"]) == 1, "unexpected errors exit 1"
    err = capsys.readouterr().err
    assert "error: unexpected RuntimeError: boom (rerun with --debug" in err, err
    assert "Traceback" not in err, "no traceback without --debug"
    assert main(["run", "classroom", "--no-files", "--debug"]) == 1, "still exit 1"
    assert "Traceback" in capsys.readouterr().err, "--debug shows the traceback"


def test_subprocess_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    """The real command line (python -m app.cli) exits 2 with 'error:' and no traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[population]\nstreets = = 1\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "run", str(bad)],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, f"exit status {result.returncode}; stderr: {result.stderr}"
    assert result.stderr.startswith("error: "), result.stderr
    assert "TOML syntax error at line 2" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, f"no traceback expected:\n{result.stderr}"


# ---------------------------------------------------------------------------
# run_single
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(scenarios_dir: Path) -> Scenario:
    """The classroom scenario cut to two grids, for quick runs."""
    from experiments.scenario_files import load_scenario

    return apply_overrides(
        load_scenario(scenarios_dir / "classroom.toml"), {"population.grids_per_community": 2}
    )


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a
    )


def test_run_single_int_seed_equals_seed_sequence(tiny: Scenario) -> None:
    """An int seed n is SeedSequence(n): same results; another seed differs."""
    first = run_single(tiny, 5, days=15)
    again = run_single(tiny, np.random.SeedSequence(5), days=15)
    other = run_single(tiny, 6, days=15)
    assert _same(first.summary, again.summary), "int seed and SeedSequence(seed) must agree"
    assert not _same(first.summary, other.summary), "a different seed should change the run"
    assert len(first.timeseries) == 15, "days is honoured"


def test_run_single_reports_progress(tiny: Scenario) -> None:
    """progress is called after every day with the days done, the warm-up included."""
    seen: list[int] = []
    run_single(tiny, 0, days=4, progress=seen.append)
    total = tiny.parameters.simulation.warmup_days + 4
    assert seen == list(range(1, total + 1)), f"progress calls: {seen}"


def test_run_single_rejects_bad_seed_and_days(tiny: Scenario) -> None:
    """Negative seeds and non-positive days are InputErrors."""
    with pytest.raises(InputError, match="seed = -1"):
        run_single(tiny, -1, days=1)
    with pytest.raises(InputError, match="days = 0"):
        run_single(tiny, 0, days=0)


def test_run_single_is_picklable() -> None:
    """run_single is a top-level function, so process pools can send it."""
    assert pickle.loads(pickle.dumps(run_single)) is run_single, "pickled by reference"
