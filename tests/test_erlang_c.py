"""Analytic check: a station fed Poisson arrivals with exponential service is an M/M/c queue.

With a round-the-clock calendar (24 working hours, 7 days a week) working time equals
calendar time, so :class:`model.stations.Station` driven by
:class:`model.events.EventCalendar` must reproduce the Erlang C mean wait
``Wq = C(c, a) / (c μ − λ)`` within a batch-means confidence interval. A whole ``GovernanceModel`` reduced to one
department (no reviews, no hand-off delays, no returns) must do the same for the time a
case spends at that department.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from model.calendar import WorkCalendar
from model.events import EventCalendar
from model.governance import GovernanceModel
from model.parameters import ModelParameters
from model.stations import Station

HOUR = 1.0 / 24.0
SERVERS = 3
SERVICE_RATE = 1.0  # per hour (mean service one hour)
ARRIVAL_RATE = 2.1  # per hour: ρ = λ / (c μ) = 0.7
CUSTOMERS = 120_000
WARM_UP = 2_000
BATCHES = 20
CONFIDENCE = 0.99


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = λ/μ."""
    top = offered_load**servers / math.factorial(servers) * servers / (servers - offered_load)
    bottom = sum(offered_load**k / math.factorial(k) for k in range(servers)) + top
    return top / bottom


def mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Erlang C mean wait in queue (hours)."""
    load = arrival_rate / service_rate
    return erlang_c(servers, load) / (servers * service_rate - arrival_rate)


def simulate_waits(seed: int, deadline_spread_days: float | None = None) -> np.ndarray:
    """Waiting times (hours) of CUSTOMERS Poisson arrivals at a c-server station, in arrival order.

    With ``deadline_spread_days`` the queue is deadline-first and each customer's deadline
    is its arrival plus a uniform draw in [0, spread] days, independent of its service.
    """
    rng = np.random.default_rng(seed)
    arrival_days = np.cumsum(rng.exponential(1.0 / ARRIVAL_RATE, CUSTOMERS)) * HOUR
    service = rng.exponential(1.0 / SERVICE_RATE, CUSTOMERS)
    deadline_first = deadline_spread_days is not None
    keys = arrival_days + (
        rng.uniform(0.0, deadline_spread_days, CUSTOMERS) if deadline_first else 0.0
    )
    horizon = int(arrival_days[-1]) + 30
    events = EventCalendar()
    station = Station(
        "mmc", SERVERS, WorkCalendar(24.0, 7, 0, horizon_days=horizon), events, deadline_first
    )
    waits = np.full(CUSTOMERS, np.nan)
    arrivals = arrival_days.tolist()
    works = service.tolist()
    priorities = keys.tolist()

    def done(i: int) -> None:
        waits[i] = (events.now - arrivals[i]) / HOUR - works[i]

    def arrive(i: int) -> None:
        station.arrive(works[i], done, i, priorities[i])

    for i, t in enumerate(arrivals):
        events.schedule(t, arrive, i)
    events.run_until(float(horizon))
    assert not np.isnan(waits).any(), "every customer should have been served"
    return waits


def batch_means_interval(values: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of the CONFIDENCE interval by batch means after the warm-up."""
    kept = values[WARM_UP:]
    size = kept.size // BATCHES
    means = kept[: size * BATCHES].reshape(BATCHES, size).mean(axis=1)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, BATCHES - 1) * means.std(ddof=1) / math.sqrt(BATCHES)
    return float(means.mean()), float(half)


def test_erlang_c_formula_known_value() -> None:
    """The formula in this test matches a textbook M/M/3 value (a = 2.1: C ≈ 0.4923)."""
    assert erlang_c(3, 2.1) == pytest.approx(0.4923, abs=5e-4), (
        "Erlang C(3, 2.1) should be ≈ 0.4923"
    )
    assert erlang_c(1, 0.5) == pytest.approx(0.5), "M/M/1: the waiting probability equals ρ"


@pytest.fixture(scope="module")
def fifo_waits() -> np.ndarray:
    """Waits of one long seeded M/M/3 run at ρ = 0.7 (FIFO)."""
    return simulate_waits(seed=20260101)


def test_mmc_mean_wait_matches_erlang_c(fifo_waits: np.ndarray) -> None:
    """The station's mean wait in queue lies within the 99 % batch-means interval of Erlang C's Wq."""
    expected = mean_wait(SERVERS, ARRIVAL_RATE, SERVICE_RATE)
    mean, half = batch_means_interval(fifo_waits)
    assert half < 0.15 * expected, (
        f"interval too wide to be a test: ±{half:.3f} h around {mean:.3f} h"
    )
    assert abs(mean - expected) <= half, (
        f"mean wait {mean:.4f} h ± {half:.4f} h does not cover Erlang C Wq = {expected:.4f} h"
    )


