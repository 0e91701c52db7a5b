"""The results store: one folder per experiment (docs/design.md "experiments → results store").

Folder layout: ``results.sqlite`` (SQLite in WAL mode), ``manifest.json`` and
``exports/``. The tables below are a contract read directly by ``analysis/``:
columns may be added, never renamed or dropped.

Every finished run is written in one transaction (its ``runs`` row with its
outcomes, time series and distributions), so a killed process loses no finished
run, and a resumed experiment skips what is already stored (issue 4).
``synchronous=NORMAL`` with WAL survives the process being killed at any point;
only a power cut can lose the last commits (SQLite documentation) — assumption:
acceptable for simulation results, which can be re-run.

Hardening (issue 13): a writer holds the folder's lock (:mod:`experiments.folder_lock`)
from :meth:`ResultStore.prepare` to :meth:`ResultStore.close`; every open checks the
database with ``PRAGMA quick_check`` and names the damage and the way out; SQLite's
own errors (disk full, I/O error) become a :class:`~experiments.errors.ResourceError`
that says what happened; the manifest is written through a temporary file that is
removed when the write fails.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import hashlib
import json
import logging
import math
import os
import platform
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.atomic_files import replaced_whole
from experiments.code_state import RUN_PATH_FILES, RUN_PATH_PACKAGES
from experiments.errors import DamagedDatabase, EmptyDatabase, InputError, ResourceError
from experiments.folder_lock import LOCK_FILE, FolderLock

logger = logging.getLogger(__name__)

DATABASE = "results.sqlite"
MANIFEST = "manifest.json"
EXPORTS = "exports"
SCHEMA_VERSION = "1"
_OWN_ENTRIES = {
    DATABASE,
    f"{DATABASE}-wal",
    f"{DATABASE}-shm",
    f"{DATABASE}-journal",
    MANIFEST,
    EXPORTS,
    LOCK_FILE,
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS points(point_id TEXT PRIMARY KEY, scenario TEXT, parameters TEXT,
    digest TEXT);
CREATE TABLE IF NOT EXISTS runs(run_key TEXT PRIMARY KEY, point_id TEXT, scenario TEXT,
    replication INTEGER, seed TEXT, status TEXT, error TEXT, started_at TEXT, finished_at TEXT,
    duration_s REAL, worker TEXT);
CREATE TABLE IF NOT EXISTS outcomes(run_key TEXT, outcome TEXT, value REAL,
    PRIMARY KEY (run_key, outcome));
CREATE TABLE IF NOT EXISTS timeseries(run_key TEXT, day INTEGER, variable TEXT, value REAL,
    PRIMARY KEY (run_key, day, variable));
CREATE TABLE IF NOT EXISTS distributions(run_key TEXT, variable TEXT, bin_upper REAL,
    count INTEGER, PRIMARY KEY (run_key, variable, bin_upper));
CREATE TABLE IF NOT EXISTS sensitivity(method TEXT, outcome TEXT, factor TEXT, index_name TEXT,
    value REAL, conf REAL, note TEXT);
CREATE TABLE IF NOT EXISTS units(run_key TEXT, node TEXT, level TEXT, parent TEXT, name TEXT,
    variable TEXT, value REAL, PRIMARY KEY (run_key, node, variable));
CREATE INDEX IF NOT EXISTS runs_point ON runs(point_id, replication);
CREATE TABLE IF NOT EXISTS warnings(run_key TEXT, message TEXT);
CREATE INDEX IF NOT EXISTS warnings_run ON warnings(run_key);
CREATE TABLE IF NOT EXISTS worker_losses(at TEXT, executor TEXT, worker TEXT, run_key TEXT,
    action TEXT, detail TEXT);
"""
MANIFEST_HINT = (
    "the runs are in results.sqlite: move this file aside (keep it: it holds the earlier "
    "sessions' provenance), and `--resume` writes a new one"
)
"""What to do about a damaged manifest (status and resume say it; the report's reader,
which may not import this module, says the same in its own words)."""

# Tables cleared and rewritten with a run's row when it is stored again.
_RUN_TABLES = ("outcomes", "timeseries", "distributions", "units", "warnings")
# How many problems PRAGMA quick_check lists at most (enough to say where the damage is).
_CHECK_PROBLEMS = 5

