"""Calibration: fit dotted scenario fields to a target file by the method of simulated moments.

``microgov calibrate EXPERIMENT.toml`` runs a ``calibrate`` experiment (see
:mod:`experiments.experiment_files`)::

    name = "calibrate_baseline"
    kind = "calibrate"
    scenario = "../scenarios/baseline.toml"
    targets = "../scenarios/targets/pre_reform.toml"
    seed = 20261201
    replications = 3                  # R replications per candidate, the same seeds for all
    days = 365

    [calibration]
    sampler = "tpe"                   # tpe | random
    batch = 4                         # candidates proposed and run together
    max_candidates = 40               # budget
    patience = 4                      # stop after K batches without a better best
    startup_candidates = 8            # random candidates before TPE models the history
    [[calibration.parameters]]
    name = "demand.needs_per_resident_per_year"
    lower = 0.1
    upper = 1.2
    log = true
    [calibration.profile]             # optional: identifiability
    points = 5                        # grid values per parameter
    candidates = 6                    # candidates re-optimising the others at each value

**Objective.** For a candidate θ, every replication r = 0 … R−1 runs on the seed
``SeedSequence(root, spawn_key=(r,))`` — the same R seeds for every candidate (common
random numbers), so two candidates differ by their parameters and not by their luck. With
m̄ₖ(θ) the mean over the R replications of target k's outcome, yₖ its published value,
sₖ its standard uncertainty and wₖ its weight, the objective is the weighted sum of
squared standardised distances over the *fit* targets only::

    J(θ) = Σₖ wₖ · ((m̄ₖ(θ) − yₖ) / sₖ)²

Holdout targets never enter J. Replications in which an outcome is undefined (NaN, e.g.
no rated case yet) are left out of its mean. A candidate whose run failed, or for which a
fit outcome is undefined in every replication, has no objective: it is stored as
``failed`` and told to the optimiser as a failed trial.

**Optimiser** (:mod:`experiments.calibration_search`). Optuna's TPE sampler (or its random
sampler) through the ask/tell interface. Before each batch the study is rebuilt from the stored candidates (in their
order) and the sampler is seeded from ``(root seed, study, batch)``, so the proposals
depend on the stored history only: an interrupted calibration resumed with ``--resume``
proposes exactly what the uninterrupted one would have, and reaches the same result.

**Store.** The results folder is an ordinary one (:mod:`experiments.store`): each
candidate is a point (``points.parameters`` holds its dotted values) whose R runs are
stored one transaction each, with their summaries and resolution-time histograms (daily
time series are not kept for candidates: a calibration makes many runs). The added table
``calibration_candidates`` holds each candidate's study, number, batch, parameters,
objective and status; a batch is written before it runs, so a resumed calibration runs
the missing replications of the stored batch and never proposes or evaluates a candidate
twice.

**Stopping rule.** A study stops when it has used its budget (``max_candidates``) or
when its best objective has not improved for ``patience`` batches.

**Check on fresh seeds.** The best of many noisy candidates looks better on the seeds it
was chosen on than it is (the winner's curse), so the best candidate runs once more on R
fresh seeds (replications R … 2R−1, study ``check``); the fit report compares the targets
with these runs.

**Profiles** (optional, ``[calibration.profile]``): for each fitted parameter, ``points``
values spread over its bounds; at each value the parameter is held fixed and the others
re-optimised with ``candidates`` candidates (the first one is the best fit's values), all
on the same seeds. A flat profile means the targets do not identify the parameter.

**Outputs.** A calibrated scenario file that ``extends`` the input scenario and adds the
experiment's overrides and the fitted values, with its provenance in comments (target file
hash, objective, date, seeds, experiment file); ``microgov report`` writes the fit report
(``analysis.calibration``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.calibration_search import (
    CHECK_STUDY,
    FIT_STUDY,
    Candidate,
    Dimension,
    StudyPlan,
    best_candidate,
    check_plan,
    fit_plan,
    objective_value,
    profile_plans,
    propose,
    stop_reason,
)
from experiments.calibration_settle import (
    PREFIT_STUDY,
    SettleStep,
    buildable,
    iterate,
    settle_function,
    steps_from_record,
    steps_record,
)
from experiments.code_state import code_digest
from experiments.errors import InputError
from experiments.executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor
from experiments.experiment_files import (
    CalibrateSpec,
    Experiment,
    SettleSpec,
    flatten_overrides,
    known_outcome,
    load_experiment,
    parameter_json,
)
from experiments.runner import (
    Task,
    default_folder,
    execute_task_quietly,
    experiment_manifest,
    failed_record,
    finished_runs_kept,
    store_whole,
    warned_runs_line,
)
from experiments.scenario_files import Scenario, apply_overrides, field_value, load_scenario
from experiments.scenario_writer import check_scenario_target, write_extending_scenario
from experiments.seeds import replication_seed
from experiments.store import (
    ResultStore,
    RunRecord,
    now_iso,
    run_key,
)
from experiments.targets import TargetSet, check_outcomes

logger = logging.getLogger(__name__)

RunFunction = Callable[..., Any]
AnyExecutor = SerialExecutor | ProcessExecutor | DaskExecutor

OBJECTIVE_TEXT = (
    "J(θ) = Σ_k w_k · ((mean_k(θ) − value_k) / uncertainty_k)² over the fit targets; "
    "mean_k is the mean of outcome k over the R replications, which use the same seeds "
    "for every candidate (common random numbers); holdout targets are not in J"
)
CANDIDATES_SCHEMA = """
CREATE TABLE IF NOT EXISTS calibration_candidates(point_id TEXT PRIMARY KEY, study TEXT,
    number INTEGER, batch INTEGER, parameters TEXT, objective REAL, status TEXT, note TEXT,
    created_at TEXT);
