"""Read one results folder (docs/design.md "experiments → results store").

A results folder holds ``results.sqlite`` (tables ``meta``, ``points``, ``runs``,
``outcomes``, ``timeseries``, ``distributions``, ``sensitivity``), ``manifest.json``
and ``exports/``. This module only reads: the database is opened read-only, so a
report can be written while a sweep is still adding runs.

Example:
    >>> results = load_results("results/compare_reforms")  # doctest: +SKIP
    >>> wide = results.outcomes(wide=True)  # one row per run, one column per outcome
"""

from __future__ import annotations

import json
import logging
import shlex
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

DATABASE_NAME = "results.sqlite"
MANIFEST_NAME = "manifest.json"

# Tables and the columns analysis reads from each (docs/design.md).
SCHEMA: dict[str, tuple[str, ...]] = {
    "meta": ("key", "value"),
    "points": ("point_id", "scenario", "parameters"),
    "runs": (
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
    ),
    "outcomes": ("run_key", "outcome", "value"),
    "timeseries": ("run_key", "day", "variable", "value"),
    "distributions": ("run_key", "variable", "bin_upper", "count"),
    "sensitivity": ("method", "outcome", "factor", "index_name", "value", "conf"),
}

# Columns identifying a run in every per-run DataFrame this module returns.
RUN_COLUMNS: tuple[str, ...] = ("run_key", "point_id", "scenario", "replication")

# Meta keys written by experiments/store.py; the alternatives are accepted so that a
# renamed key does not silently drop the reference scenario (assumption: first match wins).
_META_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "experiment", "experiment_name"),
    "kind": ("kind", "experiment_kind"),
    "reference": ("reference", "reference_scenario"),
    "outcomes": ("outcomes", "outcomes_of_interest"),
    "method": ("method", "sensitivity_method"),
    "description": ("description",),
}


class ResultsError(Exception):
    """A folder or database that cannot be read as results; the message says what and where."""


# Experiment kinds resumed by `microgov <kind> EXPERIMENT_FILE --out DIR --resume`.
_FILE_KINDS = ("compare", "sweep", "sensitivity", "calibrate")
_EXPLAIN_RECORD = "# microgov explain "  # the command line in an explain's record (manifest)


@dataclass(frozen=True)
class RunProgress:
    """How far an experiment got: the runs its plan holds against the runs stored.

    The plan is the stored ``replications`` (meta; a precision target may have raised it)
    × the stored points; runs neither ok nor failed are *not run*, and an experiment with
    runs not run is unfinished. ``microgov status``, ``export`` and ``report`` all count
    with :func:`run_progress` (docs/design.md "Unfinished experiments say so").

    Attributes:
        replications: replications per point in the plan.
        points: points in the plan.
        ok, failed: stored runs by status.
        points_without_runs: points with no successful run, in stored order.
    """

    replications: int
    points: int
    ok: int
    failed: int
    points_without_runs: tuple[str, ...] = ()

    @property
    def planned(self) -> int:
        """Runs in the plan: replications × points."""
        return self.replications * self.points

    @property
    def not_run(self) -> int:
        """Planned runs with no stored row (neither ok nor failed)."""
        return max(0, self.planned - self.ok - self.failed)

    @property
    def unfinished(self) -> bool:
        """Whether some planned runs were never made."""
        return self.not_run > 0

    def counts_text(self) -> str:
        """'1 of 32 planned runs stored (1 ok, 0 failed; 31 not run)'."""
        return (
            f"{self.ok + self.failed:,} of {self.planned:,} planned runs stored "
            f"({self.ok:,} ok, {self.failed:,} failed; {self.not_run:,} not run)"
        )


def run_progress(
    meta: Mapping[str, Any], point_ids: Iterable[str], runs: Iterable[tuple[str, str]]
) -> RunProgress:
    """The :class:`RunProgress` of a store from its meta table (text or decoded values), its
    point ids and its runs as ``(point_id, status)`` pairs."""
    points = list(dict.fromkeys(str(p) for p in point_ids))
    try:
        replications = int(meta.get("replications") or meta.get("replications_initial") or 0)
    except (TypeError, ValueError):  # a damaged meta value: no plan to compare with
        replications = 0
    ok = failed = 0
    succeeded: set[str] = set()
    for point_id, status in runs:
        if status == "ok":
            ok += 1
            succeeded.add(str(point_id))
        elif status == "failed":
            failed += 1
    return RunProgress(
        replications=replications,
        points=len(points),
        ok=ok,
        failed=failed,
        points_without_runs=tuple(p for p in points if p not in succeeded),
    )


