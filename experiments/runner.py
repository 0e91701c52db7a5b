"""Run an experiment: points × replications on an executor, into a results store.

:func:`run_experiment` builds every point from the experiment file (all input
checked before any run), opens or resumes the results folder, skips runs already
stored, submits the rest, stores each finished run in its own transaction as it
arrives, and finally — for sensitivity experiments — computes and stores the
indices. A run that raises becomes a ``failed`` row with its traceback; the others
go on (issue 4).

Optional precision target (``[precision]`` in the experiment file): after the
first R replications, replications are added in batches to *every* point (so
paired comparisons stay on common random numbers) until, for each chosen outcome
and point, the half-width of the t confidence interval of the mean is at most the
target (relative to |mean|, or absolute), or the cap is reached.

A pool worker that dies is replaced and its runs retried (bounded); a lost Dask
worker is reported, and a cluster without workers for ``worker_timeout_s`` stops the
experiment with a clear error (:mod:`experiments.executors`). Every worker loss is
logged and stored in table ``worker_losses``; the warnings a run reports
(``RunOutput.warnings``) go to table ``warnings`` in the run's own transaction. Only
one runner at a time works on a results folder (its lock is held by the store).

The run function is injectable (``run_fn``; default ``experiments.runs.run_single``)
so that tests can use a small picklable stand-in. It is called as
``run_fn(scenario, seed, days=days)`` and must return a ``model.outcomes.RunOutput``.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from experiments import held_stops
from experiments.case_sinks import HistogramCaseSink
from experiments.code_state import code_digest
from experiments.errors import InputError, ResourceError
from experiments.executors import (
    DEFAULT_WORKER_TIMEOUT_S,
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    WorkerLoss,
    check_workers,
    make_executor,
)
from experiments.experiment_files import (
    Experiment,
    ExplainSpec,
    SensitivityExperimentSpec,
    describe_parameters,
    load_experiment,
    parameter_json,
)
from experiments.held_stops import stops_held
from experiments.scenario_files import Scenario
from experiments.seeds import replication_seed, seed_json
from experiments.store import (
    RESOLUTION_BINS_DAYS,
    ResultStore,
    RunRecord,
    git_state,
    machine_facts,
    now_iso,
    package_versions,
    run_key,
)
from model.outcomes import warnings_not_logged

logger = logging.getLogger(__name__)

RunFunction = Callable[..., Any]
AnyExecutor = SerialExecutor | ProcessExecutor | DaskExecutor
RESULTS_ROOT = Path("results")


# ---------------------------------------------------------------------------
# One run (executes in the worker)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One run to execute: a point's scenario under one replication seed."""

    point_id: str
    scenario_name: str
    replication: int
    root_seed: int
    scenario: Scenario
    days: int | None
    run_fn: RunFunction

    @property
    def run_key(self) -> str:
        """``f"{point_id}/r{replication:04d}"``."""
        return run_key(self.point_id, self.replication)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute_task(task: Task) -> RunRecord:
    """Run one task and turn its output into a storable record; never raises for a model error.

    A run function that takes a ``case_sink`` gets one that keeps only the resolution-time
    histogram, so a long run's memory stays flat (the case log is not stored)."""
    started = now_iso()
    clock = time.perf_counter()
    try:
        seed = replication_seed(task.root_seed, task.replication)
        # the histogram of the measured period's cases, as the summary's outcomes
        measured_from = float(task.scenario.parameters.simulation.warmup_days)
        sink = HistogramCaseSink(measured_from) if _takes_case_sink(task.run_fn) else None
        if sink is not None:
            output = task.run_fn(task.scenario, seed, days=task.days, case_sink=sink)
        else:
            output = task.run_fn(task.scenario, seed, days=task.days)
        summary = {str(k): float(v) for k, v in output.summary.items()}
        series = timeseries_rows(output.timeseries)
        histogram = (
            sink.rows() if sink is not None else distribution_rows(output.cases, measured_from)
        )
        units = unit_rows(getattr(output, "units", None))
        # RunOutput.warnings is new in the model; older outputs have none
        warnings = tuple(str(w) for w in getattr(output, "warnings", ()) or ())
        status, error = "ok", None
    except Exception:
        summary, series, histogram, units, warnings = {}, [], [], [], ()
        status, error = "failed", traceback.format_exc()
    return RunRecord(
        run_key=task.run_key,
        point_id=task.point_id,
        scenario=task.scenario_name,
        replication=task.replication,
        seed=seed_json(task.root_seed, task.replication),
        status=status,
        error=error,
        started_at=started,
        finished_at=now_iso(),
        duration_s=time.perf_counter() - clock,
        worker=_worker_name(),
        summary=summary,
        timeseries=series,
        distributions=histogram,
        units=units,
        warnings=warnings,
    )


