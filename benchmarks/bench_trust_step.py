"""The daily trust step: the compiled kernel against the numpy reference (issue 11, eleventh round).

Two measurements on one scenario's population (default ``yongchuan``, seed 1):

- **standalone**: the step alone on the built population, kernel and reference
  interleaved call by call (``--calls`` each), the minimum and median milliseconds;
- **in a run**: the model run for ``--days`` days, the kernel on even days and the
  reference on odd ones (each day's step is the same bits either way, so the run is the
  one either would give), the milliseconds of each day's step after the first
  ``--skip`` days — the same machine state for both, which a shared machine's
  minute-to-minute noise would otherwise swamp.

Prints a markdown table and writes JSON to ``--out``. Without the compiled engine both
columns are the reference. Usage::

    python benchmarks/bench_trust_step.py                       # district: ≈ 1 min
    python benchmarks/bench_trust_step.py --scenario baseline --days 60
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def _figures(milliseconds: list[float]) -> dict[str, float]:
    ordered = sorted(milliseconds)
    return {
        "n": len(ordered),
        "min_ms": ordered[0],
        "q1_ms": ordered[len(ordered) // 4],
        "median_ms": statistics.median(ordered),
        "mean_ms": statistics.fmean(ordered),
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", default="yongchuan", help="scenario file name (yongchuan)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calls", type=int, default=40, help="standalone calls of each (40)")
    parser.add_argument("--days", type=int, default=200, help="days of the run (200)")
    parser.add_argument("--skip", type=int, default=10, help="first days left out (10)")
    parser.add_argument("--out", type=Path, default=RESULTS / "trust_step.json")
    args = parser.parse_args(argv)
    root = HERE.parent
    sys.path.insert(0, str(root))
    import model.governance as governance
    import model.trust_diffusion as diffusion
    from experiments.scenario_files import load_scenario
    from model.collector import quiet_collector

    parameters = load_scenario(root / "scenarios" / f"{args.scenario}.toml").parameters
    social = parameters.social
    w, r = social.neighbour_influence_per_day, social.disposition_weight_per_day
    model = governance.GovernanceModel(parameters, seed=args.seed)
    population = model.population
    weights = population.row_weight
    saved = (population.trust.copy(), population.disposition.copy())
    diffusion.grouped_ties(population)  # as the model's first day would: not timed below

    def step(kind: str) -> float:
        population.row_weight = weights if kind == "kernel" else None
        start = time.perf_counter()
        diffusion.diffuse_trust(population, w, r)
        return (time.perf_counter() - start) * 1e3

    standalone: dict[str, list[float]] = {"kernel": [], "reference": []}
    for _ in range(args.calls):
        for kind in standalone:
            standalone[kind].append(step(kind))
    population.trust[:], population.disposition[:] = saved  # the run starts as built

    in_run: dict[str, list[float]] = {"kernel": [], "reference": []}
    plain_step = governance.diffuse_trust

    def alternating(pop: object, w_: float, r_: float) -> None:
        kind = "kernel" if model.day % 2 == 0 else "reference"
        population.row_weight = weights if kind == "kernel" else None
        start = time.perf_counter()
        plain_step(population, w_, r_)
        if model.day >= args.skip:
            in_run[kind].append((time.perf_counter() - start) * 1e3)

    governance.diffuse_trust = alternating  # type: ignore[assignment]
    try:
        with quiet_collector():
            for _ in range(args.days):
                model.step()
    finally:
        governance.diffuse_trust = plain_step
    population.row_weight = weights

    figures: dict[str, object] = {
        "benchmark": "trust_step",
        "scenario": args.scenario,
        "residents": int(population.trust.shape[0]),
        "ties": int(population.influence.nnz),
        "backend": diffusion.BACKEND if weights is not None else "python",
        "standalone": {kind: _figures(v) for kind, v in standalone.items()},
        "in_run": {kind: _figures(v) for kind, v in in_run.items() if v},
        "days": args.days,
        "skip": args.skip,
    }
    print(f"{args.scenario}: {figures['residents']:,} residents, {figures['ties']:,} ties")
    print("| where | step | n | min ms | q1 ms | median ms | mean ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for where in ("standalone", "in_run"):
        for kind, row in figures[where].items():  # type: ignore[attr-defined]
            print(
                f"| {where} | {kind} | {row['n']} | {row['min_ms']:.2f} | {row['q1_ms']:.2f} "
                f"| {row['median_ms']:.2f} | {row['mean_ms']:.2f} |"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"written: {args.out}")
    return figures


if __name__ == "__main__":
    main()
