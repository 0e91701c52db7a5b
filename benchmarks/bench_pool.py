"""Benchmark the experiment executors: process-pool speed-up and per-run overhead.

Measures, on one compare experiment (``baseline`` vs ``integrated`` at community
scale, R replications of D days — the shape of ``experiments/compare_reforms.toml``):

- ``serial``: ``--workers 1`` (every run in this process, model imported and warmed first);
- ``pool_cold``: a fresh local process pool of ``--workers`` processes, worker start-up
  (interpreter + imports of Mesa, pandas, scipy …) included — what a user waits for;
- ``pool_warm``: the same pool size with workers already started and imports done —
  the steady-state throughput that a long sweep approaches;
- ``dask`` (optional, ``--dask-real``): a Dask ``LocalCluster`` of ``--workers``
  single-threaded worker processes (cluster start not timed; workers' first imports are).

Speed-ups are serial wall time over pool wall time (target issue 4: ≥ 1.9× on 2 cores).
It then measures the runner's own overhead per run with a run function that does
almost nothing (``noop_run``), through serial, the process pool and Dask (cluster
already started): what every run costs on top of the model (task pickling, result
transfer, one SQLite transaction). The stored outcomes of serial and pool are compared
(they must be identical). Nothing here is a test; no time is asserted anywhere.

Usage (from the repository root, venv active)::

    python benchmarks/bench_pool.py --dask-real           # R = 16, 2 communities, 365 days, 2 workers
    python benchmarks/bench_pool.py --replications 2 --days 10 --noop-runs 20 --out /tmp/p.json

Writes JSON (default ``benchmarks/results/pool.json``) and the markdown tables beside it
(``pool.md``), and prints them.
Shared machines are noisy: the 1-minute load average before and after is recorded; a
load above the number of cores makes every speed-up smaller than on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from machine import interpreter_build, load_average, parallel_ceiling

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from experiments.executors import DaskExecutor, ProcessExecutor, SerialExecutor  # noqa: E402
from experiments.runner import run_experiment  # noqa: E402
from experiments.store import ResultStore, git_state  # noqa: E402
from model.outcomes import RunOutput  # noqa: E402

logger = logging.getLogger("bench_pool")


def noop_run(scenario: Any, seed: Any, days: int | None = None, progress: Any = None) -> RunOutput:
    """A run that does nothing but return one outcome: isolates the runner's overhead."""
    return RunOutput(summary={"trust_mean": 0.5}, timeseries=pd.DataFrame(), cases=pd.DataFrame())


def _warm(_: int) -> int:
    """Import the model and run it for one day, so that lazy imports and caches are warm."""
    from experiments.runs import run_single
    from experiments.scenario_files import apply_overrides, load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml")
    run_single(apply_overrides(scenario, {"population.communities_per_street": 1}), 0, days=1)
    return os.getpid()


