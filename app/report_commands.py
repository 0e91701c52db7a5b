"""Report subcommand: ``microgov report RESULTS_DIR [--out DIR]`` (issue 5)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.error_line import print_error

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand to the ``microgov`` parser."""
    parser = subparsers.add_parser(
        "report",
        help="write an HTML and Markdown report of a results folder",
        description="Write one self-contained HTML page (figures embedded) and a Markdown "
        "version with PNG figures: reform effects with confidence intervals, figures, what "
        "differs between the scenarios, and the facts needed to reproduce the result.",
    )
    parser.add_argument(
        "results_dir",
        metavar="RESULTS_DIR",
        type=Path,
        help="a results folder written by `microgov compare|sweep|sensitivity`",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=None,
        help="folder for report.html, report.md and figures/ (default: RESULTS_DIR/report)",
    )
    parser.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Write the report of ``args.results_dir``; return the exit status."""
    from analysis.report import write_report  # heavy (matplotlib): imported when used
    from analysis.results import ResultsError

    _raise_if_damaged(Path(args.results_dir))
    try:
        paths = write_report(args.results_dir, args.out)
    except ResultsError as exc:
        print_error(exc)
        return EXIT_BAD_INPUT
    print(f"HTML report:     {paths.html}")
    print(f"Markdown report: {paths.markdown} ({len(paths.figures)} figures)")
    return EXIT_OK


def _raise_if_damaged(path: Path) -> None:
    """Check the results database as ``microgov status`` does before a report is written
    from it, and say damage as status says it — what SQLite found, that nothing was changed
    and what to do — with the same exit status (1). Without the check, a database damaged in
    a page the report does not read gave a report without a word, and one cut short was
    called "not an SQLite results database". Only damage (and an empty database, which
    status calls empty too) stops the report here: any other
    problem of the folder (none there, not a results folder, unreadable) is left to the
    report's own reader and its messages. The store's check (``PRAGMA quick_check``) is here
    because the reader of stored results (``analysis``) never imports the store.

    Args:
        path: the results folder, or its database file (as ``microgov report`` takes it).

    Raises:
        experiments.errors.DamagedDatabase: the folder's results database is damaged.
        experiments.errors.EmptyDatabase: it is empty (0 bytes).
    """
    from experiments.errors import DamagedDatabase, EmptyDatabase, InputError, ResourceError
    from experiments.store import DATABASE, ResultStore

    folder = path.parent if path.name == DATABASE and path.is_file() else path
    try:
        with ResultStore.open(folder):
            return
    except (DamagedDatabase, EmptyDatabase):  # said as status says them
        raise
    except (InputError, ResourceError):
        return  # not damage: the report's own reader says what is wrong