# Upper edges (days) of the fixed histogram bins of case resolution times (closed − reported).
# Assumption: hours at the front, a day wide from 1 to 20 days (where the time limits of 1–15
# working days put most cases: a quantile read inside a bin is off by at most its width, and
# 5-day bins put a report's pooled 90th percentile a day from the exact one), wider beyond.
RESOLUTION_BINS_DAYS: tuple[float, ...] = (
    0.05,
    0.125,
    0.25,
    0.5,
    0.75,
    *range(1, 21),
    25,
    30,
    35,
    40,
    45,
    60,
    75,
    90,
    120,
    180,
    270,
    365,
    math.inf,
)


@dataclass(frozen=True)
class RunRecord:
    """One finished run, ready to be stored (made in the worker; small to pickle).

    Attributes:
        run_key: ``f"{point_id}/r{replication:04d}"``.
        point_id, scenario, replication: where the run belongs.
        seed: JSON ``{"root": int, "replication": int}``.
        status: ``'ok'`` or ``'failed'``.
        error: the traceback of a failed run, else None.
        started_at, finished_at: ISO 8601 UTC.
        duration_s: wall time of the run.
        worker: host and process id that ran it.
        summary: outcome name → value (empty when failed).
        timeseries: rows (day, variable, value).
        distributions: rows (variable, bin_upper, count).
        units: rows (node, level, parent, name, variable, value): final backlog and trust per
            unit of the governance network, for small scenarios only (``RunOutput.units``).
        warnings: the run's warnings (``RunOutput.warnings``), e.g. "department transport
            busy 93.0 % of its staff's time, above 90 %: …".
    """

    run_key: str
    point_id: str
    scenario: str
    replication: int
    seed: str
    status: str
    error: str | None
    started_at: str
    finished_at: str
    duration_s: float
    worker: str
    summary: dict[str, float] = field(default_factory=dict)
    timeseries: list[tuple[int, str, float]] = field(default_factory=list)
    distributions: list[tuple[str, float, int]] = field(default_factory=list)
    units: list[tuple[str, str, str | None, str, str, float]] = field(default_factory=list)
    warnings: tuple[str, ...] = ()


