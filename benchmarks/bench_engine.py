"""Benchmark the case engine (EventCalendar + Station) against a heapq loop and Ciw.

Two queueing systems, each simulated by three implementations (and one diagnostic) in
the same process:

- ``mmc``: one M/M/c station (c = 3, utilisation 0.8, mean service one hour);
- ``tandem``: three such stations in series (by Burke's theorem each sees Poisson
  arrivals, so each behaves as the M/M/c above).

Implementations:

- ``engine``: the model's own :class:`model.events.EventCalendar` and
  :class:`model.stations.Station`, with a 24 h × 7 d :class:`model.calendar.WorkCalendar`
  so that working time equals clock time, advanced day by day with ``run_until`` as
  :class:`model.governance.GovernanceModel` does;
- ``heapq``: the simplest fair discrete-event loop of the same queue, written here: one
  heap of (time, sequence, station, customer) events, a free-server count and a FIFO per
  station;
- ``engine_clock`` (diagnostic, no target): the engine with a stand-in calendar that
  adds hours by plain arithmetic, to show how much of the engine's time the working
  calendar's conversions take;
- ``ciw``: Ciw 3.2 with the same arrival and service rates. Ciw seeds its one global
  stream (``ciw.seed``), so its sample path differs and its mean wait agrees only within
  noise (docs/design.md "Notes on the libraries"); ``engine`` and ``heapq`` consume the same pre-drawn times and
  must agree to rounding.

Each implementation runs ``--repeats`` times, interleaved (engine, heapq, ciw,
engine_clock, engine, …) so that machine noise hits them alike; the median wall time is
reported, and the ratios engine/heapq and engine/Ciw are taken between medians of the
same run, of wall time and of CPU time (``time.process_time``, less sensitive to other
work on a shared machine). One small untimed warm-up run of each comes first. Times
include drawing the random times (numpy for engine and heapq, Ciw's own sampling for
Ciw) and building the stations. Targets (issue 2): engine within 3× heapq, faster than
Ciw.

Usage (from the repository root)::

    python benchmarks/bench_engine.py                      # 200k customers, 3 repeats
    python benchmarks/bench_engine.py --customers 500 --repeats 1 --out /tmp/engine.json

Writes JSON (default ``benchmarks/results/engine.json``) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import logging
import math
import os
import platform
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from machine import interpreter_build  # this folder is the script's path

from model.calendar import WorkCalendar
from model.events import EventCalendar
from model.stations import Station

logger = logging.getLogger("bench_engine")

RESULTS = Path(__file__).resolve().parent / "results"
SERVERS = 3
SERVICE_HOURS = 1.0  # mean service time per station
UTILISATION = 0.8  # ρ = λ / (c μ)
ARRIVAL_RATE_PER_HOUR = UTILISATION * SERVERS / SERVICE_HOURS
SYSTEMS = {"mmc": 1, "tandem": 3}  # system name -> stations in series
BATCHES = 20  # batch means for the confidence interval of the mean wait
T_975_19 = 2.093  # Student t, 97.5 % quantile, 19 degrees of freedom
IMPLEMENTATIONS = ("engine", "heapq", "ciw", "engine_clock")
ENGINE_OVER_HEAPQ_TARGET = 3.0

Draws = tuple[list[float], list[list[float]]]


def draw_times(customers: int, stations: int, seed: int) -> Draws:
    """Arrival moments (hours) and per-station service times (hours) of every customer."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / ARRIVAL_RATE_PER_HOUR, customers))
    service = rng.exponential(SERVICE_HOURS, (stations, customers))
    return arrivals.tolist(), service.tolist()


