"""Export a results folder to CSV and Parquet for pandas users (``microgov export DIR``).

Tidy tables, written to ``DIR/exports/``:

- ``outcomes``: one row per successful run × outcome — ``run_key, point_id,
  scenario, replication, outcome, value`` plus one column per point parameter
  (named by its dotted field, e.g. ``departments.urban_management.staff_per_100k_residents``).
- ``runs``: one row per run (ok or failed, with the traceback) plus the parameter columns.
- ``timeseries``: one row per run × day × variable — ``run_key, point_id, scenario,
  replication, day, variable, value``.
- ``distributions``: resolution-time histograms, one row per run × variable × bin.
- ``points``: one row per point with its parameter columns and scenario digest.
- ``units``: final backlog and trust per unit of the governance network (small
  scenarios only; see ``model.outcomes.RunOutput.units``).
- ``sensitivity``: the stored indices (sensitivity experiments only).

With ``wide=True`` (``microgov export DIR --wide``) one more table is written beside
these:

- ``outcomes_wide``: one row per successful run, the layout ``mesa.batch_run`` and
  NetLogo BehaviorSpace users expect — ``run_key, point_id, scenario, replication,
  seed_root``, then one column per point parameter (dotted field, as above), then one
  column per outcome (the model's outcome order, then any others alphabetically). The
  run's seed is ``numpy.random.SeedSequence(seed_root, spawn_key=(replication,))``, so
  ``seed_root`` and ``replication`` together identify it. Failed runs are left out, as
  in ``outcomes``; ``runs`` lists them.

An export leaves only its own files in ``DIR/exports/``: the files an earlier export
wrote (by their names, :data:`EXPORT_TABLES` × :data:`FORMATS`) that this one does not
rewrite are removed, so an old ``outcomes.parquet`` of a partial experiment never sits
beside a fresh ``outcomes.csv``; any other file there is left alone.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.atomic_files import replaced_whole
from experiments.errors import InputError
from experiments.store import EXPORTS, ResultStore
from model.outcomes import OUTCOME_NAMES

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("csv", "parquet")
WIDE_TABLE = "outcomes_wide"
# Every table an export can write (some only when there is something to put in them).
EXPORT_TABLES: tuple[str, ...] = (
    "outcomes",
    "runs",
    "timeseries",
    "distributions",
    "points",
    "units",
    "sensitivity",
    WIDE_TABLE,
)
# Columns that identify a run in the wide table, before the parameters and outcomes.
WIDE_RUN_COLUMNS: tuple[str, ...] = ("run_key", "point_id", "scenario", "replication", "seed_root")


def _scalar(value: Any) -> Any:
    """Parameter values that are tables or lists become JSON text (Parquet needs one type)."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True)
    return value


def parameter_columns(points: pd.DataFrame) -> pd.DataFrame:
    """``point_id`` plus one column per dotted parameter of the points table."""
    records = []
    for point_id, text in zip(points["point_id"], points["parameters"], strict=True):
        values = json.loads(text) if text else {}
        records.append({"point_id": point_id, **{k: _scalar(v) for k, v in values.items()}})
    frame = pd.DataFrame.from_records(records, columns=None)
    if frame.empty:
        return pd.DataFrame({"point_id": pd.Series(dtype=str)})
    return frame


def wide_outcomes(outcomes: pd.DataFrame, runs: pd.DataFrame, params: pd.DataFrame) -> pd.DataFrame:
    """One row per run: run columns, parameter columns, one column per outcome.

    Args:
        outcomes: the long ``outcomes`` table (``run_key``, ``outcome``, ``value``, …).
        runs: the ``runs`` table (for the seed of each run).
        params: :func:`parameter_columns` of the points.
    """
    ok = runs[runs["status"] == "ok"]
    seeds = ok["seed"].map(lambda text: json.loads(text)["root"] if text else None)
    frame = pd.DataFrame(
        {
            "run_key": ok["run_key"],
            "point_id": ok["point_id"],
            "scenario": ok["scenario"],
            "replication": ok["replication"].astype("int64"),
            "seed_root": seeds.astype("Int64"),
        }
    )
    frame = frame.merge(params, on="point_id", how="left")
    parameters = set(params.columns) - {"point_id"}
    clash = sorted(parameters & (set(outcomes["outcome"]) | set(WIDE_RUN_COLUMNS)))
    if clash:
        raise InputError(
            f"point parameter(s) {', '.join(clash)} share a name with an outcome or run column; "
            "the wide table cannot hold both"
        )
    if not outcomes.empty:
        values = outcomes.pivot(index="run_key", columns="outcome", values="value")
        known = [name for name in OUTCOME_NAMES if name in values.columns]
        values = values[known + sorted(set(values.columns) - set(known))]
        values.columns.name = None
        frame = frame.merge(values.reset_index(), on="run_key", how="inner")
    return frame.reset_index(drop=True)  # the runs table's order: point, then replication