def run_key(point_id: str, replication: int) -> str:
    """The primary key of a run: ``f"{point_id}/r{replication:04d}"``."""
    return f"{point_id}/r{replication:04d}"


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _real(value: Any) -> float | None:
    """A value for a REAL column: NaN becomes NULL (SQLite stores NaN as NULL anyway)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


class ResultStore:
    """An open results folder. Use :meth:`prepare` to start or resume, :meth:`open` to read."""

    def __init__(
        self, folder: Path, connection: sqlite3.Connection, lock: FolderLock | None = None
    ) -> None:
        self.folder = folder
        self.connection = connection
        self.lock = lock  # held by a writer (prepare) until close

    # -- opening ---------------------------------------------------------------

    @property
    def database(self) -> Path:
        """Path of the SQLite file."""
        return self.folder / DATABASE

    @property
    def manifest_path(self) -> Path:
        """Path of manifest.json."""
        return self.folder / MANIFEST

    @classmethod
    def prepare(
        cls,
        folder: str | Path,
        *,
        name: str,
        kind: str,
        file_hash: str,
        point_digests: Mapping[str, str],
        resume: bool,
        code: str | None = None,
    ) -> ResultStore:
        """Open ``folder`` for writing an experiment, after checking it is ours to write.

        ``code``: the digest of the code behind a run's results
        (:func:`experiments.code_state.code_digest`), recorded in the folder's meta; None
        leaves it unchecked and unrecorded.

        Raises InputError (before any run) when the folder cannot be created or
        written, another runner holds its lock, it holds something that is not a microgov
        results store, holds another experiment, already holds runs and ``resume`` is
        false, or — on resume — the experiment file, a scenario or the model's code
        changed since the stored runs were made; ResourceError when the database is
        damaged or cannot be written. The returned store holds the folder's lock until
        it is closed.
        """
        folder = Path(folder)
        if resume and not (folder / DATABASE).exists():  # a mistyped folder, or a first run
            logger.warning("%s: no results to resume here; starting the experiment", folder)
        _ensure_writable_folder(folder)
        lock = FolderLock.acquire(folder)
        try:
            return cls._prepare_locked(
                folder,
                lock,
                name=name,
                kind=kind,
                file_hash=file_hash,
                point_digests=point_digests,
                resume=resume,
                code=code,
            )
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _prepare_locked(
        cls,
        folder: Path,
        lock: FolderLock,
        *,
        name: str,
        kind: str,
        file_hash: str,
        point_digests: Mapping[str, str],
        resume: bool,
        code: str | None,
    ) -> ResultStore:
        database = folder / DATABASE
        if not database.exists():
            foreign = sorted(e.name for e in folder.iterdir() if e.name not in _OWN_ENTRIES)
            if foreign:
                shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
                raise InputError(
                    f"{folder}: not a microgov results folder (it holds {shown}); "
                    "choose an empty or new folder with --out"
                )
            store = cls(folder, _connect(database), lock)
            store._create()
            if code is not None:
                store.set_meta({"code_digest": code})
            return store
        store = cls(folder, _open_checked(database, create=True), lock)
        try:
            meta = store.meta()
        except sqlite3.DatabaseError as exc:
            store.close()
            raise InputError(f"{database}: not a microgov results database ({exc})") from None
        if meta.get("schema_version") is None or "name" not in meta:
            store.close()
            raise InputError(
                f"{database}: not a microgov results database (no experiment in its 'meta' table)"
            )
        if meta["name"] != name or meta.get("kind") != kind:
            store.close()
            raise InputError(
                f"{folder}: holds results of {meta.get('kind')} experiment {meta['name']!r}, not of "
                f"{kind} experiment {name!r}; choose another folder with --out"
            )
        store._apply_schema()  # tables added since the store was made
        runs = store.count_runs()
        if meta.get("file_hash") != file_hash:
            store.close()
            # an explanation has no experiment file: its command line makes its experiment
            what, undo = (
                (
                    "the explanation's settings (the reform and reference scenarios, --seed, "
                    "--days, the mechanisms)",
                    "run it with the settings of these results",
                )
                if kind == "explain"
                else ("the experiment file", "restore the file")
            )
            raise InputError(
                f"{folder}: {what} changed since these results were started "
                f"(sha256 {meta.get('file_hash', '?')[:12]}… stored, {file_hash[:12]}… now); "
                f"{undo}, or run the changed experiment into a new folder with --out"
            )
        if runs and not resume:
            store.close()
            raise InputError(
                f"{folder}: already holds {runs} run(s) of experiment {name!r}; "
                "add --resume to continue it, or choose another folder with --out"
            )
        changed = [
            pid
            for pid, digest in store.point_digests().items()
            if pid in point_digests and digest is not None and digest != point_digests[pid]
        ]
        if changed and runs:
            store.close()
            raise InputError(
                f"{folder}: the scenario of point(s) {', '.join(changed[:5])} changed since these results "
                "were started (scenario file edited?); restore it, or use a new folder with --out"
            )
        stored_code = meta.get("code_digest")
        if code is not None and runs and stored_code is not None and stored_code != code:
            store.close()
            raise InputError(
                f"{folder}: the model's code changed since these results were started (code "
                f"digest {str(stored_code)[:12]}… stored, {code[:12]}… now: the model package, "
                f"{', '.join('experiments/' + f for f in RUN_PATH_FILES)}, Python and the "
                f"versions of {', '.join(RUN_PATH_PACKAGES)}; a comment counts too), so "
                "resuming would mix runs of two versions "
                "of the model; go back to that code (the manifest's 'git' and 'packages' name "
                "it), or run the experiment into a new folder with --out"
            )
        if code is not None:  # a folder without runs, or made before the digest was kept
            store.set_meta({"code_digest": code})
        return store

    @classmethod
    def open(cls, folder: str | Path, *, writable: bool = False) -> ResultStore:
        """Open an existing results folder for reading (status, export).

        The database is opened read-only (:func:`_connect_read_only`), so a folder the user
        may only read works, and nothing in it is changed; the store's writing methods fail.
        ``writable=True`` opens it for writing without taking the folder's lock (tests and
        repairs; a runner uses :meth:`prepare`).
        """
        folder = Path(folder)
        database = folder / DATABASE
        if not folder.is_dir():
            raise InputError(f"{folder}: no such results folder")
        if not database.is_file():
            raise InputError(f"{folder}: not a microgov results folder (no {DATABASE})")
        if database.stat().st_size == 0:
            raise EmptyDatabase(
                f"{database}: empty (0 bytes): the experiment stopped before it stored anything "
                "(not even its plan); run it again, into a new folder with --out or here after "
                "removing the folder"
            )
        store = cls(folder, _open_checked(database, create=False, writable=writable))
        try:
            meta = store.meta()
        except sqlite3.DatabaseError as exc:
            store.close()
            raise InputError(f"{database}: not a microgov results database ({exc})") from None
        if "name" not in meta:
            store.close()
            raise InputError(
                f"{database}: not a microgov results database (no experiment in its 'meta' table)"
            )
        return store

    def _create(self) -> None:
        self._apply_schema()
        self.set_meta({"schema_version": SCHEMA_VERSION})

    def _apply_schema(self) -> None:
        """Create the tables that do not exist yet (all of them in a new store)."""
        try:
            self.connection.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            translated = _storage_error(exc, self.database, "creating tables in")
            if translated is None:
                raise
            raise translated from exc

    def close(self) -> None:
        """Close the database connection and release the folder's lock."""
        try:
            self.connection.close()
        finally:
            if self.lock is not None:
                self.lock.release()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """One atomic transaction (BEGIN IMMEDIATE … COMMIT, rolled back on error).

        Raises:
            ResourceError: SQLite could not write (disk full, I/O error, damaged file);
                the transaction was rolled back, earlier ones are kept.
        """
        cur = self.connection.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.DatabaseError as exc:
            translated = _storage_error(exc, self.database, "writing")
            if translated is None:
                raise
            raise translated from exc

    def _rollback(self) -> None:
        # SQLite rolls back by itself after some errors (e.g. SQLITE_FULL): then there is
        # no transaction left, and a failing ROLLBACK must not hide the first error.
        if self.connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.connection.execute("ROLLBACK")

    # -- writing ---------------------------------------------------------------

    def set_meta(self, values: Mapping[str, Any]) -> None:
        """Insert or replace meta keys; non-strings are stored as JSON."""
        rows = [
            (k, v if isinstance(v, str) else json.dumps(v, sort_keys=True))
            for k, v in values.items()
        ]
        with self.transaction() as cur:
            cur.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", rows)

    def write_points(self, rows: Iterable[tuple[str, str, str, str]]) -> None:
        """Insert or replace ``(point_id, scenario, parameters_json, digest)`` rows."""
        with self.transaction() as cur:
            cur.executemany(
                "INSERT OR REPLACE INTO points(point_id, scenario, parameters, digest) VALUES (?, ?, ?, ?)",
                list(rows),
            )

    def record(self, run: RunRecord) -> None:
        """Store one finished run in one transaction (replacing an earlier failed attempt)."""
        key = run.run_key
        with self.transaction() as cur:
            for table in _RUN_TABLES:
                cur.execute(f"DELETE FROM {table} WHERE run_key = ?", (key,))
            cur.execute(
                "INSERT OR REPLACE INTO runs(run_key, point_id, scenario, replication, seed, status, error,"
                " started_at, finished_at, duration_s, worker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    run.point_id,
                    run.scenario,
                    run.replication,
                    run.seed,
                    run.status,
                    run.error,
                    run.started_at,
                    run.finished_at,
                    run.duration_s,
                    run.worker,
                ),
            )
            cur.executemany(
                "INSERT INTO outcomes(run_key, outcome, value) VALUES (?, ?, ?)",
                [(key, name, _real(value)) for name, value in run.summary.items()],
            )
            cur.executemany(
                "INSERT INTO timeseries(run_key, day, variable, value) VALUES (?, ?, ?, ?)",
                [(key, int(day), var, _real(value)) for day, var, value in run.timeseries],
            )
            cur.executemany(
                "INSERT INTO distributions(run_key, variable, bin_upper, count) VALUES (?, ?, ?, ?)",
                [(key, var, float(upper), int(count)) for var, upper, count in run.distributions],
            )
            cur.executemany(
                "INSERT OR REPLACE INTO units(run_key, node, level, parent, name, variable, value)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(key, *row[:5], _real(row[5])) for row in run.units],
            )
            cur.executemany(
                "INSERT INTO warnings(run_key, message) VALUES (?, ?)",
                [(key, str(message)) for message in run.warnings],
            )

    def record_worker_loss(
        self, at: str, executor: str, worker: str, run_keys: Sequence[str], action: str, detail: str
    ) -> None:
        """Store a worker that died or left: one row per run in flight (one row if none)."""
        keys: Sequence[str | None] = list(run_keys) or [None]
        with self.transaction() as cur:
            cur.executemany(
                "INSERT INTO worker_losses(at, executor, worker, run_key, action, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(at, executor, worker, key, action, detail) for key in keys],
            )

    def write_sensitivity(self, table: pd.DataFrame, method: str) -> None:
        """Replace the stored indices of ``method`` with ``table`` (columns as the contract)."""
        columns = ["method", "outcome", "factor", "index_name", "value", "conf"]
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise ValueError(f"sensitivity table lacks column(s) {missing}")
        rows = [
            (
                str(r.method),
                str(r.outcome),
                None if r.factor is None else str(r.factor),
                str(r.index_name),
                _real(r.value),
                _real(r.conf),
                note if isinstance(note, str) and note else None,
            )
            for r, note in zip(
                table[columns].itertuples(index=False),
                table["note"] if "note" in table.columns else [None] * len(table),
                strict=True,
            )
        ]
        with self.transaction() as cur:
            cur.execute("DELETE FROM sensitivity WHERE method = ?", (method,))
            cur.executemany(
                "INSERT INTO sensitivity(method, outcome, factor, index_name, value, conf, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    # -- reading ---------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """All meta keys (values as stored text)."""
        return dict(self.connection.execute("SELECT key, value FROM meta").fetchall())

    def point_digests(self) -> dict[str, str | None]:
        """point_id → stored scenario digest."""
        return dict(self.connection.execute("SELECT point_id, digest FROM points").fetchall())

    def count_runs(self) -> int:
        """How many runs (ok or failed) are stored."""
        return int(self.connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def run_statuses(self) -> dict[str, str]:
        """run_key → status of every stored run."""
        return dict(self.connection.execute("SELECT run_key, status FROM runs").fetchall())

    def runs(self) -> pd.DataFrame:
        """The runs table."""
        return pd.read_sql_query(
            "SELECT * FROM runs ORDER BY point_id, replication", self.connection
        )

    def points(self) -> pd.DataFrame:
        """The points table."""
        return pd.read_sql_query("SELECT * FROM points ORDER BY point_id", self.connection)

    def outcome_table(self, outcomes: Sequence[str] | None = None) -> pd.DataFrame:
        """Successful runs' outcomes, long: run_key, point_id, scenario, replication, outcome, value."""
        query = (
            "SELECT o.run_key, r.point_id, r.scenario, r.replication, o.outcome, o.value FROM outcomes o "
            "JOIN runs r ON r.run_key = o.run_key WHERE r.status = 'ok'"
        )
        params: list[str] = []
        if outcomes is not None:
            query += f" AND o.outcome IN ({', '.join('?' * len(outcomes))})"
            params = list(outcomes)
        frame = pd.read_sql_query(
            query + " ORDER BY r.point_id, r.replication", self.connection, params=params
        )
        frame["value"] = frame["value"].astype(float)
        return frame

    def sensitivity(self) -> pd.DataFrame:
        """The sensitivity table."""
        return pd.read_sql_query("SELECT * FROM sensitivity", self.connection)

    def warnings(self) -> pd.DataFrame:
        """The warnings of every run: run_key, message (empty in stores made before the table)."""
        if not self._has_table("warnings"):
            return pd.DataFrame({"run_key": [], "message": []}, dtype=str)
        return pd.read_sql_query(
            "SELECT run_key, message FROM warnings ORDER BY run_key, rowid", self.connection
        )

    def worker_losses(self) -> pd.DataFrame:
        """Workers that died or left during the experiment (empty in older stores)."""
        columns = ["at", "executor", "worker", "run_key", "action", "detail"]
        if not self._has_table("worker_losses"):
            return pd.DataFrame({c: [] for c in columns}, dtype=str)
        return pd.read_sql_query(
            f"SELECT {', '.join(columns)} FROM worker_losses ORDER BY at, rowid", self.connection
        )

    def _has_table(self, name: str) -> bool:
        found = self.connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return found is not None

    # -- manifest --------------------------------------------------------------

    def read_manifest(self) -> dict[str, Any]:
        """The manifest (empty dict if none yet)."""
        if not self.manifest_path.exists():
            return {}
        try:
            return dict(json.loads(self.manifest_path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise InputError(
                f"{self.manifest_path}: unreadable manifest ({exc}); {MANIFEST_HINT}"
            ) from None

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Write manifest.json atomically (a temporary file renamed over the old one).

        Raises:
            ResourceError: the file cannot be written (e.g. the disk is full); the
                temporary file is removed and the old manifest is left as it was.
        """
        text = json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n"
        try:
            with replaced_whole(self.manifest_path) as tmp:
                tmp.write_text(text, encoding="utf-8")
        except OSError as exc:
            full = " (the disk is full)" if exc.errno == errno.ENOSPC else ""
            raise ResourceError(
                f"{self.manifest_path}: cannot write the manifest: {exc.strerror or exc}{full}; "
                "the runs in the database are kept"
            ) from exc


def _connect(database: Path, create: bool = True, writable: bool = True) -> sqlite3.Connection:
    """A writer's connection (WAL mode; ``create=False``: of an existing file), or with
    ``writable=False`` a reader's (:func:`_connect_read_only`)."""
    if not writable:
        return _connect_read_only(database)
    try:
        if create:
            connection = sqlite3.connect(database, timeout=60, isolation_level=None)
        else:
            connection = sqlite3.connect(
                f"{database.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=60,
                isolation_level=None,
            )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.OperationalError as exc:
        translated = _storage_error(exc, database, "opening")
        if translated is None:
            raise
        raise translated from exc
    return connection


# SQLite's answers when a WAL reader cannot make the database's shared-memory index (-shm).
_NO_SHARED_MEMORY = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)


def _connect_read_only(database: Path) -> sqlite3.Connection:
    """A connection that can only read (``mode=ro``), for status and export.

    A reader of a WAL database needs its ``-shm`` index, which SQLite makes (with an empty
    ``-wal``) beside the file when it can. In a folder the user may not write it cannot, and
    the first read fails (``SQLITE_READONLY_DIRECTORY``, ``SQLITE_CANTOPEN``); then the file
    is opened ``immutable=1`` (no index, no locks), which is safe only when every committed
    transaction is in the file itself: when no ``-wal`` file with content lies beside it (a
    runner writing now, or one killed before it merged its log, leaves one). Otherwise
    the error says so. The one risk left: a writer with more rights starting while this
    reads (docs/design.md "Results read back"). ``analysis.results`` reads the same way
    for the report, in its own words: analysis and experiments may not import each other.

    Raises:
        ResourceError: the folder is read-only and the database's log holds transactions a
            reader cannot merge, or the file cannot be read at all.
        sqlite3.DatabaseError: the file is not an SQLite database (the caller says so).
    """
    uri = database.resolve().as_uri()
    if not os.access(database, os.R_OK):
        raise ResourceError(
            f"{database}: cannot read the results database (permission denied); ask for read "
            "access to the folder and its files"
        )
    connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60, isolation_level=None)
    try:
        connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # opens the WAL index
        return connection
    except sqlite3.OperationalError as exc:
        connection.close()
        if _primary_code(exc) not in _NO_SHARED_MEMORY:
            raise
        reason = str(exc)
    wal = database.with_name(f"{database.name}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ResourceError(
            f"{database}: cannot read the results database in this read-only folder: its log "
            f"{wal.name} holds transactions not yet merged into it, which a reader cannot "
            f"merge without writing (SQLite: {reason}); copy the folder with all its files "
            "somewhere writable and read the copy, or have its owner resume the experiment"
        )
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=60, isolation_level=None)


