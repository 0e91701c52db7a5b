"""Soak benchmark: peak memory against simulated days (issue 13).

Runs a scenario (default ``baseline``, one street of ≈50,000 residents) for 1, 2, 3 and 5
simulated years, each in a fresh child process (one thread), and records the child's peak
resident set size (``ru_maxrss`` of ``getrusage(RUSAGE_SELF)`` at its end, after
``model.output()``) together with the cases created, the case-table rows in use at the
end, and the build and run times.

``--sink`` chooses where the case log goes:

- ``count`` (default): a case sink that only counts the cases (what the experiment
  runner does with its histogram sink); finished cases are retired as the run goes
  (docs/design.md "A case log that does not grow");
- ``csv``: a ``CsvCaseSink`` writing every case to a temporary file, as ``microgov run``
  does (the file is removed at the end);
- ``none``: no sink: every case stays in memory and in ``output().cases`` (the classroom
  view's mode), for comparison.

The criterion (issue 13): at street scale, the peak with 5 simulated years is within 10 %
of the peak with one (``peak(5 y) ≤ 1.1 × peak(1 y)``); it is judged only when both
were measured. Years are *measured* years: the scenario's warm-up runs first.

Usage (from the repository root)::

    python benchmarks/bench_soak.py                              # baseline, 1 2 3 5 years
    python benchmarks/bench_soak.py --years 1 5 --sink none      # the old, growing memory
    python benchmarks/bench_soak.py --scenario classroom --years 1 2 --out /tmp/soak.json

Results go to ``benchmarks/results/soak.json`` (or ``--out``); a markdown table is printed.
Nothing here is a timed test.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_scenarios import ONE_THREAD, peak_rss_mib  # this folder is the script's path
from machine import interpreter_build

logger = logging.getLogger("bench_soak")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
YEAR = 365
FLATNESS = 1.10  # peak with five years within 10 % of the peak with one (issue 13)
SINKS = ("count", "csv", "none")


def child(scenario: str, years: float, seed: int, sink_kind: str) -> dict[str, Any]:
    """Run ``scenario`` for ``years`` measured years in this process; return the figures."""
    from experiments.case_sinks import CsvCaseSink
    from experiments.scenario_files import load_scenario, resolve_scenario_path
    from model.governance import GovernanceModel

    parameters = load_scenario(resolve_scenario_path(scenario)).parameters
    days = round(years * YEAR)
    figures: dict[str, Any] = {"years": years, "days": days, "sink": sink_kind}
    sunk = [0]

    def count(frame: Any) -> None:
        sunk[0] += len(frame)

    with (
        tempfile.TemporaryDirectory() as folder,
        open(Path(folder) / "cases.csv", "w", encoding="utf-8", newline="") as handle,
    ):
        csv_sink = CsvCaseSink(handle)
        sink = {"count": count, "csv": csv_sink, "none": None}[sink_kind]
        started, cpu = time.perf_counter(), time.process_time()
        model = GovernanceModel(parameters, seed=seed, case_sink=sink)
        figures["build_s"] = time.perf_counter() - started
        figures["rss_after_build_mib"] = peak_rss_mib()
        rows_max = [0]

        def progress(day: int) -> None:
            rows_max[0] = max(rows_max[0], model.casework.cases.live)
            if day % YEAR == 0:
                logger.info("day %d: peak RSS %.0f MiB", day, peak_rss_mib())

        ran = time.perf_counter()
        model.run(days, progress=progress)
        figures["run_s"] = time.perf_counter() - ran
        output = model.output()
        figures["cpu_s"] = time.process_time() - cpu
        figures["peak_rss_mib"] = peak_rss_mib()
    figures["total_days"] = model.day
    figures["cases_generated"] = float(output.summary["cases_generated"])
    figures["cases_in_sink"] = sunk[0] if sink_kind == "count" else csv_sink.rows
    figures["cases_in_output"] = len(output.cases)
    figures["case_rows_at_end"] = model.casework.cases.size
    figures["live_cases_max"] = rows_max[0]
    return figures


def measure(scenario: str, years: float, seed: int, sink: str) -> dict[str, Any]:
    """Run one length in a fresh child process and return its figures."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--scenario",
        scenario,
        "--years",
        str(years),
        "--seed",
        str(seed),
        "--sink",
        sink,
    ]
    done = subprocess.run(
        command, cwd=ROOT, env=os.environ | ONE_THREAD, stdout=subprocess.PIPE, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{scenario}, {years} years: child exited with {done.returncode}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    figures["load_average_1min"] = os.getloadavg()[0]
    return figures


def flatness(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue-13 criterion: peak(5 years) ≤ 1.1 × peak(1 year), if both were measured."""
    by_years = {float(r["years"]): r["peak_rss_mib"] for r in runs}
    if 1.0 not in by_years or 5.0 not in by_years:
        return {"ratio_5y_over_1y": None, "met": None, "limit": FLATNESS}
    ratio = by_years[5.0] / by_years[1.0]
    return {"ratio_5y_over_1y": ratio, "met": ratio <= FLATNESS, "limit": FLATNESS}


def markdown_table(runs: list[dict[str, Any]]) -> str:
    """One row per run length."""
    lines = [
        "| years | simulated days | cases | case rows at the end | build s | run s "
        "| peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r['years']:g} | {r['total_days']:,} | {r['cases_generated']:,.0f} "
            f"| {r['case_rows_at_end']:,} | {r['build_s']:.1f} | {r['run_s']:.1f} "
            f"| {r['peak_rss_mib']:.0f} |"
        )
    return "\n".join(lines)


def _git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    """Command line: measure run lengths (parent) or run one (``--child``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--years", nargs="+", type=float, default=[1.0, 2.0, 3.0, 5.0])
    parser.add_argument("--seed", type=int, default=0, help="model seed")
    parser.add_argument("--sink", choices=SINKS, default="count", help="where cases go")
    parser.add_argument("--out", type=Path, default=RESULTS / "soak.json", help="JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any(y <= 0 for y in args.years):
        parser.error("--years must be positive")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    logger.setLevel(logging.INFO)

    if args.child:
        figures = child(args.scenario, args.years[0], args.seed, args.sink)
        sys.stdout.write(json.dumps(figures) + "\n")
        return 0

    runs = []
    for years in args.years:
        logger.info("%s: %g years, sink %s, in a fresh process", args.scenario, years, args.sink)
        runs.append(measure(args.scenario, years, args.seed, args.sink))
    result = {
        "scenario": args.scenario,
        "sink": args.sink,
        "seed": args.seed,
        "git_commit": _git_commit(),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "interpreter": interpreter_build(),
            "platform": platform.platform(),
        },
        "runs": runs,
        "flatness": flatness(runs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(markdown_table(runs))
    met = result["flatness"]
    if met["met"] is not None:
        print(
            f"\npeak(5 y) / peak(1 y) = {met['ratio_5y_over_1y']:.3f} "
            f"(limit {FLATNESS}): {'met' if met['met'] else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
