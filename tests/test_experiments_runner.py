"""Experiment runner: failures recorded, crash-safe resume, precision target, executors agree (issue 4)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import standins

from app import experiment_commands
from experiments.executors import DaskExecutor, ProcessExecutor, SerialExecutor
from experiments.runner import run_experiment
from experiments.store import ResultStore

TESTS = Path(__file__).resolve().parent


def _outcomes(folder: Path) -> pd.DataFrame:
    with ResultStore.open(folder) as store:
        table = store.outcome_table()
    return table.sort_values(["run_key", "outcome"], ignore_index=True)


def test_failing_point_is_recorded_and_others_finish(tmp_path):
    """A point whose runs raise is stored as failed with its traceback; the other points finish."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(delays=(1.0, 13.0)))
    report = run_experiment(path, tmp_path / "out", workers=1, run_fn=standins.fake_run)
    assert report.failed == 6, "2 staff values × 3 replications at the failing delay"
    assert report.ok == 6, "the other points finish"
    assert set(report.failed_points) == {"p0001", "p0003"}, "failed points named"
    assert "handoff_delay_hours=13.0" in report.summary(), "the summary says where the failures are"
    with ResultStore.open(tmp_path / "out") as store:
        runs = store.runs()
    failed = runs[runs["status"] == "failed"]
    assert failed["error"].str.contains("RuntimeError: stand-in model failure").all(), (
        "traceback stored"
    )
    assert failed["error"].str.contains("Traceback").all(), "the whole traceback is kept"


@pytest.mark.parametrize(("replications", "said"), [(1, "1 replication;"), (2, "2 replications;")])
def test_the_summary_counts_replications_in_words(tmp_path, replications, said):
    """The closing paragraph says '1 replication', not '1 replications'."""
    text = standins.sweep_text(replications=replications)
    path = standins.write_experiment(tmp_path, "s", text)
    report = run_experiment(path, tmp_path / "out", workers=1, run_fn=standins.fake_run)
    assert said in report.summary(), report.summary()


def test_resume_retries_failed_runs(tmp_path, monkeypatch):
    """On resume failed runs are retried and replaced; stored ok runs are not run again."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(delays=(1.0, 13.0)))
    run_experiment(path, tmp_path / "out", workers=1, run_fn=standins.fake_run)
    report = run_experiment(
        path, tmp_path / "out", workers=1, run_fn=standins.fake_run, resume=True
    )
    assert report.ran == 6 and report.skipped == 6, "only the failed runs ran again"
    with ResultStore.open(tmp_path / "out") as store:
        assert store.count_runs() == 12, "still one row per run"


def test_cli_exit_status_and_message(tmp_path, monkeypatch, capsys):
    """The sweep command exits 1 and says how many runs failed and where."""
    from experiments import runs

    monkeypatch.setattr(runs, "run_single", standins.fake_run)
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(delays=(1.0, 13.0)))
    from app.cli import main

    status = main(
        ["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress"]
    )
    printed = capsys.readouterr().out
    assert status == 1, "non-zero exit when runs failed"
    assert "6 run(s) FAILED" in printed and "p0001" in printed, (
        f"count and place printed: {printed}"
    )
    status = main(["status", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert status == 0 and "RuntimeError: stand-in model failure" in printed, (
        f"status shows failures: {printed}"
    )


def test_cli_wrong_kind_is_bad_input(tmp_path, capsys):
    """Running a sweep file with the compare command is exit 2 with a hint, and runs nothing."""
    from app.cli import main

    path = standins.write_experiment(tmp_path, "s", standins.sweep_text())
    status = main(["compare", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and "microgov sweep" in err, f"kind mismatch explained: {err}"
    assert not (tmp_path / "out").exists(), "no results folder made"


def test_precision_target_adds_replications(tmp_path):
    """Replications are added in batches until the CI half-width meets the target, up to the cap."""
    extra = """\