def _open_checked(database: Path, *, create: bool, writable: bool = True) -> sqlite3.Connection:
    """Connect to an existing database and check it (``PRAGMA quick_check``) before use.

    Raises:
        InputError: the file is not an SQLite database at all.
        ResourceError: it is damaged (the message lists what SQLite found and what to do).
    """
    try:
        connection = _connect(database, create=create, writable=writable)
    except sqlite3.DatabaseError as exc:
        if _is_damage(exc):
            raise _damaged(database, [str(exc)]) from None
        raise InputError(f"{database}: not a microgov results database ({exc})") from None
    try:
        problems = [
            str(row[0])
            for row in connection.execute(f"PRAGMA quick_check({_CHECK_PROBLEMS})").fetchall()
        ]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        connection.close()
        raise _damaged(database, problems)
    return connection


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF  # extended codes keep it in the low byte


def _is_damage(exc: sqlite3.Error) -> bool:
    return _primary_code(exc) == sqlite3.SQLITE_CORRUPT or "malformed" in str(exc)


def _damaged(database: Path, problems: Sequence[str]) -> DamagedDatabase:
    lines = [
        line.strip()
        for problem in problems
        for line in problem.splitlines()
        if line.strip() and not line.startswith("***")  # "*** in database main ***"
    ]
    shown = "; ".join(lines[:_CHECK_PROBLEMS]) or "unknown damage"
    return DamagedDatabase(
        f"{database}: the results database is damaged (SQLite integrity check: {shown}). "
        "The database was not changed (a reader may leave SQLite's -shm and -wal index files "
        "beside it). What to do: move the folder aside and run the experiment again "
        "into a new folder with --out (the seeds are fixed, so every run comes out the same); "
        "to save the readable rows first, use the sqlite3 shell: "
        f"sqlite3 {database} .dump | sed '$s/^ROLLBACK; -- due to errors$/COMMIT;/' | "
        "sqlite3 recovered.sqlite (.dump stops at the damage and rolls back what it read: the "
        "sed keeps it; a shell built with .recover saves more: "
        f"sqlite3 {database} .recover | sqlite3 recovered.sqlite)"
    )