def execute_task_quietly(task: Task) -> RunRecord:
    """:func:`execute_task` with the run's warnings returned but not logged
    (:func:`model.outcomes.warnings_not_logged`): for an experiment's runs, whose warnings
    the runner stores, counts and lists with ``--verbose`` — not, from every worker, a line
    per run and warning (about a thousand for a Sobol' experiment)."""
    with warnings_not_logged():
        return execute_task(task)


def _takes_case_sink(run_fn: RunFunction) -> bool:
    """Whether ``run_fn`` accepts a ``case_sink`` keyword (``runs.run_single`` does)."""
    try:
        parameters = inspect.signature(run_fn).parameters
    except (TypeError, ValueError):
        return False
    return "case_sink" in parameters


def failed_record(task: Task, exc: BaseException) -> RunRecord:
    """The record of a task whose worker raised outside :func:`execute_task` (e.g. it died)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    stamp = now_iso()
    return RunRecord(
        run_key=task.run_key,
        point_id=task.point_id,
        scenario=task.scenario_name,
        replication=task.replication,
        seed=seed_json(task.root_seed, task.replication),
        status="failed",
        error=text,
        started_at=stamp,
        finished_at=stamp,
        duration_s=0.0,
        worker="unknown",
    )


def timeseries_rows(frame: pd.DataFrame | None) -> list[tuple[int, str, float]]:
    """A run's daily time series as (day, variable, value) rows (numeric columns only)."""
    if frame is None or frame.empty:
        return []
    days = frame["day"].to_numpy() if "day" in frame.columns else np.arange(len(frame))
    rows: list[tuple[int, str, float]] = []
    for column in frame.columns:
        if column == "day" or not pd.api.types.is_numeric_dtype(frame[column]):
            continue
        values = frame[column].to_numpy(dtype=float)
        rows.extend(
            zip(
                days.astype(int).tolist(), [str(column)] * len(values), values.tolist(), strict=True
            )
        )
    return rows


def unit_rows(frame: pd.DataFrame | None) -> list[tuple[str, str, str | None, str, str, float]]:
    """A run's per-unit final values (``RunOutput.units``) as rows for the ``units`` table."""
    columns = ["node", "level", "parent", "name", "variable", "value"]
    if frame is None or frame.empty or not set(columns) <= set(frame.columns):
        return []
    rows = []
    for node, level, parent, name, variable, value in frame[columns].itertuples(index=False):
        parent_text = (
            None
            if parent is None or (isinstance(parent, float) and math.isnan(parent))
            else str(parent)
        )
        rows.append((str(node), str(level), parent_text, str(name), str(variable), float(value)))
    return rows


