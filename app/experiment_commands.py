"""Experiment subcommands: ``compare``, ``sweep``, ``sensitivity``, ``export``, ``status``.

``microgov compare|sweep|sensitivity EXPERIMENT [--out DIR] [--workers N]
[--cluster ADDRESS] [--worker-timeout SECONDS] [--resume] [--no-progress]`` runs an
experiment file into its results folder (default ``results/<experiment name>/``)
with a progress bar (runs done, failed, time left). Exit status: 0 when every run succeeded, 1 when some failed (the
message says how many and where), 2 for bad input (nothing was run), 130 when
interrupted (finished runs are kept; ``--resume`` continues). An experiment stopped
by its surroundings (disk full, damaged database, no Dask worker left) ends with
``error: …`` and status 1 (app.cli).

``microgov export DIR [--wide]`` writes CSV and Parquet tables to ``DIR/exports/``
(``--wide`` adds ``outcomes_wide``: one row per run, parameters and outcomes as columns)
and removes the files of an earlier export that it does not rewrite;
``microgov status DIR`` tells how far an experiment got, what failed, which workers
were lost, which runs reported warnings, and whether a runner is working on it now.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from app import arguments
from app.console import format_value, interrupted_line, quiet_dask, run_with_progress
from app.run_commands import REGISTERED_ONLY_FLAG, REGISTERED_ONLY_HELP
from experiments.executors import DEFAULT_WORKER_TIMEOUT_S

EXIT_OK, EXIT_RUNS_FAILED, EXIT_INTERRUPTED = 0, 1, 130
KIND_COMMANDS = ("compare", "sweep", "sensitivity")
_HELP = {
    "compare": "compare scenarios (reforms) on common random numbers",
    "sweep": "sweep dotted scenario fields over a grid or list of values",
    "sensitivity": "global sensitivity analysis (Sobol' or Morris) over scenario fields",
}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def register(subparsers: Any) -> None:
    """Add the experiment subcommands to the ``microgov`` parser."""
    for kind in KIND_COMMANDS:
        parser = subparsers.add_parser(
            kind,
            help=_HELP[kind],
            description=f"Run a '{kind}' experiment file ({_HELP[kind]}); results go to an SQLite "
            "store with a manifest, one transaction per finished run.",
        )
        parser.add_argument(
            "experiment",
            metavar="EXPERIMENT",
            help="experiment .toml file, or a name in experiments/",
        )
        arguments.add_execution_options(
            parser,
            out_help="results folder (default results/<experiment name>/)",
            resume_help="continue a results folder of this experiment: skip stored runs, "
            "retry failed ones",
        )
        parser.add_argument(
            "--worker-timeout",
            type=_seconds,
            default=DEFAULT_WORKER_TIMEOUT_S,
            metavar="SECONDS",
            help="with --cluster: stop with an error after this long without any Dask worker "
            f"(default {DEFAULT_WORKER_TIMEOUT_S:g})",
        )
        parser.add_argument(REGISTERED_ONLY_FLAG, action="store_true", help=REGISTERED_ONLY_HELP)
        parser.set_defaults(func=run_command, kind=kind)

    export = subparsers.add_parser(
        "export",
        help="export a results folder to CSV and Parquet",
        description="Write tidy tables (outcomes, runs, timeseries, distributions, points, "
        "sensitivity) of a results folder to DIR/exports/.",
    )
    export.add_argument("folder", metavar="DIR", type=Path, help="results folder")
    export.add_argument(
        "--format",
        choices=("csv", "parquet", "both"),
        default="both",
        help="file format (default both)",
    )
    export.add_argument(
        "--wide",
        action="store_true",
        help="also write outcomes_wide: one row per run with its parameters and every outcome "
        "as columns (the mesa.batch_run / BehaviorSpace layout)",
    )
    export.set_defaults(func=export_command)

    status = subparsers.add_parser(
        "status",
        help="how far an experiment got, and what failed",
        description="Summarise a results folder: runs done and failed per point, failures with "
        "their last traceback line, start and end times.",
    )
    status.add_argument("folder", metavar="DIR", type=Path, help="results folder")
    status.set_defaults(func=status_command)


# ---------------------------------------------------------------------------
# compare | sweep | sensitivity
# ---------------------------------------------------------------------------


def run_command(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Run the experiment named on the command line; return the exit status."""
    from experiments.errors import InputError
    from experiments.experiment_files import (
        describe_parameters,
        load_experiment,
        resolve_experiment_path,
    )
    from experiments.runner import default_folder, run_experiment

    out = stream if stream is not None else sys.stdout
    experiment = load_experiment(
        resolve_experiment_path(args.experiment),
        allow_imports=not getattr(args, "registered_kinds_only", False),
    )
    if experiment.kind != args.kind:
        raise InputError(
            f"{experiment.path}: is a '{experiment.kind}' experiment; run it with "
            f"`microgov {experiment.kind} {args.experiment}`"
        )
    folder = args.out if args.out is not None else default_folder(experiment.name)
    if experiment.kind == "compare":  # its explains are checked before any run (issue 9)
        from app.explain_commands import check_compare_explains

        check_compare_explains(experiment)
    quiet_dask(args)
    if experiment.kind == "sensitivity" and not getattr(args, "verbose", 0):
        # Outcomes without indices are listed with the reason in the printed table.
        logging.getLogger("experiments.sensitivity").setLevel(logging.ERROR)
    bar = None if args.no_progress else _ProgressBar(experiment.name)
    # The runner checks the results folder before it starts any worker or cluster.
    report = run_with_progress(
        bar,
        lambda progress: run_experiment(
            experiment,
            folder,
            workers=args.workers,
            cluster=args.cluster,
            resume=args.resume,
            progress=progress,
            worker_timeout_s=args.worker_timeout,
        ),
        interrupted_line(folder),
    )
    if report is None:
        return EXIT_INTERRUPTED
    if report.sensitivity is not None:
        print(sensitivity_text(report.sensitivity, report.noise), file=out)
    elif experiment.spec.outcomes:
        labels = {p.point_id: describe_parameters(p.parameters) for p in experiment.points}
        # a compare's reference (its first scenario where the file names none), as the report's
        print(_means_text(folder, experiment.spec.outcomes, labels, experiment.reference), file=out)
    print(report.summary(), file=out)
    if experiment.kind == "compare":  # the explains the compare asks for (issue 9)
        from app.explain_commands import run_compare_explains_command

        status = run_compare_explains_command(experiment, folder, args, report.replications, out)
        if status != EXIT_OK:
            return int(status)
    return EXIT_RUNS_FAILED if report.failed else EXIT_OK