def test_mmc_waiting_probability_matches_erlang_c(fifo_waits: np.ndarray) -> None:
    """The share of customers who wait at all lies within the interval of Erlang C's C(c, a)."""
    expected = erlang_c(SERVERS, ARRIVAL_RATE / SERVICE_RATE)
    share, half = batch_means_interval((fifo_waits > 1e-9).astype(float))
    assert abs(share - expected) <= half, (
        f"waiting share {share:.4f} ± {half:.4f} does not cover C(c, a) = {expected:.4f}"
    )


def test_deadline_first_keeps_mean_wait() -> None:
    """Deadline-first order with keys independent of service keeps the M/M/c mean wait (conservation law)."""
    expected = mean_wait(SERVERS, ARRIVAL_RATE, SERVICE_RATE)
    waits = simulate_waits(seed=20260102, deadline_spread_days=0.5)
    mean, half = batch_means_interval(waits)
    assert abs(mean - expected) <= half, (
        f"deadline-first mean wait {mean:.4f} h ± {half:.4f} h does not cover Wq = {expected:.4f} h"
    )
    assert waits.std() > 0, "waits should vary"


def degenerate_parameters(days: int) -> ModelParameters:
    """The whole model reduced to one M/M/3 department (every other delay and branch switched off).

    Round-the-clock calendar; every need is reported (a Poisson stream of 2.1 cases per
    hour: 1,000 residents × 18.396 needs a year); one case type (help, so no front-desk
    answers); one department with 3 staff and exponential work of mean one hour; perfect
    classification (no returns); no review time and no hand-off delay; integrated routing
    sends each case straight to the department.
    """
    return ModelParameters.model_validate(
        {
            "population": {
                "streets": 1,
                "communities_per_street": 1,
                "grids_per_community": 2,
                "residents_per_grid": 500,
            },
            "simulation": {"days": days, "warmup_days": 0},
            "calendar": {"working_hours_per_day": 24.0, "working_days_per_week": 7},
            "demand": {
                "needs_per_resident_per_year": ARRIVAL_RATE * 24 * 365 / 1000,
                "case_type_shares": {"help": 1.0},
                "multi_department_share": 0.0,
                "max_departments_per_case": 1,
                "collective_issues_per_community_per_year": 0.0,
                "minor_share": 0.0,  # every case has the full exponential work content
                "disputed_ownership_share": 0.0,
            },
            "handling": {"resolution_probability_full_effort": 1.0},
            "reporting": {
                "report_probability_at_zero_trust": 1.0,
                "report_probability_at_full_trust": 1.0,
            },
            "detection": {
                "public_problems_per_resident_per_year": 0.0,
                "sensor_coverage_share": 0.0,
            },
            "departments": {
                "only": {
                    "staff_per_100k_residents": 300.0,
                    "case_share": 1.0,
                    "work_hours_mean": 1.0 / SERVICE_RATE,
                }
            },
            "coordination": {"classification_accuracy": 1.0, "handoff_delay_hours": 0.0},
            "offices": {"centre_review_hours": 0.0},
            "routing": {"kind": "integrated"},
        }
    )


def test_full_model_degenerate_configuration_matches_erlang_c() -> None:
    """A one-department degenerate GovernanceModel reproduces the M/M/3 mean time at the department."""
    days, warm_up_days = 300, 20
    model = GovernanceModel(degenerate_parameters(days), seed=7)
    model.run()
    assert [s.servers for s in model.department_stations] == [SERVERS], (
        "the department should have 3 staff"
    )
    cases = model.output().cases.sort_values("dispatched")
    assert (cases["returns"] == 0).all() and not cases["on_the_spot"].any(), (
        "no returns, no front-desk answers"
    )
    kept = cases[(cases["dispatched"] > warm_up_days) & cases["handled"].notna()]
    # dispatch → handled = wait in the department's queue + service (no review, no hand-off delay)
    sojourn = ((kept["handled"] - kept["dispatched"]) / HOUR).to_numpy()
    size = sojourn.size // BATCHES
    means = sojourn[: size * BATCHES].reshape(BATCHES, size).mean(axis=1)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, BATCHES - 1) * means.std(ddof=1) / math.sqrt(BATCHES)
    expected = mean_wait(SERVERS, ARRIVAL_RATE, SERVICE_RATE) + 1.0 / SERVICE_RATE
    assert sojourn.size > 10_000, f"too few cases for the test ({sojourn.size})"
    assert abs(means.mean() - expected) <= half, (
        f"time at the department {means.mean():.4f} h ± {half:.4f} h does not cover Erlang C W = {expected:.4f} h"
    )
