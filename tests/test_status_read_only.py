"""A results folder the user may only read can be inspected: status, report (--out elsewhere)
and export read the database read-only; export names its own folder as the unwritable thing
(review of the command line).

Root ignores file modes, and this machine runs the tests as root. The tests that need a
folder that really cannot be written run the commands in a user namespace
(``unshare --user --map-root-user``) on a folder owned by ``nobody`` and made read-only:
inside it root's capabilities do not reach files of users the namespace does not map, so the
modes hold (checked first by trying to write a file there). Run as another user they chmod
the folder and run the commands directly. Where neither is possible they are skipped; the
in-process tests still show that the database is opened read-only and how the opener falls
back where SQLite cannot make its WAL index (SQLite's answer simulated).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import standins

from analysis.results import ResultsError, load_results
from app.cli import main
from experiments import store as store_module
from experiments.errors import ResourceError
from experiments.runner import run_experiment
from experiments.store import ResultStore

NOBODY = 65534


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    """A finished compare (stand-in model, 2 scenarios × 2 replications)."""
    path = standins.write_experiment(tmp_path, "c", standins.compare_text(replications=2))
    out = tmp_path / "out"
    run_experiment(path, out, workers=1, run_fn=standins.fake_run)
    return out


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file of the folder: its sha256 and mtime."""
    return {
        str(path.relative_to(folder)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class _ReadOnly:
    """Runs commands for which ``folder`` really is read-only (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("unshare") is None:
                pytest.skip("running as root without unshare: cannot make a read-only folder")
            self.prefix = ["unshare", "--user", "--map-root-user"]
            os.chown(folder, NOBODY, NOBODY)
            for path in folder.rglob("*"):
                os.chown(path, NOBODY, NOBODY)
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        probe = self.run("-c", f"open({str(folder / 'probe')!r}, 'w')")
        if probe.returncode == 0 or "PermissionError" not in probe.stderr:
            self.restore()
            pytest.skip(f"the folder could not be made read-only here: {probe.stderr[-200:]}")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, sys.executable, *args], capture_output=True, text=True, timeout=300
        )

    def microgov(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "app.cli", *args)

    def restore(self) -> None:
        for path in [self.folder, *self.folder.rglob("*")]:
            if os.geteuid() == 0:
                os.chown(path, 0, 0)
            path.chmod(path.stat().st_mode | 0o200)


def test_read_only_folder_status_report_and_export(finished, tmp_path):
    """status and report --out elsewhere work; export fails naming the exports folder, not the
    database, and report without --out its default folder; nothing in the folder changes."""
    before = _snapshot(finished)
    read_only = _ReadOnly(finished)
    try:
        status = read_only.microgov("status", str(finished))
        elsewhere = tmp_path / "elsewhere"
        report = read_only.microgov("report", str(finished), "--out", str(elsewhere))
        export = read_only.microgov("export", str(finished))
        default_report = read_only.microgov("report", str(finished))
        after = _snapshot(finished)
        created = sorted(p.name for p in finished.iterdir())
    finally:
        read_only.restore()
    assert status.returncode == 0, status.stderr
    assert "runs: 4 ok, 0 failed, 0 not run of 4 planned" in status.stdout
    assert report.returncode == 0, report.stderr
    assert (elsewhere / "report.html").is_file() and (elsewhere / "report.md").is_file()
    assert export.returncode == 2, export.stderr
    error = export.stderr.strip()
    assert error.startswith(f"error: {finished / 'exports'}: cannot write the exports"), error
    assert "results.sqlite" not in error and "allowed: a writable exports folder" in error
    assert len(error.splitlines()) == 1, "one line, no traceback"
    assert default_report.returncode == 2, default_report.stderr
    assert default_report.stderr.strip() == (
        f"error: {finished / 'report'}: cannot write the report into this folder (Permission "
        "denied); allowed: a writable folder for the report: choose one with --out"
    )
    assert after == before, "nothing in the read-only folder changed"
    assert created == ["manifest.json", "results.sqlite"], "no -wal, -shm or exports made"


def test_read_only_folder_with_an_unmerged_log_says_so(finished, tmp_path):
    """A read-only folder whose -wal still holds transactions cannot be read without writing:
    status and report say so in one line instead of reading an incomplete database."""
    database = finished / "results.sqlite"
    copy = tmp_path / "unmerged"
    copy.mkdir()
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO meta(key, value) VALUES ('note', 'in the log only')")
    for name in ("results.sqlite", "results.sqlite-wal", "manifest.json"):
        shutil.copy2(finished / name, copy / name)  # as a killed runner leaves them
    writer.close()
    assert (copy / "results.sqlite-wal").stat().st_size > 0
    read_only = _ReadOnly(copy)
    try:
        status = read_only.microgov("status", str(copy))
        report = read_only.microgov("report", str(copy), "--out", str(tmp_path / "elsewhere"))
    finally:
        read_only.restore()
    for done, status_code in ((status, 1), (report, 2)):
        assert done.returncode == status_code, done.stderr
        error = done.stderr.strip()
        assert "results.sqlite-wal holds transactions not yet merged" in error, error
        assert "copy the folder" in error and len(error.splitlines()) == 1, error


def test_status_and_export_open_the_database_read_only(finished):
    """The store that status and export open cannot write (SQLite refuses), and the database
    file is left as it was; a writer must ask for it."""
    database = finished / "results.sqlite"
    before = _snapshot(finished)["results.sqlite"]
    with ResultStore.open(finished) as store:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.connection.execute("CREATE TABLE probe(x)")
    assert main(["status", str(finished)]) == 0
    assert main(["export", str(finished), "--format", "csv"]) == 0
    assert _snapshot(finished)["results.sqlite"] == before, "the database file is unchanged"
    with ResultStore.open(finished, writable=True) as store:
        store.connection.execute("CREATE TABLE probe(x)")
    assert database.is_file()


def _no_index(real_connect):
    """sqlite3.connect whose first read fails as it does where SQLite cannot make the WAL
    index (SQLITE_READONLY_DIRECTORY), unless the URI asks for an immutable file."""

    def connect(target, *args, **kwargs):
        connection = real_connect(target, *args, **kwargs)
        if "immutable=1" in str(target):
            return connection
        connection.close()

        class Refusing:
            def execute(self, *a, **k):
                error = sqlite3.OperationalError("attempt to write a readonly database")
                error.sqlite_errorcode = 1544  # SQLITE_READONLY_DIRECTORY
                raise error

            def close(self):
                pass

        return Refusing()

    return connect


def test_readers_fall_back_to_immutable_only_without_a_log(finished, monkeypatch):
    """Where the index cannot be made (simulated), both readers (the store's and analysis')
    read the file immutable when no -wal holds transactions, and refuse when one does."""
    monkeypatch.setattr(sqlite3, "connect", _no_index(sqlite3.connect))
    database = finished / "results.sqlite"
    connection = store_module._connect_read_only(database)
    assert connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 4
    connection.close()
    assert load_results(finished).progress().ok == 4
    (finished / "results.sqlite-wal").write_bytes(b"\0" * 32)
    with pytest.raises(ResourceError, match=r"results\.sqlite-wal holds transactions"):
        store_module._connect_read_only(database)
    with pytest.raises(ResultsError, match=r"results\.sqlite-wal holds transactions"):
        load_results(finished)