[precision]
outcomes = ["resolution_time_median_days"]
target = 0.005
relative = false
batch = 2
max_replications = 9
"""
    path = standins.write_experiment(
        tmp_path, "s", standins.sweep_text(replications=2, extra=extra)
    )
    report = run_experiment(path, tmp_path / "out", workers=1, run_fn=standins.fake_run)
    # stand-in noise sd 0.2 ⇒ half-width ≈ t·0.2/√n: 0.005 needs thousands > cap; so the cap is reached.
    assert report.replications == 9, "replications grew to the cap"
    assert report.precision is not None and not report.precision["met"], (
        "target reported as not met"
    )
    assert report.ok == 4 * 9, "every point got the added replications (common random numbers)"
    loose = path.read_text(encoding="utf-8").replace("target = 0.005", "target = 5.0")
    path2 = standins.write_experiment(
        tmp_path, "s2", loose.replace('name = "tiny_sweep"', 'name = "s2"')
    )
    report = run_experiment(path2, tmp_path / "out2", workers=1, run_fn=standins.fake_run)
    assert report.replications == 2 and report.precision["met"], (
        "a loose target stops at the first batch"
    )


def test_seeds_common_across_points(tmp_path):
    """Replication i of every point runs on the same seed (common random numbers)."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=3))
    run_experiment(path, tmp_path / "out", workers=1, run_fn=standins.fake_run)
    table = _outcomes(tmp_path / "out")
    first = table[table["outcome"] == "needs_generated"]  # the stand-in's first draw from its seed
    per_replication = first.groupby("replication")["value"].nunique()
    assert (per_replication == 1).all(), "same first draw at every point for a replication"
    assert first.groupby("replication")["value"].first().nunique() == 3, "replications differ"


