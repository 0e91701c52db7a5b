"""Results store: the SQLite contract, folder checks, resume rules, manifest (issue 4)."""

from __future__ import annotations

import json
import math
import sqlite3

import pytest
import standins

from experiments import code_state, runner
from experiments.errors import InputError
from experiments.runner import run_experiment
from experiments.store import ResultStore, RunRecord

# docs/design.md "experiments → results store": columns analysis/ relies on.
CONTRACT = {
    "meta": ["key", "value"],
    "points": ["point_id", "scenario", "parameters"],
    "runs": [
        "run_key",
        "point_id",
        "scenario",
        "replication",
        "seed",
        "status",
        "error",
        "started_at",
        "finished_at",
        "duration_s",
        "worker",
    ],
    "outcomes": ["run_key", "outcome", "value"],
    "timeseries": ["run_key", "day", "variable", "value"],
    "distributions": ["run_key", "variable", "bin_upper", "count"],
    "sensitivity": ["method", "outcome", "factor", "index_name", "value", "conf"],
}


@pytest.fixture
def sweep(tmp_path):
    """A finished tiny sweep (stand-in model, serial) and its folder."""
    path = standins.write_experiment(tmp_path, "sweep", standins.sweep_text(replications=2))
    out = tmp_path / "out"
    report = run_experiment(path, out, workers=1, run_fn=standins.fake_run)
    return path, out, report


def test_schema_contract(sweep):
    """Every table and column of the design contract exists, in WAL mode."""
    _, out, _ = sweep
    con = sqlite3.connect(out / "results.sqlite")
    for table, columns in CONTRACT.items():
        present = [row[1] for row in con.execute(f"PRAGMA table_info({table})")]
        missing = [c for c in columns if c not in present]
        assert not missing, f"table {table} lacks contract column(s) {missing}"
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal", "database in WAL mode"
    keys = dict(con.execute("SELECT key, value FROM meta"))
    assert keys["name"] == "tiny_sweep" and keys["kind"] == "sweep", "meta names the experiment"
    assert len(keys["file_hash"]) == 64, "meta holds the sha256 of the experiment file"


def test_runs_rows(sweep):
    """Runs are keyed point/rNNNN with JSON seeds, and each has outcomes, series and histograms."""
    _, out, report = sweep
    con = sqlite3.connect(out / "results.sqlite")
    rows = con.execute("SELECT run_key, point_id, replication, seed, status FROM runs").fetchall()
    assert len(rows) == report.planned == 8, "4 points × 2 replications stored"
    for key, point, replication, seed, status in rows:
        assert key == f"{point}/r{replication:04d}", f"run key format: {key}"
        assert json.loads(seed) == {"root": 5, "replication": replication}, f"seed JSON: {seed}"
        assert status == "ok", f"run {key} ok"
    per_run = con.execute("SELECT COUNT(DISTINCT run_key) FROM timeseries").fetchone()[0]
    assert per_run == 8, "every run has a time series"
    total = con.execute(
        "SELECT SUM(count) FROM distributions WHERE variable = 'resolution_time_days' AND run_key = ?",
        (rows[0][0],),
    ).fetchone()[0]
    assert total == 9, "histogram counts the stand-in's 9 closed cases (3 of 12 open)"


def test_nan_outcome_is_null(sweep):
    """An undefined (NaN) outcome is stored as NULL and read back as NaN."""
    _, out, _ = sweep
    with ResultStore.open(out) as store:
        table = store.outcome_table(["collective_issues_open"])
    assert len(table) == 8 and table["value"].isna().all(), "NaN outcomes stored as NULL"


def test_manifest_facts(sweep):
    """The manifest holds the experiment file and hash, scenario digests, seeds, versions, git, machine, times."""
    path, out, _ = sweep
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["experiment"]["text"] == path.read_text(encoding="utf-8"), (
        "experiment file text kept"
    )
    assert len(manifest["experiment"]["sha256"]) == 64, "experiment hash kept"
    assert manifest["scenarios"]["tiny"]["digest"], "scenario digest kept"
    assert manifest["seeds"]["root"] == 5 and manifest["seeds"]["replications"] == 2, (
        "seeds recorded"
    )
    assert manifest["packages"]["mesa"].startswith("3.5"), "package versions recorded"
    assert "commit" in manifest["git"] and manifest["machine"]["cpus"] >= 1, (
        "git and machine recorded"
    )
    assert manifest["started_at"] and manifest["finished_at"], "start and end recorded"


def test_rerun_without_resume_is_refused(sweep):
    """Running again into a folder with runs needs --resume; with it nothing is repeated."""
    path, out, _ = sweep
    with pytest.raises(InputError, match="--resume"):
        run_experiment(path, out, workers=1, run_fn=standins.fake_run)
    report = run_experiment(path, out, workers=1, run_fn=standins.fake_run, resume=True)
    assert report.ran == 0 and report.skipped == 8, "resume skips every stored run"


def test_changed_experiment_file_on_resume(sweep):
    """A changed experiment file on resume is a clear error before any run."""
    path, out, _ = sweep
    path.write_text(
        path.read_text(encoding="utf-8").replace("days = 10", "days = 11"), encoding="utf-8"
    )
    with pytest.raises(InputError, match="experiment file changed"):
        run_experiment(path, out, workers=1, run_fn=standins.fake_run, resume=True)


