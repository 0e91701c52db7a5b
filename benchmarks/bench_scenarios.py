"""Benchmark one simulated year of the shipped scenarios: wall time and peak memory.

Each scenario runs in a fresh child process (a cold interpreter, one core: numeric
libraries are limited to one thread), which measures and reports, as one JSON line:

- ``import_s``: from the script's start to the model imported (Mesa, pandas, scipy …);
- ``load_s``: reading and validating the scenario file;
- ``build_s``: ``GovernanceModel(parameters, seed)`` (population, network, agents);
- ``run_s``: ``model.run(days)``, with the case log streaming to ``cases.csv`` in a
  temporary folder as finished cases retire, as ``microgov run --out`` does; of it,
  ``first_day_s`` (and ``first_day_cpu_s``) the first simulated day's, on which the
  compiled trust step groups the ties, once for the run;
- ``output_s``: ``model.output()`` (summary, time series, the last cases to the file);
- ``write_s``: writing ``summary.json`` and ``timeseries.csv`` (peak RSS includes it);
- ``peak_rss_mib``: the child's peak resident set size, ``ru_maxrss`` of
  ``getrusage(RUSAGE_SELF)`` at its end (the honest peak, including the interpreter and
  every library), and ``rss_after_build_mib`` (the peak up to the end of the build);
- ``cpu_s``: the child's user + system CPU time (≈ its wall time when it used one core),
  and ``*_cpu_s`` per phase (``time.process_time``): on a shared, loaded machine the
  CPU time approximates what the wall time would be on an idle core.

``--profile N`` runs build and run under cProfile instead (no target is judged) and
prints the N functions with the most own time.

``--repeats N`` measures each scenario N times, each in a fresh child, and keeps the
median reading's figures (by build + run seconds; targets are judged on it), with every
reading in the JSON's ``repeats``. ``--against CHECKOUT`` measures another checkout's model
(through that checkout's own copy of this script's child) alternately with this one's, N
times each, which of the two runs first swapped each time, so that a drift of the
machine's speed falls on both alike; the JSON's ``against`` holds its readings, its median
reading's figures and the paired differences, and a second table gives both medians and the
median paired difference — how the issue-11 rounds compare a change with the tree before
it on a machine whose speed moves by seconds from minute to minute.

Then, unless ``--no-reference``, the **reference loop** (``benchmarks/reference_loop.py``,
issue 11: the same number of cases as the run, four queue events each, no policy logic)
runs in another fresh one-thread child, sized by the run (its ``cases_generated``,
simulated days and grids), and the model's ratio to it is reported in the same run:
``ratio_to_reference.wall`` = ``(build_s + run_s) / reference seconds`` (and ``.cpu``,
``.wall_with_output``). Goal (issue 11): ≤ 2.5.

Targets (issue 11, one year on one core), checked only for a full year (``--days 365``
measured days after the scenario's warm-up) and on ``build_s + run_s`` (the model's own
work; ``import_s``, ``output_s`` and ``write_s`` are reported beside it), in wall time
and in CPU time: ``classroom`` ≤ 0.2 s, ``baseline`` (the street) ≤ 1 s, ``yongchuan``
≤ 20 s and ≤ 1 GB (10⁹ bytes) of peak RSS (must: ≤ 45 s, ≤ 1.5 GB).

Usage (from the repository root)::

    python benchmarks/bench_scenarios.py                                # classroom baseline
    python benchmarks/bench_scenarios.py --scenarios yongchuan          # a few minutes
    python benchmarks/bench_scenarios.py --scenarios classroom --days 5 --out /tmp/s.json
    python benchmarks/bench_scenarios.py --scenarios baseline --days 60 --profile 20 \\
        --out benchmarks/results/profile.json
    python benchmarks/bench_scenarios.py --scenarios yongchuan --no-reference \\
        --repeats 3 --against /tmp/tree-before        # a change against the tree before

Results are merged by scenario into the JSON file (default
``benchmarks/results/scenarios.json``), so a long scenario can be measured in a separate
invocation; each entry carries its own date, days and git commit. A markdown table of
this invocation's scenarios is printed.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import json
import logging
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

START = time.perf_counter()

logger = logging.getLogger("bench_scenarios")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_SCENARIOS = ("classroom", "baseline")
FULL_YEAR = 365
# name -> (limit on build_s + run_s, limit on peak RSS in bytes or None): issue 11's
# targets for one year on one core (issue 2's were 1.5 s and 60 s / 2 GB)
TARGETS: dict[str, tuple[float, float | None]] = {
    "classroom": (0.2, None),
    "baseline": (1.0, None),
    "yongchuan": (20.0, 1e9),
}
# issue 11's goal for the model's build + run time over the reference loop's
REFERENCE_RATIO_GOAL = 2.5
ONE_THREAD = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    )
}


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------- child
def child(
    scenario: str, days: int, seed: int, progress_days: int, profile: int = 0
) -> dict[str, Any]:
    """Load, build, run and summarise one scenario in this process; return the figures.

    With ``profile`` > 0, build and run under cProfile (slower: the times are then not
    comparable with the targets) and report the ``profile`` functions with the most
    own time, and the cumulative time of the model's main phases.
    """
    from app.run_commands import summary_record
    from experiments.case_sinks import CsvCaseSink
    from experiments.scenario_files import load_scenario, resolve_scenario_path
    from model.governance import GovernanceModel
    from model.trust_diffusion import far_tie_layout

    imported, imported_cpu = time.perf_counter(), time.process_time()
    figures: dict[str, Any] = {"import_s": imported - START, "import_cpu_s": imported_cpu}
    figures["model_source"] = str(Path(inspect.getfile(GovernanceModel)).parent)

    loaded = load_scenario(resolve_scenario_path(scenario))
    built_at, built_cpu = time.perf_counter(), time.process_time()
    figures["load_s"] = built_at - imported
    figures["load_cpu_s"] = built_cpu - imported_cpu

    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    # the case log streams to cases.csv as the run goes, as ``microgov run --out`` does
    # (issue 13: finished cases retire from the table), so writing it is in the run's time
    folder = Path(tempfile.mkdtemp(prefix="bench_scenarios_"))
    case_file = open(folder / "cases.csv", "w", encoding="utf-8", newline="")
    model = GovernanceModel(loaded.parameters, seed=seed, case_sink=CsvCaseSink(case_file))
    ran_at, ran_cpu = time.perf_counter(), time.process_time()
    figures["build_s"] = ran_at - built_at
    figures["build_cpu_s"] = ran_cpu - built_cpu
    figures["rss_after_build_mib"] = peak_rss_mib()

    def progress(day: int) -> None:
        if day == 1:  # (the compiled trust step groups the ties on the first day, once)
            figures["first_day_s"] = time.perf_counter() - ran_at
            figures["first_day_cpu_s"] = time.process_time() - ran_cpu
        if progress_days and day % progress_days == 0:
            logger.info(
                "%s day %d: %.1f s wall, %.1f s CPU since start, peak RSS %.0f MiB",
                scenario,
                day,
                time.perf_counter() - ran_at,
                time.process_time(),
                peak_rss_mib(),
            )

    model.run(days, progress=progress)
    output_at, output_cpu = time.perf_counter(), time.process_time()
    figures["run_s"] = output_at - ran_at
    figures["run_cpu_s"] = output_cpu - ran_cpu
    if profiler is not None:
        profiler.disable()
        figures["profile"] = _profile_summary(profiler, profile)

    out = model.output()
    case_file.close()
    written_at, written_cpu = time.perf_counter(), time.process_time()
    figures["output_s"] = written_at - output_at
    figures["output_cpu_s"] = written_cpu - output_cpu
    # summary.json and timeseries.csv, as ``microgov run --out`` writes them (cases.csv was
    # streamed during the run)
    record = summary_record(out.summary, loaded, seed=seed, days=days, warnings=out.warnings)
    (folder / "summary.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    out.timeseries.to_csv(folder / "timeseries.csv", index=False)
    shutil.rmtree(folder)
    figures["write_s"] = time.perf_counter() - written_at
    figures["write_cpu_s"] = time.process_time() - written_cpu
    figures["peak_rss_mib"] = peak_rss_mib()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures["cpu_s"] = usage.ru_utime + usage.ru_stime
    summary = out.summary
    figures["model"] = {
        "residents": int(model.population.size),
        "grids": int(model.n_grids),
        "events_processed": int(model.events.processed),
        "simulated_days": int(model.day),
        "cases_generated": float(summary.get("cases_generated", float("nan"))),
        "cases_closed": float(summary.get("cases_closed", float("nan"))),
        "digest": loaded.digest,
        # how the trust step read the far ties: the layout its first days kept on this
        # machine (model/far_tie_trial.py), or that there were none
        "trust_far_ties": far_tie_layout(model.population),
    }
    return figures


def _child_environment(root: Path = ROOT) -> dict[str, str]:
    """One thread, and ``root``'s model first on the path: run from another checkout, the
    benchmark measures that checkout, not the one the environment has installed."""
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    return os.environ | ONE_THREAD | {"PYTHONPATH": path}


def _profile_summary(profiler: cProfile.Profile, top: int) -> dict[str, Any]:
    """The ``top`` functions by own time, and the ``2 × top`` by cumulative time."""
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for (file, line, function), (_, ncalls, tottime, cumtime, _) in raw.items():
        where = f"{_short(file)}:{line}({function})"
        rows.append({"function": where, "ncalls": ncalls, "tottime": tottime, "cumtime": cumtime})
    total = sum(r["tottime"] for r in rows)  # all profiled time (build + run)
    return {
        "total_s": total,
        "by_tottime": sorted(rows, key=lambda r: -r["tottime"])[:top],
        "by_cumtime": sorted(rows, key=lambda r: -r["cumtime"])[: 2 * top],
    }


def _short(file: str) -> str:
    """A file name relative to the repository or site-packages, for reading."""
    for marker in (str(ROOT) + os.sep, "site-packages" + os.sep):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# --------------------------------------------------------------------------- parent
def measure(
    scenario: str,
    days: int,
    seed: int,
    progress_days: int,
    profile: int = 0,
    reference: bool = True,
    root: Path = ROOT,
) -> dict[str, Any]:
    """Run one scenario in a fresh child process and return its figures; then (unless
    ``reference`` is false or the run was profiled) the reference loop with the run's
    cases, simulated days and grids, in another fresh child, and the model's ratio to it.
    ``root``: the checkout whose model (and whose copy of this script's child) runs."""
    command = [
        sys.executable,
        str(root / "benchmarks" / "bench_scenarios.py"),
        "--child",
        scenario,
        "--days",
        str(days),
        "--seed",
        str(seed),
        "--progress-days",
        str(progress_days),
        "--profile",
        str(profile),
    ]
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=root,
        env=_child_environment(root),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{scenario}: child of {root} exited with {done.returncode} (see its stderr)"
        )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["child_wall_s"] = wall
    figures["model_s"] = figures["build_s"] + figures["run_s"]
    figures["model_cpu_s"] = figures["build_cpu_s"] + figures["run_cpu_s"]
    figures["days"] = days
    figures["seed"] = seed
    figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    figures["git"] = _git_state(root)
    if reference and not profile:
        figures["reference"] = run_reference(figures["model"])
        figures["ratio_to_reference"] = {
            "wall": figures["model_s"] / figures["reference"]["seconds"],
            "cpu": figures["model_cpu_s"] / figures["reference"]["cpu_s"],
            "wall_with_output": (figures["model_s"] + figures["output_s"] + figures["write_s"])
            / figures["reference"]["seconds"],
        }
    figures["targets"] = _targets(scenario, days if not profile else -1, figures)
    return figures


