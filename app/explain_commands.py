"""``microgov explain`` (a reform's effect by mechanism) and ``microgov mechanisms`` (the table).

``explain REFORM --against REFERENCE`` runs the reform's variants (experiments/explain.py)
into a results folder like any experiment — parallel, stored, resumable — and prints the
decomposition (analysis/decomposition.py); ``microgov report DIR`` turns the folder into a
report section. ``mechanisms`` prints the reform → mechanism → parameter → neutral value
table of every registered policy, or of the policies of the scenarios named.

A compare experiment asks for explains with ``explain = ["reform_x"]``:
:func:`check_compare_explains` builds them before the compare starts (bad input fails
first) and :func:`run_compare_explains_command` runs them after it, into
``<folder>/explain/<reform>/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from app import arguments
from app.console import interrupted_line, quiet_dask, run_with_progress

EXIT_OK, EXIT_RUNS_FAILED, EXIT_INTERRUPTED = 0, 1, 130
FORMATS = ("table", "csv", "json")


def register(subparsers: Any) -> None:
    """Add the ``explain`` and ``mechanisms`` subcommands."""
    explain = subparsers.add_parser(
        "explain",
        help="decompose a reform's effect by mechanism (why does it work?)",
        description="Run REFORM, REFERENCE and REFORM with each mechanism switched to its "
        "neutral value in turn, on alone, and all together, on the same seeds; print how much "
        "of the effect on each outcome each mechanism carries, with intervals, and the "
        "interaction left over. Results go to a results folder (`microgov report DIR`).",
    )
    explain.add_argument("reform", metavar="REFORM", help="scenario file, or a name in scenarios/")
    explain.add_argument(
        "--against",
        required=True,
        metavar="REFERENCE",
        help="the reference scenario (file or name), e.g. baseline",
    )
    explain.add_argument(
        "--replications",
        type=arguments.count,
        default=5,
        metavar="N",
        help="replications of every variant (default 5; more with --resume extend the stored)",
    )
    explain.add_argument(
        "--days",
        type=arguments.days,
        default=None,
        metavar="D",
        help="measured days after the scenarios' warm-up (default: the scenario's)",
    )
    explain.add_argument(
        "--seed", type=lambda t: arguments.count(t, 0), default=0, help="root seed (default 0)"
    )
    explain.add_argument(
        "--outcomes",
        nargs="+",
        default=[],
        metavar="OUTCOME",
        help="outcomes to decompose (default: resolution, satisfaction, on-time, time, trust)",
    )
    arguments.add_execution_options(
        explain,
        out_help="results folder (default results/explain_<reform>_vs_<reference>/)",
        resume_help="continue a results folder of this explain: skip stored runs, retry "
        "failed ones",
    )
    explain.set_defaults(func=explain_command)

    mechanisms = subparsers.add_parser(
        "mechanisms",
        help="list every policy's mechanisms: parameter, neutral value, source",
        description="Print the reform → mechanism → parameter → neutral value table of every "
        "registered policy (built-in and plug-ins), or of the policies of the scenarios given.",
    )
    mechanisms.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help="list the mechanisms of these scenarios' policies, with their dotted paths",
    )
    mechanisms.add_argument(
        "--format", choices=FORMATS, default="table", help="output format (default table)"
    )
    mechanisms.set_defaults(func=mechanisms_command)


# ---------------------------------------------------------------------------
# explain
# ---------------------------------------------------------------------------


def explain_command(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Run ``microgov explain`` and print the decomposition; return the exit status."""
    from app.experiment_commands import _ProgressBar
    from experiments.explain import build_explain
    from experiments.runner import default_folder, run_experiment
    from experiments.scenario_files import load_scenario, resolve_scenario_path

    out = stream if stream is not None else sys.stdout
    reform = load_scenario(resolve_scenario_path(args.reform))
    reference = load_scenario(resolve_scenario_path(args.against))
    experiment = build_explain(
        reform,
        reference,
        seed=args.seed,
        replications=args.replications,
        days=args.days,
        outcomes=args.outcomes,
    )
    folder = args.out if args.out is not None else default_folder(experiment.name)
    quiet_dask(args)
    bar = None if args.no_progress else _ProgressBar(experiment.name)
    report = run_with_progress(
        bar,
        lambda progress: run_experiment(
            experiment,
            folder,
            workers=args.workers,
            cluster=args.cluster,
            resume=args.resume,
            progress=progress,
        ),
        interrupted_line(folder),
    )
    if report is None:
        return EXIT_INTERRUPTED
    print(explanation_text(folder, args.outcomes), file=out)
    print(report.summary(), file=out)
    print(f"report: microgov report {folder}", file=out)
    return EXIT_RUNS_FAILED if report.failed else EXIT_OK


