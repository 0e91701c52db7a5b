"""The daily trust step: the compiled kernel against the numpy reference (issue 11, eleventh round).

Three measurements on one scenario's population (default ``yongchuan``, seed 1):

- **standalone**: the step alone on the built population, kernel and reference
  interleaved call by call (``--calls`` each), the minimum and median milliseconds (since
  the twenty-sixth round each step also gives the new trust's sum: the kernel as it
  writes the trust, the reference by ``np.add.reduce`` after it — readings of earlier
  rounds' reference column did not hold that pass);
- **in a run**: the model run for ``--days`` days, the kernel on even days and the
  reference on odd ones (each day's step is the same bits either way, so the run is the
  one either would give), the milliseconds of each day's step after the first
  ``--skip`` days — the same machine state for both, which a shared machine's
  minute-to-minute noise would otherwise swamp;
- **the step and the day's mean**: the model's own step (``GovernanceModel._diffuse_trust``)
  followed by the day's ``trust_mean`` reporter, as a day runs them, ``--calls`` times
  with the caches filled with other data before each (as a day's other work fills them).
  Since the twenty-sixth round the step returns the new trust's sum and the reporter uses
  it; ``--root`` runs this measurement (and the others) on another checkout's model, so
  that the tree before and after can be alternated.

Before them, the grouping the step runs on is made as a run's first day makes it, and its
first call is timed (``grouping_first_call_s``: the checks and the far ties' order, issue
11, forty-second round).

Since the thirty-sixth round the step's far ties are read in the layout its first calls
timed faster (model/far_tie_trial.py): the trial is settled before the measurements above,
so the kernel's figures are the kept layout's (``far_ties`` in the JSON), and ``--layouts``
adds a fourth:

- **the layouts in a run**: the model run again for ``--days`` days with the far ties
  gathered on even days and read in place on odd ones, each day's step timed after
  ``--skip`` days — what the trial decides between, on this machine.

Prints a markdown table and writes JSON to ``--out``. Without the compiled engine both
columns are the reference. Usage::

    python benchmarks/bench_trust_step.py                       # district: ≈ 1 min
    python benchmarks/bench_trust_step.py --layouts --days 120  # and the two layouts
    python benchmarks/bench_trust_step.py --scenario baseline --days 60
    python benchmarks/bench_trust_step.py --root /path/to/another/checkout
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    parser.add_argument(
        "--layouts",
        action="store_true",
        help="also run the model again with the far ties gathered and read in place on "
        "alternate days, each day's step timed (model/far_tie_trial.py's choice, measured)",
    )
    parser.add_argument(
        "--far-rows",
        type=int,
        help="with --layouts: a tie is far beyond this many rows (default: the model's "
        "FAR_TIE_ROWS; a small value gives a small population far ties)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=HERE.parent,
        help="the source tree whose model and scenario are measured (this repository)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    import numpy as np

    import model.governance as governance
    import model.trust_diffusion as diffusion
    from experiments.scenario_files import load_scenario

    parameters = load_scenario(root / "scenarios" / f"{args.scenario}.toml").parameters
    social = parameters.social
    w, r = social.neighbour_influence_per_day, social.disposition_weight_per_day
    model = governance.GovernanceModel(parameters, seed=args.seed)
    population = model.population
    weights = population.row_weight
    saved = (population.trust.copy(), population.disposition.copy())
    start = time.perf_counter()
    diffusion.grouped_ties(population)  # as the model's first day would: timed once, here
    grouping_s = time.perf_counter() - start
    # the far ties' trial settled first (model/far_tie_trial.py; a tree before it has none),
    # so that the kernel's times below are the layout a run keeps on this machine
    while getattr(population, "far_tie_trial", None) is not None:
        diffusion.diffuse_trust(population, w, r)
    population.trust[:] = saved[0]
    layout = diffusion.far_tie_layout(population) if hasattr(diffusion, "far_tie_layout") else None

    def step(kind: str) -> float:
        population.row_weight = weights if kind == "kernel" else None
        start = time.perf_counter()
        diffusion.diffuse_trust(population, w, r)
        return (time.perf_counter() - start) * 1e3

    standalone: dict[str, list[float]] = {"kernel": [], "reference": []}
    for _ in range(args.calls):
        for kind in standalone:
            standalone[kind].append(step(kind))
    population.row_weight = weights  # the model's own step: the kernel where it is built

    mean_trust = model.datacollector.model_reporters["trust_mean"]
    other = np.ones(8 * 1024 * 1024)  # 64 MiB: more than the caches hold
    with_mean: list[float] = []
    for _ in range(args.calls):
        other *= 1.0  # the caches filled with other data, as by a day's other work
        start = time.perf_counter()
        model._diffuse_trust()
        mean_trust(model)
        with_mean.append((time.perf_counter() - start) * 1e3)
    population.trust[:], population.disposition[:] = saved  # the run starts as built

    def kernel_or_reference(day: int) -> str:
        kind = "kernel" if day % 2 == 0 else "reference"
        population.row_weight = weights if kind == "kernel" else None
        return kind

    in_run = _timed_days(governance, model, args, ("kernel", "reference"), kernel_or_reference)
    population.row_weight = weights
    layouts = _layouts_in_run(governance, diffusion, parameters, args) if args.layouts else {}

    figures: dict[str, object] = {
        "benchmark": "trust_step",
        "scenario": args.scenario,
        "residents": int(population.trust.shape[0]),
        "ties": int(population.influence.nnz),
        "backend": diffusion.BACKEND if weights is not None else "python",
        "standalone": {kind: _figures(v) for kind, v in standalone.items()},
        "in_run": {kind: _figures(v) for kind, v in in_run.items() if v},
        "with_mean": {"model": _figures(with_mean)},
        "far_ties": layout,
        "grouping_first_call_s": grouping_s,
        "layouts_in_run": {name: _figures(v) for name, v in layouts.items() if v},
        "root": str(root),
        "days": args.days,
        "skip": args.skip,
    }
    print(
        f"{args.scenario}: {figures['residents']:,} residents, {figures['ties']:,} ties; "
        f"the kernel on the far ties' layout kept: {layout}; the grouping's first call "
        f"{grouping_s:.3f} s"
    )
    print("| where | step | n | min ms | q1 ms | median ms | mean ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for where in ("standalone", "in_run", "with_mean", "layouts_in_run"):
        for kind, row in figures[where].items():  # type: ignore[attr-defined]
            print(
                f"| {where} | {kind} | {row['n']} | {row['min_ms']:.2f} | {row['q1_ms']:.2f} "
                f"| {row['median_ms']:.2f} | {row['mean_ms']:.2f} |"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"written: {args.out}")
    return figures


def _layouts_in_run(
    governance: Any, diffusion: Any, parameters: Any, args: argparse.Namespace
) -> dict[str, list[float]]:
    """A second run of the model (same seed, ``--days`` days) whose trust step reads the
    far ties gathered on even days and in place on odd ones (the same bits either way:
    the run is the one either gives), each day's step timed after ``--skip`` days — the
    measurement behind the far ties' trial (docs/performance.md, thirty-sixth round).
    Empty without the compiled engine, without far ties, or on a tree before the trial."""
    model = governance.GovernanceModel(parameters, seed=args.seed)
    population = model.population
    if population.row_weight is None or not hasattr(diffusion.TiesByDegree, "layouts_of"):
        return {}
    gathered, in_place = diffusion.TiesByDegree.layouts_of(
        population.influence, population.row_weight, args.far_rows
    )
    if diffusion.BACKEND != "compiled" or in_place is None:
        return {}

    def gathered_or_in_place(day: int) -> str:
        population.ties_by_degree = gathered if day % 2 == 0 else in_place
        population.far_tie_trial = None  # each layout put in by hand: no trial
        return "gathered" if day % 2 == 0 else "in place"

    return _timed_days(governance, model, args, ("gathered", "in place"), gathered_or_in_place)


def _timed_days(
    governance: Any,
    model: Any,
    args: argparse.Namespace,
    names: tuple[str, ...],
    prepare: Callable[[int], str],
) -> dict[str, list[float]]:
    """``model`` run for ``--days`` days with each day's trust step timed: ``prepare(day)``
    sets the day's step up and names it (one of ``names``); the milliseconds by name, from
    day ``--skip`` on. The step's sum is the day's, so the day's mean is collected from it
    as in a plain run."""
    from model.collector import quiet_collector

    times: dict[str, list[float]] = {name: [] for name in names}
    plain_step = governance.diffuse_trust

    def timed(pop: object, w: float, r: float) -> float:
        name = prepare(model.day)
        start = time.perf_counter()
        total = plain_step(pop, w, r)
        if model.day >= args.skip:
            times[name].append((time.perf_counter() - start) * 1e3)
        return total

    governance.diffuse_trust = timed
    try:
        with quiet_collector():
            for _ in range(args.days):
                model.step()
    finally:
        governance.diffuse_trust = plain_step
    return times


if __name__ == "__main__":
    main()