class _ProgressBar:
    """A tqdm bar fed by the runner's progress events (only the CLI draws bars)."""

    def __init__(self, name: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=0, desc=name, unit="run", dynamic_ncols=True, disable=None, file=sys.stderr
        )
        self.started = False

    def update(self, event: Any) -> None:
        if self.bar.total != event.total:
            self.bar.total = event.total
        self.bar.n = event.done + event.failed
        self.bar.set_postfix(ok=event.done, failed=event.failed, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _means_text(
    folder: Path, outcomes: list[str], labels: dict[str, str], reference: str | None = None
) -> str:
    """Mean and 95 % t interval (cut to the outcome's range) per point of the outcomes of
    interest; ``labels``: point → its parameters as text, in the experiment's point order.
    With a ``reference`` point (a compare's), each other point's paired difference from it
    too: replication i against the reference's replication i (common seeds), the mean of
    the differences with its 95 % t interval, as the report gives it.

    The intervals are :func:`experiments.runner.mean_and_t_half_width`'s (no
    ``scipy.stats``)."""
    from analysis.formatting import within_range
    from experiments.runner import mean_and_t_half_width
    from experiments.store import ResultStore
    from model.outcomes import find_outcome

    with ResultStore.open(folder) as store:
        table = store.outcome_table(outcomes)
    if table.empty:
        return "no successful runs yet"
    lines = ["mean over replications [95 % interval]"]
    longest = max((len(str(p)) for p in labels), default=0)  # each block's names in a column
    others = [p for p in labels if p != reference] if reference is not None else []
    paired_width = max([22, *(len(str(p)) for p in others)])
    for outcome in outcomes:
        lines.append(f"  {outcome}")
        rows = table[table["outcome"] == outcome]
        by_point = rows.dropna(subset=["value"]).set_index(["point_id", "replication"])["value"]
        stored = set(by_point.index.get_level_values(0))
        entry = find_outcome(outcome)
        for point_id, label in labels.items():
            values = by_point.loc[point_id] if point_id in stored else by_point.iloc[:0]
            n = len(values)
            mean, half = mean_and_t_half_width(values)
            low, high = within_range(entry, mean - half, mean + half)
            interval = (
                f"[{format_value(outcome, low)}, {format_value(outcome, high)}]"
                if not math.isnan(half)
                else ""
            )
            lines.append(
                f"    {point_id:<{max(24, longest)}} {format_value(outcome, mean):>14} "
                f"{interval}  (n = {n})  {label}"
            )
        if reference is not None and reference in stored:
            lines += _paired_lines(by_point, stored, outcome, reference, others, paired_width)
    return "\n".join(lines)


def _paired_lines(
    by_point: Any, stored: set[str], outcome: str, reference: str, points: list[str], width: int
) -> list[str]:
    """``outcome``'s paired differences of ``points`` from ``reference`` (``by_point``: the
    outcome's stored values by point and replication; ``stored``: the points among them,
    the reference one of them), each with its 95 % t interval and the pairs it counts; the
    points' names in a column ``width`` wide."""
    from analysis.formatting import format_effect
    from experiments.runner import mean_and_t_half_width

    base = by_point.loc[reference]
    lines = [f"    difference from {reference} (paired on common seeds) [95 % interval]"]
    for point_id in points:
        if point_id not in stored:
            continue
        differences = (by_point.loc[point_id] - base).dropna()
        n = len(differences)
        mean, half = mean_and_t_half_width(differences)
        text = format_effect(outcome, mean, mean - half, mean + half, level=float(base.mean()))
        lines.append(f"      {point_id:<{width}} {text}  (pairs = {n})")
    return lines


def sensitivity_text(indices: Any, noise: Any = None) -> str:
    """Sobol' S1/ST or Morris mu*/sigma with intervals, for every outcome."""
    lines: list[str] = []
    method = str(indices["method"].iloc[0]) if len(indices) else "?"
    noise_by_outcome = (
        {} if noise is None else {r.outcome: r for r in noise.itertuples(index=False)}
    )
    if method == "sobol":
        header = f"    {'factor':<48} {'S1':>7} {'± 95%':>7} {'ST':>7} {'± 95%':>7}"
        shown = ("S1", "ST")
    else:
        header = f"    {'factor':<48} {'mu*':>10} {'± 95%':>9} {'sigma':>10}"
        shown = ("mu_star", "sigma")
    lines.append(f"sensitivity indices ({method}); intervals are bootstrap 95 % half-widths")
    for outcome, group in indices.groupby("outcome", sort=True):
        notes = [n for n in group.get("note", []) if isinstance(n, str) and n]
        if group["value"].isna().all():
            lines.append(f"  {outcome}: no indices ({notes[0] if notes else 'undefined'})")
            continue
        if notes:
            lines.append(f"  {outcome}: note: {notes[0]}")
        extra = ""
        row = noise_by_outcome.get(outcome)
        if (
            row is not None
            and isinstance(row.noise_share_of_point_means, float)
            and not math.isnan(row.noise_share_of_point_means)
        ):
            extra = f"  (seed noise: {100 * row.noise_share_of_point_means:.0f} % of the point means' variance)"
        lines.append(f"  {outcome}{extra}")
        lines.append(header)
        for factor, rows in group.groupby("factor", sort=False):
            by_index = {r.index_name: r for r in rows.itertuples(index=False)}
            cells = []
            for name in shown:
                r = by_index.get(name)
                value = math.nan if r is None else float(r.value)
                conf = math.nan if r is None else float(r.conf)
                if method == "sobol":
                    cells.append(f"{value:>7.3f} {conf:>7.3f}")
                elif name == "mu_star":
                    cells.append(f"{value:>10.4g} {conf:>9.3g}")
                else:
                    cells.append(f"{value:>10.4g}")
            lines.append(f"    {factor!s:<48} {' '.join(cells)}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# export | status
# ---------------------------------------------------------------------------


def export_command(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Export a results folder to CSV and/or Parquet."""
    from analysis.results import load_results
    from experiments.export import FORMATS, write_exports

    out = stream if stream is not None else sys.stdout
    formats = FORMATS if args.format == "both" else (args.format,)
    export = write_exports(args.folder, formats, wide=args.wide)
    results = load_results(args.folder)
    progress = results.progress()
    if progress.unfinished:
        print(
            f"unfinished experiment: {progress.counts_text()}; these files hold the stored runs "
            f"only; {_finish_hint(results.resume_command())}, then export again",
            file=out,
        )
    if export.removed:
        print(
            f"removed {len(export.removed)} file(s) of an earlier export that this one does not "
            f"rewrite: {', '.join(path.name for path in export.removed)}",
            file=out,
        )
    print(f"wrote {len(export.written)} file(s) to {export.folder}:", file=out)
    for path in export.written:
        print(f"  {path.name}", file=out)
    return EXIT_OK


def _finish_hint(command: str | None) -> str:
    """'finish it with `microgov compare … --resume`' (or with --resume when not recorded)."""
    if command is None:
        return "finish it by running the experiment again into this folder with --resume"
    return f"finish it with `{command}`"


def status_command(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Print how far an experiment got and what failed."""
    from analysis.results import resume_command, run_progress
    from experiments.folder_lock import current_holder, describe_holder, left_behind
    from experiments.store import ResultStore

    out = stream if stream is not None else sys.stdout
    with ResultStore.open(args.folder) as store:  # checks the database's integrity first
        meta = store.meta()
        runs = store.runs()
        points = store.points()
        manifest = store.read_manifest()
        sensitivity_rows = len(store.sensitivity())
        warnings = store.warnings()
        losses = store.worker_losses()
    holder = current_holder(args.folder)
    stale = left_behind(args.folder)
    progress = run_progress(
        meta, points["point_id"], zip(runs["point_id"], runs["status"], strict=True)
    )
    failed = runs[runs["status"] == "failed"]
    print(f"experiment {meta.get('name')!r} ({meta.get('kind')}) in {args.folder}", file=out)
    print(
        f"  file: {meta.get('experiment_file')} (sha256 {meta.get('file_hash', '')[:12]}…)",
        file=out,
    )
    if meta.get("reference"):
        print(f"  reference scenario: {meta['reference']}", file=out)
    print(
        f"  runs: {progress.ok} ok, {progress.failed} failed, {progress.not_run} not run "
        f"of {progress.planned} planned ({progress.points} point(s) × {progress.replications} "
        "replications)",
        file=out,
    )
    sessions = manifest.get("sessions", [])
    if sessions:
        last = sessions[-1]
        ended = (
            f"{last.get('status')} at {last['finished_at']}"
            if last.get("finished_at")
            # killed (SIGKILL, SIGTERM, a full disk): the session never wrote its end
            else f"started at {last.get('started_at')}, did not finish"
        )
        print(
            f"  started {manifest.get('started_at')}; last session {ended} on "
            f"{last.get('executor', 'an executor not yet started')} "
            f"({last.get('workers', '?')} worker(s))",
            file=out,
        )
    if holder is not None:
        print(f"  RUNNING now: {describe_holder(holder)}", file=out)
    elif stale is not None:
        print(
            f"  the last runner stopped without finishing ({describe_holder(stale)}); "
            "continue with --resume",
            file=out,
        )
    if holder is None and progress.unfinished:
        command = resume_command(meta, manifest, args.folder)
        print(f"  unfinished: {_finish_hint(command)}", file=out)
    if sensitivity_rows:
        print(f"  sensitivity indices stored: {sensitivity_rows} rows", file=out)
    if len(points) <= 30 and not runs.empty:
        counts = runs.groupby(["point_id", "status"]).size().unstack(fill_value=0)
        print("  per point (ok / failed):", file=out)
        params = dict(zip(points["point_id"], points["parameters"], strict=True))
        for point_id in points["point_id"]:
            row = counts.loc[point_id] if point_id in counts.index else {}
            described = ", ".join(
                f"{k}={v}" for k, v in json.loads(params[point_id] or "{}").items()
            )
            print(
                f"    {point_id:<24} {int(row.get('ok', 0)):>4} / {int(row.get('failed', 0)):<4} {described}",
                file=out,
            )
    if not failed.empty:
        print(f"  failed runs ({len(failed)}):", file=out)
        for r in failed.head(20).itertuples(index=False):
            print(f"    {r.run_key}: {_last_line(r.error)}", file=out)
        if len(failed) > 20:
            print(f"    … and {len(failed) - 20} more (table runs, status = 'failed')", file=out)
    _print_losses(losses, out)
    _print_warnings(warnings, out)
    return EXIT_OK


def _print_losses(losses: Any, out: TextIO) -> None:
    """Worker deaths and lost Dask workers (table worker_losses), one line per event."""
    if losses.empty:
        return
    events = losses.groupby(["at", "worker"], sort=False)
    print(f"  worker losses ({events.ngroups}):", file=out)
    for (at, worker), rows in list(events)[:10]:
        keys = [k for k in rows["run_key"] if isinstance(k, str)]
        actions = ", ".join(sorted(set(rows["action"].astype(str))))
        print(
            f"    {at} {rows['executor'].iloc[0]} worker {worker}: {len(keys)} run(s) in "
            f"flight ({actions}){': ' + ', '.join(keys[:5]) if keys else ''}",
            file=out,
        )


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _print_warnings(warnings: Any, out: TextIO) -> None:
    """Runs' warnings (table warnings), grouped by kind: messages that differ only in their
    numbers are one line, each number that varies shown as its range ('busy 91.2–99.0 %'),
    with how many runs gave one of them."""
    if warnings.empty:
        return
    runs = warnings["run_key"].nunique()
    print(f"  warnings ({runs} run(s)):", file=out)
    kinds: dict[str, tuple[list[list[str]], set[str]]] = {}
    for message, run_key in zip(warnings["message"], warnings["run_key"], strict=True):
        text = str(message)
        numbers, keys = kinds.setdefault(_NUMBER.sub("\x00", text), ([], set()))
        numbers.append(_NUMBER.findall(text))
        keys.add(str(run_key))
    ordered = sorted(kinds.items(), key=lambda item: -len(item[1][1]))
    for shape, (numbers, keys) in ordered[:10]:
        parts = shape.split("\x00")
        filled = parts[0] + "".join(
            n + rest for n, rest in zip(_ranges(numbers), parts[1:], strict=True)
        )
        print(f"    {filled}  ({len(keys)} run(s))", file=out)
    if len(ordered) > 10:
        print(f"    … and {len(ordered) - 10} more kinds of message (table warnings)", file=out)


def _ranges(numbers: list[list[str]]) -> list[str]:
    """For each number's place in messages of one kind, the number, or 'least–most' when
    the messages differ there (each as written in its message)."""
    shown = []
    for place in zip(*numbers, strict=True):
        least, most = min(place, key=float), max(place, key=float)
        shown.append(least if float(least) == float(most) else f"{least}–{most}")
    return shown


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no traceback)"
