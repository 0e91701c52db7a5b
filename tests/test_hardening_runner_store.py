"""Results store hardening: damaged databases, full disks, run warnings (issue 13)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import hardening_runner_standins as hs
import pytest
import standins

from app.cli import main
from experiments.errors import ResourceError
from experiments.runner import run_experiment
from experiments.store import ResultStore


@pytest.fixture
def finished(tmp_path):
    """A finished sweep of 20 stand-in runs (a database of about 80 pages) and its folder."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=5))
    out = tmp_path / "out"
    run_experiment(path, out, workers=1, run_fn=standins.fake_run)
    return path, out


def _corrupt_middle(database: Path) -> None:
    """Overwrite 2,000 bytes of the middle page of a closed, checkpointed database, its
    b-tree page header first (bytes inside a leaf's cells alone can leave the structure
    sound: SQLite's quick check then finds nothing, and reads give wrong values, not
    errors)."""
    con = sqlite3.connect(database)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    assert pages > 20, "a database big enough to have a middle"
    with open(database, "r+b") as handle:
        handle.seek(page_size * (pages // 2))
        handle.write(bytes((i * 37 + 11) % 256 for i in range(2000)))  # deterministic garbage


# ---------------------------------------------------------------------------
# 4. A database damaged in the middle
# ---------------------------------------------------------------------------


def _truncate_half(database: Path) -> None:
    """Cut a closed, checkpointed database to half its length (a copy stopped half-way)."""
    sqlite3.connect(database).close()
    size = database.stat().st_size
    with open(database, "r+b") as handle:
        handle.truncate(size // 2)


@pytest.mark.parametrize("damage", [_corrupt_middle, _truncate_half])
def test_damaged_database_status_export_report_and_resume_say_what_to_do(finished, capsys, damage):
    """status, export, report and --resume on a database damaged mid-file or cut short: the
    same clear diagnosis from each, never a crash."""
    path, out = finished
    damage(out / "results.sqlite")
    commands = (
        ["status", str(out)],
        ["export", str(out)],
        ["report", str(out)],
        ["report", str(out / "results.sqlite")],  # report also takes the database file
    )
    for argv in commands:
        status = main(argv)
        err = capsys.readouterr().err
        assert status == 1, f"{argv[0]}: exit 1 for a damaged database, got {status}: {err}"
        assert "damaged" in err, f"{argv[0]}: names the damage: {err}"
        assert "--out" in err and ".recover" in err, f"{argv[0]}: says what to do: {err}"
        assert "unexpected" not in err and "Traceback" not in err, err
    with pytest.raises(ResourceError, match="damaged"):
        run_experiment(path, out, workers=1, run_fn=standins.fake_run, resume=True)
    assert not (out / "exports").exists(), "nothing was exported from a damaged database"
    assert not (out / "report").exists(), "no report was written from a damaged database"


def test_sound_database_passes_the_check(finished, capsys):
    """An intact results database opens for status as before (the check does not cry wolf)."""
    _, out = finished
    assert main(["status", str(out)]) == 0, capsys.readouterr().err
    assert "20 ok" in capsys.readouterr().out, "status reads the runs"


# ---------------------------------------------------------------------------
# 5. A full disk
# ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 768 KiB tmpfs mounted for this test (root only; skipped where mounting is impossible)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=768k", "tmpfs", str(disk)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot run mount: {exc}")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True, timeout=60, check=False)


def test_full_disk_reports_sqlite_error_and_leaves_no_temp_file(tmp_path, small_disk):
    """On a disk that fills up, the SQLite error is what is reported; no temp file remains."""
    text = standins.sweep_text(replications=50).replace("days = 10", "days = 200")
    path = standins.write_experiment(tmp_path, "s", text)
    out = small_disk / "out"
    with pytest.raises(ResourceError) as caught:
        run_experiment(path, out, workers=1, run_fn=standins.fake_run)
    message = str(caught.value)
    assert "database or disk is full" in message and "disk is full" in message, message
    assert "--resume" in message, "says how to go on"
    left = sorted(p.name for p in out.iterdir())
    assert not [n for n in left if n.endswith(".tmp") or n.startswith(".write-test")], left
    assert "runner.lock" not in left, f"the lock is released: {left}"


def test_injected_disk_full_error_is_reported_not_the_manifest_error(tmp_path, monkeypatch):
    """Unit: SQLITE_FULL while storing a run surfaces as itself even when the manifest fails too."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=2))
    out = tmp_path / "out"
    real_record = ResultStore.record
    calls = {"n": 0}

    def record(self, run):
        calls["n"] += 1
        if calls["n"] == 3:
            with self.transaction() as cur:
                cur.execute("SELECT 1")
                raise sqlite3.OperationalError("database or disk is full")
        real_record(self, run)

    real_write_text = Path.write_text

    def write_text(self, data, *args, **kwargs):
        if self.name.endswith(".tmp") and calls["n"] >= 3:
            real_write_text(self, data[:10], *args, **kwargs)  # a partial file, then ENOSPC
            raise OSError(28, "No space left on device", str(self))
        return real_write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(ResultStore, "record", record)
    monkeypatch.setattr(Path, "write_text", write_text)
    with pytest.raises(
        ResourceError, match=re.escape("the disk is full (SQLite: database or disk is full)")
    ):
        run_experiment(path, out, workers=1, run_fn=standins.fake_run)
    assert not list(out.glob(".*.tmp")), "the half-written manifest was removed"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sessions"][-1]["status"] == "running", "the old manifest is left as it was"
    with ResultStore.open(out) as store:
        assert store.count_runs() == 2, "the two runs stored before the failure are kept"


def test_cli_prints_resource_error_without_traceback(tmp_path, monkeypatch, capsys):
    """The command line shows a ResourceError as one error line and exit status 1."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=1))

    def record(self, run):
        with self.transaction():
            raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ResultStore, "record", record)
    status = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1"])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("error: ") and "disk is full" in err, err
    assert "unexpected" not in err and "Traceback" not in err, err


# ---------------------------------------------------------------------------
# 8. Warnings of runs
# ---------------------------------------------------------------------------


def test_run_warnings_stored_with_the_run_and_shown_by_status(tmp_path, capsys):
    """RunOutput.warnings go to table warnings (same transaction); status lists them."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=2))
    out = tmp_path / "out"
    report = run_experiment(path, out, workers=1, run_fn=hs.warning_run)
    assert report.warned_runs == 8, "every run warned"
    with ResultStore.open(out) as store:
        warnings = store.warnings()
    assert len(warnings) == 8 + 4, "one warning per run, a second at the 4 h points"
    assert set(warnings["message"]) == {
        "department transport utilisation 0.93 > 0.9",
        "hand-off delay of 4 h is long",
    }
    assert main(["status", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "warnings (8 run(s))" in printed, printed
    assert "department transport utilisation 0.93 > 0.9  (8 run(s))" in printed, printed


def test_warnings_replaced_when_a_run_is_stored_again(tmp_path):
    """A run stored again (retried on resume) keeps only its new warnings."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=1))
    out = tmp_path / "out"
    run_experiment(path, out, workers=1, run_fn=hs.warning_run)
    with ResultStore.open(out, writable=True) as store:
        record = store.runs().iloc[0]
        run = _record_like(record, warnings=("only this",))
        store.record(run)
        messages = store.warnings().query("run_key == @run.run_key")["message"].tolist()
    assert messages == ["only this"], messages


def test_runs_without_warnings_attribute_store_none(tmp_path):
    """A model output without ``warnings`` (the model before the change) stores no warning."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=1))
    run_experiment(path, tmp_path / "out", workers=1, run_fn=standins.fake_run)
    with ResultStore.open(tmp_path / "out") as store:
        assert store.warnings().empty, "no warnings stored"


def _record_like(row, warnings):
    from experiments.store import RunRecord

    return RunRecord(
        run_key=row.run_key,
        point_id=row.point_id,
        scenario=row.scenario,
        replication=int(row.replication),
        seed=row.seed,
        status="ok",
        error=None,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_s=float(row.duration_s),
        worker=row.worker,
        warnings=warnings,
    )


def test_microgov_run_writes_warnings_and_integer_counts(tmp_path, monkeypatch, capsys):
    """`microgov run` puts the run's warnings into summary.json and prints them; counts are ints."""
    import experiments.runs

    real = experiments.runs.run_single

    def run_single(scenario, seed, days=None, progress=None, case_sink=None):
        output = real(scenario, seed, days=days, progress=progress, case_sink=case_sink)
        return hs.with_warnings(output, ("utilisation 0.93 > 0.9",))

    monkeypatch.setattr(experiments.runs, "run_single", run_single)
    out = tmp_path / "run"
    status = main(["run", "classroom", "--days", "5", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["warnings"] == ["utilisation 0.93 > 0.9"], summary["warnings"]
    assert "warnings (1):" in printed and "utilisation 0.93 > 0.9" in printed, printed
    for name in ("needs_generated", "cases_generated", "cases_closed", "meetings_held"):
        assert isinstance(summary[name], int), f"{name} written as an integer: {summary[name]!r}"
    assert isinstance(summary["trust_mean"], float), "a mean stays a float"
    assert os.path.exists(out / "cases.csv"), "the other files are written too"


def test_damaged_manifest_says_what_to_do(finished, capsys):
    """A manifest.json that does not read as JSON: status and report say the runs are safe
    in the database and what to do (they only said "unreadable manifest"); with the file
    moved aside, status reads the folder and --resume writes the manifest again."""
    path, out = finished
    manifest = out / "manifest.json"
    manifest.write_text("{not json", encoding="utf-8")
    for argv in (["status", str(out)], ["report", str(out), "--out", str(out / "rep")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "move this file aside" in err and "results.sqlite" in err, err
    manifest.rename(out / "manifest.bad")
    assert main(["status", str(out)]) == 0, capsys.readouterr().err
    run_experiment(path, out, workers=1, run_fn=standins.fake_run, resume=True)
    assert json.loads(manifest.read_text(encoding="utf-8"))["sessions"], "a new one written"


def test_microgov_run_on_a_full_disk_names_the_folder(small_disk, capsys):
    """``microgov run`` into a disk that fills up: exit 1 (the machine's, not bad input),
    the folder named, no half file left (it said "error: No space left on device", exit 2)."""
    out = small_disk / "r"
    status = main(["run", "classroom", "--days", "3650", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1, err
    assert str(out) in err and "cannot write the run's files" in err, err
    assert "Traceback" not in err and "unexpected" not in err, err
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")], "no half file"


def test_run_files_unwritable_after_the_run_still_prints_the_table(tmp_path, capsys, monkeypatch):
    """When only the closing files fail (the disk filled up at the end), the outcome table
    is printed before the error: the run's outcomes are not lost."""
    from app import run_commands

    def full(path, write):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_commands, "_write_atomic", full)
    out = tmp_path / "r"
    status = main(["run", "classroom", "--days", "5", "--out", str(out), "--no-progress"])
    captured = capsys.readouterr()
    assert status == 1
    assert "resolution_time" in captured.out, "the table was printed"
    assert "the table above is the run's outcomes" in captured.err, captured.err


def test_resume_of_an_empty_folder_says_it_starts(tmp_path, caplog):
    """--resume onto a folder with no results (a mistyped path?) starts the experiment, and
    says so (it started silently)."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=1))
    with caplog.at_level("WARNING", logger="experiments.store"):
        run_experiment(path, tmp_path / "new", workers=1, run_fn=standins.fake_run, resume=True)
    assert "no results to resume here" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="experiments.store"):
        run_experiment(path, tmp_path / "new", workers=1, run_fn=standins.fake_run, resume=True)
    assert "no results to resume" not in caplog.text, "a real resume says nothing of it"


def test_an_oserror_of_the_run_itself_keeps_its_own_message(tmp_path, capsys, monkeypatch):
    """Only the run's own files are reported as unwritable; an OSError from inside the run
    (a plug-in reading a file) keeps its file name and exit 2."""
    from experiments import runs

    def reading(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/etc/some_plugin.conf")

    monkeypatch.setattr(runs, "run_single", reading)
    for extra in (["--no-files"], ["--out", str(tmp_path / "r")]):
        assert main(["run", "classroom", "--days", "2", "--no-progress", *extra]) == 2
        err = capsys.readouterr().err
        assert "/etc/some_plugin.conf" in err and "cannot write the run's files" not in err, err


@pytest.mark.parametrize("damage", [_corrupt_middle, _truncate_half])
def test_the_salvage_command_the_damage_message_gives_works(finished, capsys, damage):
    """The sqlite3 shell command the message offers to save the readable rows runs as
    printed (Debian's shell has no .recover, so the portable .dump route comes first) and
    gives a database whose stored runs are readable."""
    import shutil

    if shutil.which("sqlite3") is None or shutil.which("sed") is None:
        pytest.skip("needs the sqlite3 shell and sed")
    _, out = finished
    damage(out / "results.sqlite")
    assert main(["status", str(out)]) == 1
    err = " ".join(capsys.readouterr().err.split())  # the message, unwrapped
    command = err.split("use the sqlite3 shell: ", 1)[1].split(" (.dump stops", 1)[0]
    assert command.startswith("sqlite3 ") and command.endswith("sqlite3 recovered.sqlite"), command
    done = subprocess.run(
        ["sh", "-c", command], cwd=out.parent, capture_output=True, text=True, timeout=120
    )
    recovered = sqlite3.connect(out.parent / "recovered.sqlite")
    try:
        runs = recovered.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    finally:
        recovered.close()
    assert runs >= 1, f"no run saved: {done.stderr}"


def test_an_empty_database_is_said_to_be_empty_by_status_and_report(finished, capsys):
    """A results database of 0 bytes (an experiment stopped before it stored anything) is
    called empty, in the same words, by status and report — not a database missing tables."""
    _, out = finished
    (out / "results.sqlite").write_bytes(b"")
    said = []
    for argv in (["status", str(out)], ["report", str(out)]):
        assert main(argv) == 2, argv
        said.append(capsys.readouterr().err)
    assert said[0] == said[1] and "empty (0 bytes)" in said[0], said
    assert "missing table" not in said[0] and "no such table" not in said[0], said
    assert not (out / "report").exists(), "no report from an empty database"


def test_status_groups_warnings_that_differ_only_in_their_numbers():
    """Warnings of one kind from several runs are one line, each varying number as its range
    and the runs counted once; other kinds keep their own lines."""
    import io

    import pandas as pd

    from app.experiment_commands import _print_warnings

    busy = (
        "department transport busy {} % of its staff's time, above 90 %: its queue may not settle"
    )
    warnings = pd.DataFrame(
        {
            "run_key": ["a", "b", "c", "c", "d"],
            "message": [
                busy.format("94.0"),
                busy.format("99.1"),
                busy.format("91.5"),
                "overloaded: the system cannot keep up",
                busy.replace("transport", "health").format("90.2"),
            ],
        }
    )
    out = io.StringIO()
    _print_warnings(warnings, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  warnings (4 run(s)):", lines
    assert lines[1] == f"    {busy.format('91.5–99.1')}  (3 run(s))", lines
    assert f"    {busy.replace('transport', 'health').format('90.2')}  (1 run(s))" in lines, lines
    assert "    overloaded: the system cannot keep up  (1 run(s))" in lines, lines
    assert len(lines) == 4, lines
