"""Console helpers for the ``microgov`` command line: outcome tables and error lines.

Only the app layer prints; everything below it logs (docs/design.md "Conventions").
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from typing import TextIO

from model.cases import CASE_TYPES

# Outcome groups for the run table (README "What a run reports"); names are
# model.outcomes.OUTCOME_NAMES. Keys not listed here are printed under "other".
OUTCOME_GROUPS: dict[str, tuple[str, ...]] = {
    "volume": (
        "needs_generated",
        "cases_generated",
        "cases_closed",
        "cases_open",
        "cases_queued",
        "backlog_mean",
        "backlog_final",
        "unreported_share",
    ),
    "time": (
        "resolution_time_mean_days",
        "resolution_time_median_days",
        "resolution_time_p90_days",
        "on_time_share",
        "equity_resolution_time_cv",
        "equity_on_time_gap",
    ),
    "quality": (
        "resolution_share",
        "on_the_spot_share",
        "returns_share",
        "handoffs_per_case",
        "satisfaction_share",
        "trust_mean",
        "trust_change",
    ),
    "participation": (
        "participation_share",
        "representativeness",
        "meetings_held",
        "decisions_made",
        "implementation_share",
        "collective_issues_open",
    ),
    "cost": (
        "staff_hours_total",
        "staff_hours_per_case",
        "department_utilisation",
        "grid_worker_utilisation",
        "community_utilisation",
        "community_overload_share",
    ),
}
_PER_TYPE = re.compile(r"^resolution_time_(mean|median|p90)_days_(\w+)$")
_COUNTS = {"needs_generated", "cases_generated", "cases_closed", "cases_open", "cases_queued"}


def format_value(name: str, value: float | int | None) -> str:
    """One outcome value for people: shares as percentages, days with two decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if "_share" in name or name.endswith("_utilisation") or name == "equity_on_time_gap":
        return f"{100 * value:.1f} %"
    if "_days" in name:
        return f"{value:,.2f} d" if abs(value) >= 0.1 or value == 0 else f"{value:.3f} d"
    if name in _COUNTS or float(value).is_integer() or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.3f}"


def outcome_table(summary: Mapping[str, float]) -> str:
    """The run's outcomes as a readable text table, grouped (volume, time, quality,
    participation, cost), with resolution times by case type and any other keys last."""
    lines: list[str] = []
    listed = {name for names in OUTCOME_GROUPS.values() for name in names}
    width = max([len(n) for n in summary] + [20])
    for group, names in OUTCOME_GROUPS.items():
        present = [n for n in names if n in summary]
        extra = sorted(
            n for n in summary if n.startswith(f"{group}_") and n not in listed
        )  # e.g. participation_share_18_29 (per age group)
        if group == "participation":
            extra = sorted(n for n in summary if n.startswith("participation_") and n not in listed)
        if not present and not extra:
            continue
        lines.append(f"{group}")
        lines += [f"  {n:<{width}}  {format_value(n, summary[n]):>14}" for n in present + extra]
        listed.update(extra)
    per_type: dict[str, dict[str, float]] = {}
    for name, value in summary.items():
        match = _PER_TYPE.match(name)
        if match and name not in listed:
            per_type.setdefault(match.group(2), {})[match.group(1)] = value
            listed.add(name)
    rows = [
        (t, stats)
        for t, stats in sorted(per_type.items(), key=lambda kv: _type_order(kv[0]))
        if any(not math.isnan(v) for v in stats.values())
    ]
    if rows:
        lines.append("resolution time by case type (days)")
        lines.append(f"  {'case type':<12} {'mean':>9} {'median':>9} {'p90':>9}")
        for case_type, stats in rows:
            cells = [_days(stats.get(s)) for s in ("mean", "median", "p90")]
            lines.append(f"  {case_type:<12} {cells[0]:>9} {cells[1]:>9} {cells[2]:>9}")
    other = [n for n in summary if n not in listed]
    if other:
        lines.append("other")
        lines += [f"  {n:<{width}}  {format_value(n, summary[n]):>14}" for n in other]
    return "\n".join(lines)


def _type_order(case_type: str) -> int:
    return CASE_TYPES.index(case_type) if case_type in CASE_TYPES else len(CASE_TYPES)


def _days(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.2f}"


def print_error(message: object, stream: TextIO | None = None) -> None:
    """Print ``error: <message>`` on standard error (or ``stream``)."""
    print(f"error: {message}", file=stream if stream is not None else sys.stderr)