def _experiment(
    folder: Path, replications: int, days: int, communities: int, name: str = "bench"
) -> Path:
    scenarios = ROOT / "scenarios"
    text = f"""\
name = "{name}"
kind = "compare"
seed = 1
replications = {replications}
days = {days}
reference = "baseline"
[overrides]
"population.communities_per_street" = {communities}
[[scenarios]]
path = "{(scenarios / "baseline.toml").as_posix()}"
[[scenarios]]
path = "{(scenarios / "integrated.toml").as_posix()}"
"""
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _timed(label: str, path: Path, out: Path, executor: Any, run_fn: Any = None) -> dict[str, Any]:
    start = time.perf_counter()
    cpu = time.process_time()
    report = run_experiment(path, out, executor=executor, **({"run_fn": run_fn} if run_fn else {}))
    wall = time.perf_counter() - start
    logger.info("%s: %.2f s for %d runs (%d failed)", label, wall, report.ran, report.failed)
    with ResultStore.open(out) as store:
        durations = store.runs()["duration_s"]
    return {
        "mean_run_s": float(durations.mean()),
        "wall_s": wall,
        "main_cpu_s": time.process_time() - cpu,
        "runs": report.ran,
        "failed": report.failed,
        "per_run_ms": 1000 * wall / max(1, report.ran),
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The repeat with the median wall time (lower median for an even count)."""
    ordered = sorted(runs, key=lambda t: t["wall_s"])
    return ordered[(len(ordered) - 1) // 2]


def _outcomes(folder: Path) -> pd.DataFrame:
    with ResultStore.open(folder) as store:
        return store.outcome_table().sort_values(["run_key", "outcome"], ignore_index=True)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement; return the results dictionary."""
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_state(ROOT),
        "machine": {
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "interpreter": interpreter_build(),
        },
        "load_1min_before": load_average(),
        "experiment": {
            "scenarios": ["baseline", "integrated"],
            "communities_per_street": args.communities,
            "replications": args.replications,
            "days": args.days,
            "runs": 2 * args.replications,
        },
        "workers": args.workers,
    }
    result["ceiling_before"] = parallel_ceiling(args.workers)
    with tempfile.TemporaryDirectory(prefix="bench_pool_") as tmp:
        folder = Path(tmp)
        path = _experiment(folder, args.replications, args.days, args.communities)
        _warm(0)  # serial runs in this process: warm it like the pool's workers
        repeats: dict[str, list[dict[str, Any]]] = {"serial": [], "pool_cold": [], "pool_warm": []}
        ceilings = [result["ceiling_before"]["ceiling"]]
        for rep in range(args.repeats):  # interleaved, so that a burst of load hits all alike
            with SerialExecutor() as serial:
                repeats["serial"].append(_timed("serial", path, folder / f"serial{rep}", serial))
            with ProcessExecutor(args.workers) as pool:
                repeats["pool_cold"].append(
                    _timed("pool_cold", path, folder / f"pool_cold{rep}", pool)
                )
            with ProcessExecutor(args.workers) as pool:
                started = time.perf_counter()
                pids = {pid for pid in pool.pool.map(_warm, range(4 * args.workers))}
                result["pool_start_s"] = time.perf_counter() - started
                result["pool_workers_seen"] = len(pids)
                repeats["pool_warm"].append(
                    _timed("pool_warm", path, folder / f"pool_warm{rep}", pool)
                )
                if rep == 0:
                    # Overhead per run: a run function that does nothing, on the warm pool.
                    noop_path = _experiment(folder, max(1, args.noop_runs // 2), 1, 1, "noop")
                    noop_pool = _timed("noop pool", noop_path, folder / "noop_pool", pool, noop_run)
            if rep < args.repeats - 1:
                ceilings.append(parallel_ceiling(args.workers)["ceiling"])
        if args.dask_real:
            with DaskExecutor("local", workers=args.workers) as dask:  # cluster started, not timed
                repeats["dask"] = [_timed("dask", path, folder / "dask", dask)]
        result["repeats"] = repeats
        timings = {name: _median(runs) for name, runs in repeats.items()}
        serial_wall = timings["serial"]["wall_s"]
        result["timings"] = timings
        result["speedup"] = {
            name: serial_wall / t["wall_s"] for name, t in timings.items() if name != "serial"
        }
        reference = _outcomes(folder / "serial0")
        result["identical_outcomes"] = all(
            reference.equals(_outcomes(folder / f"{name}{rep}"))
            for name in ("serial", "pool_cold", "pool_warm")
            for rep in range(args.repeats)
        )

        overhead: dict[str, Any] = {"pool": noop_pool}
        with SerialExecutor() as serial:
            overhead["serial"] = _timed(
                "noop serial", noop_path, folder / "noop_serial", serial, noop_run
            )
        if not args.no_dask:
            started = time.perf_counter()
            with DaskExecutor("local", workers=args.workers) as dask:
                overhead["dask_cluster_start_s"] = time.perf_counter() - started
                overhead["dask"] = _timed(
                    "noop dask", noop_path, folder / "noop_dask", dask, noop_run
                )
        result["overhead"] = overhead
    result["load_1min_after"] = load_average()
    result["ceiling_after"] = parallel_ceiling(args.workers)
    ceilings.append(result["ceiling_after"]["ceiling"])
    result["ceilings"] = ceilings
    ceiling = statistics.median(ceilings)
    result["ceiling_median"] = ceiling
    result["efficiency"] = {name: value / ceiling for name, value in result["speedup"].items()}
    # Paired per repeat: serial and pools of the same repeat ran back to back, so they shared
    # the machine's load; the ceiling is the mean of the calibrations around the repeat.
    result["paired"] = [
        {
            "repeat": rep,
            "ceiling": (ceilings[rep] + ceilings[rep + 1]) / 2,
            "serial_s": result["repeats"]["serial"][rep]["wall_s"],
            **{
                f"speedup_{name}": result["repeats"]["serial"][rep]["wall_s"]
                / result["repeats"][name][rep]["wall_s"]
                for name in ("pool_cold", "pool_warm")
            },
        }
        for rep in range(len(result["repeats"]["serial"]))
    ]
    result["targets"] = {
        "pool_speedup_at_least_1.9": {
            "cold": result["speedup"]["pool_cold"] >= 1.9,
            "warm": result["speedup"]["pool_warm"] >= 1.9,
        }
    }
    return result


def markdown(result: dict[str, Any]) -> str:
    """The figures as a markdown table."""
    exp = result["experiment"]
    lines = [
        f"Experiment: baseline vs integrated, {exp['communities_per_street']} community(ies), "
        f"{exp['replications']} replications × {exp['days']} days = {exp['runs']} runs; "
        f"{result['workers']} workers; load (1 min) {result['load_1min_before']:.2f} → "
        f"{result['load_1min_after']:.2f} on {result['machine']['cpus']} CPUs.",
        "",
        f"Parallel ceiling of the machine at the time ({result['workers']} pure-CPU processes vs "
        f"one), between repeats: {', '.join(f'{c:.2f}' for c in result['ceilings'])} "
        f"(median {result['ceiling_median']:.2f}). Wall times: median of "
        f"{len(result['repeats']['serial'])} interleaved repeat(s).",
        "",
        "| executor | wall (s) | wall per run (s) | mean run time in worker (s) | speed-up vs serial "
        "| speed-up / ceiling |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, t in result["timings"].items():
        speed = "1.00" if name == "serial" else f"{result['speedup'][name]:.2f}"
        eff = "–" if name == "serial" else f"{result['efficiency'][name]:.2f}"
        lines.append(
            f"| {name} | {t['wall_s']:.2f} | {t['per_run_ms'] / 1000:.3f} | "
            f"{t['mean_run_s']:.3f} | {speed} | {eff} |"
        )
    lines += [
        "",
        "| repeat | machine ceiling | serial (s) | pool_cold speed-up | pool_warm speed-up |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in result["paired"]:
        lines.append(
            f"| {row['repeat'] + 1} | {row['ceiling']:.2f} | {row['serial_s']:.2f} | "
            f"{row['speedup_pool_cold']:.2f} | {row['speedup_pool_warm']:.2f} |"
        )
    lines += [
        "",
        f"Pool start (workers ready, imports done): {result['pool_start_s']:.2f} s. "
        f"Serial and pool outcomes identical: {result['identical_outcomes']}.",
        "",
        "| runner overhead per run (no-op run function) | ms |",
        "|---|---:|",
    ]
    for name, t in result["overhead"].items():
        if isinstance(t, dict):
            lines.append(f"| {name} | {t['per_run_ms']:.2f} |")
    if "dask_cluster_start_s" in result["overhead"]:
        lines.append(
            f"| dask LocalCluster start (once) | {1000 * result['overhead']['dask_cluster_start_s']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse options, measure, write JSON, print markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--replications", type=int, default=16, help="replications per scenario (default 16)"
    )
    parser.add_argument(
        "--days", type=int, default=365, help="simulated days per run (default 365)"
    )
    parser.add_argument(
        "--communities", type=int, default=2, help="communities per street (default 2)"
    )
    parser.add_argument("--workers", type=int, default=2, help="pool / cluster workers (default 2)")
    parser.add_argument(
        "--noop-runs", type=int, default=400, help="runs of the overhead measurement"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="interleaved repeats of serial and pool (median)"
    )
    parser.add_argument("--dask-real", action="store_true", help="also run the experiment on Dask")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask overhead measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pool.json")
    args = parser.parse_args(argv)
    # Only this script's own lines: INFO from Mesa (one line per step) would slow the
    # serial runs, which log in this process, and not the pool's workers.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logger.setLevel(logging.INFO)
    result = measure(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    text = markdown(result)
    args.out.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