def distribution_rows(
    cases: pd.DataFrame | None, measured_from: float
) -> list[tuple[str, float, int]]:
    """Histogram of closed cases' resolution times (days) on fixed bins.

    Only the cases of the measured period are counted: reported on or after run day
    ``measured_from`` (the warm-up's length; the summary's ``measured`` cases,
    model.outcomes), where the log has a ``reported`` column. The time is the case log's
    ``resolution_time_days`` (else ``closed − reported``).
    Variable ``resolution_time_days`` (all cases) and ``resolution_time_days_<type>`` per
    case type; every bin of :data:`experiments.store.RESOLUTION_BINS_DAYS` is stored,
    bin i counting times in (upper[i-1], upper[i]].
    """
    if cases is None or cases.empty:
        return []
    if "resolution_time_days" in cases.columns:
        times = cases["resolution_time_days"].to_numpy(dtype=float)
    elif {"reported", "closed"} <= set(cases.columns):
        times = cases["closed"].to_numpy(dtype=float) - cases["reported"].to_numpy(dtype=float)
    else:
        return []
    closed = np.isfinite(times)
    if "reported" in cases.columns:
        closed &= cases["reported"].to_numpy(dtype=float) >= measured_from
    if "status" in cases.columns:
        closed &= cases["status"].astype(str).to_numpy() == "closed"
    edges = np.asarray(RESOLUTION_BINS_DAYS, dtype=float)
    groups: list[tuple[str, np.ndarray]] = [("resolution_time_days", closed)]
    if "case_type" in cases.columns:
        types = cases["case_type"].astype(str).to_numpy()
        for case_type in sorted(set(types[closed].tolist())):
            groups.append((f"resolution_time_days_{case_type}", closed & (types == case_type)))
    rows: list[tuple[str, float, int]] = []
    for variable, mask in groups:
        if not mask.any():
            continue
        index = np.searchsorted(edges, np.maximum(times[mask], 0.0), side="left")
        counts = np.bincount(index, minlength=len(edges))[: len(edges)]
        rows.extend(
            (variable, float(upper), int(n)) for upper, n in zip(edges, counts, strict=True)
        )
    return rows


# ---------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressEvent:
    """Sent to the progress callback after every stored run."""

    done: int  # runs stored ok, this session and before
    failed: int  # runs that failed in this session
    total: int  # runs planned so far (grows when the precision target adds replications)
    run_key: str
    status: str


@dataclass
class ExperimentReport:
    """What an experiment run did; ``failed_runs`` says where the failures are."""

    folder: Path
    name: str
    kind: str
    planned: int = 0  # points × replications
    ran: int = 0  # runs executed in this session
    skipped: int = 0  # already stored ok (resume)
    ok: int = 0  # stored ok in total
    failed_runs: list[str] = field(default_factory=list)
    failed_points: dict[str, str] = field(
        default_factory=dict
    )  # point_id → its parameters, as text
    replications: int = 0
    warned_runs: int = 0  # runs of this session that reported warnings
    worker_losses: int = 0  # workers that died or left during this session
    _losses_seen: set[tuple[str, str]] = field(default_factory=set, repr=False)
    precision: dict[str, Any] | None = None
    sensitivity: pd.DataFrame | None = None
    noise: pd.DataFrame | None = None

    @property
    def failed(self) -> int:
        """How many runs failed (stored as ``failed``)."""
        return len(self.failed_runs)

    @property
    def database(self) -> Path:
        """The results database."""
        return self.folder / "results.sqlite"

    def summary(self) -> str:
        """One paragraph for the end of a command."""
        text = (
            f"experiment {self.name!r} ({self.kind}): {self.ok} of {self.planned} runs ok "
            f"({self.ran} run now, {self.skipped} already stored), {self.replications} "
            f"replication{'' if self.replications == 1 else 's'}; "
            f"results in {self.folder}"
        )
        if self.failed_runs:
            shown = ", ".join(self.failed_runs[:10]) + (" …" if len(self.failed_runs) > 10 else "")
            where = "".join(
                f"\n  {pid}: {desc}" for pid, desc in list(self.failed_points.items())[:10]
            )
            text += (
                f"\n{self.failed} run(s) FAILED: {shown}"
                f"{where}\n"
                f"tracebacks: `microgov status {self.folder}` or table runs (status = 'failed') in "
                f"{self.database}; fix the cause and run again with --resume to retry them"
            )
        if self.worker_losses:
            text += (
                f"\n{self.worker_losses} worker loss(es) during this session (table worker_losses; "
                f"`microgov status {self.folder}`)"
            )
        if self.warned_runs:
            text += "\n" + warned_runs_line(self.warned_runs, self.folder)
        if self.precision is not None and not self.precision.get("met", True):
            text += f"\nprecision target not met at the cap: {self.precision.get('worst')}"
        return text