def load_tables(folder: str | Path, wide: bool = False) -> dict[str, pd.DataFrame]:
    """Every export table of a results folder as DataFrames (nothing written).

    ``wide`` adds the ``outcomes_wide`` table (one row per run; see the module docstring).
    """
    with ResultStore.open(folder) as store:
        con = store.connection
        points = store.points()
        params = parameter_columns(points)
        store_runs = store.runs()
        runs = store_runs.merge(params, on="point_id", how="left")
        outcomes = pd.read_sql_query(
            "SELECT o.run_key, r.point_id, r.scenario, r.replication, o.outcome, o.value "
            "FROM outcomes o JOIN runs r ON r.run_key = o.run_key WHERE r.status = 'ok' "
            "ORDER BY r.point_id, r.replication, o.outcome",
            con,
        ).merge(params, on="point_id", how="left")
        outcomes["value"] = outcomes["value"].astype(float)
        timeseries = pd.read_sql_query(
            "SELECT t.run_key, r.point_id, r.scenario, r.replication, t.day, t.variable, t.value "
            "FROM timeseries t JOIN runs r ON r.run_key = t.run_key "
            "ORDER BY r.point_id, r.replication, t.day, t.variable",
            con,
        )
        timeseries["value"] = timeseries["value"].astype(float)
        distributions = pd.read_sql_query(
            "SELECT d.run_key, r.point_id, r.scenario, r.replication, d.variable, d.bin_upper, d.count "
            "FROM distributions d JOIN runs r ON r.run_key = d.run_key "
            "ORDER BY r.point_id, r.replication, d.variable, d.bin_upper",
            con,
        )
        tables = {
            "outcomes": outcomes,
            "runs": runs,
            "timeseries": timeseries,
            "distributions": distributions,
            "points": points.drop(columns=["parameters"]).merge(params, on="point_id", how="left"),
        }
        has_units = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'units'"
        ).fetchone()
        units = (
            pd.read_sql_query(
                "SELECT u.run_key, r.point_id, r.scenario, r.replication, u.node, u.level, "
                "u.parent, u.name, u.variable, u.value FROM units u "
                "JOIN runs r ON r.run_key = u.run_key "
                "ORDER BY r.point_id, r.replication, u.node, u.variable",
                con,
            )
            if has_units
            else pd.DataFrame()
        )
        if not units.empty:
            tables["units"] = units
        sensitivity = store.sensitivity()
        if not sensitivity.empty:
            tables["sensitivity"] = sensitivity
    if wide:
        tables[WIDE_TABLE] = wide_outcomes(outcomes, store_runs, params)
    return tables


@dataclass(frozen=True)
class ExportReport:
    """What :func:`write_exports` did.

    Attributes:
        folder: the exports folder.
        written: the files written, table by table.
        removed: files of an earlier export that this one did not rewrite, removed.
    """

    folder: Path
    written: tuple[Path, ...]
    removed: tuple[Path, ...]


def export_results(
    folder: str | Path, formats: Sequence[str] = FORMATS, wide: bool = False
) -> list[Path]:
    """Write every table of ``folder`` to ``folder/exports/`` in the given formats; return the
    files written (:func:`write_exports` also says which earlier files it removed)."""
    return list(write_exports(folder, formats, wide=wide).written)


def write_exports(
    folder: str | Path, formats: Sequence[str] = FORMATS, wide: bool = False
) -> ExportReport:
    """Write every table of ``folder`` to ``folder/exports/`` in the given formats, then remove
    the files of an earlier export that this one did not rewrite.

    ``wide`` also writes ``outcomes_wide`` (one row per run, parameters and outcomes as
    columns) beside the long tables. Only files named ``<table>.<format>`` of
    :data:`EXPORT_TABLES` and :data:`FORMATS` are ever removed, and only after every new
    file is written.

    Raises:
        InputError: not a results folder, an unknown format, or exports not writable.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise InputError(
            f"export format(s) {unknown or list(formats)} not known; allowed: {', '.join(FORMATS)}"
        )
    folder = Path(folder)
    target = folder / EXPORTS
    if folder.is_dir():  # else load_tables says what the folder is not
        _check_writable(target)  # before reading anything: the database is only read
    tables = load_tables(folder, wide=wide)
    try:
        target.mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{target}: cannot create the exports folder ({exc.strerror or exc})"
        ) from None
    unlisted = sorted(set(tables) - set(EXPORT_TABLES))
    if unlisted:  # a new table must be listed to be cleaned up by a later export
        raise ValueError(f"export table(s) {unlisted} not listed in EXPORT_TABLES")
    written: list[Path] = []
    for name, frame in tables.items():
        for fmt in formats:
            path = target / f"{name}.{fmt}"
            try:
                with replaced_whole(path) as tmp:  # an interrupt leaves the earlier file
                    if fmt == "csv":
                        frame.to_csv(tmp, index=False)
                    else:
                        frame.to_parquet(tmp, index=False)
            except OSError as exc:
                raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
            written.append(path)
    removed = _remove_earlier_exports(target, written)
    logger.info("exported %d file(s) to %s", len(written), target)
    return ExportReport(target, tuple(written), tuple(removed))


def _check_writable(target: Path) -> None:
    """Check that the export's files can be written: in ``exports/``, or when it does not
    exist yet, in the results folder that will hold it (made only after the read).

    Raises:
        InputError: naming the exports folder (the results database is only read).
    """
    allowed = (
        "a writable exports folder: make it writable, or copy the results folder somewhere "
        "writable and export the copy"
    )
    where = target if target.is_dir() else target.parent
    try:
        with tempfile.TemporaryFile(dir=where, prefix=".microgov-write-test-"):
            pass
    except OSError as exc:
        raise InputError(
            f"cannot write the exports into this folder ({exc.strerror or exc}); "
            "the results database is only read",
            file=target,
            allowed=allowed,
        ) from None


def _remove_earlier_exports(target: Path, written: Sequence[Path]) -> list[Path]:
    """Remove the export files (by their known names) in ``target`` not in ``written``."""
    keep = {path.name for path in written}
    removed = []
    for table in EXPORT_TABLES:
        for fmt in FORMATS:
            path = target / f"{table}.{fmt}"
            if path.name in keep or not path.is_file():
                continue
            try:
                path.unlink()
            except FileNotFoundError:  # removed meanwhile: nothing stale is left
                continue
            except OSError as exc:
                raise InputError(
                    f"{path}: cannot remove this file of an earlier export "
                    f"({exc.strerror or exc}); the new export is written beside it in {target}, "
                    "so remove it by hand"
                ) from None
            removed.append(path)
    return removed