def erlang_c_wait_hours(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    offered = arrival_rate / service_rate
    rho = offered / servers
    head = sum(offered**k / math.factorial(k) for k in range(servers))
    tail = offered**servers / math.factorial(servers) / (1.0 - rho)
    return tail / (head + tail) / (servers * service_rate - arrival_rate)


# --------------------------------------------------------------------------- engine
def work_calendar(horizon_days: int) -> WorkCalendar:
    """A 24 h × 7 d WorkCalendar on which working time equals clock time."""
    # a working day of 24 hours opens at midnight (WorkCalendar opens earlier when a day
    # would not end by midnight), so working time is clock time through the same code path
    return WorkCalendar(24.0, 7, 0, horizon_days)


def run_engine(customers: int, stations: int, seed: int, calendar: Any = None) -> dict[str, float]:
    """The model's EventCalendar + Station chain; returns the mean total wait (hours)."""
    arrivals, service = draw_times(customers, stations, seed)
    if calendar is None:
        calendar = work_calendar(int(arrivals[-1] / 24.0) + 2)
    events = EventCalendar()
    chain = [Station(f"station:{k}", SERVERS, calendar, events) for k in range(stations)]
    finish = [0.0] * customers

    def leave(customer: int) -> None:
        finish[customer] = events.now

    done: list[Callable[[Any], None]] = [leave]
    for k in range(stations - 1, 0, -1):
        done.insert(0, _forward(chain[k], service[k], done[0]))
    first, first_service, first_done = chain[0], service[0], done[0]
    arrival_days = [a / 24.0 for a in arrivals]

    def arrive(customer: int) -> None:
        if customer + 1 < customers:
            events.schedule(arrival_days[customer + 1], arrive, customer + 1)
        first.arrive(first_service[customer], first_done, customer)

    events.schedule(arrival_days[0], arrive, 0)
    day = 0
    while len(events):
        day += 1
        events.run_until(float(day))
    waits = _waits([f * 24.0 for f in finish], arrivals, service)
    return _wait_figures(waits) | {"services": float(sum(s.jobs_done for s in chain))}


class ClockCalendar:
    """Diagnostic stand-in for WorkCalendar: working time is clock time, by arithmetic."""

    def add_working_hours(self, t: float, hours: float) -> float:
        return t + hours / 24.0


def run_engine_clock(customers: int, stations: int, seed: int) -> dict[str, float]:
    """Diagnostic: the engine with :class:`ClockCalendar`, to show the calendar's share."""
    return run_engine(customers, stations, seed, calendar=ClockCalendar())


def _forward(station: Station, service: list[float], then: Callable[[Any], None]) -> Callable:
    def forward(customer: int) -> None:
        station.arrive(service[customer], then, customer)

    return forward


# --------------------------------------------------------------------------- heapq
def run_heapq(customers: int, stations: int, seed: int) -> dict[str, float]:
    """Reference: a plain heapq event loop of the same FIFO tandem of M/M/c stations."""
    arrivals, service = draw_times(customers, stations, seed)
    heap: list[tuple[float, int, int, int]] = [(arrivals[0], 0, -1, 0)]
    push, pop = heapq.heappush, heapq.heappop
    busy = [0] * stations
    queues: list[deque[int]] = [deque() for _ in range(stations)]
    finish = [0.0] * customers
    sequence = 1
    services = 0
    while heap:
        now, _, k, i = pop(heap)
        if k < 0:  # customer i arrives at the first station
            if i + 1 < customers:
                push(heap, (arrivals[i + 1], sequence, -1, i + 1))
                sequence += 1
        else:  # customer i ends service at station k
            services += 1
            if queues[k]:
                j = queues[k].popleft()
                push(heap, (now + service[k][j], sequence, k, j))
                sequence += 1
            else:
                busy[k] -= 1
            if k + 1 == stations:
                finish[i] = now
                continue
        k += 1
        if busy[k] < SERVERS:
            busy[k] += 1
            push(heap, (now + service[k][i], sequence, k, i))
            sequence += 1
        else:
            queues[k].append(i)
    waits = _waits(finish, arrivals, service)
    return _wait_figures(waits) | {"services": float(services)}


def _waits(finish: list[float], arrivals: list[float], service: list[list[float]]) -> np.ndarray:
    """Per customer, in arrival order: time in system minus time in service (hours)."""
    total_service = np.sum(np.asarray(service), axis=0)
    return np.asarray(finish) - np.asarray(arrivals) - total_service


def _wait_figures(waits: np.ndarray) -> dict[str, float]:
    """Mean wait and the half-width of its 95 % confidence interval by batch means.

    Waits of successive customers are strongly correlated at ρ = 0.8, so the interval
    uses 20 batch means of consecutive customers (t quantile with 19 degrees of freedom).
    """
    mean = float(waits.mean()) if len(waits) else math.nan
    if len(waits) < 2 * BATCHES:
        return {"mean_wait_hours": mean, "mean_wait_ci95_hours": math.nan}
    usable = len(waits) - len(waits) % BATCHES
    batch_means = waits[:usable].reshape(BATCHES, -1).mean(axis=1)
    half_width = T_975_19 * float(batch_means.std(ddof=1)) / math.sqrt(BATCHES)
    return {"mean_wait_hours": mean, "mean_wait_ci95_hours": half_width}


# --------------------------------------------------------------------------- Ciw
def run_ciw(customers: int, stations: int, seed: int) -> dict[str, float]:
    """Ciw with the same rates, until ``customers`` have completed their journey."""
    import ciw  # imported here: a heavy import the other two do not need

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=ARRIVAL_RATE_PER_HOUR)]
        + [None] * (stations - 1),
        service_distributions=[ciw.dists.Exponential(rate=1.0 / SERVICE_HOURS)] * stations,
        number_of_servers=[SERVERS] * stations,
        routing=[[1.0 if j == k + 1 else 0.0 for j in range(stations)] for k in range(stations)],
    )
    ciw.seed(seed)  # Ciw's one global stream (random and ciw.rng); not used by the model
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_customers(customers, method="Complete")
    records = simulation.get_all_records()
    total: dict[int, float] = {}
    visits: dict[int, int] = {}
    for record in records:
        total[record.id_number] = total.get(record.id_number, 0.0) + record.waiting_time
        visits[record.id_number] = visits.get(record.id_number, 0) + 1
    # customers who completed every station, in arrival order (ids are given at arrival)
    waits = np.array([total[i] for i in sorted(total) if visits[i] == stations])
    return _wait_figures(waits) | {"services": float(len(records))}


