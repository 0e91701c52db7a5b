"""Statistics over stored replications: intervals, paired reform effects, sweeps, sensitivity.

Every function takes DataFrames as returned by :mod:`analysis.results` and returns a tidy
DataFrame, so that plots and reports use the same numbers and tests can check them.

Conventions:
    - Intervals on means are Student-t intervals across replications (each replication is
      one independent run; its outcome is one observation).
    - Paired differences pair scenario and reference by replication index: replication i
      of every scenario runs on the same seed (common random numbers, docs/design.md
      "Randomness"), so the difference removes the noise they share.
    - Precision: a :class:`PrecisionTarget` (the experiment file's ``[precision]`` block);
      a float is a target *relative* half-width for every outcome (0.05 = ±5 % of the mean,
      or of the reference mean for a difference); a mapping outcome → float gives
      *absolute* half-widths. Rows that miss it carry ``precise = False``, the replications needed
      (``n_needed``) and a ``warning`` message; one line per call is logged (a warning when a
      precision was requested, else at info level).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.results import RUN_COLUMNS

logger = logging.getLogger(__name__)

DEFAULT_CONFIDENCE = 0.95
# Replications are capped here when estimating how many a precision target needs.
MAX_REPLICATIONS_ESTIMATE = 100_000


@dataclass(frozen=True)
class PrecisionTarget:
    """A requested confidence-interval half-width (the experiment file's ``[precision]``).

    Attributes:
        target: the half-width: a share of |mean| when ``relative``, else in outcome units.
        relative: whether ``target`` is relative to the mean (of the reference, for a difference).
        outcomes: the outcomes it applies to (None: every outcome).
    """

    target: float
    relative: bool = True
    outcomes: tuple[str, ...] | None = None

    def half_width(self, outcome: str, level: float) -> float | None:
        """The allowed half-width for ``outcome`` around ``level`` (None: no request)."""
        if self.outcomes is not None and outcome not in self.outcomes:
            return None
        if not self.relative:
            return float(self.target)
        if not np.isfinite(level) or level == 0:
            return None
        return float(self.target) * abs(level)


Precision = PrecisionTarget | float | Mapping[str, float] | None


def precision_from_meta(value: object) -> PrecisionTarget | None:
    """The stored ``[precision]`` block (``{"target", "relative", "outcomes", …}``) as a target.

    A bare number is taken as a relative target for every outcome; anything else gives None.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return PrecisionTarget(float(value)) if value > 0 else None
    if isinstance(value, Mapping) and isinstance(value.get("target"), int | float):
        outcomes = value.get("outcomes")
        return PrecisionTarget(
            target=float(value["target"]),
            relative=bool(value.get("relative", True)),
            outcomes=tuple(str(o) for o in outcomes) if outcomes else None,
        )
    return None


PARTICIPATION_PREFIX = "participation_share_"
# Party-membership groups among the per-group participation outcomes (model/outcomes.py).
MEMBERSHIP_GROUPS: dict[str, str] = {"party_member": "Party members", "non_member": "Non-members"}


@dataclass(frozen=True)
class Interval:
    """A t confidence interval of a mean.

    Attributes:
        n: number of finite observations.
        mean: their mean (NaN when n = 0).
        sd: sample standard deviation (ddof = 1; NaN when n < 2).
        low: lower bound (NaN when n < 2).
        high: upper bound (NaN when n < 2).
        half_width: (high - low) / 2.
    """

    n: int
    mean: float
    sd: float
    low: float
    high: float
    half_width: float


def _finite(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    return array[np.isfinite(array)]


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")


def t_interval(values: Iterable[float], confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Student-t confidence interval of the mean of ``values`` (NaN and inf are dropped)."""
    _check_confidence(confidence)
    data = _finite(values)
    n = int(data.size)
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    mean = float(data.mean())
    if n < 2:
        return Interval(n, mean, math.nan, math.nan, math.nan, math.nan)
    sd = float(data.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
    return Interval(n, mean, sd, mean - half, mean + half, half)


def replications_needed(
    sd: float, target_half_width: float, confidence: float = DEFAULT_CONFIDENCE
) -> int:
    """Smallest n ≥ 2 with t_{n-1} · sd / √n ≤ ``target_half_width`` (capped; 0 if undefined)."""
    _check_confidence(confidence)
    if not (np.isfinite(sd) and np.isfinite(target_half_width)) or target_half_width <= 0:
        return 0
    if sd == 0:
        return 2
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    n = max(2, math.ceil((z * sd / target_half_width) ** 2))
    while n < MAX_REPLICATIONS_ESTIMATE:
        if stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n) <= target_half_width:
            return n
        n += 1
    return MAX_REPLICATIONS_ESTIMATE


def quantile_interval(
    values: Iterable[float], q: float, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Distribution-free interval for the ``q`` quantile from order statistics.

    The bounds are order statistics X(j) ≤ X(k) with binomial tail probabilities of at most
    (1 - confidence) / 2 each; a bound is NaN when too few values allow it (e.g. a 95 %
    interval for the median needs at least 6 values).
    """
    _check_confidence(confidence)
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {q!r}")
    data = np.sort(_finite(values))
    n = int(data.size)
    if n == 0:
        return math.nan, math.nan
    j, k = _order_statistic_ranks(n, float(q), float(confidence))
    low = float(data[j - 1]) if j else math.nan
    high = float(data[k - 1]) if k else math.nan
    return low, high


@functools.lru_cache(maxsize=4096)
def _order_statistic_ranks(n: int, q: float, confidence: float) -> tuple[int, int]:
    """1-based ranks (j, k) of the interval's order statistics; 0 where none qualifies."""
    alpha = 1.0 - confidence
    # cdf[m] = P(at most m of the n values fall below the true quantile)
    cdf = stats.binom.cdf(np.arange(n + 1), n, q)
    lows = [j for j in range(1, n + 1) if cdf[j - 1] <= alpha / 2]  # P(X(j) > ξ) ≤ α/2
    highs = [k for k in range(1, n + 1) if 1.0 - cdf[k - 1] <= alpha / 2]  # P(X(k) < ξ) ≤ α/2
    return (max(lows) if lows else 0, min(highs) if highs else 0)


# ---------------------------------------------------------------------- data shapes
def to_wide(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Outcomes as one row per run and one column per outcome (tidy input is pivoted)."""
    if {"outcome", "value"} <= set(outcomes.columns):
        index = [c for c in RUN_COLUMNS if c in outcomes.columns]
        unique = outcomes.drop_duplicates(subset=[*index, "outcome"])
        wide = unique.pivot(index=index, columns="outcome", values="value")
        wide.columns.name = None
        wide = wide.reset_index()
        # pivot sorts; keep the runs in the order they came (stored point order)
        first = unique.drop_duplicates(subset=index)[index].reset_index(drop=True)
        return first.merge(wide, on=index, how="left")
    return outcomes


def outcome_columns(wide: pd.DataFrame) -> list[str]:
    """The outcome columns of a wide outcomes DataFrame (everything but run columns)."""
    return [c for c in wide.columns if c not in RUN_COLUMNS]


def _target(precision: Precision, outcome: str, level: float) -> float | None:
    """The absolute half-width a precision request sets for ``outcome`` at ``level``."""
    if precision is None:
        return None
    if isinstance(precision, PrecisionTarget):
        return precision.half_width(outcome, level)
    if isinstance(precision, Mapping):
        value = precision.get(outcome)
        return None if value is None else float(value)
    return PrecisionTarget(float(precision)).half_width(outcome, level)


def _precision_fields(
    interval: Interval,
    outcome: str,
    level: float,
    precision: Precision,
    confidence: float,
    what: str,
) -> tuple[int, bool, str]:
    """(n_needed, precise, warning) for one interval."""
    if interval.n == 0:  # undefined in every replication (e.g. no case of that type): no interval
        return 0, True, ""
    if interval.n < 2:
        return (
            0,
            False,
            f"{what}: {interval.n} replication(s); at least 2 are needed for an interval",
        )
    target = _target(precision, outcome, level)
    if target is None:
        return 0, True, ""
    needed = replications_needed(interval.sd, target, confidence)
    if interval.half_width <= target:
        return needed, True, ""
    return (
        needed,
        False,
        f"{what}: ±{interval.half_width:.4g} from {interval.n} replications is wider than the "
        f"target ±{target:.4g}; about {needed} replications are needed",
    )


def _log_warnings(frame: pd.DataFrame, what: str, requested: bool) -> None:
    """One log line for the imprecise rows: a warning when the precision was requested (by
    the experiment's user), a note otherwise (a caller's default target, or none)."""
    if frame.empty or "precise" not in frame:
        return
    imprecise = frame[~frame["precise"].astype(bool)]
    if not imprecise.empty:
        logger.log(
            logging.WARNING if requested else logging.INFO,
            "%s: %d of %d intervals miss the %s precision (first: %s)",
            what,
            len(imprecise),
            len(frame),
            "requested" if requested else "default",
            imprecise["warning"].iloc[0],
        )


# ---------------------------------------------------------------------- per scenario
def summarise(
    outcomes: pd.DataFrame,
    by: str = "scenario",
    names: Sequence[str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    precision: Precision = None,
) -> pd.DataFrame:
    """Per group (scenario or point) × outcome: replication statistics with intervals.

    Args:
        outcomes: outcomes of ok runs, wide or tidy (``Results.outcomes``).
        by: grouping column, ``scenario`` or ``point_id``.
        names: outcomes to summarise (all when None).
        confidence: confidence level of every interval.
        precision: requested precision (module docstring).

    Returns:
        Columns ``by``, outcome, n, mean, sd, ci_low, ci_high, half_width, median,
        median_low, median_high, p90, p90_low, p90_high, n_needed, precise, warning.
        Mean intervals are t intervals; median and p90 intervals come from order
        statistics (:func:`quantile_interval`).
    """
    _check_confidence(confidence)
    wide = to_wide(outcomes)
    chosen = list(names) if names is not None else outcome_columns(wide)
    rows = []
    for group, frame in wide.groupby(by, sort=False):
        for outcome in chosen:
            values = frame[outcome].to_numpy(dtype=float) if outcome in frame else np.array([])
            finite = _finite(values)
            interval = t_interval(finite, confidence)
            n_needed, precise, warning = _precision_fields(
                interval, outcome, interval.mean, precision, confidence, f"{group} {outcome}"
            )
            median_low, median_high = quantile_interval(finite, 0.5, confidence)
            p90_low, p90_high = quantile_interval(finite, 0.9, confidence)
            rows.append(
                {
                    by: group,
                    "outcome": outcome,
                    "n": interval.n,
                    "mean": interval.mean,
                    "sd": interval.sd,
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                    "half_width": interval.half_width,
                    "median": float(np.median(finite)) if finite.size else math.nan,
                    "median_low": median_low,
                    "median_high": median_high,
                    "p90": float(np.quantile(finite, 0.9)) if finite.size else math.nan,
                    "p90_low": p90_low,
                    "p90_high": p90_high,
                    "n_needed": n_needed,
                    "precise": precise,
                    "warning": warning,
                }
            )
    result = pd.DataFrame(rows, columns=_summary_columns(by))
    _log_warnings(result, "summary", precision is not None)
    return result


def _summary_columns(by: str) -> list[str]:
    return [
        by,
        "outcome",
        "n",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "half_width",
        "median",
        "median_low",
        "median_high",
        "p90",
        "p90_low",
        "p90_high",
        "n_needed",
        "precise",
        "warning",
    ]


# ---------------------------------------------------------------------- paired effects
PAIRED_COLUMNS = [
    "scenario",
    "outcome",
    "n",
    "reference_mean",
    "scenario_mean",
    "difference",
    "sd",
    "ci_low",
    "ci_high",
    "half_width",
    "relative_change",
    "relative_low",
    "relative_high",
    "excludes_zero",
    "p_value",
    "n_needed",
    "precise",
    "warning",
]


def paired_differences(
    outcomes: pd.DataFrame,
    reference: str,
    names: Sequence[str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    precision: Precision = None,
    requested: bool | None = None,
) -> pd.DataFrame:
    """Effects of each scenario against ``reference``, paired by replication index.

    ``requested``: whether ``precision`` is the user's (an imprecise interval is then
    logged as a WARNING) or a caller's default (INFO); default: whether one is given.

    Replication i of a scenario is paired with replication i of the reference (common random
    numbers); replications missing or NaN on either side are left out of that pair set.

    Returns:
        One row per (scenario ≠ reference) × outcome with columns ``PAIRED_COLUMNS``:
        ``difference`` = mean of (scenario - reference), its t interval, ``relative_change``
        = difference / |reference mean| (with the interval bounds scaled the same way,
        treating the reference mean as fixed), ``excludes_zero`` (the interval lies wholly
        on one side of 0), the paired t-test ``p_value``, and the precision fields (for a
        float precision, the target is that share of |reference mean|).

    Raises:
        ValueError: the reference scenario has no runs.
    """
    _check_confidence(confidence)
    wide = to_wide(outcomes)
    scenarios = list(dict.fromkeys(wide["scenario"]))
    if reference not in scenarios:
        raise ValueError(
            f"reference scenario {reference!r} has no successful runs "
            f"(scenarios with runs: {', '.join(map(str, scenarios)) or 'none'})"
        )
    chosen = list(names) if names is not None else outcome_columns(wide)
    base = wide[wide["scenario"] == reference].set_index("replication")
    rows = []
    for scenario in scenarios:
        if scenario == reference:
            continue
        other = wide[wide["scenario"] == scenario].set_index("replication")
        common = base.index.intersection(other.index)
        unpaired = len(base.index.union(other.index)) - len(common)
        if unpaired:
            logger.info(
                "%s vs %s: %d replication(s) without a partner left out",
                scenario,
                reference,
                unpaired,
            )
        for outcome in chosen:
            if outcome not in base or outcome not in other:
                continue
            ref = base.loc[common, outcome].to_numpy(dtype=float)
            alt = other.loc[common, outcome].to_numpy(dtype=float)
            keep = np.isfinite(ref) & np.isfinite(alt)
            ref, alt = ref[keep], alt[keep]
            interval = t_interval(alt - ref, confidence)
            ref_mean = float(ref.mean()) if ref.size else math.nan
            n_needed, precise, warning = _precision_fields(
                interval,
                outcome,
                ref_mean,
                precision,
                confidence,
                f"{scenario} − {reference} {outcome}",
            )
            scale = abs(ref_mean) if np.isfinite(ref_mean) and ref_mean != 0 else math.nan
            if interval.n >= 2 and interval.sd > 0:  # paired t-test
                t_statistic = interval.mean / (interval.sd / math.sqrt(interval.n))
                p_value = float(2 * stats.t.sf(abs(t_statistic), interval.n - 1))
            elif interval.n >= 2:
                p_value = 1.0 if interval.mean == 0 else 0.0  # identical differences: no noise
            else:
                p_value = math.nan
            excludes = bool(interval.n >= 2 and (interval.low > 0 or interval.high < 0))
            rows.append(
                {
                    "scenario": scenario,
                    "outcome": outcome,
                    "n": interval.n,
                    "reference_mean": ref_mean,
                    "scenario_mean": float(alt.mean()) if alt.size else math.nan,
                    "difference": interval.mean,
                    "sd": interval.sd,
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                    "half_width": interval.half_width,
                    "relative_change": interval.mean / scale,
                    "relative_low": interval.low / scale,
                    "relative_high": interval.high / scale,
                    "excludes_zero": excludes,
                    "p_value": p_value,
                    "n_needed": n_needed,
                    "precise": precise,
                    "warning": warning,
                }
            )
    result = pd.DataFrame(rows, columns=PAIRED_COLUMNS)
    asked = precision is not None if requested is None else requested
    _log_warnings(result, f"paired differences against {reference}", asked)
    return result


# ---------------------------------------------------------------------- distributions
def pooled_distribution(distributions: pd.DataFrame, by: str = "scenario") -> pd.DataFrame:
    """Pool per-run histograms (``Results.distributions``) into one per group.

    Bins are (previous bin_upper, bin_upper]; the first bin starts at 0 (resolution times
    are not negative). Returns columns ``by``, variable, bin_lower, bin_upper, count,
    share, cumulative_share, runs.
    """
    columns = [
        by,
        "variable",
        "bin_lower",
        "bin_upper",
        "count",
        "share",
        "cumulative_share",
        "runs",
    ]
    if distributions.empty:
        return pd.DataFrame(columns=columns)
    frames = []
    for (group, variable), frame in distributions.groupby([by, "variable"], sort=False):
        pooled = frame.groupby("bin_upper", sort=True)["count"].sum().reset_index()
        total = float(pooled["count"].sum())
        pooled.insert(0, "variable", variable)
        pooled.insert(0, by, group)
        uppers = pooled["bin_upper"].to_numpy(dtype=float)
        pooled.insert(2, "bin_lower", np.concatenate([[min(0.0, uppers[0])], uppers[:-1]]))
        pooled["share"] = pooled["count"] / total if total else math.nan
        pooled["cumulative_share"] = pooled["count"].cumsum() / total if total else math.nan
        pooled["runs"] = frame["run_key"].nunique() if "run_key" in frame else math.nan
        frames.append(pooled[columns])
    return pd.concat(frames, ignore_index=True)


def histogram_quantile(pooled: pd.DataFrame, q: float) -> float:
    """The ``q`` quantile of one pooled histogram, interpolating linearly inside its bin.

    When the quantile falls in an open last bin (bin_upper = inf), its lower edge is
    returned: the true quantile is at least that.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {q!r}")
    counts = pooled["count"].to_numpy(dtype=float)
    total = counts.sum()
    if total <= 0:
        return math.nan
    cumulative = np.cumsum(counts) / total
    index = int(np.searchsorted(cumulative, q, side="left"))
    index = min(index, len(counts) - 1)
    lower = float(pooled["bin_lower"].iloc[index])
    upper = float(pooled["bin_upper"].iloc[index])
    if not np.isfinite(upper):
        return lower
    before = cumulative[index - 1] if index > 0 else 0.0
    inside = (q - before) / (cumulative[index] - before) if cumulative[index] > before else 1.0
    return lower + inside * (upper - lower)


def distribution_quantiles(
    pooled: pd.DataFrame, by: str = "scenario", quantiles: Sequence[float] = (0.5, 0.9)
) -> pd.DataFrame:
    """Quantiles of every pooled histogram: columns ``by``, variable, cases, q50, q90, …"""
    rows = []
    for (group, variable), frame in pooled.groupby([by, "variable"], sort=False):
        row = {by: group, "variable": variable, "cases": int(frame["count"].sum())}
        for q in quantiles:
            row[f"q{round(q * 100):d}"] = histogram_quantile(frame, q)
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- time series
def timeseries_bands(
    timeseries: pd.DataFrame,
    variable: str = "backlog",
    by: str = "scenario",
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """Mean of a daily variable across replications with its t band, per group and day.

    Returns columns ``by``, day, n, mean, ci_low, ci_high, p10, p90 (p10/p90 span the
    replications themselves, not the mean).
    """
    _check_confidence(confidence)
    columns = [by, "day", "n", "mean", "ci_low", "ci_high", "p10", "p90"]
    data = timeseries[timeseries["variable"] == variable]
    if data.empty:
        return pd.DataFrame(columns=columns)
    grouped = data.groupby([by, "day"], sort=False)["value"]
    table = grouped.agg(n="count", mean="mean", sd="std")
    quantiles = grouped.quantile([0.1, 0.9]).unstack()
    table["p10"] = quantiles[0.1]
    table["p90"] = quantiles[0.9]
    table = table.reset_index()
    n = table["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = np.where(n > 1, stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)), np.nan)
        half = tq * table["sd"].to_numpy(dtype=float) / np.sqrt(n)
    table["ci_low"] = table["mean"] - half
    table["ci_high"] = table["mean"] + half
    order = {value: i for i, value in enumerate(dict.fromkeys(data[by]))}
    table["_order"] = table[by].map(order)
    table = table.sort_values(["_order", "day"], kind="stable")
    return table[columns].reset_index(drop=True)


def period_means(timeseries: pd.DataFrame, period_days: int = 7) -> pd.DataFrame:
    """Each run's daily values averaged over periods (weeks by default).

    Daily series of a stochastic model are noisy from day to day; a weekly mean shows the
    trend. Returns the same columns, ``day`` being the first day of each period. A last
    period cut short by the end of the run is left out (a mean of one or two days would
    draw a spike), unless the run is shorter than one period.
    """
    if timeseries.empty:
        return timeseries.copy()
    if period_days < 1:
        raise ValueError(f"period_days must be at least 1, got {period_days}")
    data = timeseries.copy()
    last_day = int(data["day"].max())
    complete = (last_day + 1) // period_days * period_days
    if complete > 0:
        data = data[data["day"] < complete]
    data["day"] = (data["day"] // period_days) * period_days
    keys = [c for c in data.columns if c not in ("value",)]
    return data.groupby(keys, sort=False, as_index=False, dropna=False)["value"].mean()


# ---------------------------------------------------------------------- participation
def participation_groups(names: Iterable[str]) -> list[tuple[str, str, str]]:
    """Per-group participation outcomes among ``names`` as (outcome, label, family).

    Families are ``age`` (``participation_share_age_18_29`` → "18–29") and ``membership``
    (party members, non-members), in the order age groups first, youngest first.
    """
    ages: list[tuple[str, str, str]] = []
    members: list[tuple[str, str, str]] = []
    for name in names:
        if not name.startswith(PARTICIPATION_PREFIX):
            continue
        rest = name[len(PARTICIPATION_PREFIX) :]
        if rest.startswith("age_"):
            label = rest[4:].replace("_plus", "+").replace("_", "–")
            ages.append((name, label, "age"))
        elif rest in MEMBERSHIP_GROUPS:
            members.append((name, MEMBERSHIP_GROUPS[rest], "membership"))

    def first_number(item: tuple[str, str, str]) -> float:
        digits = "".join(ch if ch.isdigit() else " " for ch in item[1]).split()
        return float(digits[0]) if digits else math.inf

    members.sort(key=lambda item: list(MEMBERSHIP_GROUPS.values()).index(item[1]))
    return sorted(ages, key=first_number) + members


def participation_table(summary: pd.DataFrame, by: str = "scenario") -> pd.DataFrame:
    """Rows of a :func:`summarise` table for per-group participation, labelled.

    Returns the summary columns plus ``group`` (label) and ``family`` (age / membership),
    ordered by family, group and then ``by``.
    """
    groups = participation_groups(dict.fromkeys(summary["outcome"]))
    if not groups:
        return summary.iloc[0:0].assign(group=[], family=[])
    labels = {name: (label, family, i) for i, (name, label, family) in enumerate(groups)}
    table = summary[summary["outcome"].isin(labels)].copy()
    table["group"] = table["outcome"].map(lambda n: labels[n][0])
    table["family"] = table["outcome"].map(lambda n: labels[n][1])
    table["_order"] = table["outcome"].map(lambda n: labels[n][2])
    table = table.sort_values("_order", kind="stable").drop(columns="_order")
    return table.reset_index(drop=True)


# ---------------------------------------------------------------------- sweeps
def sweep_curves(
    outcomes: pd.DataFrame,
    point_parameters: pd.DataFrame,
    names: Sequence[str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    precision: Precision = None,
) -> pd.DataFrame:
    """Response of each outcome across sweep points, with t confidence bands.

    Args:
        outcomes: outcomes of ok runs (wide or tidy) with a ``point_id`` column.
        point_parameters: ``Results.point_parameters()`` (point_id, scenario, one column per
            overridden field).
        names: outcomes (all when None).
        confidence: level of the bands.
        precision: requested precision (module docstring).

    Returns:
        The summary columns of :func:`summarise` by ``point_id``, plus every parameter
        column of the point, ordered as the points are stored.
    """
    summary = summarise(
        outcomes, by="point_id", names=names, confidence=confidence, precision=precision
    )
    parameters = point_parameters.drop(columns=["scenario"], errors="ignore")
    curves = summary.merge(parameters, on="point_id", how="left")
    order = {pid: i for i, pid in enumerate(point_parameters["point_id"])}
    curves["_order"] = curves["point_id"].map(order)
    curves = curves.sort_values(["outcome", "_order"], kind="stable").drop(columns="_order")
    return curves.reset_index(drop=True)


# ---------------------------------------------------------------------- sensitivity
SOBOL_COLUMNS = [
    "outcome",
    "factor",
    "S1",
    "S1_conf",
    "ST",
    "ST_conf",
    "S1_low",
    "S1_high",
    "ST_low",
    "ST_high",
]
MORRIS_COLUMNS = [
    "outcome",
    "factor",
    "mu_star",
    "mu_star_conf",
    "sigma",
    "mu",
    "mu_star_low",
    "mu_star_high",
]


def _pivot_indices(sensitivity: pd.DataFrame, method: str, indices: Sequence[str]) -> pd.DataFrame:
    rows = sensitivity[(sensitivity["method"] == method) & sensitivity["index_name"].isin(indices)]
    if rows.empty:
        return pd.DataFrame(columns=["outcome", "factor"])
    rows = rows.drop_duplicates(subset=["outcome", "factor", "index_name"])
    values = rows.pivot(index=["outcome", "factor"], columns="index_name", values="value")
    confs = rows.pivot(index=["outcome", "factor"], columns="index_name", values="conf")
    confs.columns = [f"{c}_conf" for c in confs.columns]
    table = values.join(confs)
    table.columns.name = None
    table = table.reset_index()
    for index in indices:
        if index not in table:
            table[index] = math.nan
        if f"{index}_conf" not in table:
            table[f"{index}_conf"] = math.nan
    return table


def sobol_table(sensitivity: pd.DataFrame) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol indices with intervals, per outcome × factor.

    ``*_conf`` is the stored half-width (SALib's bootstrap, 95 % by default); ``*_low`` /
    ``*_high`` are index ∓ conf. Rows are sorted by outcome, then ST descending.
    """
    table = _pivot_indices(sensitivity, "sobol", ("S1", "ST"))
    if table.empty:
        return pd.DataFrame(columns=SOBOL_COLUMNS)
    for index in ("S1", "ST"):
        table[f"{index}_low"] = table[index] - table[f"{index}_conf"]
        table[f"{index}_high"] = table[index] + table[f"{index}_conf"]
    order = {o: i for i, o in enumerate(dict.fromkeys(sensitivity["outcome"]))}
    table["_order"] = table["outcome"].map(order)
    table = table.sort_values(["_order", "ST"], ascending=[True, False], kind="stable")
    return table[SOBOL_COLUMNS].reset_index(drop=True)


def morris_table(sensitivity: pd.DataFrame) -> pd.DataFrame:
    """Morris screening (μ*, its interval, σ, μ) per outcome × factor, by μ* descending.

    μ* is a mean of absolute elementary effects, never negative: its interval (SALib's
    bootstrap half-width either side) is cut at 0 below."""
    table = _pivot_indices(sensitivity, "morris", ("mu_star", "sigma", "mu"))
    if table.empty:
        return pd.DataFrame(columns=MORRIS_COLUMNS)
    table["mu_star_low"] = (table["mu_star"] - table["mu_star_conf"]).clip(lower=0.0)
    table["mu_star_high"] = table["mu_star"] + table["mu_star_conf"]
    order = {o: i for i, o in enumerate(dict.fromkeys(sensitivity["outcome"]))}
    table["_order"] = table["outcome"].map(order)
    table = table.sort_values(["_order", "mu_star"], ascending=[True, False], kind="stable")
    return table[MORRIS_COLUMNS].reset_index(drop=True)