CREATE INDEX IF NOT EXISTS calibration_study ON calibration_candidates(study, number);
"""


# ---------------------------------------------------------------------------
# Plans and candidates
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationProgress:
    """Sent to the progress callback after every evaluated candidate."""

    done: int  # candidates evaluated (all studies, this session and before)
    total: int  # the planned budget (fit + profiles); the fit may stop earlier
    best: float | None  # best objective of the fit so far
    study: str
    point_id: str


@dataclass
class CalibrationReport:
    """What a calibration did."""

    folder: Path
    name: str
    candidates: int = 0  # fit candidates evaluated
    ran: int = 0  # runs executed in this session
    failed_candidates: list[str] = field(default_factory=list)
    stop_reason: str = ""
    best_point: str | None = None
    best_objective: float | None = None
    best_parameters: dict[str, Any] = field(default_factory=dict)
    scenario_file: Path | None = None
    profiles: int = 0  # profile candidates evaluated
    check_objective: float | None = None  # J of the best candidate on fresh seeds
    settled: dict[str, float] = field(default_factory=dict)  # [calibration.settle]'s field
    settle_steps: list[SettleStep] = field(default_factory=list)  # the fixed-point iterations
    settle_residual: float | None = None  # how far one more settling iteration moves it
    holdouts_unavailable: list[str] = field(default_factory=list)
    warned_runs: int = 0  # candidate runs of this session that reported warnings
    best_warnings: list[str] = field(default_factory=list)  # the best candidate's, distinct

    def summary(self) -> str:
        """One paragraph for the end of the command."""
        values = ", ".join(f"{k} = {v:.6g}" for k, v in self.best_parameters.items())
        text = (
            f"calibration {self.name!r}: {self.candidates} candidate(s) evaluated "
            f"({self.ran} run(s) now); stopped: {self.stop_reason}; "
            f"best objective {_fmt(self.best_objective)} at {self.best_point} ({values}), "
            f"{_fmt(self.check_objective)} on fresh seeds; "
            f"results in {self.folder}"
        )
        if self.profiles:
            text += f"; {self.profiles} profile candidate(s)"
        for name, value in self.settled.items():
            text += f"\nsettled: {name} = {value:.6g} (residual step {_fmt(self.settle_residual)})"
        if self.scenario_file is not None:
            text += f"\ncalibrated scenario: {self.scenario_file}"
        if self.failed_candidates:
            shown = ", ".join(self.failed_candidates[:10])
            text += (
                f"\n{len(self.failed_candidates)} candidate(s) without an objective (a run failed "
                f"or a fit outcome was undefined): {shown}; see `microgov status {self.folder}`"
            )
        if self.holdouts_unavailable:
            text += "\nholdout target(s) the model does not report (not compared): " + ", ".join(
                self.holdouts_unavailable
            )
        if self.warned_runs:
            text += "\n" + warned_runs_line(self.warned_runs, self.folder, "candidate run(s)")
        if self.best_warnings:
            text += f"\nthe best candidate's runs reported: {'; '.join(self.best_warnings)}"
        return text


def _fmt(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.6g}"


# ---------------------------------------------------------------------------
# The objective
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def execute_candidate_run(task: Task) -> RunRecord:
    """Run one replication of a candidate (in the worker); daily series are not kept. Its
    warnings are stored and counted, and the best candidate's named in the summary, rather
    than logged run by run (``execute_task_quietly``)."""
    record = execute_task_quietly(task)
    return dataclasses.replace(record, timeseries=[], units=[])


@dataclass
class _Context:
    store: ResultStore
    exp: Experiment
    spec: CalibrateSpec
    base: Scenario
    targets: TargetSet
    executor: AnyExecutor
    run_fn: RunFunction
    report: CalibrationReport
    progress: Callable[[CalibrationProgress], None] | None
    total: int
    dimensions: tuple[Dimension, ...]

    # -- store -----------------------------------------------------------------

    def candidates(self, study: str | None = None) -> list[Candidate]:
        query = (
            "SELECT point_id, study, number, batch, parameters, objective, status, note "
            "FROM calibration_candidates"
        )
        params: tuple[str, ...] = ()
        if study is not None:
            query += " WHERE study = ?"
            params = (study,)
        rows = self.store.connection.execute(query + " ORDER BY study, number", params).fetchall()
        return [
            Candidate(pid, st, int(n), int(b), json.loads(p), obj, status, note)
            for pid, st, n, b, p, obj, status, note in rows
        ]

    def add_batch(self, plan: StudyPlan, batch: int, proposals: list[dict[str, Any]]) -> None:
        start = len(self.candidates(plan.study))
        rows, points = [], []
        for offset, free in enumerate(proposals):
            number = start + offset
            point_id = f"{plan.prefix}{number:04d}"
            parameters = {**plan.fixed, **free}
            parameters = {d.name: parameters[d.name] for d in self.dimensions}
            built = self.build(parameters, point_id)
            text = parameter_json(parameters)
            rows.append(
                (point_id, plan.study, number, batch, text, None, "pending", None, now_iso())
            )
            points.append((point_id, str(self.base.name), text, str(built.digest)))
        with self.store.transaction() as cur:
            cur.executemany(
                "INSERT INTO calibration_candidates(point_id, study, number, batch, parameters,"
                " objective, status, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            cur.executemany(
                "INSERT OR REPLACE INTO points(point_id, scenario, parameters, digest)"
                " VALUES (?, ?, ?, ?)",
                points,
            )

    def build(self, parameters: Mapping[str, Any], point_id: str) -> Scenario:
        try:
            return apply_overrides(self.base, dict(parameters))
        except InputError as exc:
            raise InputError(
                f"{self.exp.path}: candidate {point_id} ({parameters}) is not a valid scenario: {exc}"
            ) from None

    def set_objective(self, point_id: str, objective: float | None, note: str | None) -> None:
        status = "complete" if objective is not None else "failed"
        with self.store.transaction() as cur:
            cur.execute(
                "UPDATE calibration_candidates SET objective = ?, status = ?, note = ?"
                " WHERE point_id = ?",
                (objective, status, note, point_id),
            )

    def replication_values(self, point_id: str) -> tuple[dict[str, list[float]], list[str]]:
        """Fit outcomes' values in replication order, and the failed runs' keys."""
        outcomes = sorted({t.outcome for t in self.targets.fit})
        marks = ", ".join("?" * len(outcomes))
        rows = self.store.connection.execute(
            "SELECT r.replication, o.outcome, o.value FROM outcomes o JOIN runs r ON "
            f"r.run_key = o.run_key WHERE r.point_id = ? AND r.status = 'ok' AND o.outcome IN ({marks})"
            " ORDER BY r.replication",
            (point_id, *outcomes),
        ).fetchall()
        values: dict[str, list[float]] = {name: [] for name in outcomes}
        for _, outcome, value in rows:
            values[outcome].append(math.nan if value is None else float(value))
        failed = [
            key
            for (key,) in self.store.connection.execute(
                "SELECT run_key FROM runs WHERE point_id = ? AND status != 'ok'", (point_id,)
            ).fetchall()
        ]
        return values, failed

    # -- evaluating ------------------------------------------------------------

    def replications(self, candidate: Candidate) -> range:
        """Replications 0 … R−1; the check runs R … 2R−1, seeds the fit never saw."""
        r = self.spec.replications
        return range(r, 2 * r) if candidate.study == CHECK_STUDY else range(r)

    def evaluate(self, pending: list[Candidate]) -> None:
        stored = set(self.store.run_statuses())
        tasks = []
        for candidate in pending:
            built = self.build(candidate.parameters, candidate.point_id)
            for r in self.replications(candidate):
                if run_key(candidate.point_id, r) not in stored:
                    tasks.append(
                        Task(
                            candidate.point_id,
                            str(self.base.name),
                            r,
                            self.spec.seed,
                            built,
                            self.spec.days,
                            self.run_fn,
                        )
                    )
        remaining = {c.point_id: 0 for c in pending}
        for task in tasks:
            remaining[task.point_id] += 1
        by_id = {c.point_id: c for c in pending}
        for candidate in pending:
            if remaining[candidate.point_id] == 0:
                self.finish(candidate)
        results = self.executor.map_unordered(execute_candidate_run, tasks)
        with finished_runs_kept(self.store, self.executor, results, self.report):
            for task, result in results:
                record = result if isinstance(result, RunRecord) else failed_record(task, result)
                store_whole(self.store, record)
                self.report.ran += 1
                if record.warnings:
                    self.report.warned_runs += 1
                if record.status != "ok":
                    logger.warning("run %s failed", record.run_key)
                remaining[task.point_id] -= 1
                if remaining[task.point_id] == 0:
                    self.finish(by_id[task.point_id])

    def finish(self, candidate: Candidate) -> None:
        values, failed = self.replication_values(candidate.point_id)
        objective: float | None
        note: str | None
        if failed:
            objective, note = None, f"run(s) failed: {', '.join(failed)}"
        else:
            objective, note = objective_value(self.targets.fit, values)
        self.set_objective(candidate.point_id, objective, note)
        if self.progress is not None:
            done = sum(1 for c in self.candidates() if c.status != "pending")
            best = best_candidate(self.candidates(FIT_STUDY))
            self.progress(
                CalibrationProgress(
                    done,
                    self.total,
                    None if best is None else best.objective,
                    candidate.study,
                    candidate.point_id,
                )
            )


def run_plan(ctx: _Context, plan: StudyPlan) -> str:
    """Run one study to its stopping rule; return why it stopped."""
    while True:
        history = ctx.candidates(plan.study)
        pending = [c for c in history if c.status == "pending"]
        if pending:
            ctx.evaluate(pending)
            continue
        reason = stop_reason(plan, history)
        if reason is not None:
            return reason
        batch = max((c.batch for c in history), default=-1) + 1
        count = min(plan.batch, plan.budget - len(history))
        proposals = propose(
            plan, history, count, batch, ctx.spec.seed, ctx.spec.calibration.sampler
        )
        logger.info("%s: batch %d, %d candidate(s)", plan.study, batch, len(proposals))
        ctx.add_batch(plan, batch, proposals)


def run_calibration(
    experiment: Experiment | str | Path,
    out: str | Path | None = None,
    *,
    executor: AnyExecutor | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    resume: bool = False,
    progress: Callable[[CalibrationProgress], None] | None = None,
    run_fn: RunFunction | None = None,
    scenario_out: str | Path | None = None,
) -> CalibrationReport:
    """Run (or resume) a calibration into its results folder and write the calibrated scenario.

    Args:
        experiment: a loaded ``calibrate`` experiment or its file.
        out: results folder (default ``results/<name>/``).
        executor, workers, cluster: where runs execute (as ``experiments.runner.run_experiment``).
        resume: continue a folder holding this calibration (stored candidates are reused).
        progress: called after every evaluated candidate.
        run_fn: the run function (default ``experiments.runs.run_single``).
        scenario_out: the calibrated scenario file (default
            ``<folder>/<scenario>_calibrated.toml``).

    Raises:
        InputError: bad experiment or target file, a fit target naming an outcome the model
            does not report, a results folder that is not this calibration's, or (on resume)
            a changed scenario or changed fit targets.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    spec = exp.spec
    if not isinstance(spec, CalibrateSpec):
        raise InputError(
            f"{exp.path}: is a '{exp.kind}' experiment; run it with `microgov {exp.kind}`"
        )
    targets: TargetSet = exp.targets
    base = next(iter(exp.scenarios.values()))
    folder = Path(out) if out is not None else default_folder(exp.name)
    if run_fn is None:
        from experiments import runs

        run_fn = runs.run_single
    if scenario_out is not None:  # before any run: a target that cannot take the file
        check_scenario_target(Path(scenario_out), "--scenario-out")
    unavailable = [t.name for t in check_target_outcomes(exp, base, run_fn)]
    store = ResultStore.prepare(
        folder,
        name=exp.name,
        kind=exp.kind,
        file_hash=exp.digest,
        point_digests={},
        resume=resume,
        code=code_digest(),
    )
    report = CalibrationReport(folder=folder, name=exp.name, holdouts_unavailable=unavailable)
    own_executor = executor is None
    session: dict[str, Any] = {"started_at": now_iso(), "finished_at": None, "status": "running"}
    manifest: dict[str, Any] | None = None
    try:
        store.connection.executescript(CANDIDATES_SCHEMA)
        _check_resume(store, exp, base, targets)
        _write_meta(store, exp, base, targets, report)
        executor = executor or make_executor(workers=workers, cluster=cluster)
        session.update(executor.describe())
        manifest = _start_manifest(store, exp, targets, session)
        dimensions = tuple(Dimension.from_spec(p) for p in spec.calibration.parameters)
        block = spec.calibration
        profile_total = 0
        if block.profile is not None:
            per_parameter = [
                len(d.grid(block.profile.points))
                * (block.profile.candidates if len(dimensions) > 1 else 1)
                for d in dimensions
            ]
            profile_total = sum(per_parameter)
        if block.settle is not None:
            profile_total += block.settle.refit_candidates
        ctx = _Context(
            store,
            exp,
            spec,
            base,
            targets,
            executor,
            run_fn,
            report,
            progress,
            block.max_candidates + 1 + profile_total,
            dimensions,
        )
        plan = fit_plan(spec)
        if block.settle is not None:
            plan = _settle(ctx, block.settle, plan)
        report.stop_reason = run_plan(ctx, plan)
        fit = ctx.candidates(FIT_STUDY)
        best = best_candidate(fit)
        report.candidates = len(fit)
        report.failed_candidates = [c.point_id for c in fit if c.status == "failed"]
        if best is None:
            raise InputError(
                f"{exp.path}: no candidate has an objective (every one failed); see "
                f"`microgov status {folder}`"
            )
        report.best_point = best.point_id
        report.best_objective = best.objective
        warned = store.warnings()
        of_best = warned["run_key"].str.startswith(f"{best.point_id}/")
        report.best_warnings = list(dict.fromkeys(warned.loc[of_best, "message"]))
        report.best_parameters = dict(best.parameters)
        store.set_meta(
            {
                "stop_reason": report.stop_reason,
                "best_point": best.point_id,
                "best_objective": best.objective,
                "best_parameters": best.parameters,
            }
        )
        run_plan(ctx, check_plan(spec, best.parameters))
        check = best_candidate(ctx.candidates(CHECK_STUDY))
        report.check_objective = None if check is None else check.objective
        store.set_meta(
            {
                "check_point": None if check is None else check.point_id,
                "check_objective": report.check_objective,
            }
        )
        if block.settle is not None:
            _settle_residual(ctx, block.settle, best)
        target_path = (
            Path(scenario_out)
            if scenario_out is not None
            else folder / f"{base.name}_calibrated.toml"
        )
        report.scenario_file = write_calibrated_scenario(
            target_path,
            exp,
            base,
            targets,
            best,
            len(fit),
            settled=_settled_note(report, block.settle),
        )
        store.set_meta({"calibrated_scenario": str(report.scenario_file)})
        # profiles last: they do not change the fit, and the scenario is usable meanwhile
        for profile in profile_plans(spec, best.parameters):
            run_plan(ctx, profile)
        report.profiles = sum(1 for c in ctx.candidates() if c.study.startswith("profile/"))
        session["status"] = "finished"
    except BaseException as exc:
        session["status"] = f"stopped ({type(exc).__name__})"
        raise
    finally:
        session["finished_at"] = now_iso()
        session.update(runs_ran=report.ran)
        try:
            if manifest is not None:
                manifest["finished_at"] = session["finished_at"]
                store.write_manifest(manifest)
        finally:
            if own_executor and executor is not None:
                executor.close()
            store.close()
    logger.info(report.summary())
    return report