def warned_runs_line(count: int, folder: Path, runs: str = "run(s)") -> str:
    """The closing line of a session whose ``count`` runs reported warnings (stored, not
    logged run by run: :func:`execute_task_quietly`), and where to read them."""
    return f"{count} {runs} reported warnings (table warnings; `microgov status {folder}`)"


def default_folder(name: str) -> Path:
    """The default results folder of an experiment: ``results/<name>/``."""
    return RESULTS_ROOT / name


def run_experiment(
    experiment: Experiment | str | Path,
    out: str | Path | None = None,
    *,
    executor: AnyExecutor | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    resume: bool = False,
    progress: Callable[[ProgressEvent], None] | None = None,
    run_fn: RunFunction | None = None,
    worker_timeout_s: float = DEFAULT_WORKER_TIMEOUT_S,
) -> ExperimentReport:
    """Run (or resume) an experiment into its results folder.

    Args:
        experiment: a loaded experiment or the path of an experiment file.
        out: results folder (default ``results/<name>/``).
        executor: an executor to use (kept open); else one is made from ``workers``
            and ``cluster`` (see :func:`experiments.executors.make_executor`) and closed.
        workers: worker processes (1 = serial; default: every CPU).
        cluster: a Dask scheduler address or ``local``.
        resume: continue a folder that already holds runs of this experiment.
        progress: called after every stored run.
        run_fn: the run function (default ``experiments.runs.run_single``).
        worker_timeout_s: on a Dask cluster, stop with an error after this many seconds
            without any worker (default 300 s; ignored by the local executors).

    Returns:
        The report; ``report.failed_runs`` lists failed run keys.

    Raises:
        InputError: bad experiment file, scenario, results folder or option, or another
            runner holds the folder — always before any run starts.
        ResourceError: the experiment had to stop (disk full, damaged database, no Dask
            worker left); the runs stored before are kept.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    if executor is None:
        check_workers(workers)
    folder = Path(out) if out is not None else default_folder(exp.name)
    run_fn = run_fn or _default_run_fn()
    store = ResultStore.prepare(
        folder,
        name=exp.name,
        kind=exp.kind,
        file_hash=exp.digest,
        point_digests={p.point_id: p.digest for p in exp.points},
        resume=resume,
        code=code_digest(),
    )
    own_executor = executor is None
    report = ExperimentReport(folder=folder, name=exp.name, kind=exp.kind)
    session: dict[str, Any] = {"started_at": now_iso(), "finished_at": None, "status": "running"}
    if store.lock is not None:
        session["runner"] = store.lock.holder
        if store.lock.stale is not None:
            session["took_over_stale_lock"] = store.lock.stale
    manifest: dict[str, Any] | None = None
    try:
        _write_meta(store, exp)
        store.write_points(
            (p.point_id, p.scenario, parameter_json(p.parameters), p.digest) for p in exp.points
        )
        executor = executor or make_executor(
            workers=workers, cluster=cluster, worker_timeout_s=worker_timeout_s
        )
        session.update(executor.describe())
        manifest = _start_manifest(store, exp, session)
        _run_batches(store, exp, executor, run_fn, report, progress)
        if isinstance(exp.spec, SensitivityExperimentSpec):
            _analyse_sensitivity(store, exp, report)
        session["status"] = "finished"
    except BaseException as exc:
        session["status"] = f"stopped ({type(exc).__name__})"
        raise
    finally:
        session["finished_at"] = now_iso()
        session.update(
            runs_ran=report.ran,
            runs_failed=report.failed,
            runs_skipped=report.skipped,
            worker_losses=report.worker_losses,
        )
        try:
            if manifest is not None:
                manifest["finished_at"] = session["finished_at"]
                manifest["seeds"]["replications"] = report.replications
                _close_manifest(store, manifest, stopping=session["status"] != "finished")
        finally:
            if own_executor and executor is not None:
                executor.close()
            store.close()
    logger.info(report.summary())
    return report


def _close_manifest(store: ResultStore, manifest: dict[str, Any], *, stopping: bool) -> None:
    """Write the final manifest; when the experiment is already stopping on an error, a
    failure here is logged, never raised, so that the first error is the one reported."""
    try:
        store.write_manifest(manifest)
    except ResourceError as exc:
        if not stopping:
            raise
        logger.warning("%s", exc)


def _default_run_fn() -> RunFunction:
    from experiments import runs  # looked up at call time so tests can replace it

    return runs.run_single


def _write_meta(store: ResultStore, exp: Experiment) -> None:
    spec = exp.spec
    meta: dict[str, Any] = {
        "name": exp.name,
        "kind": exp.kind,
        "description": spec.description,
        "file_hash": exp.digest,
        "experiment_file": str(exp.path),
        "root_seed": spec.seed,
        "seed_rule": "numpy.random.SeedSequence(root_seed, spawn_key=(replication,))",
        "replications_initial": spec.replications,
        "days": spec.days,
        "outcomes": list(spec.outcomes),
        "precision": None if spec.precision is None else spec.precision.model_dump(),
        "scenarios": json.dumps(exp.scenario_digests(), sort_keys=True),
    }
    if exp.reference is not None:  # compare and explain
        meta["reference"] = exp.reference
    if isinstance(spec, ExplainSpec):  # roles of the points and the mechanisms (issue 9)
        meta["explain"] = spec.plan
    if isinstance(spec, SensitivityExperimentSpec):
        meta["method"] = spec.sensitivity.method
        meta["factors"] = [f.model_dump() for f in spec.sensitivity.factors]
    stored = store.meta()
    if "created_at" not in stored:
        meta["created_at"] = now_iso()
    # Replications planned so far (the precision target may have added some earlier).
    meta["replications"] = max(spec.replications, int(stored.get("replications") or 0))
    store.set_meta(meta)


def experiment_manifest(
    manifest: dict[str, Any], exp: Experiment, session: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """The manifest entries every experiment kind writes (the experiment file, its
    scenarios as written, packages, git, machine, sessions), plus the kind's ``extra``."""
    return {
        "format": "microgov-results/1",
        "experiment": {
            "name": exp.name,
            "kind": exp.kind,
            "file": str(exp.path.resolve()),
            "sha256": exp.digest,
            "text": exp.text,
        },
        "scenarios": {
            name: {
                "file": None if s.path is None else str(s.path),
                "digest": str(s.digest),
                # the settings as written (after extends and overrides), for the report
                "raw": s.raw,
            }
            for name, s in exp.scenarios.items()
        },
        **extra,
        "packages": package_versions(),
        "git": git_state(),
        "machine": machine_facts(),
        "started_at": manifest.get("started_at") or session["started_at"],
        "finished_at": None,
        "sessions": [*manifest.get("sessions", []), session],
    }