def measure_repeated(scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    """:func:`measure` ``args.repeats`` times (alternated with ``args.against``'s checkout,
    which of the two runs first swapped each time, so that a drift of the machine's speed
    falls on both alike): the median reading's figures (by build + run seconds), with
    ``repeats`` holding every reading of this checkout and ``against`` the other's and
    the paired differences (this checkout's minus the other's, in the order run)."""
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    sides = [(ROOT, ours)] + ([] if args.against is None else [(args.against, theirs)])
    for i in range(args.repeats):
        for root, readings in sides if i % 2 else sides[::-1]:
            logger.info("%s: %d days in a fresh process (%s)", scenario, args.days, root)
            readings.append(
                measure(
                    scenario,
                    args.days,
                    args.seed,
                    args.progress_days,
                    args.profile,
                    reference=not args.no_reference,
                    root=root,
                )
            )
    kept = _median_reading(ours)
    if args.repeats > 1 or args.against is not None:
        kept["repeats"] = _readings(ours)
    if args.against is not None:
        other = _readings(theirs)
        difference = [
            a - b for a, b in zip(kept["repeats"]["model_s"], other["model_s"], strict=True)
        ]
        kept["against"] = other | {
            "root": str(args.against),
            "median_figures": _median_reading(theirs),  # (its ``git`` says which commit)
            "paired_difference_s": difference,
            "median_paired_difference_s": statistics.median(difference),
        }
    return kept


def _readings(readings: list[dict[str, Any]]) -> dict[str, Any]:
    """Every reading's build + run seconds (wall and CPU) and ratio, and their medians."""
    model_s = [f["model_s"] for f in readings]
    model_cpu_s = [f["model_cpu_s"] for f in readings]
    ratio = [f["ratio_to_reference"]["wall"] for f in readings if "ratio_to_reference" in f]
    return {
        "model_s": model_s,
        "model_cpu_s": model_cpu_s,
        "ratio_wall": ratio,
        "median_model_s": statistics.median(model_s),
        "median_model_cpu_s": statistics.median(model_cpu_s),
        "median_ratio_wall": statistics.median(ratio) if ratio else None,
        "model_source": readings[0]["model_source"],
    }


def _median_reading(readings: list[dict[str, Any]]) -> dict[str, Any]:
    """The reading with the median build + run time (the lower middle one of an even
    number: a reading, not an average of two)."""
    ordered = sorted(readings, key=lambda f: f["model_s"])
    return dict(ordered[(len(ordered) - 1) // 2])


def run_reference(model: dict[str, Any]) -> dict[str, Any]:
    """``benchmarks/reference_loop.py`` in a fresh one-thread child, sized like the run."""
    command = [
        sys.executable,
        str(Path(__file__).resolve().parent / "reference_loop.py"),
        "--cases",
        str(int(model["cases_generated"])),
        "--days",
        str(model["simulated_days"]),
        "--grids",
        str(model["grids"]),
    ]
    done = subprocess.run(
        command, cwd=ROOT, env=os.environ | ONE_THREAD, stdout=subprocess.PIPE, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"reference loop exited with {done.returncode} (see its stderr)")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _targets(scenario: str, days: int, figures: dict[str, Any]) -> dict[str, Any]:
    """Which targets this measurement meets (None when it has none or is not a full year)."""
    ratio = figures.get("ratio_to_reference")
    met_ratio = {
        "ratio_limit": REFERENCE_RATIO_GOAL,
        "ratio": None if ratio is None else ratio["wall"] <= REFERENCE_RATIO_GOAL,
        "ratio_cpu": None if ratio is None else ratio["cpu"] <= REFERENCE_RATIO_GOAL,
    }
    if scenario not in TARGETS or days != FULL_YEAR:
        return {"time": None, "time_cpu": None, "memory": None} | met_ratio
    seconds, memory = TARGETS[scenario]
    return {
        "time_limit_s": seconds,
        "time": figures["model_s"] <= seconds,
        "time_cpu": figures["model_cpu_s"] <= seconds,
        "memory_limit_bytes": memory,
        "memory": None if memory is None else figures["peak_rss_mib"] * 2**20 < memory,
    } | met_ratio


def _git_state(root: Path = ROOT) -> dict[str, Any]:
    """The commit measured, and whether the model's sources had uncommitted changes (empty
    and false outside a git checkout)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "model", "experiments", "scenarios")),
    }


def machine() -> dict[str, Any]:
    """The machine and interpreter the figures were measured on."""
    from machine import interpreter_build  # this folder is the script's path

    return {
        "nproc": os.cpu_count(),
        # other work on the machine inflates wall times: the 1-minute load at the end
        "load_average_1min": os.getloadavg()[0],
        "python": platform.python_version(),
        "interpreter": interpreter_build(),  # PGO, LTO: docs/performance.md
        "platform": platform.platform(),
    }


def markdown_table(entries: dict[str, dict[str, Any]]) -> str:
    """One row per scenario."""
    lines = [
        "| scenario | days | residents | import s | build s | run s | build+run s "
        "| build+run CPU s | output + write s | peak RSS MiB | reference s (CPU) "
        "| ratio wall (CPU) | time met (wall / CPU) | memory met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]

    def word(value: bool | None) -> str:
        return "n/a" if value is None else ("yes" if value else "no")

    for name, f in entries.items():
        met = f["targets"]
        if "reference" in f:
            ref = f"{f['reference']['seconds']:.2f} ({f['reference']['cpu_s']:.2f})"
            ratio = f"{f['ratio_to_reference']['wall']:.2f} ({f['ratio_to_reference']['cpu']:.2f})"
        else:
            ref = ratio = "–"
        lines.append(
            f"| {name} | {f['days']} | {f['model']['residents']:,} | {f['import_s']:.2f} "
            f"| {f['build_s']:.2f} | {f['run_s']:.2f} | {f['model_s']:.2f} "
            f"| {f['model_cpu_s']:.2f} | {f['output_s'] + f['write_s']:.2f} "
            f"| {f['peak_rss_mib']:.0f} | {ref} | {ratio} "
            f"| {word(met['time'])} / {word(met['time_cpu'])} | {word(met['memory'])} |"
        )
    return "\n".join(lines)


def repeats_table(entries: dict[str, dict[str, Any]]) -> str:
    """Each scenario's readings and median; with ``--against``, the other checkout's and the
    median paired difference (this checkout's build + run seconds minus the other's)."""
    lines = [
        "| scenario | build+run s, each reading | median | against: each reading | median "
        "| median paired difference s |",
        "|---|---|---:|---|---:|---:|",
    ]

    def listed(values: list[float]) -> str:
        return ", ".join(f"{v:.2f}" for v in values)

    for name, f in entries.items():
        ours = f["repeats"]
        other = f.get("against")
        lines.append(
            f"| {name} | {listed(ours['model_s'])} | {ours['median_model_s']:.2f} "
            + (
                f"| {listed(other['model_s'])} | {other['median_model_s']:.2f} "
                f"| {other['median_paired_difference_s']:+.2f} |"
                if other is not None
                else "| – | – | – |"
            )
        )
    return "\n".join(lines)


def profile_table(name: str, profile: dict[str, Any]) -> str:
    """The functions with the most own time, as a markdown table."""
    lines = [
        f"cProfile of {name} (build + run, {profile['total_s']:.1f} s under the profiler):",
        "",
        "| function | calls | own s | own % | cumulative s |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in profile["by_tottime"]:
        lines.append(
            f"| `{row['function']}` | {row['ncalls']:,} | {row['tottime']:.2f} "
            f"| {100 * row['tottime'] / profile['total_s']:.1f} | {row['cumtime']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: measure scenarios (parent) or run one (``--child``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--scenarios", nargs="+", default=list(DEFAULT_SCENARIOS))
    parser.add_argument("--days", type=int, default=FULL_YEAR, help="simulated days")
    parser.add_argument("--seed", type=int, default=0, help="model seed")
    parser.add_argument("--out", type=Path, default=RESULTS / "scenarios.json", help="JSON")
    parser.add_argument(
        "--progress-days", type=int, default=30, help="log progress every N days (0: never)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="run under cProfile and print the N functions with the most own time",
    )
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the reference loop (benchmarks/reference_loop.py) and the ratio to it",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        metavar="N",
        help="measure each scenario N times, each in a fresh process; the figures kept are "
        "the median reading's (by build + run seconds), with every reading beside them",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="another checkout (its own model and its copy of this script's child): measured "
        "alternately with this one, --repeats times each, which runs first swapped each "
        "time; the table gives both medians and the median paired difference",
    )
    parser.add_argument("--child", metavar="SCENARIO", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.profile and (args.repeats > 1 or args.against is not None):
        parser.error("--profile measures one run: not with --repeats above 1 or --against")
    if args.against is not None:
        args.against = args.against.resolve()
        if not (args.against / "benchmarks" / "bench_scenarios.py").is_file():
            parser.error(
                f"--against {args.against}: not a checkout of this project "
                "(no benchmarks/bench_scenarios.py in it)"
            )
    # our progress at INFO; other libraries (Mesa logs every step at INFO) stay at WARNING
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    logger.setLevel(logging.INFO)

    if args.child:
        figures = child(args.child, args.days, args.seed, args.progress_days, args.profile)
        sys.stdout.write(json.dumps(figures) + "\n")
        return 0

    measured: dict[str, dict[str, Any]] = {}
    for scenario in args.scenarios:
        measured[scenario] = measure_repeated(scenario, args)

    document: dict[str, Any] = {"benchmark": "scenarios", "scenarios": {}}
    if args.out.is_file():
        document = json.loads(args.out.read_text(encoding="utf-8"))
    document["machine"] = machine()
    document["scenarios"].update(
        {
            name: figures
            | {"command": " ".join(["python", "benchmarks/bench_scenarios.py", *sys.argv[1:]])}
            for name, figures in measured.items()
        }
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(markdown_table(measured))
    if args.repeats > 1 or args.against is not None:
        print(f"\n{repeats_table(measured)}")
    for name, figures in measured.items():
        if "profile" in figures:
            print(f"\n{profile_table(name, figures['profile'])}")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
