"""Command-line argument types shared by the subcommands: one bound and one message per option.

- ``--days``: a whole number within the scenario schema's own bounds for
  ``simulation.days`` (read from the schema, so the two cannot drift apart);
- ``--workers``: 1 … :func:`experiments.executors.max_workers` (4 × the CPUs, at most 64
  unless the machine has more CPUs);
- ``--out``: a folder name, never empty (``--out ""`` would mean the current folder);
- ``--no-progress``: the one spelling for "no progress bar" (old spellings stay as
  hidden aliases);
- options that contradict each other are refused, never one of them silently ignored
  (:func:`check_combinations`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import annotated_types

from experiments.errors import InputError
from experiments.executors import check_workers, max_workers
from model.parameters import SimulationParameters


def days_bounds() -> tuple[int, int]:
    """Smallest and largest ``simulation.days`` the scenario schema accepts."""
    low, high = 1, None
    for rule in SimulationParameters.model_fields["days"].metadata:
        if isinstance(rule, annotated_types.Ge):
            low = int(rule.ge)  # type: ignore[call-overload]
        elif isinstance(rule, annotated_types.Le):
            high = int(rule.le)  # type: ignore[call-overload]
    if high is None:  # pragma: no cover - the schema bounds days
        raise RuntimeError("simulation.days has no upper bound in the scenario schema")
    return low, high


def days(text: str) -> int:
    """``--days``: measured days after the warm-up (``simulation.days``), within the scenario
    schema's bounds."""
    low, high = days_bounds()
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number of days; allowed: {low} to {high}"
        ) from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"{value} is out of range; allowed: {low} to {high} measured days "
            "(the scenario field simulation.days has the same bounds)"
        )
    return value


def workers(text: str) -> int:
    """``--workers``: worker processes, 1 … the cap of :func:`experiments.executors.max_workers`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    try:
        check_workers(value)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--workers ")) from None
    return value


def out_folder(text: str) -> Path:
    """``--out``: a folder; an empty name is refused rather than read as the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty folder name is not allowed (it would write into the current folder); "
            "give a folder such as results/mine, or '.' for the current folder on purpose"
        )
    return Path(text)


def add_no_progress(parser: argparse.ArgumentParser, *old_spellings: str) -> None:
    """Add ``--no-progress`` (dest ``no_progress``), with old spellings as hidden aliases."""
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    for spelling in old_spellings:
        parser.add_argument(
            spelling, dest="no_progress", action="store_true", help=argparse.SUPPRESS
        )


def count(text: str, least: int = 1) -> int:
    """A whole number of at least ``least`` (replications, seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
    return value


def add_execution_options(
    parser: argparse.ArgumentParser, *, out_help: str, resume_help: str
) -> None:
    """``--out``, ``--workers``, ``--cluster``, ``--resume`` and ``--no-progress``: how every
    experiment-running command (compare, sweep, sensitivity, explain, calibrate) runs."""
    parser.add_argument("--out", type=out_folder, default=None, metavar="DIR", help=out_help)
    parser.add_argument(
        "--workers",
        type=workers,
        default=None,
        metavar="N",
        help=f"worker processes, 1 to {max_workers()} (default: every CPU; 1 runs serially "
        "in this process; with --cluster local, the local cluster's workers)",
    )
    parser.add_argument(
        "--cluster",
        default=None,
        metavar="ADDRESS",
        help="run on a Dask cluster: a scheduler address (tcp://host:8786) or 'local'",
    )
    parser.add_argument("--resume", action="store_true", help=resume_help)
    add_no_progress(parser)


def check_combinations(args: argparse.Namespace) -> None:
    """Refuse options that contradict each other, rather than ignore one of them silently.

    - ``run --no-files`` writes nothing, so ``--out`` or ``--overwrite`` beside it is a
      mistake about what the run will keep;
    - ``--workers N`` sizes the local pool or ``--cluster local``; a cluster at a scheduler
      address has the workers it has.

    Raises:
        InputError: naming both options and what to do.
    """
    if getattr(args, "no_files", False):
        for option, given in (("--out", args.out is not None), ("--overwrite", args.overwrite)):
            if given:
                raise InputError(
                    f"--no-files writes no files, so {option} has nothing to act on: drop "
                    f"--no-files to keep the outputs, or {option} to print the outcomes only"
                )
    cluster = getattr(args, "cluster", None)
    if cluster not in (None, "local") and getattr(args, "workers", None) is not None:
        raise InputError(
            f"--workers {args.workers} sizes the local pool or --cluster local; the cluster at "
            f"{cluster} runs on the workers it has: drop --workers (start more Dask workers to "
            "add some)"
        )