RUNNERS: dict[str, Callable[[int, int, int], dict[str, float]]] = {
    "engine": run_engine,
    "heapq": run_heapq,
    "ciw": run_ciw,
    "engine_clock": run_engine_clock,
}


# --------------------------------------------------------------------------- driver
def bench_system(system: str, customers: int, repeats: int, seed: int) -> dict[str, Any]:
    """Time the three implementations on one system; interleaved repeats, medians."""
    stations = SYSTEMS[system]
    walls: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    cpus: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    last: dict[str, dict[str, float]] = {}
    for name in IMPLEMENTATIONS:  # warm-up, untimed: first-call costs (imports, caches)
        RUNNERS[name](min(customers, 1000), stations, seed + 1)
    for repeat in range(repeats):
        for name in IMPLEMENTATIONS:
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            last[name] = RUNNERS[name](customers, stations, seed)
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - start_cpu)
            logger.info(
                "%s %s repeat %d: %.3f s wall, %.3f s CPU",
                system,
                name,
                repeat + 1,
                walls[name][-1],
                cpus[name][-1],
            )
    median = {name: statistics.median(w) for name, w in walls.items()}
    median_cpu = {name: statistics.median(c) for name, c in cpus.items()}
    analytic = stations * erlang_c_wait_hours(SERVERS, ARRIVAL_RATE_PER_HOUR, 1.0 / SERVICE_HOURS)
    ratio = {
        "engine_over_heapq": median["engine"] / median["heapq"],
        "engine_over_ciw": median["engine"] / median["ciw"],
    }
    return {
        "stations": stations,
        "customers": customers,
        "wall_s_median": median,
        "wall_s_runs": walls,
        "cpu_s_median": median_cpu,
        "cpu_s_runs": cpus,
        "us_per_customer": {n: 1e6 * median[n] / customers for n in IMPLEMENTATIONS},
        "ratio": ratio,
        # CPU time (time.process_time) is less sensitive to other work on the machine
        "ratio_cpu": {
            "engine_over_heapq": median_cpu["engine"] / median_cpu["heapq"],
            "engine_over_ciw": median_cpu["engine"] / median_cpu["ciw"],
        },
        "mean_wait_hours": {n: last[n]["mean_wait_hours"] for n in IMPLEMENTATIONS}
        | {"erlang_c": analytic},
        "mean_wait_ci95_hours": {n: last[n]["mean_wait_ci95_hours"] for n in IMPLEMENTATIONS},
        # services completed (customer × station); Ciw also finishes some of the
        # customers who arrived after the first ``customers``
        "services": {n: last[n]["services"] for n in IMPLEMENTATIONS},
        "targets": {
            "engine_within_3x_heapq": ratio["engine_over_heapq"] <= ENGINE_OVER_HEAPQ_TARGET,
            "engine_faster_than_ciw": ratio["engine_over_ciw"] < 1.0,
        },
    }