def _start_manifest(store: ResultStore, exp: Experiment, session: dict[str, Any]) -> dict[str, Any]:
    manifest = store.read_manifest()
    manifest.update(
        experiment_manifest(
            manifest,
            exp,
            session,
            points=len(exp.points),
            reference=exp.reference,
            seeds={
                "root": exp.spec.seed,
                "replications": exp.spec.replications,
                "rule": "replication i uses numpy.random.SeedSequence(root, spawn_key=(i,)) "
                "== SeedSequence(root).spawn(R)[i]; the same for every scenario and point",
            },
        )
    )
    store.write_manifest(manifest)
    return manifest


def _run_batches(
    store: ResultStore,
    exp: Experiment,
    executor: AnyExecutor,
    run_fn: RunFunction,
    report: ExperimentReport,
    progress: Callable[[ProgressEvent], None] | None,
) -> None:
    spec = exp.spec
    replications = spec.replications
    statuses = store.run_statuses()
    session_failed: set[str] = set()
    while True:
        report.replications = replications
        report.planned = replications * len(exp.points)
        tasks = [
            Task(p.point_id, p.scenario, r, spec.seed, p.built, spec.days, run_fn)
            for r in range(replications)  # replication-major: partial results stay balanced
            for p in exp.points
            if statuses.get(run_key(p.point_id, r)) != "ok"
        ]
        if tasks:
            retried = sum(1 for t in tasks if statuses.get(t.run_key) == "failed")
            logger.info(
                "%s: %d run(s) to do (%d failed earlier, retried) on %s",
                exp.name,
                len(tasks),
                retried,
                executor.describe(),
            )
        results = executor.map_unordered(
            execute_task_quietly,
            tasks,
            on_worker_lost=lambda loss: _record_loss(store, report, loss),
        )
        with finished_runs_kept(store, executor, results, report):
            for task, result in results:
                record = result if isinstance(result, RunRecord) else failed_record(task, result)
                store_whole(store, record)
                _after_record(record, statuses, session_failed, report, progress)
        report.ok = sum(
            1
            for p in exp.points
            for r in range(replications)
            if statuses.get(run_key(p.point_id, r)) == "ok"
        )
        if spec.precision is None:
            break
        report.precision = precision_status(store, exp, replications)
        if report.precision["met"] or replications >= spec.precision.max_replications:
            break
        replications = min(replications + spec.precision.batch, spec.precision.max_replications)
        logger.info(
            "precision target not met (%s); adding replications up to %d",
            report.precision["worst"],
            replications,
        )
    report.failed_runs = sorted(k for k, s in statuses.items() if s == "failed")
    described = {p.point_id: p for p in exp.points}
    for key in report.failed_runs:
        point_id = key.rsplit("/", 1)[0]
        if point_id in described and point_id not in report.failed_points:
            point = described[point_id]
            report.failed_points[point_id] = f"scenario {point.scenario}" + (
                f", {describe_parameters(point.parameters)}" if point.parameters else ""
            )
    report.skipped = max(
        0, report.planned - report.ran
    )  # planned but not run now: stored ok before
    store.set_meta({"replications": replications})