def _storage_error(exc: sqlite3.Error, database: Path, doing: str) -> ResourceError | None:
    """SQLite's own error about the disk or the file, said plainly with what to do; None for
    any other error (a bug must keep its traceback)."""
    code = _primary_code(exc)
    text = str(exc)
    if code == sqlite3.SQLITE_FULL or "disk is full" in text:
        return ResourceError(
            f"{database}: the disk is full (SQLite: {text}) while {doing} the results "
            f"database; the runs stored before are kept. Free space on the disk of "
            f"{database.parent} and continue with --resume"
        )
    if _is_damage(exc):
        return _damaged(database, [text])
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return ResourceError(
            f"{database}: cannot write the results database (SQLite: {text}); make the folder "
            "and its files writable, then continue with --resume"
        )
    if code == sqlite3.SQLITE_IOERR or "disk I/O error" in text:
        return ResourceError(
            f"{database}: the disk failed while {doing} the results database (SQLite: {text}); "
            "the runs stored before are kept: check the disk and continue with --resume"
        )
    return None


def _ensure_writable_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise InputError(
            f"{folder}: exists and is not a folder; choose a results folder with --out"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{folder}: cannot create the results folder ({exc.strerror or exc})"
        ) from None
    probe = folder / f".write-test-{uuid.uuid4().hex}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(
            f"{folder}: the results folder is not writable ({exc.strerror or exc})"
        ) from None


# ---------------------------------------------------------------------------
# Manifest facts
# ---------------------------------------------------------------------------

_PACKAGES = (
    "microgov",
    "mesa",
    "numpy",
    "pandas",
    "scipy",
    "networkx",
    "pydantic",
    "SALib",
    "dask",
    "distributed",
    "pyarrow",
    "tqdm",
)


def package_versions() -> dict[str, str | None]:
    """Installed versions of Python and the packages a result depends on."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(start: Path | None = None) -> dict[str, Any]:
    """Commit and dirty flag of the source tree (read-only git commands; None outside a repo)."""
    here = start or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            [
                "git",
                "--no-optional-locks",
                "-C",
                str(here),
                "status",
                "--porcelain",
                "--untracked-files=no",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(status.strip())}


def machine_facts() -> dict[str, Any]:
    """Host, platform and CPU facts for the manifest."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = None
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": cpus,
        "python": sys.version.split()[0],
        "user": user,
    }


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
