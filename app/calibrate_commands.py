"""Calibration subcommands: ``calibrate`` and ``fit-logs``.

``microgov calibrate EXPERIMENT [--out DIR] [--workers N] [--cluster ADDRESS] [--resume]
[--scenario-out FILE]`` fits a ``calibrate`` experiment (``experiments.calibration``) with a
progress bar (candidates evaluated, best objective) and writes the calibrated scenario.
Exit status: 0 done, 2 bad input (nothing run), 130 interrupted (evaluated candidates are
kept; ``--resume`` continues and reaches the same result).

``microgov fit-logs CASES.csv --map MAP.toml [--base SCENARIO] [--out FILE]`` estimates
scenario fields from a work-order log (``experiments.fit_logs``) and writes a scenario
plus a table of what it estimated and what it could not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from app import arguments
from app.console import interrupted_line, quiet_dask, run_with_progress

EXIT_OK, EXIT_INTERRUPTED = 0, 130


def register(subparsers: Any) -> None:
    """Add ``calibrate`` and ``fit-logs`` to the ``microgov`` parser."""
    parser = subparsers.add_parser(
        "calibrate",
        help="fit scenario fields to published figures (a target file)",
        description="Run a 'calibrate' experiment file: candidates proposed in batches by "
        "Optuna (ask/tell), each run R times on the same seeds, scored by the weighted sum of "
        "squared standardised distances to the fit targets; writes the calibrated scenario. "
        "`microgov report DIR` writes the fit report.",
    )
    parser.add_argument(
        "experiment", metavar="EXPERIMENT", help="experiment .toml file, or a name in experiments/"
    )
    arguments.add_execution_options(
        parser,
        out_help="results folder (default results/<experiment name>/)",
        resume_help="continue a stopped calibration in its folder (stored candidates are not "
        "rerun)",
    )
    parser.add_argument(
        "--scenario-out",
        type=Path,
        default=None,
        metavar="FILE",
        help="the calibrated scenario file (default DIR/<scenario>_calibrated.toml)",
    )
    parser.set_defaults(func=calibrate_command)

    logs = subparsers.add_parser(
        "fit-logs",
        help="estimate scenario fields from a work-order log (CSV)",
        description="Estimate arrival rates by case type and weekday, closure-time "
        "distributions per owning unit, front-desk and return shares from a work-order export; "
        "write a scenario that extends a base and a table of what was and was not estimated. "
        "The map file says which column is which and which request types are which case types.",
    )
    logs.add_argument("cases", metavar="CASES.csv", type=Path, help="the work-order log")
    logs.add_argument(
        "--map", dest="map_file", required=True, type=Path, metavar="MAP.toml", help="column map"
    )
    logs.add_argument(
        "--base",
        default=None,
        metavar="SCENARIO",
        help="scenario the written one extends (default: the map's base, else baseline)",
    )
    logs.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="scenario file to write (default <CASES stem>_fitted.toml beside the log); the "
        "table goes beside it as <name>.estimates.md and .csv",
    )
    logs.set_defaults(func=fit_logs_command)


def calibrate_command(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Run the calibration named on the command line; return the exit status."""
    from experiments.errors import InputError
    from experiments.experiment_files import load_experiment, resolve_experiment_path
    from experiments.runner import default_folder

    out = stream if stream is not None else sys.stdout
    experiment = load_experiment(resolve_experiment_path(args.experiment))
    if experiment.kind != "calibrate":
        raise InputError(
            f"{experiment.path}: is a '{experiment.kind}' experiment; run it with "
            f"`microgov {experiment.kind} {args.experiment}`"
        )
    from experiments.calibration import run_calibration  # optuna: imported when used

    folder = args.out if args.out is not None else default_folder(experiment.name)
    quiet_dask(args)
    bar = None if args.no_progress else _CandidateBar(experiment.name)
    report = run_with_progress(
        bar,
        lambda progress: run_calibration(
            experiment,
            folder,
            workers=args.workers,
            cluster=args.cluster,
            resume=args.resume,
            progress=progress,
            scenario_out=args.scenario_out,
        ),
        interrupted_line(folder, "evaluated candidates"),
    )
    if report is None:
        return EXIT_INTERRUPTED
    print(report.summary(), file=out)
    print(f"fit report: microgov report {folder}", file=out)
    return EXIT_OK


class _CandidateBar:
    """A tqdm bar over candidates, showing the best objective so far."""

    def __init__(self, name: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=0, desc=name, unit="candidate", dynamic_ncols=True, disable=None, file=sys.stderr
        )

    def update(self, event: Any) -> None:
        if self.bar.total != event.total:
            self.bar.total = event.total
        self.bar.n = event.done
        best = "–" if event.best is None else f"{event.best:.4g}"
        self.bar.set_postfix(best=best, study=event.study, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def fit_logs_command(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Estimate a scenario from a work-order log; return the exit status."""
    from experiments.fit_logs import fit_logs

    out = stream if stream is not None else sys.stdout
    result = fit_logs(args.cases, args.map_file, base=args.base, out=args.out)
    print(result.table_text(), file=out)
    print(f"scenario: {result.scenario_file}", file=out)
    print(f"table:    {result.table_file} (and {result.table_file.with_suffix('.csv')})", file=out)
    return EXIT_OK
