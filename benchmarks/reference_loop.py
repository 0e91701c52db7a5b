"""The district-scale reference loop: the floor a case engine is measured against (issue 11).

**Fixed as issue 11 defines it; never changed to flatter the ratio.** The same number of
cases as the model's run, each passing through four queue events — arrival at its grid,
arrival at the district centre, arrival at a department, done — in one plain ``heapq``
event loop, with no policy logic, no working calendar, no case objects and no agents:

- arrivals: ``cases`` times drawn uniformly over the run's ``days`` (a Poisson process
  given its count), sorted; each case's grid (uniform over ``grids``) and department
  (uniform over 8) and its three exponential service times are drawn up front with numpy
  (``seed``), and the drawing is timed with the loop;
- stations: one server per grid; the centre with ``CENTRE_SERVERS``; each of the 8
  departments with ``DEPARTMENT_SERVERS``; every station FIFO, its mean service time set
  so that its utilisation is ``UTILISATION`` (0.8) at the run's arrival rate;
- events: a heap of ``(time, sequence, stage, case)``; an event at stage 0 is an
  arrival, which also schedules the next case's arrival (so the heap holds one pending
  arrival and the cases in service, not every future arrival); an event at stage 1–3
  ends the case's service at the previous station (whose next waiting case starts) and
  is its arrival at the next station, or (stage 3) the case is done. Exactly four heap
  pushes and pops per case.

``python benchmarks/reference_loop.py --cases 1230990 --days 485 --grids 2346`` runs it
alone; ``benchmarks/bench_scenarios.py`` runs it in a fresh child process after each
scenario with that run's cases, simulated days and grids and reports the model's ratio
to it (``model_s / reference_s``, wall and CPU).
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
import time
from collections import deque
from typing import Any

import numpy as np

DEPARTMENTS = 8
CENTRE_SERVERS = 20
DEPARTMENT_SERVERS = 10
UTILISATION = 0.8
EVENTS_PER_CASE = 4


def reference_loop(cases: int, days: float, grids: int, seed: int = 0) -> dict[str, Any]:
    """Push ``cases`` cases through grid → centre → department → done; return the figures.

    Returns wall and CPU seconds (``seconds``, ``cpu_s``; drawing included), the events
    processed (``4 × cases``) and the mean time from arrival to done in days (a check
    that the queues behaved: finite and a few service times long).
    """
    if cases < 1 or days <= 0 or grids < 1:
        raise ValueError(
            f"reference_loop needs cases ≥ 1, days > 0, grids ≥ 1; got {cases}, {days}, {grids}"
        )
    wall, cpu = time.perf_counter(), time.process_time()
    rate = cases / days  # cases per day
    grid_mean = UTILISATION * grids / rate
    centre_mean = UTILISATION * CENTRE_SERVERS / rate
    department_mean = UTILISATION * DEPARTMENTS * DEPARTMENT_SERVERS / rate
    rng = np.random.default_rng(seed)
    arrival = np.sort(rng.uniform(0.0, days, cases)).tolist()
    grid_of = rng.integers(0, grids, cases).tolist()
    department_of = (grids + 1 + rng.integers(0, DEPARTMENTS, cases)).tolist()
    service = [
        rng.exponential(grid_mean, cases).tolist(),
        rng.exponential(centre_mean, cases).tolist(),
        rng.exponential(department_mean, cases).tolist(),
    ]
    drawn = time.perf_counter() - wall

    centre = grids
    servers = [1] * grids + [CENTRE_SERVERS] + [DEPARTMENT_SERVERS] * DEPARTMENTS
    busy = [0] * len(servers)
    waiting: list[deque[int]] = [deque() for _ in servers]
    station_at = [grid_of, None, department_of]  # stage → the case's station there
    # one arrival pending at a time: each arrival schedules the next (the heap holds the
    # cases in service, as an event calendar fed day by day would)
    heap: list[tuple[float, int, int, int]] = [(arrival[0], 0, 0, 0)]
    sequence = 0
    last = cases - 1
    processed = 0
    total_time = 0.0
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        now, _, stage, case = pop(heap)
        processed += 1
        if stage:  # the case's service at stage - 1 ended: that server takes the next
            stations = station_at[stage - 1]
            left = centre if stations is None else stations[case]
            queue = waiting[left]
            if queue:
                nxt = queue.popleft()
                sequence += 1
                push(heap, (now + service[stage - 1][nxt], sequence, stage, nxt))
            else:
                busy[left] -= 1
        elif case < last:  # an arrival: the next case's arrival is the next event of stage 0
            sequence += 1
            push(heap, (arrival[case + 1], sequence, 0, case + 1))
        if stage == 3:
            total_time += now - arrival[case]
            continue
        stations = station_at[stage]
        here = centre if stations is None else stations[case]
        if busy[here] < servers[here]:
            busy[here] += 1
            sequence += 1
            push(heap, (now + service[stage][case], sequence, stage + 1, case))
        else:
            waiting[here].append(case)
    return {
        "cases": cases,
        "days": days,
        "grids": grids,
        "seed": seed,
        "events": processed,
        "seconds": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "draw_s": drawn,
        "mean_time_in_system_days": total_time / cases,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the loop once and print its figures as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--days", type=float, required=True, help="simulated days")
    parser.add_argument("--grids", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        figures = reference_loop(args.cases, args.days, args.grids, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