def explanation_text(folder: Path, outcomes: list[str] | None = None) -> str:
    """The decomposition stored in an explain results folder, as text."""
    from analysis.decomposition import decomposition, decomposition_text, explain_plan
    from analysis.results import load_results

    results = load_results(folder)
    plan = explain_plan(results)
    if plan is None:
        return f"{folder}: not an explain results folder"
    return decomposition_text(decomposition(results, outcomes or None), plan)


def check_compare_explains(experiment: Any) -> None:
    """Build the explains a compare experiment asks for (InputError before any run)."""
    from experiments.explain import compare_explains

    compare_explains(experiment)


def run_compare_explains_command(
    experiment: Any, folder: Path, args: argparse.Namespace, replications: int, out: TextIO
) -> int:
    """Run the explains a compare experiment asks for and print each decomposition."""
    from app.experiment_commands import _ProgressBar
    from experiments.explain import compare_explains, explain_folder, run_compare_explains

    if not compare_explains(experiment):
        return EXIT_OK
    bar = None if args.no_progress else _ProgressBar(f"{experiment.name} explain")
    reports = run_with_progress(
        bar,
        lambda progress: run_compare_explains(
            experiment,
            folder,
            replications=replications,
            workers=args.workers,
            cluster=args.cluster,
            resume=True,  # the compare's own folder was checked (and resumed) already
            progress=progress,
        ),
        interrupted_line(folder),
    )
    if reports is None:
        return EXIT_INTERRUPTED
    for reform, report in zip(experiment.spec.explain, reports, strict=True):
        print("", file=out)
        print(explanation_text(explain_folder(folder, reform)), file=out)
        print(report.summary(), file=out)
    return EXIT_RUNS_FAILED if any(r.failed for r in reports) else EXIT_OK


# ---------------------------------------------------------------------------
# mechanisms
# ---------------------------------------------------------------------------


def mechanisms_command(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Print the mechanism table in the chosen format."""
    from experiments.explain import (
        MECHANISM_COLUMNS,
        registered_mechanisms,
        scenario_mechanism_rows,
    )
    from experiments.scenario_files import load_scenario, resolve_scenario_path

    out = stream if stream is not None else sys.stdout
    if args.scenarios:
        rows = []
        for reference in args.scenarios:
            scenario = load_scenario(resolve_scenario_path(reference))
            rows += [{"scenario": scenario.name} | r for r in scenario_mechanism_rows(scenario)]
        columns = ["scenario", *(c if c != "default" else "value" for c in MECHANISM_COLUMNS)]
    else:
        rows = registered_mechanisms()
        columns = list(MECHANISM_COLUMNS)
    if args.format == "json":
        json.dump(rows, out, ensure_ascii=False, indent=2)
        print(file=out)
    elif args.format == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif not rows:
        what = (
            "the policies of these scenarios declare no mechanism"
            if args.scenarios
            else "no registered policy declares a mechanism yet"
        )
        print(f"{what} (MECHANISMS, model/mechanisms.py)", file=out)
    else:
        shown = [c for c in columns if c != "description"]
        cells = [[_cell(r.get(c)) for c in shown] for r in rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(shown)]
        print("  ".join(c.ljust(w) for c, w in zip(shown, widths, strict=True)), file=out)
        for row, r in zip(cells, rows, strict=True):
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)), file=out)
            print(f"    {r.get('description', '')}", file=out)
    return EXIT_OK


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