def test_changed_scenario_on_resume(sweep):
    """A scenario edited since the stored runs were made is a clear error on resume."""
    path, out, _ = sweep
    scenario = path.parent.parent / "scenarios" / "tiny.toml"
    scenario.write_text(
        scenario.read_text(encoding="utf-8").replace("= 60", "= 61"), encoding="utf-8"
    )
    with pytest.raises(InputError, match="scenario of point"):
        run_experiment(path, out, workers=1, run_fn=standins.fake_run, resume=True)


def test_changed_model_code_on_resume(sweep, monkeypatch):
    """Code behind the results that changed since the stored runs were made is a clear error
    on resume, before any run and with the stored runs kept: a folder never holds runs of
    two versions of the model (a robustness review found resumes mixed them silently)."""
    path, out, _ = sweep
    store = ResultStore.open(out)
    try:
        recorded = store.meta()["code_digest"]
        stored = store.count_runs()
    finally:
        store.close()
    assert recorded == code_state.code_digest(), "the first session records the code's digest"
    monkeypatch.setattr(runner, "code_digest", lambda: "f" * 64)
    with pytest.raises(InputError, match="model's code changed") as refused:
        run_experiment(path, out, workers=1, run_fn=standins.fake_run, resume=True)
    assert str(out) in str(refused.value) and "--out" in str(refused.value)
    assert recorded[:12] in str(refused.value) and "ffffffffffff" in str(refused.value)
    store = ResultStore.open(out)
    try:
        assert store.count_runs() == stored and store.meta()["code_digest"] == recorded
    finally:
        store.close()
    monkeypatch.setattr(runner, "code_digest", lambda: recorded)
    report = run_experiment(path, out, workers=1, run_fn=standins.fake_run, resume=True)
    assert report.ran == 0, "the same code resumes"


def test_a_folder_from_before_the_code_digest_resumes_and_records_it(sweep):
    """A folder made before the digest was kept has none to compare: it resumes, and the
    digest of the code that resumed it is kept from then on."""
    path, out, _ = sweep
    store = ResultStore.open(out, writable=True)
    try:
        store.connection.execute("DELETE FROM meta WHERE key = 'code_digest'")
        store.connection.commit()
    finally:
        store.close()
    report = run_experiment(path, out, workers=1, run_fn=standins.fake_run, resume=True)
    assert report.ran == 0
    store = ResultStore.open(out)
    try:
        assert store.meta()["code_digest"] == code_state.code_digest()
    finally:
        store.close()


def test_other_experiment_folder(sweep, tmp_path):
    """A folder holding another experiment's results is refused."""
    _, out, _ = sweep
    other = standins.write_experiment(tmp_path, "cmp", standins.compare_text())
    with pytest.raises(InputError, match="holds results of sweep experiment 'tiny_sweep'"):
        run_experiment(other, out, workers=1, run_fn=standins.fake_run, resume=True)


def test_foreign_folder(tmp_path):
    """A non-empty folder that is not a results store is refused before any run."""
    path = standins.write_experiment(tmp_path, "sweep", standins.sweep_text())
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("precious", encoding="utf-8")
    with pytest.raises(InputError, match="not a microgov results folder"):
        run_experiment(path, out, workers=1, run_fn=standins.fake_run)
    assert sorted(p.name for p in out.iterdir()) == ["thesis.docx"], "nothing written into it"


def test_foreign_database(tmp_path):
    """A results.sqlite that is not ours is refused."""
    path = standins.write_experiment(tmp_path, "sweep", standins.sweep_text())
    out = tmp_path / "out"
    out.mkdir()
    sqlite3.connect(out / "results.sqlite").execute("CREATE TABLE t(x)").connection.commit()
    with pytest.raises(InputError, match="not a microgov results database"):
        run_experiment(path, out, workers=1, run_fn=standins.fake_run)


def test_unwritable_folder(tmp_path):
    """A results folder that cannot be created is a clear error (here: its parent is a file)."""
    path = standins.write_experiment(tmp_path, "sweep", standins.sweep_text())
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="cannot create the results folder"):
        run_experiment(path, blocker / "out", workers=1, run_fn=standins.fake_run)


def test_record_replaces_failed_attempt(sweep):
    """Recording a run again (a retried failure) leaves exactly one row and its new outcomes."""
    _, out, _ = sweep
    with ResultStore.open(out, writable=True) as store:
        key = "p0000/r0000"
        store.record(
            RunRecord(
                key,
                "p0000",
                "tiny",
                0,
                '{"root": 5, "replication": 0}',
                "ok",
                None,
                "a",
                "b",
                0.0,
                "w",
                summary={"trust_mean": 0.25},
            )
        )
        rows = store.connection.execute(
            "SELECT COUNT(*) FROM runs WHERE run_key = ?", (key,)
        ).fetchone()[0]
        outcomes = store.connection.execute(
            "SELECT outcome, value FROM outcomes WHERE run_key = ?", (key,)
        ).fetchall()
    assert rows == 1, "one row per run key"
    assert outcomes == [("trust_mean", 0.25)], "old outcomes replaced by the new ones"
    assert not math.isnan(outcomes[0][1]), "value stored"
