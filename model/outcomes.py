"""Outcomes every run reports (README "What a run reports")."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from model.cases import CASE_TYPES, SOURCES

if TYPE_CHECKING:
    from model.governance import GovernanceModel

# Fixed outcome names; every run's summary has each of them (NaN when undefined).
OUTCOME_NAMES: tuple[str, ...] = (
    "needs_generated",
    "needs_reported",
    "needs_found",
    "needs_lapsed",
    "needs_awaiting_patrol",
    "cases_generated",
    "cases_closed",
    "cases_open",
    "cases_queued",
    "cases_parked",
    "repeat_contacts",
    "resolution_time_mean_days",
    "resolution_time_median_days",
    "resolution_time_p90_days",
    "on_time_share",
    "resolution_share",
    "on_the_spot_share",
    "returns_share",
    "handoffs_per_case",
    "backlog_mean",
    "backlog_final",
    "department_utilisation",
    "grid_worker_utilisation",
    "community_utilisation",
    "community_overload_share",
    "satisfaction_share",
    "trust_mean",
    "trust_change",
    "unreported_share",
    "participation_share",
    "representativeness",
    "meetings_held",
    "decisions_made",
    "implementation_share",
    "collective_issues_open",
    "equity_resolution_time_cv",
    "equity_on_time_gap",
    "staff_hours_total",
    "staff_hours_per_case",
    "volunteer_hours_total",
    "warmup_days",
    "measured_days",
    "requests_per_resident_per_year",
    "returns_per_case",
    "department_utilisation_max",
    "parked_share",
    "repeat_contact_share",
    "reopened_share",
    "premature_closures",
    "premature_caught_share",
    "disputes",
    "urging_calls",
    "urging_calls_per_resident_per_year",
)


MAX_UNIT_NODES = 500  # unit values are kept for pictures of small scenarios only
UTILISATION_WARNING = 0.9  # a department busier than this may never clear its queue
logger = logging.getLogger(__name__)


def group_key(name: str) -> str:
    """Turn an age group label such as '18-29' or '70+' into an identifier part."""
    return name.replace("+", "_plus").replace("-", "_")


def per_type_outcomes() -> tuple[str, ...]:
    """Resolution-time outcomes by case type, e.g. 'resolution_time_median_days_help'."""
    return tuple(
        f"resolution_time_{stat}_days_{t}" for t in CASE_TYPES for stat in ("mean", "median", "p90")
    )


@dataclass(frozen=True)
class RunOutput:
    """Everything one run yields.

    Attributes:
        summary: outcome name → value (NaN where undefined).
        timeseries: one row per simulated day (column 'day' plus daily variables).
        cases: the case log, one row per case with its timestamps and hand-offs.
        units: for small scenarios (at most ``MAX_UNIT_NODES`` units), the final backlog
            and mean trust of every unit of the governance network, long format: node
            ('level:index'), level, parent ('level:index' or None), name, variable, value.
        warnings: what a reader of the outcomes must know, e.g. a department whose
            utilisation exceeds ``UTILISATION_WARNING`` (its queue may not settle).
    """

    summary: dict[str, float]
    timeseries: pd.DataFrame
    cases: pd.DataFrame
    units: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: tuple[str, ...] = ()


def _quantiles(durations: np.ndarray) -> tuple[float, float, float]:
    """Mean of the finished durations; median and p90 with unfinished ones (+inf) counted.

    A case still open at the end has not been resolved *yet*: dropping it would make an
    overloaded system look fast, so the median and p90 count it as longer than every
    closed case (right-censored), and are NaN when they fall among the open cases.
    """
    if durations.size == 0:
        return (math.nan, math.nan, math.nan)
    finite = durations[np.isfinite(durations)]
    mean = float(finite.mean()) if finite.size else math.nan
    median, p90 = np.quantile(durations, [0.5, 0.9], method="inverted_cdf")
    return (
        mean,
        float(median) if np.isfinite(median) else math.nan,
        float(p90) if np.isfinite(p90) else math.nan,
    )


def _share(numerator: float | np.integer, denominator: float | np.integer) -> float:
    return float(numerator / denominator) if denominator > 0 else math.nan


def summarise(model: GovernanceModel, status: np.ndarray) -> dict[str, float]:
    """Every outcome of a run so far (NaN where undefined).

    The accounting of needs and cases covers the whole run, warm-up included (nothing
    is lost); every other outcome covers the measured period after the warm-up only:
    cases reported since then, staff hours and meetings since then, the backlog on
    measured days (docs/design.md "Warm-up").
    """
    cw = model.casework
    cases = cw.cases
    col = cases.column
    n = cases.size
    p = model.parameters
    closed_all = ~np.isnan(col("closed"))
    parked_all = ~np.isnan(col("parked"))
    summary: dict[str, float] = {}
    # every need is accounted for: reported, found by a patrol or sensor, lapsed unreported,
    # or still waiting for the patrol that will find it
    summary["needs_generated"] = float(cw.needs_generated)
    summary["needs_reported"] = float(cw.needs_reported)
    summary["needs_found"] = float(cw.needs_found - cw.pending_found)
    summary["needs_lapsed"] = float(cw.lapsed_needs)
    summary["needs_awaiting_patrol"] = float(cw.pending_found)
    # every case is a need reported or found, or a repeat contact about one; and every case
    # is closed, parked (挂账) or still open (of which some wait in a queue)
    summary["repeat_contacts"] = float(cw.repeat_contacts)
    summary["cases_generated"] = float(n)
    summary["cases_closed"] = float(closed_all.sum())
    summary["cases_parked"] = float(parked_all.sum())
    summary["cases_open"] = float(n - closed_all.sum() - parked_all.sum())
    summary["cases_queued"] = float((status == "queued").sum())

    warmup = model.warmup_days
    measured_days = model.measured_days
    summary["warmup_days"] = float(warmup)
    summary["measured_days"] = float(measured_days)
    window = col("reported") >= warmup  # cases of the measured period
    m = int(window.sum())
    closed = closed_all[window]
    closed_at = col("closed")[window]
    # resolution time of every measured case; +inf while still open (censored at the horizon)
    durations = np.where(closed, closed_at - col("reported")[window], np.inf)
    case_type = col("case_type")[window]
    deadline = col("deadline")[window]
    (
        summary["resolution_time_mean_days"],
        summary["resolution_time_median_days"],
        summary["resolution_time_p90_days"],
    ) = _quantiles(durations)
    for t, name in enumerate(CASE_TYPES):
        mean, median, p90 = _quantiles(durations[case_type == t])
        summary[f"resolution_time_mean_days_{name}"] = mean
        summary[f"resolution_time_median_days_{name}"] = median
        summary[f"resolution_time_p90_days_{name}"] = p90
    on_time = closed_at[closed] <= deadline[closed]
    # open cases already past their deadline are late whatever happens next
    overdue = (~closed & (deadline < model.events.now)).sum()
    summary["on_time_share"] = _share(on_time.sum(), closed.sum() + overdue)
    summary["resolution_share"] = _share((col("resolved")[window] & closed).sum(), m)
    summary["on_the_spot_share"] = _share(col("on_the_spot")[window].sum(), m)
    dispatched = ~np.isnan(col("dispatched")[window])
    returns = col("returns")[window]
    summary["returns_share"] = _share((returns[dispatched] > 0).sum(), dispatched.sum())
    summary["returns_per_case"] = _share(returns[dispatched].sum(), dispatched.sum())
    summary["handoffs_per_case"] = _share(col("handoffs")[window].sum(), m)
    summary["parked_share"] = _share(parked_all[window].sum(), m)
    summary["repeat_contact_share"] = _share((col("parent")[window] >= 0).sum(), m)
    summary["reopened_share"] = _share((col("reopened")[window] > 0).sum(), m)
    premature = col("premature")[window]
    summary["premature_closures"] = float(premature.sum())
    summary["premature_caught_share"] = _share(
        (premature > 0).sum() and ((premature > 0) & (col("reopened")[window] > 0)).sum(),
        (premature > 0).sum(),
    )
    summary["disputes"] = float(cw.disputes)
    summary["urging_calls"] = float(cw.urging_calls - cw.urging_calls_mark)
    residents_cases = (col("resident")[window] >= 0).sum()
    years = measured_days / 365.0
    summary["requests_per_resident_per_year"] = (
        float(residents_cases / model.population.size / years) if years > 0 else math.nan
    )
    summary["urging_calls_per_resident_per_year"] = (
        summary["urging_calls"] / model.population.size / years if years > 0 else math.nan
    )
    backlog = np.array(model.datacollector.model_vars.get("backlog", [])[warmup:], dtype=float)
    summary["backlog_mean"] = float(backlog.mean()) if backlog.size else math.nan
    summary["backlog_final"] = float(n - closed_all.sum() - parked_all.sum())

    hours = model.calendar.total_working_hours(model.day) - model.calendar.total_working_hours(
        min(warmup, model.day)
    )
    departments = model.department_stations
    summary["department_utilisation"] = _share(
        sum(s.busy_hours_since_mark for s in departments), hours * sum(s.staff for s in departments)
    )
    for name, station in zip(model.department_names, departments, strict=True):
        summary[f"department_utilisation_{name}"] = _share(
            station.busy_hours_since_mark, hours * station.staff
        )
    per_department = [summary[f"department_utilisation_{name}"] for name in model.department_names]
    summary["department_utilisation_max"] = (
        float(np.nanmax(per_department)) if hours > 0 else math.nan
    )
    patrol = min(p.detection.patrol_hours_per_day / p.calendar.working_hours_per_day, 0.9)
    grid_busy = sum(s.busy_hours_since_mark for s in model.grid_stations)
    grid_capacity = hours * sum(s.staff for s in model.grid_stations)
    # patrol time is part of a grid worker's working day (F4.6, assumption)
    summary["grid_worker_utilisation"] = (
        _share(grid_busy, grid_capacity * (1 - patrol)) * (1 - patrol) + patrol
        if grid_capacity > 0
        else math.nan
    )
    admin = p.offices.community_admin_hours_per_day * hours / p.calendar.working_hours_per_day
    loads = np.array(
        [
            _share(s.busy_hours_since_mark / s.work_factor + admin, s.staff * hours)
            for s in model.community_stations
        ]
    )
    summary["community_utilisation"] = float(loads.mean())
    summary["community_overload_share"] = float((loads > 1.0).mean())  # 小马拉大车

    satisfied = col("satisfied")[window]
    summary["satisfaction_share"] = _share((satisfied == 1).sum(), (satisfied >= 0).sum())
    pop = model.population
    summary["trust_mean"] = float(pop.trust.mean())
    summary["trust_change"] = float(pop.trust.mean() - model.warmup_trust_mean)
    summary["unreported_share"] = _share(
        cw.lapsed_needs - cw.lapsed_needs_mark, cw.needs_generated - cw.needs_generated_mark
    )

    delib = model.deliberation
    participated = delib.participated
    summary["participation_share"] = float(participated.mean())
    for g, group in enumerate(pop.age_groups):
        members = pop.age_group == g
        summary[f"participation_share_age_{group_key(group)}"] = _share(
            participated[members].sum(), members.sum()
        )
    summary["participation_share_party_member"] = _share(
        participated[pop.party_member].sum(), pop.party_member.sum()
    )
    summary["participation_share_non_member"] = _share(
        participated[~pop.party_member].sum(), (~pop.party_member).sum()
    )
    summary["representativeness"] = _representativeness(
        pop.age_group, pop.party_member, participated
    )
    summary["meetings_held"] = float(delib.meetings_held)
    summary["decisions_made"] = float(delib.decisions_made)
    summary["implementation_share"] = _share(delib.projects_implemented, delib.decisions_made)
    summary["collective_issues_open"] = float(delib.collective_issues_open)

    grid = col("grid")[window]
    closed_grid = grid[closed]
    per_grid_median = []
    per_grid_on_time = []
    for g in np.unique(grid):
        mine = grid == g
        if mine.sum() >= 5:
            per_grid_median.append(_quantiles(durations[mine])[1])
        mine_closed = closed_grid == g
        if mine_closed.sum() >= 5:
            per_grid_on_time.append(on_time[mine_closed].mean())
    medians = np.array(per_grid_median)
    medians = medians[np.isfinite(medians)]
    summary["equity_resolution_time_cv"] = (
        float(medians.std() / medians.mean())
        if medians.size > 1 and medians.mean() > 0
        else math.nan
    )
    ontime = np.array(per_grid_on_time)
    summary["equity_on_time_gap"] = (
        float(np.quantile(ontime, 0.9) - np.quantile(ontime, 0.1)) if ontime.size > 1 else math.nan
    )
    staff_hours = sum(s.busy_hours_since_mark for s in model.staff_stations()) + delib.staff_hours
    summary["volunteer_hours_total"] = float(
        sum(s.busy_hours_since_mark for s in model.party_stations)
    )
    summary["staff_hours_total"] = float(staff_hours)
    summary["staff_hours_per_case"] = _share(staff_hours, m)
    return summary


def run_warnings(model: GovernanceModel, summary: dict[str, float]) -> tuple[str, ...]:
    """Warnings a reader of the outcomes must see (each is also logged)."""
    found = []
    for name in model.department_names:
        value = summary.get(f"department_utilisation_{name}", math.nan)
        if value > UTILISATION_WARNING:
            found.append(
                f"department {name} utilisation {value:.2f} exceeds {UTILISATION_WARNING}: "
                "its queue may not settle, and outcomes depend on the run's length"
            )
    for message in found:
        logger.warning(message)
    return tuple(found)


def _representativeness(
    age_group: np.ndarray, party: np.ndarray, participated: np.ndarray
) -> float:
    """1 − total-variation distance between participants and population over age × party cells."""
    if not participated.any():
        return math.nan
    cell = age_group.astype(np.int64) * 2 + party.astype(np.int64)
    size = int(cell.max()) + 1
    population = np.bincount(cell, minlength=size) / cell.size
    chosen = np.bincount(cell[participated], minlength=size) / participated.sum()
    return float(1.0 - 0.5 * np.abs(population - chosen).sum())


def case_log(model: GovernanceModel, status: np.ndarray) -> pd.DataFrame:
    """One row per case: attributes, timestamps (days; NaN if not reached), hand-offs, status."""
    cases = model.casework.cases
    col = cases.column
    n = cases.size
    names = model.department_names
    closed = col("closed")
    return pd.DataFrame(
        {
            "case_id": np.arange(n),
            "need": col("need"),
            "resident": col("resident"),
            "case_type": pd.Categorical.from_codes(col("case_type"), categories=list(CASE_TYPES)),
            "source": pd.Categorical.from_codes(col("source"), categories=list(SOURCES)),
            "category": [names[d[0]] for d in cases.departments],
            "departments_needed": np.array([len(d) for d in cases.departments], dtype=np.int64),
            "grid": col("grid"),
            "severity": col("severity"),
            "minor": col("minor"),
            "repeat": col("repeat"),
            "reported": col("reported"),
            "registered": col("registered"),
            "dispatched": col("dispatched"),
            "handled": col("handled"),
            "verified": col("verified"),
            "closed": closed,
            "deadline": col("deadline"),
            "resolution_time_days": closed - col("reported"),
            "handoffs": col("handoffs"),
            "returns": col("returns"),
            "disputed": col("disputed"),
            "parent": col("parent"),
            "contact": col("contact"),
            "owner": [names[d] if d >= 0 else None for d in col("owner").tolist()],
            "reopened": col("reopened"),
            "premature": col("premature"),
            "urged": col("urged"),
            "parked": col("parked"),
            "on_the_spot": col("on_the_spot"),
            "on_time": np.where(np.isnan(closed), np.nan, closed <= col("deadline")),
            "resolved": col("resolved"),
            "satisfied": np.where(col("satisfied") >= 0, col("satisfied"), np.nan),
            "status": status,
            "measured": col("reported") >= model.warmup_days,  # reported after the warm-up
        }
    )
