"""What the machine gives right now: its load, and how much of a second core it has free.

Shared by the benchmarks that judge a parallel speed-up (``bench_pool.py``,
``bench_parallel.py``): on a shared machine other processes take cores, so a speed-up
is read against the **ceiling** measured around it — ``workers`` pure-Python burns at once
against one alone (2.0 on an idle 2-core machine, ≈ 1 when it is saturated).
"""

from __future__ import annotations

import multiprocessing
import os
import time


def load_average() -> float:
    """The 1-minute load average (NaN where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def burn(loops: int) -> float:
    """Pure-Python work; its wall time measures how much CPU a process gets."""
    start = time.perf_counter()
    total = 0
    for i in range(loops):
        total += i * i
    return time.perf_counter() - start


def parallel_ceiling(workers: int = 2, loops: int = 3_000_000) -> dict[str, float]:
    """``workers`` burns at once in fresh processes against one alone (best of two).

    Returns the seconds alone and together, and ``ceiling`` = workers × alone / together:
    the speed-up the machine can give now, so ``speedup / ceiling`` is the code's own."""
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(abs, range(workers))  # started
        alone = min(pool.map(burn, [loops])[0] for _ in range(2))
        start = time.perf_counter()
        pool.map(burn, [loops] * workers, chunksize=1)
        together = time.perf_counter() - start
    return {"alone_s": alone, "together_s": together, "ceiling": workers * alone / together}