def _after_record(
    record: RunRecord,
    statuses: dict[str, str],
    session_failed: set[str],
    report: ExperimentReport,
    progress: Callable[[ProgressEvent], None] | None,
) -> None:
    """Count a stored run, log its warnings or failure, and tell the progress callback."""
    statuses[record.run_key] = record.status
    report.ran += 1
    if record.warnings:
        report.warned_runs += 1
        logger.info("run %s: %s", record.run_key, "; ".join(record.warnings))
    if record.status == "ok":
        session_failed.discard(record.run_key)
    else:
        session_failed.add(record.run_key)
        logger.warning("run %s failed: %s", record.run_key, _last_line(record.error))
    if progress is not None:
        done = sum(1 for s in statuses.values() if s == "ok")
        progress(
            ProgressEvent(done, len(session_failed), report.planned, record.run_key, record.status)
        )


def store_whole(store: ResultStore, record: RunRecord) -> None:
    """Store a run's record with Ctrl-C and SIGTERM held: whole or not at all, the interrupt
    raised after it (experiments/held_stops.py)."""
    with stops_held():
        store.record(record)


class _RunsCounted(Protocol):
    """A session's report that counts the runs it stored (``ran``)."""

    ran: int


@contextmanager
def finished_runs_kept(
    store: ResultStore,
    executor: AnyExecutor,
    results: Iterator[Any],
    report: _RunsCounted,
) -> Iterator[None]:
    """On an interrupt (Ctrl-C, SIGTERM), store the runs that finished but were not handed
    out yet (the executor's ``unclaimed``, known once its generator is closed) before the
    interrupt goes on: every finished run is on disk, as the command then says."""
    try:
        yield
    except KeyboardInterrupt:
        if held_stops.forced():  # a second Ctrl-C while a run was stored: stop now
            raise
        close = getattr(results, "close", None)  # a generator's: its ``finally`` runs,
        if close is not None:  # which keeps what finished in the executor's ``unclaimed``
            close()
        kept = [r for _, r in getattr(executor, "unclaimed", ()) if isinstance(r, RunRecord)]
        for record in kept:  # each whole; another Ctrl-C stops after the one being stored
            store_whole(store, record)
            report.ran += 1
        if kept:
            logger.info("interrupted: %d finished run(s) stored on the way out", len(kept))
        raise


