"""Outcomes every run reports (BRIEF "Outcomes every run reports")."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from model.cases import CASE_TYPES

# Fixed outcome names; every run's summary has each of them (NaN when undefined).
OUTCOME_NAMES: tuple[str, ...] = (
    "needs_generated",
    "cases_generated",
    "cases_closed",
    "cases_open",
    "cases_queued",
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
)


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
    """

    summary: dict[str, float]
    timeseries: pd.DataFrame
    cases: pd.DataFrame