def _settle(ctx: _Context, settle: SettleSpec, plan: StudyPlan) -> StudyPlan:
    """Pre-fit, settle the field at the pre-fit's best, and return the refit's plan.

    Sets ``ctx.base`` to the scenario with the settled value (experiments.calibration_settle).
    """
    prefit = dataclasses.replace(plan, study=PREFIT_STUDY, prefix="f")
    reason = run_plan(ctx, prefit)
    history = ctx.candidates(PREFIT_STUDY)
    best = best_candidate(history)
    if best is None:
        raise InputError(
            f"{ctx.exp.path}: no pre-fit candidate has an objective (every one failed); see "
            f"`microgov status {ctx.store.folder}`"
        )
    start = float(field_value(ctx.base, settle.parameter))
    meta = ctx.store.meta()
    done = (
        steps_from_record(meta.get("settle_steps"))
        if meta.get("settle_from") == best.point_id
        else []
    )
    once = settle_function(ctx.base, best.parameters, settle, ctx.spec.seed, ctx.run_fn)
    steps = iterate(
        once,
        start,
        settle.iterations,
        settle.tolerance,
        done,
        valid=buildable(ctx.base, settle.parameter),
    )
    value = steps[-1].settled
    ctx.store.set_meta(
        {
            "settle_parameter": settle.parameter,
            "settle_outcome": settle.outcome,
            "settle_from": best.point_id,
            "settle_steps": steps_record(steps),
            "settle_value": value,
            "prefit_candidates": len(history),
            "prefit_stop_reason": reason,
            "prefit_best_objective": best.objective,
        }
    )
    ctx.base = ctx.build({settle.parameter: value}, "settled")
    ctx.report.settled = {settle.parameter: value}
    ctx.report.settle_steps = steps
    budget = settle.refit_candidates
    return dataclasses.replace(
        plan,
        index=1_000_000,
        budget=budget,
        startup=max(1, min(plan.startup, budget // 4)),
        first={d.name: best.parameters[d.name] for d in plan.free},
    )


def _settle_residual(ctx: _Context, settle: SettleSpec, best: Candidate) -> None:
    """One more settling iteration at the final best: how far the field would still move."""
    value = ctx.report.settled[settle.parameter]
    meta = ctx.store.meta()
    stored = steps_from_record(meta.get("settle_residual_step"))
    if stored and meta.get("settle_residual_from") == best.point_id and stored[0].start == value:
        step: SettleStep = stored[0]
    else:
        base = ctx.base  # already holds the settled value
        step = settle_function(base, best.parameters, settle, ctx.spec.seed, ctx.run_fn)(value)
    ctx.report.settle_residual = step.step
    ctx.store.set_meta(
        {
            "settle_residual_from": best.point_id,
            "settle_residual_step": steps_record([step]),
            "settle_residual": step.step,
        }
    )


def _settled_note(
    report: CalibrationReport, settle: SettleSpec | None
) -> dict[str, tuple[float, str]]:
    """The settled field, its value and the comment the calibrated scenario gives it."""
    if settle is None or not report.settled:
        return {}
    steps = report.settle_steps
    ((name, value),) = report.settled.items()
    comment = (
        f"settled: {settle.outcome} at the end of the fitted street's runs, "
        f"{len(steps)} fixed-point iteration(s) from {steps[0].start:.4g}; one more would "
        f"move it {_fmt(report.settle_residual)}"
    )
    return {name: (value, comment)}


def _check_resume(store: ResultStore, exp: Experiment, base: Scenario, targets: TargetSet) -> None:
    meta = store.meta()
    checks = (
        ("base_scenario_digest", str(base.digest), "the scenario"),
        ("targets_fit_sha256", targets.fit_digest(), "the fit targets of the target file"),
    )
    for key, now, what in checks:
        stored = meta.get(key)
        if stored is not None and stored != now:
            raise InputError(
                f"{store.folder}: {what} changed since this calibration was started "
                f"({stored[:12]}… stored, {now[:12]}… now); restore it, or calibrate into a "
                "new folder with --out"
            )


def check_target_outcomes(exp: Experiment, base: Scenario, run_fn: RunFunction) -> list[Any]:
    """Check target outcomes against a run's summary keys; return unavailable holdouts.

    Names the model is known to report are accepted at once; otherwise one one-day run of
    the base scenario (seed of replication 0) tells which outcomes this model reports.
    """
    targets: TargetSet = exp.targets
    if all(known_outcome(t.outcome) for t in targets.targets):
        return []
    assert isinstance(exp.spec, CalibrateSpec)
    started = time.perf_counter()
    output = run_fn(base, replication_seed(exp.spec.seed, 0), days=1)
    logger.info("outcome names read from a one-day run (%.1f s)", time.perf_counter() - started)
    return check_outcomes(targets, output.summary.keys())


def _write_meta(
    store: ResultStore,
    exp: Experiment,
    base: Scenario,
    targets: TargetSet,
    report: CalibrationReport,
) -> None:
    spec = exp.spec
    assert isinstance(spec, CalibrateSpec)
    stored = store.meta()
    meta: dict[str, Any] = {
        "name": exp.name,
        "kind": exp.kind,
        "description": spec.description,
        "file_hash": exp.digest,
        "experiment_file": str(exp.path),
        "root_seed": spec.seed,
        "seed_rule": "numpy.random.SeedSequence(root_seed, spawn_key=(replication,)); the "
        "same replications for every candidate",
        "replications": spec.replications,
        "replications_initial": spec.replications,
        "days": spec.days,
        "outcomes": sorted({t.outcome for t in targets.targets}),
        "scenarios": json.dumps({str(base.name): str(base.digest)}),
        "base_scenario_digest": str(base.digest),
        "targets": targets.records(),
        "targets_file": str(targets.path),
        "targets_sha256": targets.sha256,
        "targets_fit_sha256": targets.fit_digest(),
        "targets_unavailable": report.holdouts_unavailable,
        "parameters": [p.model_dump() for p in spec.calibration.parameters],
        "calibration": spec.calibration.model_dump(),
        "objective": OBJECTIVE_TEXT,
    }
    if "created_at" not in stored:
        meta["created_at"] = now_iso()
    store.set_meta(meta)


def _start_manifest(
    store: ResultStore, exp: Experiment, targets: TargetSet, session: dict[str, Any]
) -> dict[str, Any]:
    manifest = store.read_manifest()
    spec = exp.spec
    entries = experiment_manifest(
        manifest,
        exp,
        session,
        targets={
            "file": str(targets.path.resolve()),
            "sha256": targets.sha256,
            "text": targets.path.read_text(encoding="utf-8"),
        },
        seeds={
            "root": spec.seed,
            "replications": spec.replications,
            "rule": "replication i uses numpy.random.SeedSequence(root, spawn_key=(i,)); "
            "every candidate runs replications 0 … R-1 (common random numbers)",
        },
    )
    entries["packages"] = entries["packages"] | {"optuna": _optuna_version()}
    manifest.update(entries)
    store.write_manifest(manifest)
    return manifest


def _optuna_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("optuna")
    except metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------------------
# The calibrated scenario file
# ---------------------------------------------------------------------------


def _shown(path: Path) -> str:
    """A path relative to the working directory when it lies inside it (no local prefixes
    in a shipped file's provenance), else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def write_calibrated_scenario(
    path: Path,
    exp: Experiment,
    base: Scenario,
    targets: TargetSet,
    best: Candidate,
    candidates: int,
    settled: Mapping[str, tuple[float, str]] | None = None,
) -> Path:
    """Write the calibrated scenario and check that it builds the best candidate's scenario.

    The file ``extends`` the input scenario (path relative to the new file), repeats the
    experiment's overrides and sets the fitted values and the settled ones (``settled``:
    field → (value, comment), ``[calibration.settle]``); comments give the provenance.
    """
    spec = exp.spec
    assert isinstance(spec, CalibrateSpec)
    if base.path is None:
        raise InputError(f"{exp.path}: the base scenario has no file to extend")
    source = Path(base.path)
    overrides = flatten_overrides(load_scenario(source), spec.overrides)
    fitted = dict(best.parameters)
    bounds = {p.name: p for p in spec.calibration.parameters}
    fixed = {name: value for name, (value, _) in (settled or {}).items()}
    pinned = fitted.keys() | fixed.keys()  # what the fit and the settling set
    values = {k: v for k, v in overrides.items() if k not in pinned} | fixed | fitted
    comments = {k: "experiment override" for k in overrides if k not in pinned}
    comments |= {name: comment for name, (_, comment) in (settled or {}).items()}
    for name, value in fitted.items():
        b = bounds[name]
        scale = ", log scale" if b.log else ""
        comments[name] = f"fitted ≈ {value:.4g}; searched [{b.lower:g}, {b.upper:g}]{scale}"
    name = f"{base.name}_calibrated"
    seeds = f"root {spec.seed}, replications 0…{spec.replications - 1}"
    days = spec.days if spec.days is not None else "the scenario's own"
    header = [
        f"{name} — written by `microgov calibrate`; rerun the calibration rather than edit",
        "the fitted values by hand.",
        f"experiment file: {exp.path} (sha256 {exp.digest[:16]}…)",
        f"target file: {_shown(targets.path)} (sha256 {targets.sha256})",
        f"objective: {OBJECTIVE_TEXT}",
        f"objective value: {best.objective!r} at candidate {best.point_id}, best of "
        f"{candidates} candidate(s)",
        f"seeds: {seeds} (numpy SeedSequence(root, spawn_key=(i,)))",
        f"simulated days per run: {days}",
        f"date: {now_iso()}",
    ]
    written = write_extending_scenario(
        path,
        source,
        name=name,
        title=f"{base.parameters.title} (fitted)" if base.parameters.title else "",
        description=f"{base.name} calibrated to {targets.path.name}",
        header=header,
        values=values,
        comments=comments,
    )
    expected = apply_overrides(base, fixed | fitted)
    if written.digest != expected.digest:  # the file must give the model the fitted parameters
        raise RuntimeError(
            f"{path}: the calibrated scenario does not rebuild the best candidate "
            f"(digest {written.digest} != {expected.digest})"
        )
    logger.info("calibrated scenario written to %s", path)
    return path


__all__ = [
    "OBJECTIVE_TEXT",
    "CalibrationProgress",
    "CalibrationReport",
    "check_target_outcomes",
    "execute_candidate_run",
    "run_calibration",
    "write_calibrated_scenario",
]