def machine() -> dict[str, Any]:
    """The machine and software the figures were measured on."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if "model name" in line]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        # other work on the machine inflates wall times: the 1-minute load at the end
        "load_average_1min": os.getloadavg()[0],
        "cpu": cpu,
        "python": platform.python_version(),
        "interpreter": interpreter_build(),  # PGO, LTO: docs/performance.md
        "platform": platform.platform(),
        "numpy": version("numpy"),
        "ciw": version("ciw"),
    }


def markdown_table(results: dict[str, Any]) -> str:
    """One row per system: median wall times, ratios and mean waits."""
    lines = [
        "| system | customers | engine s | heapq s | Ciw s | engine/heapq | engine/Ciw "
        "| engine/heapq (CPU) | engine/Ciw (CPU) | engine, clock calendar s "
        "| wait engine h (95 % CI) | wait heapq h | wait Ciw h (95 % CI) | Erlang C h |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for system, r in results["systems"].items():
        wall, wait, cpu = r["wall_s_median"], r["mean_wait_hours"], r["ratio_cpu"]
        ci = r["mean_wait_ci95_hours"]
        lines.append(
            f"| {system} | {r['customers']:,} | {wall['engine']:.3f} | {wall['heapq']:.3f} "
            f"| {wall['ciw']:.3f} | {r['ratio']['engine_over_heapq']:.2f} "
            f"| {r['ratio']['engine_over_ciw']:.3f} | {cpu['engine_over_heapq']:.2f} "
            f"| {cpu['engine_over_ciw']:.3f} | {wall['engine_clock']:.3f} "
            f"| {wait['engine']:.3f} ± {ci['engine']:.3f} | {wait['heapq']:.3f} "
            f"| {wait['ciw']:.3f} ± {ci['ciw']:.3f} | {wait['erlang_c']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark, write JSON, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--customers", type=int, default=200_000, help="customers per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per implementation")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the random times")
    parser.add_argument(
        "--systems", nargs="+", choices=sorted(SYSTEMS), default=list(SYSTEMS), help="systems"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "engine.json", help="JSON file")
    args = parser.parse_args(argv)
    if args.customers < 2 or args.repeats < 1:
        parser.error("--customers must be at least 2 and --repeats at least 1")
    # our progress at INFO; other libraries (Mesa logs every step at INFO) stay at WARNING
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    logger.setLevel(logging.INFO)

    results: dict[str, Any] = {
        "benchmark": "engine",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/bench_engine.py", *sys.argv[1:]]),
        "machine": machine(),
        "settings": {
            "customers": args.customers,
            "repeats": args.repeats,
            "seed": args.seed,
            "servers": SERVERS,
            "utilisation": UTILISATION,
            "service_hours": SERVICE_HOURS,
            "arrival_rate_per_hour": ARRIVAL_RATE_PER_HOUR,
        },
        "systems": {
            system: bench_system(system, args.customers, args.repeats, args.seed)
            for system in args.systems
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(markdown_table(results))
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
