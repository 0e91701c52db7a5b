"""Benchmark the experiment executors: process-pool speed-up and per-run overhead.

Measures, on one compare experiment (``baseline`` vs ``integrated`` at community
scale, R replications of D days — the shape of ``experiments/compare_reforms.toml``):

- ``serial``: ``--workers 1`` (every run in this process);
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

    python benchmarks/bench_pool.py                       # R = 12, 365 days, 2 workers
    python benchmarks/bench_pool.py --replications 2 --days 10 --noop-runs 20 --out /tmp/p.json

Writes JSON (default ``benchmarks/results/pool.json``) and prints a markdown table.
Shared machines are noisy: the 1-minute load average before and after is recorded; a
load above the number of cores makes every speed-up smaller than on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

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
    import experiments.runs  # noqa: F401 - the model and its libraries, as a real run imports them

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


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def _timed(label: str, path: Path, out: Path, executor: Any, run_fn: Any = None) -> dict[str, Any]:
    start = time.perf_counter()
    cpu = time.process_time()
    report = run_experiment(path, out, executor=executor, **({"run_fn": run_fn} if run_fn else {}))
    wall = time.perf_counter() - start
    logger.info("%s: %.2f s for %d runs (%d failed)", label, wall, report.ran, report.failed)
    return {
        "wall_s": wall,
        "main_cpu_s": time.process_time() - cpu,
        "runs": report.ran,
        "failed": report.failed,
        "per_run_ms": 1000 * wall / max(1, report.ran),
    }


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
        },
        "load_1min_before": _load(),
        "experiment": {
            "scenarios": ["baseline", "integrated"],
            "communities_per_street": args.communities,
            "replications": args.replications,
            "days": args.days,
            "runs": 2 * args.replications,
        },
        "workers": args.workers,
    }
    with tempfile.TemporaryDirectory(prefix="bench_pool_") as tmp:
        folder = Path(tmp)
        path = _experiment(folder, args.replications, args.days, args.communities)
        timings: dict[str, Any] = {}
        with SerialExecutor() as serial:
            timings["serial"] = _timed("serial", path, folder / "serial", serial)
        with ProcessExecutor(args.workers) as pool:
            timings["pool_cold"] = _timed("pool_cold", path, folder / "pool_cold", pool)
        with ProcessExecutor(args.workers) as pool:
            started = time.perf_counter()
            pids = {pid for pid in pool.pool.map(_warm, range(4 * args.workers))}
            result["pool_start_s"] = time.perf_counter() - started
            result["pool_workers_seen"] = len(pids)
            timings["pool_warm"] = _timed("pool_warm", path, folder / "pool_warm", pool)
            # Overhead per run: a run function that does nothing, on the same warm pool.
            noop_path = _experiment(folder, max(1, args.noop_runs // 2), 1, 1, name="noop")
            noop_pool = _timed("noop pool", noop_path, folder / "noop_pool", pool, noop_run)
        if args.dask_real:
            with DaskExecutor("local", workers=args.workers) as dask:  # cluster started, not timed
                timings["dask"] = _timed("dask", path, folder / "dask", dask)
        serial_wall = timings["serial"]["wall_s"]
        result["timings"] = timings
        result["speedup"] = {
            name: serial_wall / t["wall_s"] for name, t in timings.items() if name != "serial"
        }
        result["identical_outcomes"] = bool(
            _outcomes(folder / "serial").equals(_outcomes(folder / "pool_cold"))
            and _outcomes(folder / "serial").equals(_outcomes(folder / "pool_warm"))
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
    result["load_1min_after"] = _load()
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
        "| executor | wall (s) | per run (s) | speed-up vs serial |",
        "|---|---:|---:|---:|",
    ]
    for name, t in result["timings"].items():
        speed = "1.00" if name == "serial" else f"{result['speedup'][name]:.2f}"
        lines.append(f"| {name} | {t['wall_s']:.2f} | {t['per_run_ms'] / 1000:.3f} | {speed} |")
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
        "--replications", type=int, default=12, help="replications per scenario (default 12)"
    )
    parser.add_argument(
        "--days", type=int, default=365, help="simulated days per run (default 365)"
    )
    parser.add_argument(
        "--communities", type=int, default=1, help="communities per street (default 1)"
    )
    parser.add_argument("--workers", type=int, default=2, help="pool / cluster workers (default 2)")
    parser.add_argument(
        "--noop-runs", type=int, default=400, help="runs of the overhead measurement"
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
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
