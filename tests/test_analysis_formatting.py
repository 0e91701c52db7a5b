"""Formatters: outcome values in natural units, driven by the outcome registry."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.formatting import (
    axis_scale,
    axis_unit,
    duration_unit,
    format_difference,
    format_effect,
    format_level,
    format_level_with_interval,
    outcome_label,
    parameter_label,
)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("resolution_time_median_days", 8.6, "8.6 days"),
        ("resolution_time_p90_days", 20.13, "20.1 days"),
        ("resolution_time_median_days", 0.25, "6.0 h"),
        ("resolution_time_median_days_inquiry", 0.00417, "6 min"),
        ("on_time_share", 0.632, "63.2 %"),
        ("cases_generated", 3830.4, "3,830 cases"),
        ("backlog_final", 12.0, "12 open cases"),
        ("meetings_held", 1.0, "1 meeting"),  # one: the unit in the singular
        ("backlog_final", 1.0, "1 open case"),
        ("staff_hours_per_case", 2.345, "2.3 h"),
        ("trust_mean", 0.5123, "0.512"),
        ("participation_share_age_70_plus", 0.081, "8.1 %"),
        ("on_time_share", float("nan"), "–"),
    ],
)
def test_levels_in_natural_units(name: str, value: float, expected: str) -> None:
    """Days stay days, short times become hours or minutes, shares %, counts whole numbers."""
    assert format_level(name, value) == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("on_time_share", 0.041, "+4.1 pp"),
        ("on_time_share", -0.005, "−0.5 pp"),
        ("on_time_share", -0.0004, "−0.04 pp"),
        ("resolution_time_median_days", -1.24, "−1.2 days"),
        ("resolution_time_median_days", -0.2, "−4.8 h"),
        ("cases_closed", 120.4, "+120 cases"),
        ("cases_closed", -1.0, "−1 case"),
        ("trust_mean", 0.0013, "+0.001"),
    ],
)
def test_differences_signed_in_natural_units(name: str, value: float, expected: str) -> None:
    """Differences carry a sign; shares are percentage points, never percent."""
    assert format_difference(name, value) == expected


def test_effect_interval_shares_the_unit_of_the_effect() -> None:
    """An effect and its interval are written in one unit chosen from the effect's size."""
    assert format_effect("resolution_time_median_days", -1.24, -1.6, -0.88) == (
        "−1.2 days [−1.6, −0.9]"
    )
    assert format_effect("resolution_time_median_days", -0.2, -0.5, 0.05) == ("−4.8 h [−12.0, 1.2]")
    assert format_effect("on_time_share", 0.04, 0.036, 0.044) == "+4.0 pp [3.6, 4.4]"
    # with the reference level, a duration effect reads in the level's unit
    assert format_effect("resolution_time_median_days", -0.9, -0.96, -0.84, 3.0) == (
        "−0.9 days [−1.0, −0.8]"
    )
    assert format_effect("staff_hours_per_case", -0.01, -0.03, 0.01) == "0.0 h [0.0, 0.0]"


def test_count_level_interval_is_clipped_at_zero() -> None:
    """A count's interval never goes negative; a difference's may."""
    assert format_level_with_interval("cases_open", 3, -2, 8) == "3 cases [0, 8]"
    assert format_effect("cases_open", 3, -2, 8) == "+3 cases [−2, 8]"


@pytest.mark.parametrize(
    ("name", "value", "low", "high", "expected"),
    [
        ("on_time_share", 0.636, -0.102, 1.37, "63.6 % [0.0, 100.0]"),  # a share: 0–100 %
        ("overloaded", 0.5, -5.853, 6.853, "0.500 [0.000, 1.000]"),  # a 0/1 flag
        ("department_utilisation_max", 0.95, 0.8, 1.1, "95.0 % [80.0, 110.0]"),  # a load: > 1
        ("department_utilisation_transport", 0.95, 0.8, 1.1, "95.0 % [80.0, 110.0]"),
        ("trust_change", -0.003, -0.011, 0.005, "−0.003 [−0.011, 0.005]"),  # signed
        ("handoffs_per_case", 2.04, -0.777, 4.86, "2.04 [0, 4.86]"),  # a ratio: ≥ 0
    ],
)
def test_a_level_s_interval_is_cut_to_the_outcome_s_range(name, value, low, high, expected):
    """An interval around a level from few replications stays within the values the outcome
    can take: a share within 0–100 %, a flag within 0–1, a ratio at least 0; a staff's load
    can pass 100 % and a change of trust can be negative, so they are not cut there."""
    assert format_level_with_interval(name, value, low, high) == expected


def test_a_difference_s_interval_is_cut_to_the_range_s_width() -> None:
    """A difference of two levels lies within ± the range's width: a flag's within ±1, a
    share's within ±100 pp; an unbounded outcome's is not cut."""
    assert format_effect("overloaded", 0.5, -5.853, 6.853) == "+0.500 [−1.000, 1.000]"
    assert format_effect("on_time_share", 0.5, -1.3, 1.8) == "+50.0 pp [−100.0, 100.0]"
    assert format_effect("cases_open", 3, -2, 8) == "+3 cases [−2, 8]"


def test_one_precision_per_string() -> None:
    """A value and its interval bounds are written with the same number of decimals."""
    assert format_level_with_interval("backlog_mean", 9.0, 7.1, 11.0) == (
        "9.0 open cases [7.1, 11.0]"
    )
    assert format_effect("backlog_mean", -3.0, -3.0, -3.0) == "−3 open cases [−3, −3]"


def test_duration_units() -> None:
    """One day or more in days, one hour or more in hours, less in minutes."""
    assert duration_unit(1.0) == ("days", 1.0)
    assert duration_unit(0.5) == ("h", 24.0)
    assert duration_unit(0.01) == ("min", 1440.0)


@given(
    st.sampled_from(
        ["cases_generated", "staff_hours_total", "resolution_time_p90_days", "on_time_share"]
    ),
    st.floats(min_value=-1e7, max_value=1e7, allow_nan=False),
)
def test_never_exponent_notation(name: str, value: float) -> None:
    """No value of a registry outcome is written in exponent notation (3.83e+03)."""
    for text in (format_level(name, abs(value)), format_difference(name, value)):
        assert not re.search(r"\de[+-]?\d", text), f"{name} {value!r} → {text!r}"


@given(st.floats(min_value=0, max_value=1e6), st.floats(min_value=0, max_value=1e3))
def test_non_negative_level_bounds(mean: float, half: float) -> None:
    """The lower bound of a count level's interval is never below zero."""
    text = format_level_with_interval("cases_open", mean, mean - half, mean + half)
    assert "[−" not in text, text


def test_labels_from_the_registry() -> None:
    """Labels and units come from the registry; dotted parameters become words with units."""
    assert outcome_label("on_time_share") == "Closed on time (share of closed and overdue cases)"
    assert outcome_label("resolution_time_p90_days_help", unit=False) == (
        "Resolution time, 90th percentile — help cases"
    )
    assert axis_unit("on_time_share") == "% of closed and overdue cases"
    assert axis_unit("equity_on_time_gap") == "%"
    assert axis_scale("on_time_share") == 100.0 and axis_scale("trust_mean") == 1.0
    assert parameter_label("departments.urban_management.staff_per_100k_residents") == (
        "Urban management staff (per 100k residents)"
    )