def _record_loss(store: ResultStore, report: ExperimentReport, loss: WorkerLoss) -> None:
    """Log a lost worker and store it (table worker_losses) with the runs it had in flight."""
    keys = [task.run_key for task in loss.tasks if isinstance(task, Task)]
    logger.warning(
        "worker lost: %s (runs %s: %s)", loss.detail, ", ".join(keys) or "none", loss.action
    )
    store.record_worker_loss(loss.at, loss.executor, loss.worker, keys, loss.action, loss.detail)
    report._losses_seen.add((loss.at, loss.worker))  # one death may be told in two parts
    report.worker_losses = len(report._losses_seen)


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def mean_and_t_half_width(values: Any, confidence: float = 0.95) -> tuple[float, float]:
    """The mean of ``values`` (a series without NaN) and the half-width of its ``confidence``
    t interval, NaN below two values. The t quantile is ``scipy.special.stdtrit``, the
    function ``scipy.stats.t.ppf`` calls (the same floats), without importing
    ``scipy.stats`` (≈ 0.45 s of every ``compare``'s end; issue 11, sixteenth round)."""
    from scipy.special import stdtrit

    n = len(values)
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan
    sd = float(values.std(ddof=1))
    return mean, float(stdtrit(n - 1, 0.5 + confidence / 2)) * sd / math.sqrt(n)


def precision_status(store: ResultStore, exp: Experiment, replications: int) -> dict[str, Any]:
    """Whether every chosen outcome at every point has a narrow enough confidence interval.

    Returns ``{"met": bool, "replications": R, "worst": text, "rows": [...]}``; each row holds
    point, outcome, n, mean, half_width and the target it is compared with.
    """
    precision = exp.spec.precision
    assert precision is not None
    table = store.outcome_table(precision.outcomes)
    table = table[table["replication"] < replications]
    rows = []
    met = True
    worst: tuple[float, str] = (-math.inf, "")
    for point in exp.points:
        for outcome in precision.outcomes:
            values = table.loc[
                (table["point_id"] == point.point_id) & (table["outcome"] == outcome), "value"
            ]
            values = values[np.isfinite(values)]
            n = len(values)
            mean, half = mean_and_t_half_width(values, precision.confidence)
            if n < 2:
                half = math.inf
            if precision.relative:
                ratio = (
                    0.0
                    if half == 0
                    else (half / abs(mean) if mean not in (0.0,) and n else math.inf)
                )
            else:
                ratio = half
            ok = ratio <= precision.target
            met = met and ok
            rows.append(
                {
                    "point_id": point.point_id,
                    "outcome": outcome,
                    "n": n,
                    "mean": mean,
                    "half_width": half,
                    "measure": ratio,
                    "target": precision.target,
                    "met": ok,
                }
            )
            if ratio > worst[0]:
                kind = "relative" if precision.relative else "absolute"
                worst = (
                    ratio,
                    f"{point.point_id} {outcome}: {kind} half-width {ratio:.4g} "
                    f"(target {precision.target:g}, n = {n})",
                )
    return {"met": met, "replications": replications, "worst": worst[1], "rows": rows}