def test_kill_and_resume(tmp_path):
    """A sweep killed with SIGKILL keeps its finished runs; resuming ends with each run exactly once."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=5))
    out = tmp_path / "out"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import standins; from experiments.runner import run_experiment;"
        "run_experiment(sys.argv[2], sys.argv[3], workers=2, run_fn=standins.fake_run)"
    )
    env = {**os.environ, "MICROGOV_STANDIN_SLEEP": "0.4"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(TESTS), str(path), str(out)],
        env=env,
        start_new_session=True,
    )
    database = out / "results.sqlite"
    deadline = time.monotonic() + 120
    stored = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if database.exists():
                try:
                    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
                    stored = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                    con.close()
                except sqlite3.OperationalError:
                    stored = 0
            if stored >= 4:
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(
                proc.pid, signal.SIGKILL
            )  # the whole group we started: runner and its workers
        proc.wait(timeout=30)
    assert 4 <= stored < 20, f"killed part-way (stored {stored} of 20)"
    con = sqlite3.connect(database)
    before = dict(con.execute("SELECT run_key, started_at FROM runs"))
    con.close()
    report = run_experiment(path, out, workers=1, run_fn=standins.fake_run, resume=True)
    assert report.ran == 20 - len(before), "only the missing runs ran on resume"
    con = sqlite3.connect(database)
    keys = [k for (k,) in con.execute("SELECT run_key FROM runs")]
    after = dict(con.execute("SELECT run_key, started_at FROM runs"))
    outcome_counts = con.execute(
        "SELECT run_key, COUNT(*) FROM outcomes GROUP BY run_key"
    ).fetchall()
    con.close()
    assert len(keys) == len(set(keys)) == 20, "each of the 20 runs exactly once"
    assert all(after[k] == v for k, v in before.items()), (
        "runs stored before the kill were not repeated"
    )
    assert {n for _, n in outcome_counts} == {len(standins.OUTCOME_NAMES)} and len(
        outcome_counts
    ) == 20, "every run has its full set of outcomes (no half-written run)"


def test_executors_identical_on_model(tmp_path):
    """Serial, process pool and Dask give bit-identical stored outcomes and series on the real model."""
    path = standins.write_experiment(tmp_path, "c", standins.compare_text(replications=2, days=20))
    executors = {
        "serial": SerialExecutor(),
        "pool": ProcessExecutor(2),
        "dask": DaskExecutor("local", workers=1, processes=False),
    }
    tables = {}
    series = {}
    for name, executor in executors.items():
        with executor:
            report = run_experiment(path, tmp_path / name, executor=executor)
        assert report.failed == 0 and report.ok == 4, f"{name}: every run ok"
        tables[name] = _outcomes(tmp_path / name)
        con = sqlite3.connect(tmp_path / name / "results.sqlite")
        series[name] = pd.read_sql_query(
            "SELECT * FROM timeseries ORDER BY run_key, day, variable", con
        )
        con.close()
    assert len(tables["serial"]) > 100, "outcomes were stored"
    for name in ("pool", "dask"):
        pd.testing.assert_frame_equal(
            tables["serial"], tables[name], check_exact=True, obj=f"outcomes {name}"
        )
        pd.testing.assert_frame_equal(
            series["serial"], series[name], check_exact=True, obj=f"series {name}"
        )
    values = tables["serial"].pivot_table(
        index="replication", columns="point_id", values="value", aggfunc="sum"
    )
    assert not values["tiny"].equals(values["tiny_integrated"]), (
        "the two reforms give different outcomes"
    )


def test_compare_end_to_end_cli(tmp_path, capsys):
    """`microgov compare` on the real model with a tiny scenario stores every run and prints intervals."""
    from app.cli import main

    path = standins.write_experiment(tmp_path, "c", standins.compare_text(replications=2, days=15))
    status = main(
        ["compare", str(path), "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress"]
    )
    printed = capsys.readouterr().out
    assert status == 0, f"exit 0 when every run succeeded: {printed}"
    assert "resolution_time_median_days" in printed and "tiny_integrated" in printed, (
        "means printed"
    )
    with ResultStore.open(tmp_path / "out") as store:
        meta = store.meta()
        assert store.count_runs() == 4, "2 scenarios × 2 replications"
        nodes = store.connection.execute(
            "SELECT COUNT(DISTINCT node) FROM units WHERE run_key = 'tiny/r0000'"
        ).fetchone()[0]
        assert nodes > 2, "per-unit final backlog and trust stored for a small scenario"
    assert meta["reference"] == "tiny", "reference scenario stored in meta"
    assert meta["outcomes"] == '["resolution_time_median_days", "participation_share"]', (
        "outcomes in meta"
    )


def test_progress_events(tmp_path):
    """The progress callback sees every run with done/failed/total counts."""
    events = []
    path = standins.write_experiment(
        tmp_path, "s", standins.sweep_text(delays=(1.0, 13.0), replications=1)
    )
    run_experiment(
        path, tmp_path / "out", workers=1, run_fn=standins.fake_run, progress=events.append
    )
    assert len(events) == 4, "one event per run"
    last = events[-1]
    assert (last.done, last.failed, last.total) == (2, 2, 4), f"final counts: {last}"


def test_command_help_lists_options():
    """The experiment commands offer --out, --workers, --cluster and --resume."""
    import argparse

    parser = argparse.ArgumentParser()
    experiment_commands.register(parser.add_subparsers())
    args = parser.parse_args(
        ["sweep", "x.toml", "--out", "d", "--workers", "2", "--cluster", "local", "--resume"]
    )
    assert (args.kind, args.workers, args.cluster, args.resume) == ("sweep", 2, "local", True), (
        "options parsed"
    )
    assert args.out == Path("d"), "--out parsed as a path"
    with pytest.raises(SystemExit):
        parser.parse_args(["sweep", "x.toml", "--workers", "0"])


def test_replicate_in_memory(tmp_path):
    """replicate() runs scenarios × replications without a store, on the experiment seeds."""
    from experiments.runner import replicate
    from experiments.scenario_files import load_scenario

    scenarios = standins.write_tiny_scenarios(tmp_path)
    tiny = load_scenario(scenarios / "tiny.toml")
    frame = replicate([tiny], 3, seed=5, run_fn=standins.fake_run)
    assert list(frame["replication"]) == [0, 1, 2] and (frame["status"] == "ok").all(), "3 runs ok"
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=3))
    run_experiment(path, tmp_path / "out", workers=1, run_fn=standins.fake_run)
    stored = _outcomes(tmp_path / "out")
    first = stored[(stored["outcome"] == "needs_generated") & (stored["point_id"] == "p0000")]
    assert list(first["value"]) == list(frame["needs_generated"]), "same seeds as an experiment"


def test_bad_cluster_address_is_input_error(tmp_path):
    """A --cluster value that is not a scheduler address is a clear error before any run."""
    from experiments.errors import InputError

    path = standins.write_experiment(tmp_path, "s", standins.sweep_text())
    with pytest.raises(InputError, match="expected a scheduler address"):
        run_experiment(path, tmp_path / "out", cluster="myhost:8786", run_fn=standins.fake_run)
    with ResultStore.open(tmp_path / "out") as store:
        assert store.count_runs() == 0, "no run was made"
