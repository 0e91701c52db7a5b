"""The console outcome table reads the outcome registry: groups, natural units, other keys last."""

from __future__ import annotations

import math

from app.console import format_value, outcome_table


def test_table_groups_and_units() -> None:
    """Keys appear under their registry group, in natural units; unknown keys under 'other'."""
    summary = {
        "on_time_share": 0.632,
        "cases_generated": 3830.0,
        "resolution_time_median_days": 8.64,
        "participation_share_age_70_plus": 0.081,
        "department_utilisation_urban_management": 0.5,
        "resolution_time_median_days_inquiry": 0.00417,
        "resolution_time_mean_days_inquiry": 0.25,
        "resolution_time_p90_days_inquiry": math.nan,
        "mystery_metric": 1.5,
    }
    lines = outcome_table(summary).splitlines()
    sections = {line: i for i, line in enumerate(lines) if not line.startswith(" ")}
    assert list(sections) == [
        "volume",
        "time",
        "participation",
        "cost",
        "resolution time by case type",
        "other",
    ], lines

    def under(name: str) -> str:
        row = next(i for i, line in enumerate(lines) if line.strip().startswith(name + " "))
        return max((h for h, i in sections.items() if i < row), key=sections.__getitem__)

    assert under("cases_generated") == "volume"
    assert under("on_time_share") == "time"
    assert under("participation_share_age_70_plus") == "participation"
    assert under("department_utilisation_urban_management") == "cost"
    assert under("mystery_metric") == "other"
    text = "\n".join(lines)
    assert "3,830 cases" in text and "63.2 %" in text and "8.6 days" in text, text
    inquiry = next(line for line in lines if line.strip().startswith("inquiry"))
    assert inquiry.split() == ["inquiry", "6.0", "h", "6", "min", "n/a"], inquiry
    assert "e+" not in text, "no exponent notation"
    assert "n/a: more than 10 % (p90)" in text, "an n/a percentile is explained below the table"


def test_case_type_table_stays_aligned_with_a_long_type_name() -> None:
    """Every row of the by-type table, the header's included, ends its columns at the same
    places, also with a type name wider than the column's twelve characters."""
    summary = {
        f"resolution_time_{s}_days_{t}": v
        for t in ("inquiry", "neighbour_dispute")
        for s, v in (("mean", 1.8), ("median", 1.5), ("p90", 12.25))
    }
    lines = outcome_table(summary).splitlines()
    start = lines.index("resolution time by case type") + 1
    table = lines[start : start + 3]
    assert [line.split()[0] for line in table] == ["case", "inquiry", "neighbour_dispute"]
    assert len({len(line) for line in table}) == 1, table
    means = [line.index("mean") + len("mean") for line in table[:1]]
    means += [line.index("days") + len("days") for line in table[1:]]
    assert len(set(means)) == 1, f"the mean column ends at {means}: {table}"
    assert "n/a:" not in "\n".join(lines), "no explanation without an n/a"


def test_format_value_missing() -> None:
    """A missing value prints as n/a."""
    assert format_value("on_time_share", math.nan) == "n/a"
    assert format_value("on_time_share", None) == "n/a"
