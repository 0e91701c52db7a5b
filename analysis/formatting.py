"""Outcome values in natural units, driven by the outcome registry (model/outcomes.py).

Durations stored in days are shown in days, hours or minutes, whichever reads best
(0.00417 days is "6 min"); shares stored in [0, 1] as percentages for levels and
percentage points ("pp") for differences; counts as whole numbers with thousands
separators (never 3.83e+03); hours as staff-hours; indices on a 0–1 scale with three
decimals. The console, the report and the plots format through these functions only.

Examples:
    >>> format_level("on_time_share", 0.632)
    '63.2 %'
    >>> format_difference("on_time_share", 0.041)
    '+4.1 pp'
    >>> format_level("resolution_time_median_days_inquiry", 0.00417)
    '6 min'
    >>> format_effect("resolution_time_median_days", -1.24, -1.6, -0.88)
    '−1.2 days [−1.6, −0.9]'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from model.outcomes import Outcome, find_outcome

MINUS = "−"
HOURS_PER_DAY = 24.0


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _finite(values: Iterable[Any]) -> list[float]:
    return [v for v in (_float(x) for x in values) if math.isfinite(v)]


def _sign(text: str, signed: bool, value: float) -> str:
    if not any(ch in "123456789" for ch in text):  # rounds to zero: no sign ("0.0", not "−0.0")
        return text.lstrip("-")
    text = text.replace("-", MINUS)
    if signed and value >= 0 and not text.startswith(MINUS):
        return "+" + text
    return text


def _decimals(value: float, digits: int) -> str:
    text = f"{value:,.{digits}f}"
    return "0" if float(text.replace(",", "")) == 0 and digits == 0 else text


def duration_unit(magnitude: float) -> tuple[str, float]:
    """The unit to show a duration of ``magnitude`` days in: (unit, factor from days).

    One day or more reads in days, one hour or more in hours, less in minutes.
    """
    if not math.isfinite(magnitude) or magnitude >= 1.0:
        return "days", 1.0
    if magnitude >= 1.0 / HOURS_PER_DAY:
        return "h", HOURS_PER_DAY
    return "min", HOURS_PER_DAY * 60


def _digits(display: str, scale: float, centre: float, values: Iterable[float] = ()) -> int:
    """Decimals for a value of size ``centre`` (stored units) and the others shown with it
    (an interval's bounds), so that one string uses one precision; -1: no fixed digits."""
    size = abs(centre * scale)
    if display == "count":
        whole = all(float(v).is_integer() for v in (centre, *values))
        return 0 if size >= 10 or whole else 1
    if display in ("duration", "hours", "share"):
        if display == "duration" and scale > HOURS_PER_DAY:  # minutes
            return 0
        if display == "share" and 0 < size < 0.1:
            return 2
        return 0 if size >= 100 else 1
    if display == "index":
        return 3
    return -1  # ratio, or an outcome the registry does not know


def _number(
    value: float, display: str, scale: float, signed: bool, digits: int | None = None
) -> str:
    """``value`` (stored units) × ``scale`` with the digits the display calls for."""
    if digits is None:
        digits = _digits(display, scale, value)
    if digits < 0:
        return _sign(_generic(value), signed, value)
    return _sign(_decimals(value * scale, digits), signed, value)


def _generic(value: float) -> str:
    """Three significant digits without exponent notation for up to 15 digits."""
    if value != 0 and abs(value) >= 1000:
        return f"{value:,.0f}"
    if value != 0 and abs(value) < 0.001:
        return f"{value:.2g}"
    return f"{value:.3g}"


def _scale_and_unit(entry: Outcome | None, magnitude: float, difference: bool) -> tuple[float, str]:
    """(factor from stored units, unit text) for values around ``magnitude``."""
    if entry is None:
        return 1.0, ""
    if entry.display == "duration":
        unit, factor = duration_unit(magnitude)
        return factor, unit
    if entry.display == "share":
        return 100.0, "pp" if difference else "%"
    if entry.display == "hours":
        return 1.0, "h"
    if entry.display == "count":
        return 1.0, entry.unit
    return 1.0, ""


def within_range(
    entry: Outcome | None, low: float, high: float, difference: bool = False
) -> tuple[float, float]:
    """An interval around a level cut to the values the outcome can take, or around a
    difference of two levels to ± the range's width (unchanged for an outcome the registry
    does not know, and where the range is unbounded)."""
    if entry is None:
        return low, high
    least, most = entry.level_range
    if difference:
        least, most = least - most, most - least  # -inf, inf for an unbounded range
    return min(max(low, least), most), max(min(high, most), least)


def _join(number: str, unit: str) -> str:
    """'3 meetings', '1 meeting', '+1 case': a count's unit in the singular for exactly one."""
    if unit.endswith("s") and number.lstrip("+-" + MINUS) == "1":
        unit = unit[:-1]
    return f"{number} {unit}" if unit else number


def format_level(name: str, value: Any) -> str:
    """A level of outcome ``name`` (a mean, a run's value) in natural units; '–' if missing."""
    number = _float(value)
    if not math.isfinite(number):
        return "–" if math.isnan(number) else ("∞" if number > 0 else MINUS + "∞")
    entry = find_outcome(name)
    scale, unit = _scale_and_unit(entry, abs(number), difference=False)
    display = entry.display if entry else ""
    return _join(_number(number, display, scale, signed=False), unit)


def format_difference(name: str, value: Any) -> str:
    """A signed difference of outcome ``name`` (scenario − reference) in natural units."""
    number = _float(value)
    if not math.isfinite(number):
        return "–"
    entry = find_outcome(name)
    scale, unit = _scale_and_unit(entry, abs(number), difference=True)
    display = entry.display if entry else ""
    return _join(_number(number, display, scale, signed=True), unit)


def format_interval(
    name: str,
    low: Any,
    high: Any,
    difference: bool,
    magnitude: float,
    centre: int | None = None,
) -> str:
    """``[low, high]`` in the unit chosen for ``magnitude``; a level's bounds cut to the
    values the outcome can take.

    A level cannot leave its outcome's range (``Outcome.level_range``: a share stays within
    0–100 %, a count, a duration or a staff's load above 0), nor a difference of two levels
    the range's width either way (a share's within ±100 pp), so a wide interval from few
    replications is cut there (``within_range``). ``centre``: the digits of the value the
    interval belongs to (so both read with one precision).
    """
    lo, hi = _float(low), _float(high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    entry = find_outcome(name)
    display = entry.display if entry else ""
    lo, hi = within_range(entry, lo, hi, difference)
    scale, _ = _scale_and_unit(entry, magnitude, difference)
    digits = _digits(display, scale, magnitude, (lo, hi)) if centre is None else centre
    bounds = [_number(v, display, scale, signed=False, digits=digits) for v in (lo, hi)]
    return f"[{bounds[0]}, {bounds[1]}]"


def format_effect(name: str, difference: Any, low: Any, high: Any, level: Any = None) -> str:
    """A difference with its interval, in one unit: '−1.2 days [−1.6, −0.9]'.

    The unit of a duration follows ``level`` when given (the reference mean, so that an
    effect reads in the unit of the level it changes: 3.0 → 2.1 days is "−0.9 days", not
    "−22 h"), else the size of the difference.
    """
    values = _finite([difference, low, high])
    if not math.isfinite(_float(difference)):
        return "–"
    magnitude = abs(_float(difference)) or max((abs(v) for v in values), default=0.0)
    if level is not None and math.isfinite(_float(level)) and _float(level) != 0:
        magnitude = abs(_float(level))
    entry = find_outcome(name)
    scale, unit = _scale_and_unit(entry, magnitude, difference=True)
    display = entry.display if entry else ""
    digits = _digits(display, scale, _float(difference), values)
    centre = _number(_float(difference), display, scale, signed=True, digits=digits)
    interval = format_interval(name, low, high, True, magnitude, centre=digits)
    return f"{_join(centre, unit)} {interval}".strip()


def format_level_with_interval(name: str, value: Any, low: Any, high: Any) -> str:
    """A level with its interval, cut to the values the outcome can take (``within_range``)."""
    number = _float(value)
    if not math.isfinite(number):
        return format_level(name, value)
    entry = find_outcome(name)
    scale, unit = _scale_and_unit(entry, abs(number), difference=False)
    display = entry.display if entry else ""
    finite = _finite([low, high])
    bounds = list(within_range(entry, finite[0], finite[1])) if len(finite) == 2 else finite
    digits = _digits(display, scale, number, bounds)
    centre = _number(number, display, scale, signed=False, digits=digits)
    interval = (
        format_interval(name, *bounds, False, abs(number), centre=digits)
        if len(bounds) == 2
        else ""
    )
    return f"{_join(centre, unit)} {interval}".strip()


def outcome_label(name: str, unit: bool = True) -> str:
    """The registry label of ``name``, with its unit in brackets; unknown names humanised."""
    entry = find_outcome(name)
    if entry is None:
        text = name.replace("_", " ").strip()
        return text[:1].upper() + text[1:]
    return f"{entry.label} ({entry.unit})" if unit else entry.label


def axis_unit(name: str) -> str:
    """The unit an axis of ``name`` is drawn in (values scaled by :func:`axis_scale`)."""
    entry = find_outcome(name)
    if entry is None:
        return ""
    if entry.display == "share":
        return (
            "% of " + entry.unit.removeprefix("share of ")
            if entry.unit.startswith("share of ")
            else "%"
        )
    return entry.unit


def axis_scale(name: str) -> float:
    """The factor from stored units to the axis of ``name`` (100 for shares, else 1)."""
    entry = find_outcome(name)
    return 100.0 if entry is not None and entry.display == "share" else 1.0


def parameter_label(dotted: str) -> str:
    """A dotted scenario field as words with its unit, e.g.
    ``departments.urban_management.staff_per_100k_residents`` →
    "Urban management staff (per 100k residents)"."""
    parts = dotted.split(".")
    last = parts[-1]
    context = parts[-2].replace("_", " ") if len(parts) >= 3 else ""
    unit = ""
    for marker, words in (
        ("_per_100k_residents", "per 100k residents"),
        ("_per_day", "per day"),
        ("_per_year", "per year"),
        ("_per_grid", "per grid"),
        ("_per_community", "per community"),
        ("_per_street", "per street"),
        ("_working_days", "working days"),
        ("_days", "days"),
        ("_hours", "hours"),
        ("_share", "share 0–1"),
        ("_probability", "probability"),
    ):
        if last.endswith(marker):
            last, unit = last[: -len(marker)], words
            break
    text = f"{context} {last}".strip().replace("_", " ")
    text = text[:1].upper() + text[1:]
    return f"{text} ({unit})" if unit else text