def resume_command(
    meta: Mapping[str, Any], manifest: Mapping[str, Any], folder: str | Path
) -> str | None:
    """The command that continues the experiment of ``folder`` (None when the folder does not
    record how it was run): ``microgov <kind> <experiment file> --out <folder> --resume``, or
    an explain's own command line with ``--out <folder> --resume``."""
    kind = str(meta.get("kind") or "")
    experiment = manifest.get("experiment")
    experiment = experiment if isinstance(experiment, Mapping) else {}
    out = f"--out {shlex.quote(str(folder))} --resume"
    if kind in _FILE_KINDS:
        file = experiment.get("file") or meta.get("experiment_file")
        return f"microgov {kind} {shlex.quote(str(file))} {out}" if file else None
    if kind == "explain":
        text = experiment.get("text")
        for line in str(text or "").splitlines():
            if line.startswith(_EXPLAIN_RECORD):
                return f"{line[2:].strip()} {out}"
    return None


def load_results(path: str | Path) -> Results:
    """Open the results folder at ``path`` (or the ``results.sqlite`` inside it).

    Raises:
        ResultsError: the path is missing, not a results folder, or lacks a table.
    """
    return Results(path)


def _decode(value: Any) -> Any:
    """A meta value as JSON when it is JSON, else the stored text."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (json.JSONDecodeError, ValueError):
        return value


class Results:
    """One experiment's stored results, read on demand as pandas DataFrames.

    Attributes:
        folder: the results folder.
        database: its SQLite file.
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if path.is_file() and path.name == DATABASE_NAME:
            path = path.parent
        if not path.exists():
            raise ResultsError(f"{path}: no such results folder")
        if not path.is_dir():
            raise ResultsError(
                f"{path}: not a results folder (expected a folder holding {DATABASE_NAME} "
                f"and {MANIFEST_NAME}, as written by `microgov compare|sweep|sensitivity`)"
            )
        database = path / DATABASE_NAME
        if not database.is_file():
            raise ResultsError(
                f"{path}: not a results folder: {DATABASE_NAME} is missing "
                f"(a results folder is written by `microgov compare|sweep|sensitivity`)"
            )
        self.folder = path
        self.database = database
        self._check_schema()

    def __repr__(self) -> str:
        return f"Results({str(self.folder)!r})"

    # ------------------------------------------------------------------ database access
    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(self._read_only_uri, uri=True)
        except sqlite3.Error as error:
            raise ResultsError(f"{self.database}: cannot open the database ({error})") from error

    @cached_property
    def _read_only_uri(self) -> str:
        """``mode=ro``, or ``mode=ro&immutable=1`` when a reader cannot make the WAL index.

        A reader of a WAL database needs its ``-shm`` index, which SQLite makes beside the
        file when it can; in a folder the user may not write it cannot, and the first read
        fails. The file is then read ``immutable=1`` (no index, no locks), which is safe only
        when no ``-wal`` file with content lies beside it (the store's reader does the same:
        experiments/store.py ``_connect_read_only``; docs/design.md "Results read back").
        """
        uri = f"{self.database.resolve().as_uri()}?mode=ro"
        try:
            connection = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as error:
            raise ResultsError(f"{self.database}: cannot open the database ({error})") from error
        try:
            connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return uri
        except sqlite3.OperationalError as error:
            code = getattr(error, "sqlite_errorcode", 0) & 0xFF
            if code not in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
                return uri  # not about the index: the schema check says what it is
            reason = str(error)
        except sqlite3.DatabaseError:
            return uri  # not a database: the schema check says so
        finally:
            connection.close()
        wal = self.database.with_name(f"{self.database.name}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise ResultsError(
                f"{self.database}: cannot read the results database in this read-only folder: "
                f"its log {wal.name} holds transactions not yet merged into it, which a reader "
                f"cannot merge without writing (SQLite: {reason}); copy the folder with all its "
                "files somewhere writable and read the copy"
            )
        return f"{uri}&immutable=1"

    def _query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        connection = self._connect()
        try:
            return pd.read_sql_query(sql, connection, params=list(params))
        except (sqlite3.Error, pd.errors.DatabaseError) as error:
            raise ResultsError(f"{self.database}: cannot read ({error})") from error
        finally:
            connection.close()

    def _check_schema(self) -> None:
        connection = self._connect()
        try:
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall()
            tables = {row[0] for row in rows}
            missing = [table for table in SCHEMA if table not in tables]
            if missing:
                raise ResultsError(
                    f"{self.database}: not a microgov results database: missing table(s) "
                    f"{', '.join(missing)} (expected {', '.join(SCHEMA)}; see docs/design.md)"
                )
            for table, columns in SCHEMA.items():
                present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                absent = [column for column in columns if column not in present]
                if absent:
                    raise ResultsError(
                        f"{self.database}: table {table} lacks column(s) {', '.join(absent)} "
                        f"(expected {', '.join(columns)}; see docs/design.md)"
                    )
        except sqlite3.DatabaseError as error:
            raise ResultsError(
                f"{self.database}: not an SQLite results database ({error})"
            ) from error
        finally:
            connection.close()

    # ------------------------------------------------------------------ experiment facts
    @cached_property
    def meta(self) -> dict[str, Any]:
        """The ``meta`` table as a dict; JSON values are decoded."""
        frame = self._query("SELECT key, value FROM meta")
        return {
            str(key): _decode(value)
            for key, value in zip(frame["key"], frame["value"], strict=True)
        }

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """``manifest.json`` as a dict ({} with a logged warning when absent)."""
        path = self.folder / MANIFEST_NAME
        if not path.is_file():
            logger.warning("%s: no %s; manifest facts will be missing", self.folder, MANIFEST_NAME)
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ResultsError(
                f"{path}: not a readable JSON manifest ({error}); the runs are in "
                "results.sqlite: move this file aside (keep it: it holds the earlier sessions' "
                "provenance), and `microgov report` reads the folder without it"
            ) from error
        if not isinstance(data, dict):
            raise ResultsError(
                f"{path}: the manifest must be a JSON object, got {type(data).__name__}"
            )
        return data

    def meta_value(self, key: str, default: Any = None) -> Any:
        """A meta value by its canonical name (``name``, ``kind``, ``reference``, ``outcomes``…).

        Looks in ``meta`` first (under the known spellings), then at the top of the manifest
        and in its ``experiment`` block.
        """
        names = _META_ALIASES.get(key, (key,))
        for name in names:
            if name in self.meta and self.meta[name] not in (None, ""):
                return self.meta[name]
        experiment = self.manifest.get("experiment")
        for source in (self.manifest, experiment if isinstance(experiment, dict) else {}):
            for name in names:
                value = source.get(name)
                if value not in (None, "") and not isinstance(value, dict):
                    return value
        return default

    @property
    def name(self) -> str:
        """The experiment's name (the folder name when not stored)."""
        return str(self.meta_value("name", self.folder.name))

    @property
    def kind(self) -> str:
        """The experiment kind: ``compare``, ``sweep`` or ``sensitivity`` (``unknown`` if unset)."""
        return str(self.meta_value("kind", "unknown"))

    @property
    def reference(self) -> str | None:
        """The reference scenario of a compare experiment (None when not stored)."""
        value = self.meta_value("reference")
        return None if value is None else str(value)

    @property
    def outcomes_of_interest(self) -> list[str]:
        """Outcomes named by the experiment file; all stored outcomes when none are named."""
        value = self.meta_value("outcomes")
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        stored = self.outcome_names()
        if not value:
            return stored
        chosen = [str(name) for name in value]
        unknown = [name for name in chosen if name not in stored]
        if unknown and stored:
            logger.warning(
                "%s: outcomes of interest not stored: %s", self.folder, ", ".join(unknown)
            )
        return [name for name in chosen if name in stored] or stored

    def progress(self) -> RunProgress:
        """Planned runs against stored runs (:func:`run_progress`), read once: a report asks
        for it in its warning, its runs table and its answer box."""
        return self._progress

    @cached_property
    def _progress(self) -> RunProgress:
        runs = self._query("SELECT point_id, status FROM runs")
        return run_progress(
            self.meta,
            self._points["point_id"],
            zip(runs["point_id"], runs["status"], strict=True),
        )

    def resume_command(self) -> str | None:
        """The command that continues this experiment (:func:`resume_command`)."""
        return resume_command(self.meta, self.manifest, self.folder)

    # ------------------------------------------------------------------ tables
    @cached_property
    def _points(self) -> pd.DataFrame:
        frame = self._query("SELECT point_id, scenario, parameters FROM points ORDER BY rowid")
        parsed = []
        for point_id, text in zip(frame["point_id"], frame["parameters"], strict=True):
            value = _decode(text) if text is not None else {}
            if not isinstance(value, dict):
                raise ResultsError(
                    f"{self.database}: points.parameters of {point_id!r} "
                    f"is not a JSON object: {text!r}"
                )
            parsed.append(value)
        frame["parameters"] = parsed
        return frame

    def points(self) -> pd.DataFrame:
        """Points (point_id, scenario, parameters as dict) in stored order."""
        return self._points.copy()

    def point_parameters(self) -> pd.DataFrame:
        """One row per point: ``point_id``, ``scenario`` and one column per overridden field."""
        points = self._points
        values = pd.DataFrame(list(points["parameters"]), index=points.index)
        return pd.concat([points[["point_id", "scenario"]], values], axis=1)

    def factors(self) -> list[str]:
        """Dotted fields that vary between points (sweep and sensitivity factors)."""
        table = self.point_parameters().drop(columns=["point_id", "scenario"])
        return [
            column
            for column in table.columns
            if table[column].astype(str).nunique(dropna=False) > 1
        ]

    def scenarios(self) -> list[str]:
        """Scenario names in stored order, the reference scenario first."""
        names = list(dict.fromkeys(self._points["scenario"]))
        if not names:
            names = list(dict.fromkeys(self.runs()["scenario"]))
        reference = self.reference
        if reference in names:
            names.remove(reference)
            names.insert(0, reference)
        return names

    def runs(self) -> pd.DataFrame:
        """Every run row (ok and failed), ordered by point and replication."""
        columns = ", ".join(SCHEMA["runs"])
        return self._query(
            f"SELECT {columns} FROM runs ORDER BY "
            "(SELECT rowid FROM points WHERE points.point_id = runs.point_id), point_id, replication"
        )

    def failed_runs(self) -> pd.DataFrame:
        """Runs with status other than ``ok``, with their error text."""
        runs = self.runs()
        return runs[runs["status"] != "ok"].reset_index(drop=True)

    def outcome_names(self) -> list[str]:
        """Names of the stored outcomes, sorted."""
        frame = self._query("SELECT DISTINCT outcome FROM outcomes ORDER BY outcome")
        return [str(name) for name in frame["outcome"]]

    def outcomes(
        self,
        wide: bool = False,
        outcomes: Iterable[str] | None = None,
        include_failed: bool = False,
    ) -> pd.DataFrame:
        """Outcomes of the runs.

        Args:
            wide: one row per run and one column per outcome; else tidy (one row per
                run × outcome with columns run_key, point_id, scenario, replication,
                outcome, value).
            outcomes: only these outcomes (all when None).
            include_failed: keep rows of runs whose status is not ``ok``.
        """
        sql = (
            "SELECT r.run_key, r.point_id, r.scenario, r.replication, o.outcome, o.value "
            "FROM outcomes o JOIN runs r ON r.run_key = o.run_key "
            "LEFT JOIN points p ON p.point_id = r.point_id"
        )
        params: list[Any] = []
        clauses = []
        if not include_failed:
            clauses.append("r.status = 'ok'")
        if outcomes is not None:
            names = list(outcomes)
            if not names:
                clauses.append("0")
            else:
                clauses.append(f"o.outcome IN ({', '.join('?' * len(names))})")
                params.extend(names)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY p.rowid, r.point_id, r.replication, o.outcome"  # points' stored order
        tidy = self._query(sql, params)
        tidy["value"] = pd.to_numeric(tidy["value"], errors="coerce").astype(float)
        if not wide:
            return tidy
        if tidy.empty:
            return pd.DataFrame(columns=list(RUN_COLUMNS))
        table = tidy.pivot(index=list(RUN_COLUMNS), columns="outcome", values="value")
        table.columns.name = None
        table = table.reset_index()
        order = {key: i for i, key in enumerate(dict.fromkeys(tidy["run_key"]))}
        table = table.sort_values("run_key", key=lambda keys: keys.map(order), kind="stable")
        return table.reset_index(drop=True)  # runs in stored point order, not alphabetical

    def timeseries(self, variables: Iterable[str] | None = None) -> pd.DataFrame:
        """Daily variables of ok runs, tidy: run columns, ``day``, ``variable``, ``value``."""
        sql = (
            "SELECT r.run_key, r.point_id, r.scenario, r.replication, t.day, t.variable, t.value "
            "FROM timeseries t JOIN runs r ON r.run_key = t.run_key "
            "LEFT JOIN points p ON p.point_id = r.point_id WHERE r.status = 'ok'"
        )
        params: list[Any] = []
        if variables is not None:
            names = list(variables)
            sql += f" AND t.variable IN ({', '.join('?' * len(names))})" if names else " AND 0"
            params.extend(names)
        frame = self._query(
            sql + " ORDER BY p.rowid, r.point_id, r.replication, t.variable, t.day", params
        )
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
        return frame

    def timeseries_variables(self) -> list[str]:
        """Names of the stored daily variables."""
        frame = self._query("SELECT DISTINCT variable FROM timeseries ORDER BY variable")
        return [str(name) for name in frame["variable"]]

    def distributions(self, variable: str | None = None) -> pd.DataFrame:
        """Histograms of ok runs: run columns, ``variable``, ``bin_upper``, ``count``."""
        sql = (
            "SELECT r.run_key, r.point_id, r.scenario, r.replication, d.variable, d.bin_upper, "
            "d.count FROM distributions d JOIN runs r ON r.run_key = d.run_key "
            "LEFT JOIN points p ON p.point_id = r.point_id WHERE r.status = 'ok'"
        )
        params: list[Any] = []
        if variable is not None:
            sql += " AND d.variable = ?"
            params.append(variable)
        frame = self._query(
            sql + " ORDER BY p.rowid, r.point_id, r.replication, d.variable, d.bin_upper", params
        )
        frame["bin_upper"] = pd.to_numeric(frame["bin_upper"], errors="coerce").astype(float)
        frame["count"] = pd.to_numeric(frame["count"], errors="coerce").fillna(0).astype("int64")
        return frame

    def distribution_variables(self) -> list[str]:
        """Names of the stored histograms."""
        frame = self._query("SELECT DISTINCT variable FROM distributions ORDER BY variable")
        return [str(name) for name in frame["variable"]]

    def sensitivity(self) -> pd.DataFrame:
        """The ``sensitivity`` table: method, outcome, factor, index_name, value, conf."""
        frame = self._query(
            "SELECT method, outcome, factor, index_name, value, conf "
            "FROM sensitivity ORDER BY rowid"
        )
        for column in ("value", "conf"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
        return frame

    def table_names(self) -> list[str]:
        """Every table in the database (the contract's and any added by the store)."""
        frame = self._query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        return [str(name) for name in frame["name"]]

    def sensitivity_noise(self) -> pd.DataFrame:
        """Seed noise per outcome of a sensitivity experiment (``sensitivity_noise`` table).

        An addition to the contract written by experiments/runner.py: columns outcome, points,
        replications, within_variance, between_variance, noise_share,
        noise_share_of_point_means, note. Empty when the table is absent.
        """
        if "sensitivity_noise" not in self.table_names():
            return pd.DataFrame()
        return self._query("SELECT * FROM sensitivity_noise ORDER BY rowid")

    def units(self) -> pd.DataFrame:
        """Per-unit values of ok runs from the optional ``units`` table (proposed addition).

        Proposed schema: ``units(run_key, node, level, parent, name, variable, value)`` with
        ``node`` / ``parent`` written ``"level:index"`` (parent NULL for the centre) and
        ``variable`` ``backlog`` or ``trust`` (GovernanceModel.unit_values at the end of the
        run). Returns run columns plus those; empty when the table is absent.
        """
        if "units" not in self.table_names():
            return pd.DataFrame()
        return self._query(
            "SELECT r.run_key, r.point_id, r.scenario, r.replication, u.node, u.level, u.parent, "
            "u.name, u.variable, u.value FROM units u JOIN runs r ON r.run_key = u.run_key "
            "LEFT JOIN points p ON p.point_id = r.point_id "
            "WHERE r.status = 'ok' ORDER BY p.rowid, r.point_id, r.replication, u.variable, u.rowid"
        )

    def scenario_descriptions(self) -> dict[str, dict[str, Any]]:
        """What the manifest says about each scenario (file, hash, raw TOML, parameters).

        Accepts ``manifest["scenarios"]`` as a mapping ``name → dict | str`` or as a list of
        dicts with a ``name`` key; a plain string value is taken as the scenario's digest.
        """
        raw = self.manifest.get("scenarios")
        if raw is None:
            raw = self.meta.get("scenarios")
        described: dict[str, dict[str, Any]] = {}
        if isinstance(raw, dict):
            items = list(raw.items())
        elif isinstance(raw, list):
            items = [(str(entry.get("name")), entry) for entry in raw if isinstance(entry, dict)]
        else:
            items = []
        for name, entry in items:
            described[str(name)] = dict(entry) if isinstance(entry, dict) else {"digest": entry}
        return described