def _analyse_sensitivity(store: ResultStore, exp: Experiment, report: ExperimentReport) -> None:
    from experiments.sensitivity import analyze_sensitivity, replication_noise

    spec = exp.spec
    assert isinstance(spec, SensitivityExperimentSpec)
    table = store.outcome_table()
    table = table[table["replication"] < report.replications]
    means = table.groupby(["outcome", "point_id"])["value"].mean()
    order = [p.point_id for p in exp.points]
    outputs: dict[str, np.ndarray] = {}
    # analyse the outcomes of interest when the file names them (every stored one otherwise)
    wanted = set(exp.spec.outcomes) if exp.spec.outcomes else None
    for outcome in sorted(table["outcome"].unique()):
        if wanted is not None and outcome not in wanted:
            continue
        series = means.loc[outcome].reindex(order)
        outputs[str(outcome)] = series.to_numpy(dtype=float)
    indices = analyze_sensitivity(exp.salib_spec, exp.design, outputs)
    store.write_sensitivity(indices, spec.sensitivity.method)
    noise = replication_noise(table[["point_id", "replication", "outcome", "value"]])
    _store_noise(store, noise)
    report.sensitivity = indices
    report.noise = noise


def _store_noise(store: ResultStore, noise: pd.DataFrame) -> None:
    """Keep the seed-noise share per outcome (an added table; the contract allows additions)."""
    columns = list(noise.columns)
    with store.transaction() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS sensitivity_noise(outcome TEXT PRIMARY KEY, points INTEGER, "
            "replications REAL, within_variance REAL, between_variance REAL, noise_share REAL, "
            "noise_share_of_point_means REAL, note TEXT)"
        )
        cur.execute("DELETE FROM sensitivity_noise")
        cur.executemany(
            f"INSERT INTO sensitivity_noise({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [
                tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
                for row in noise.itertuples(index=False)
            ],
        )


def replicate(
    scenarios: Mapping[str, Scenario] | Sequence[Scenario],
    replications: int,
    seed: int = 0,
    *,
    days: int | None = None,
    executor: AnyExecutor | None = None,
    run_fn: RunFunction | None = None,
) -> pd.DataFrame:
    """Run scenarios × replications in memory (no store), e.g. from a notebook.

    Returns one row per run with ``scenario``, ``replication``, ``status`` and one
    column per outcome. Uses the same seeds as an experiment with root ``seed``.
    """
    items = (
        scenarios.items() if isinstance(scenarios, Mapping) else [(s.name, s) for s in scenarios]
    )
    fn = run_fn or _default_run_fn()
    tasks = [
        Task(name, name, r, seed, s, days, fn) for r in range(replications) for name, s in items
    ]
    own = executor is None
    runner = executor or SerialExecutor()
    rows = []
    try:
        for task, result in runner.map_unordered(execute_task, tasks):
            record = result if isinstance(result, RunRecord) else failed_record(task, result)
            rows.append(
                {
                    "scenario": record.scenario,
                    "replication": record.replication,
                    "status": record.status,
                    **record.summary,
                }
            )
    finally:
        if own:
            runner.close()
    return pd.DataFrame(rows).sort_values(["scenario", "replication"], ignore_index=True)


__all__ = [
    "ExperimentReport",
    "InputError",
    "ProgressEvent",
    "Task",
    "default_folder",
    "distribution_rows",
    "execute_task",
    "execute_task_quietly",
    "finished_runs_kept",
    "mean_and_t_half_width",
    "precision_status",
    "replicate",
    "run_experiment",
    "store_whole",
    "timeseries_rows",
    "warned_runs_line",
]
