"""Global sensitivity analysis (Sobol', Morris) over scenario fields, on top of SALib.

Pure functions, no file I/O: the runner (``experiments/runner.py``) turns an
experiment file's ``[sensitivity]`` block into a :class:`SensitivitySpec`, asks
:func:`sensitivity_design` for the sample points, runs every point × R
replications on the same replication seeds (common random numbers), and hands
the per-point means to :func:`analyze_sensitivity` and the per-replication
values to :func:`replication_noise`.

What this layer adds to SALib 1.6 (docs/design.md "Notes on the libraries"):

- Factor distributions with one meaning of ``lower``/``upper`` for every
  distribution (see :class:`Factor`), sampled here from the unit hypercube with
  scipy, because SALib's own scaling puts Morris grid ends at ±∞ for normal and
  lognormal factors and refuses a triangular factor whose upper bound is negative
  (e.g. ``consultation.base_logit``).
- Integer factors (SALib has none): values are rounded here, after sampling.
- Replication noise: SALib sees one output per sample point and knows nothing of
  seeds; :func:`replication_noise` says how much of the spread is seed noise.
- Failed runs and undefined outcomes (NaN) drop that outcome with a logged
  warning and a ``note`` in the result, instead of crashing the analysis.
- Reproducibility: the design and the bootstrap confidence intervals come from
  named streams of the experiment seed (SALib's Sobol' analysis would fall back
  to the global NumPy generator for ``seed=0``).
"""

from __future__ import annotations

import logging
import math
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from scipy import stats

from experiments.errors import MISSING, InputError

logger = logging.getLogger(__name__)

Method = Literal["sobol", "morris"]
Distribution = Literal["uniform", "normal", "lognormal", "triangular"]

METHODS: tuple[str, ...] = ("sobol", "morris")
DISTRIBUTIONS: tuple[str, ...] = ("uniform", "normal", "lognormal", "triangular")
# Our distribution names → SALib's ``dists`` names.
SALIB_DISTS: dict[str, str] = {
    "uniform": "unif",
    "normal": "norm",
    "lognormal": "lognorm",
    "triangular": "triang",
}
# Columns of the results store's ``sensitivity`` table (docs/design.md).
SENSITIVITY_COLUMNS: tuple[str, ...] = (
    "method",
    "outcome",
    "factor",
    "index_name",
    "value",
    "conf",
)
# What analyze_sensitivity returns: the store columns plus a note ("" when all is well).
RESULT_COLUMNS: tuple[str, ...] = (*SENSITIVITY_COLUMNS, "note")
NOISE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "points",
    "replications",
    "within_variance",
    "between_variance",
    "noise_share",
    "noise_share_of_point_means",
    "note",
)
INDEX_NAMES: dict[str, tuple[str, ...]] = {
    "sobol": ("S1", "ST"),
    "morris": ("mu_star", "sigma", "mu"),
}

# For normal and lognormal factors, [lower, upper] is this central probability interval.
INTERVAL_PROBABILITY = 0.95
_TAIL = (1.0 - INTERVAL_PROBABILITY) / 2.0
_Z = float(stats.norm.ppf(1.0 - _TAIL))
# Keeps unbounded quantile functions finite should a unit-cube coordinate be exactly 0 or 1.
_UNIT_EPS = 1e-12
# Named streams of the experiment seed (docs/design.md "Randomness"): spawn key crc32(name).
_DESIGN_STREAM = "sensitivity.design"
_ANALYSIS_STREAM = "sensitivity.analysis"
# Start of the warning SALib's Sobol' estimators give for outputs without variance.
_SALIB_CONSTANT = "Constant values encountered"


class SensitivitySpecError(InputError, ValueError):
    """A sensitivity specification that cannot be sampled: names the field and the bad value.

    An :class:`experiments.errors.InputError` (the command line prints it without a
    traceback) and a ``ValueError``. The loader of experiment files prefixes the file.
    """


def _bad(field: str, value: Any, reason: str = "", allowed: str = "") -> SensitivitySpecError:
    return SensitivitySpecError(reason, field=field, value=value, allowed=allowed)


@dataclass(frozen=True)
class Factor:
    """One uncertain input: a dotted scenario field and its distribution.

    ``lower`` and ``upper`` mean the same range for every distribution, so an
    experiment file reads the same whichever one is chosen:

    - ``uniform``: every value in [lower, upper] equally likely (SALib ``unif``,
      bounds ``[lower, upper]``).
    - ``triangular``: on [lower, upper], most likely at ``mode`` (midpoint when
      omitted) (SALib ``triang``, bounds ``[lower, upper, (mode - lower) / (upper - lower)]``).
    - ``normal``: [lower, upper] is the central 95 % interval, i.e. mean
      ``(lower + upper) / 2`` and standard deviation ``(upper - lower) / (2 × 1.96)``
      (SALib ``norm``, bounds ``[mean, sd]``); about 5 % of Sobol' draws fall outside.
    - ``lognormal``: [lower, upper] (both > 0) is the central 95 % interval; the
      logarithm is normal with mean ``(ln lower + ln upper) / 2`` and standard
      deviation ``(ln upper - ln lower) / (2 × 1.96)`` (SALib ``lognorm``, bounds
      in log space).

    Morris screens on a grid of levels that includes both ends of the unit
    interval; for normal and lognormal factors the grid is laid on the 2.5 %…97.5 %
    quantiles (from ``lower`` to ``upper``) because the 0 % and 100 % quantiles are
    infinite (assumption; SALib itself would return ±∞ there).

    Integer factors (SALib has none): the value is sampled as a real number and
    rounded here, half up, to the nearest integer; the analysis still sees the
    real-valued design, so an index describes the factor's effect through that
    rounding (a step function). For a uniform integer factor in a Sobol' design,
    the real range is widened to [lower - 0.5, upper + 0.5] before rounding so
    that every integer in [lower, upper] is equally likely; for Morris the grid
    stays on [lower, upper] so that its ends are the declared bounds (two grid
    levels may round to the same integer; that step then has no effect).
    Uniform and triangular integer values are kept within [lower, upper].

    Attributes:
        name: dotted scenario field, e.g. ``"coordination.classification_accuracy"``.
        lower: lower end of the range (see above).
        upper: upper end of the range.
        distribution: ``uniform``, ``normal``, ``lognormal`` or ``triangular``.
        integer: round sampled values to integers (bounds must then be whole numbers
            for uniform and triangular factors).
        mode: most likely value of a triangular factor (midpoint when omitted).

    Raises:
        SensitivitySpecError: for a bad value, naming the key (``lower``) and the factor.
    """

    name: str
    lower: float
    upper: float
    distribution: Distribution = "uniform"
    integer: bool = False
    mode: float | None = None

    def _bad(
        self, key: str, value: Any, reason: str = "", allowed: str = ""
    ) -> SensitivitySpecError:
        where = f"factor {self.name!r}" if isinstance(self.name, str) else "a factor"
        return _bad(
            key, value, f"{reason} ({where})" if reason else f"is not allowed ({where})", allowed
        )

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise self._bad("name", self.name, "must be a dotted scenario field")
        for key in ("lower", "upper"):
            value = getattr(self, key)
            if not _is_number(value) or not math.isfinite(value):
                raise self._bad(key, value, "must be a finite number")
            object.__setattr__(self, key, float(value))
        if self.distribution not in DISTRIBUTIONS:
            raise self._bad("distribution", self.distribution, allowed=", ".join(DISTRIBUTIONS))
        if not self.lower < self.upper:
            raise self._bad("upper", self.upper, f"must be above lower = {self.lower:g}")
        if self.distribution == "lognormal" and self.lower <= 0:
            raise self._bad(
                "lower",
                self.lower,
                "a lognormal factor needs lower > 0 (lower, upper: its central 95 % interval)",
            )
        if not isinstance(self.integer, bool):
            raise self._bad("integer", self.integer, "must be true or false")
        if self.mode is not None:
            if self.distribution != "triangular":
                raise self._bad(
                    "mode",
                    self.mode,
                    f"only triangular factors have a mode (distribution = {self.distribution!r})",
                )
            if not _is_number(self.mode) or not self.lower <= self.mode <= self.upper:
                raise self._bad(
                    "mode",
                    self.mode,
                    f"must lie in [lower, upper] = [{self.lower:g}, {self.upper:g}]",
                )
            object.__setattr__(self, "mode", float(self.mode))
        if self.integer and self.distribution in ("uniform", "triangular"):
            for key in ("lower", "upper"):  # the bound that is not whole, by its own key
                if not getattr(self, key).is_integer():
                    raise self._bad(
                        key,
                        getattr(self, key),
                        "an integer factor needs whole-number bounds (lower, upper)",
                    )

    @property
    def peak(self) -> float:
        """Where the triangular peak lies, as a share of [lower, upper] (SALib's third bound)."""
        mode = (self.lower + self.upper) / 2.0 if self.mode is None else self.mode
        return (mode - self.lower) / (self.upper - self.lower)


@dataclass(frozen=True)
class SensitivitySpec:
    """A sensitivity design: method, factors, sample size and seed.

    Attributes:
        method: ``sobol`` (variance-based indices S1, ST) or ``morris`` (screening).
        factors: the uncertain inputs, in design-column order.
        samples: Sobol': base sample size N, a power of two (the design has
            N × (D + 2) points, N × (2D + 2) with second-order indices);
            Morris: number of trajectories r (the design has r × (D + 1) points).
        seed: root seed of the experiment; the design and the bootstrap intervals
            use named streams of it, so the same spec always gives the same design.
        calc_second_order: Sobol' only: also estimate second-order indices S2.
        morris_levels: Morris only: number of grid levels p (even, ≥ 2).

    Raises:
        SensitivitySpecError: naming the field as in an experiment file
            (``sensitivity.samples``; a factor's own field and its name for a bad factor).
    """

    method: Method
    factors: tuple[Factor, ...]
    samples: int
    seed: int
    calc_second_order: bool = False
    morris_levels: int = 4

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise _bad("sensitivity.method", self.method, allowed=", ".join(METHODS))
        factors = tuple(self.factors)
        object.__setattr__(self, "factors", factors)
        if not factors:
            raise _bad("sensitivity.factors", [], "at least one factor is needed")
        for i, factor in enumerate(factors):
            if not isinstance(factor, Factor):
                raise _bad(f"sensitivity.factors[{i}]", factor, "is not a Factor")
        names = [f.name for f in factors]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise _bad("sensitivity.factors", duplicates, "each factor may appear once")
        if not _is_int(self.seed) or self.seed < 0:
            raise _bad("seed", self.seed, "must be a non-negative integer")
        if not _is_int(self.samples) or self.samples < 2:
            raise _bad("sensitivity.samples", self.samples, "must be an integer >= 2")
        if self.method == "sobol" and self.samples & (self.samples - 1):
            below = 1 << (self.samples.bit_length() - 1)
            raise _bad(
                "sensitivity.samples",
                self.samples,
                "Sobol' sampling needs a power of two (N = 2^k keeps its balance properties)",
                allowed=f"{below} or {below * 2}",
            )
        if not isinstance(self.calc_second_order, bool):
            raise _bad(
                "sensitivity.calc_second_order", self.calc_second_order, "must be true or false"
            )
        if self.method == "morris" and self.calc_second_order:
            raise _bad(
                "sensitivity.calc_second_order",
                True,
                "Morris has no second-order indices (a Sobol' option)",
            )
        if not _is_int(self.morris_levels) or self.morris_levels < 2 or self.morris_levels % 2:
            raise _bad(
                "sensitivity.morris_levels",
                self.morris_levels,
                "must be an even integer >= 2 (SALib's Morris design is biased for odd levels)",
            )

    @property
    def names(self) -> list[str]:
        """Factor names in design-column order."""
        return [f.name for f in self.factors]

    @property
    def design_size(self) -> int:
        """Number of sample points the design has (each is run R times)."""
        d = len(self.factors)
        if self.method == "sobol":
            return self.samples * (2 * d + 2 if self.calc_second_order else d + 2)
        return self.samples * (d + 1)


def as_sensitivity_spec(block: Mapping[str, Any], seed: int) -> SensitivitySpec:
    """A :class:`SensitivitySpec` from the ``[sensitivity]`` table of an experiment file.

    For notebooks and scripts: ``block`` holds ``method``, ``samples``, ``factors``
    (each a mapping of :class:`Factor`'s fields) and optionally ``calc_second_order``
    and ``morris_levels``; ``seed`` is the experiment's root seed.

    Raises:
        SensitivitySpecError: naming the field, e.g. ``sensitivity.factors[1].upper``.
    """
    known = ("method", "samples", "factors", "calc_second_order", "morris_levels")
    unknown = sorted(set(block) - set(known))
    if unknown:
        raise _bad(f"sensitivity.{unknown[0]}", block[unknown[0]], "unknown key", ", ".join(known))
    raw_factors = block.get("factors", ())
    if isinstance(raw_factors, str | bytes) or not isinstance(raw_factors, Sequence):
        raise _bad("sensitivity.factors", raw_factors, "must be a list of factor tables")
    return SensitivitySpec(
        method=block.get("method", "sobol"),
        factors=tuple(as_factor(entry, i) for i, entry in enumerate(raw_factors)),
        samples=block.get("samples", 0),
        seed=seed,
        calc_second_order=block.get("calc_second_order", False),
        morris_levels=block.get("morris_levels", 4),
    )


def problem(spec: SensitivitySpec) -> dict[str, Any]:
    """The SALib problem dictionary of a spec (``num_vars``, ``names``, ``bounds``, ``dists``).

    Bounds follow SALib's per-distribution meaning (see :class:`Factor`); a uniform
    integer factor of a Sobol' design has its widened range [lower - 0.5, upper + 0.5].
    :func:`sensitivity_design` gives the same values as SALib's scaling with this
    problem, except for the Morris grid ends of normal/lognormal factors (see
    :class:`Factor`) and integer rounding.
    """
    bounds: list[list[float]] = []
    for factor in spec.factors:
        if factor.distribution == "uniform":
            lower, upper = _uniform_range(factor, spec.method)
            bounds.append([lower, upper])
        elif factor.distribution == "triangular":
            bounds.append([factor.lower, factor.upper, factor.peak])
        elif factor.distribution == "normal":
            bounds.append(list(_normal_moments(factor.lower, factor.upper)))
        else:
            bounds.append(list(_normal_moments(math.log(factor.lower), math.log(factor.upper))))
    return {
        "num_vars": len(spec.factors),
        "names": spec.names,
        "bounds": bounds,
        "dists": [SALIB_DISTS[f.distribution] for f in spec.factors],
    }


def sensitivity_design(spec: SensitivitySpec) -> list[dict[str, float]]:
    """The sample points of a spec, in design order: factor name → value.

    Sobol' points come from ``SALib.sample.sobol.sample`` (scrambled, seeded),
    Morris trajectories from ``SALib.sample.morris.sample`` (seeded); both on the
    unit hypercube, then mapped to each factor's distribution and rounded for
    integer factors (values are then Python ints). Same spec ⇒ same design.

    Points may repeat (Morris trajectories share grid points; rounding can merge
    points): identify a point by its position in this list, never by its values.
    """
    values = _values(spec, _unit_design(spec))
    names = spec.names
    integer = [f.integer for f in spec.factors]
    return [
        {
            name: (int(v) if is_int else float(v))
            for name, v, is_int in zip(names, row, integer, strict=True)
        }
        for row in values
    ]


def analyze_sensitivity(
    spec: SensitivitySpec,
    design: np.ndarray | Sequence[Mapping[str, float]],
    outputs: Mapping[str, Any],
    *,
    conf_level: float = 0.95,
    num_resamples: int = 100,
) -> pd.DataFrame:
    """Sensitivity indices of every outcome, one tidy row per outcome × factor × index.

    Args:
        spec: the spec the design was made from.
        design: the design that was run, as returned by :func:`sensitivity_design`
            (or as a points × factors array in factor order). It is checked
            against the spec's own design, so a reordered or foreign design is an
            error rather than silently wrong indices.
        outputs: outcome name → one value per design point, in design order, each
            the mean over that point's replications.
        conf_level: level of the bootstrap confidence intervals.
        num_resamples: bootstrap resamples.

    Returns:
        Columns ``method, outcome, factor, index_name, value, conf, note``.
        Sobol': rows ``S1`` and ``ST`` per factor with their interval half-widths in
        ``conf`` (plus ``S2`` rows with factor ``"a:b"`` when second-order indices
        were asked for). Morris: ``mu_star`` (with ``conf``), ``sigma`` and ``mu``
        (``conf`` NaN). ``note`` is empty, or says why an outcome has no indices:
        an outcome with any NaN/infinite value (failed runs, undefined outcomes) or,
        for Sobol', without variance keeps its rows with NaN values and is logged;
        or why its indices are unreliable (an outcome that changes at only a few
        points, so that SALib saw no variance in some samples).
    """
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level = {conf_level!r} must lie strictly between 0 and 1")
    if num_resamples < 2:
        raise ValueError(f"num_resamples = {num_resamples!r} must be >= 2")
    unit = _unit_design(spec)
    _check_design(spec, design, _values(spec, unit))
    salib_problem = {
        "num_vars": len(spec.factors),
        "names": spec.names,
        "bounds": [[0.0, 1.0]] * len(spec.factors),
    }
    rows: list[dict[str, Any]] = []
    for outcome, raw in outputs.items():
        y = np.asarray(raw, dtype=float).reshape(-1)
        if y.size != spec.design_size:
            raise ValueError(
                f"outcome {outcome!r} has {y.size} values, "
                f"but the design has {spec.design_size} points"
            )
        note = _unusable(spec, y)
        if note:
            logger.warning("sensitivity: outcome %r dropped: %s", outcome, note)
            rows.extend(_empty_rows(spec, outcome, note))
            continue
        rng = _stream(spec.seed, _ANALYSIS_STREAM)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if spec.method == "sobol":
                result = sobol_analyze.analyze(
                    salib_problem,
                    y,
                    calc_second_order=spec.calc_second_order,
                    num_resamples=num_resamples,
                    conf_level=conf_level,
                    seed=rng,  # a Generator: SALib treats an int seed of 0 as "unseeded"
                )
            else:
                result = morris_analyze.analyze(
                    salib_problem,
                    unit,  # SALib only reads which factor moved and in which direction
                    y,
                    num_resamples=num_resamples,
                    conf_level=conf_level,
                    num_levels=spec.morris_levels,
                    seed=rng,
                )
        note = _constant_resamples_note(outcome, caught)
        if spec.method == "sobol":
            rows.extend(_sobol_rows(spec, outcome, result, note))
        else:
            rows.extend(_morris_rows(spec, outcome, result, note))
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def replication_noise(
    outputs_by_point_and_replication: Mapping[str, Any] | pd.DataFrame,
) -> pd.DataFrame:
    """How much of each outcome's spread is seed noise rather than parameter effect.

    Replication r runs on the same seed at every design point (common random numbers,
    docs/design.md), so a seed can shift every point alike; that shift moves every point
    mean by the same amount and cancels in the indices, so it is not counted as noise. Per
    outcome, a two-way analysis of variance without repetition (points × replications) on
    the points that have every replication: ``within_variance`` is the point × seed
    interaction (the residual mean square: seed noise that does differ between points),
    ``between_variance`` the variance of the points' true means (parameter effects),
    ``max(0, (MS_points - MS_residual) / R)``. When fewer than half the points (or fewer
    than two) have every replication it falls back to a one-way analysis (points as
    groups), which counts a common shift as noise, and says so in ``note``.

    Args:
        outputs_by_point_and_replication: either outcome → array of shape
            (points, replications), or a tidy frame with columns ``point_id``,
            ``replication``, ``outcome``, ``value`` (one row per run × outcome).
            NaN values (failed runs, undefined outcomes) are left out.

    Returns:
        One row per outcome: ``outcome, points, replications`` (mean per point),
        ``within_variance, between_variance``, ``noise_share`` = within / (within +
        between), the share of seed noise in a point's run-to-run and point-to-point
        variance (the seeds' common shift left out), and
        ``noise_share_of_point_means`` = (within / R) / (within / R + between), the
        share of the variance of the per-point means (what SALib analyses) that is
        seed noise. A high value means the indices of that outcome mostly measure
        noise: add replications or widen the factor ranges. ``note`` says why a
        value is NaN (fewer than two replications, no variance).
    """
    matrices = _as_matrices(outputs_by_point_and_replication)
    rows = [_noise_row(outcome, matrix) for outcome, matrix in matrices.items()]
    return pd.DataFrame(rows, columns=list(NOISE_COLUMNS))


# --- helpers -----------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def as_factor(entry: object, index: int) -> Factor:
    """A factor from a file table; errors name ``sensitivity.factors[i].<key>``."""
    where = f"sensitivity.factors[{index}]"
    if isinstance(entry, Factor):
        return entry
    if not isinstance(entry, Mapping):
        raise _bad(where, entry, "must be a table with name, lower, upper")
    allowed = [f.name for f in fields(Factor)]
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise _bad(f"{where}.{unknown[0]}", entry[unknown[0]], "unknown key", ", ".join(allowed))
    missing = [key for key in ("name", "lower", "upper") if key not in entry]
    if missing:
        raise _bad(f"{where}.{missing[0]}", MISSING, "required key is missing")
    try:
        return Factor(**entry)
    except InputError as exc:
        field = f"{where}.{exc.field}" if exc.field else where
        raise SensitivitySpecError(
            exc.reason, field=field, value=exc.value, allowed=exc.allowed
        ) from None


def _stream(seed: int, name: str) -> np.random.Generator:
    """The named random stream ``name`` of root seed ``seed`` (spawn key crc32(name))."""
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def _normal_moments(lower: float, upper: float) -> tuple[float, float]:
    """Mean and standard deviation of the normal whose central 95 % interval is [lower, upper]."""
    return (lower + upper) / 2.0, (upper - lower) / (2.0 * _Z)


def _uniform_range(factor: Factor, method: str) -> tuple[float, float]:
    if factor.integer and method == "sobol":
        return factor.lower - 0.5, factor.upper + 0.5
    return factor.lower, factor.upper


def _unit_design(spec: SensitivitySpec) -> np.ndarray:
    """The design on the unit hypercube, points × factors."""
    d = len(spec.factors)
    unit_problem = {"num_vars": d, "names": spec.names, "bounds": [[0.0, 1.0]] * d}
    rng = _stream(spec.seed, _DESIGN_STREAM)
    if spec.method == "sobol":
        matrix = sobol_sample.sample(
            unit_problem,
            spec.samples,
            calc_second_order=spec.calc_second_order,
            scramble=True,
            seed=rng,
        )
    else:
        matrix = morris_sample.sample(
            unit_problem, spec.samples, num_levels=spec.morris_levels, seed=rng
        )
    return np.asarray(matrix, dtype=float)


def _values(spec: SensitivitySpec, unit: np.ndarray) -> np.ndarray:
    """Map unit-hypercube coordinates to factor values (rounded for integer factors)."""
    out = np.empty_like(unit)
    for j, factor in enumerate(spec.factors):
        u = unit[:, j]
        if factor.distribution == "uniform":
            lower, upper = _uniform_range(factor, spec.method)
            x = lower + u * (upper - lower)
        elif factor.distribution == "triangular":
            x = stats.triang.ppf(
                u, c=factor.peak, loc=factor.lower, scale=factor.upper - factor.lower
            )
        else:
            if spec.method == "morris":
                u = _TAIL + u * INTERVAL_PROBABILITY
            u = np.clip(u, _UNIT_EPS, 1.0 - _UNIT_EPS)
            if factor.distribution == "normal":
                mean, sd = _normal_moments(factor.lower, factor.upper)
                x = stats.norm.ppf(u, loc=mean, scale=sd)
            else:
                mean, sd = _normal_moments(math.log(factor.lower), math.log(factor.upper))
                x = np.exp(stats.norm.ppf(u, loc=mean, scale=sd))
        if factor.integer:
            x = np.floor(x + 0.5)
            if factor.distribution in ("uniform", "triangular"):
                x = np.clip(x, factor.lower, factor.upper)
        out[:, j] = x
    return out


def _check_design(
    spec: SensitivitySpec,
    design: np.ndarray | Sequence[Mapping[str, float]],
    expected: np.ndarray,
) -> None:
    """Raise if ``design`` is not the spec's own design (wrong order, seed or factors)."""
    if isinstance(design, np.ndarray):
        given = np.asarray(design, dtype=float)
    else:
        names = spec.names
        try:
            given = np.array([[float(point[n]) for n in names] for point in design], dtype=float)
        except KeyError as exc:
            raise ValueError(f"a design point lacks factor {exc.args[0]!r}") from None
    if given.ndim != 2 or given.shape != expected.shape:
        raise ValueError(
            f"design has shape {given.shape}, but the spec gives {expected.shape} "
            "(points × factors); was it made from another spec?"
        )
    if not np.allclose(given, expected, rtol=1e-9, atol=1e-12):
        bad = int(np.argmax(~np.isclose(given, expected, rtol=1e-9, atol=1e-12).all(axis=1)))
        raise ValueError(
            f"design point {bad} differs from the spec's design (another seed, factor order "
            "or reordered points?); outputs must be in sensitivity_design(spec) order"
        )


def _unusable(spec: SensitivitySpec, y: np.ndarray) -> str:
    """Why an outcome cannot be analysed ("" if it can)."""
    bad = int(np.count_nonzero(~np.isfinite(y)))
    if bad:
        return (
            f"{bad} of {y.size} design points have no finite value (failed runs or an "
            "undefined outcome); SALib needs every point"
        )
    if spec.method == "sobol" and np.ptp(y) == 0.0:
        return "the outcome is the same at every design point: no variance to apportion"
    return ""


def _constant_resamples_note(outcome: str, caught: list[warnings.WarningMessage]) -> str:
    """Turn SALib's "constant values" warnings into a note; re-issue any other warning.

    SALib's Sobol' estimators warn, and return 0, when the base samples (A, B) or a
    bootstrap resample of them have no variance: an outcome that changes at only a
    few design points (say, a rare event). Its indices and intervals are then unreliable.
    """
    constant = 0
    for w in caught:
        if issubclass(w.category, UserWarning) and _SALIB_CONSTANT in str(w.message):
            constant += 1
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not constant:
        return ""
    logger.warning(
        "sensitivity: outcome %r varies at only a few design points; its intervals are unreliable",
        outcome,
    )
    return (
        "the outcome varies at only a few design points: SALib found no variance in the "
        "base samples or in some bootstrap resamples and counted them as 0, so the "
        "indices and their intervals are unreliable"
    )


def _empty_rows(spec: SensitivitySpec, outcome: str, note: str) -> list[dict[str, Any]]:
    return [
        _row(spec, outcome, factor, index_name, math.nan, math.nan, note)
        for factor in spec.names
        for index_name in INDEX_NAMES[spec.method]
    ]


def _row(
    spec: SensitivitySpec,
    outcome: str,
    factor: str,
    index_name: str,
    value: float,
    conf: float,
    note: str = "",
) -> dict[str, Any]:
    return {
        "method": spec.method,
        "outcome": outcome,
        "factor": factor,
        "index_name": index_name,
        "value": float(value),
        "conf": float(conf),
        "note": note,
    }


def _sobol_rows(
    spec: SensitivitySpec, outcome: str, result: Mapping[str, Any], note: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for j, name in enumerate(spec.names):
        rows.append(_row(spec, outcome, name, "S1", result["S1"][j], result["S1_conf"][j], note))
        rows.append(_row(spec, outcome, name, "ST", result["ST"][j], result["ST_conf"][j], note))
    if spec.calc_second_order:
        names = spec.names
        for j in range(len(names)):
            for k in range(j + 1, len(names)):
                pair = f"{names[j]}:{names[k]}"
                value, conf = result["S2"][j, k], result["S2_conf"][j, k]
                rows.append(_row(spec, outcome, pair, "S2", value, conf, note))
    return rows


def _morris_rows(
    spec: SensitivitySpec, outcome: str, result: Mapping[str, Any], note: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for j, name in enumerate(spec.names):
        mu_star, conf = result["mu_star"][j], result["mu_star_conf"][j]
        rows.append(_row(spec, outcome, name, "mu_star", mu_star, conf, note))
        rows.append(_row(spec, outcome, name, "sigma", result["sigma"][j], math.nan, note))
        rows.append(_row(spec, outcome, name, "mu", result["mu"][j], math.nan, note))
    return rows


def _as_matrices(data: Mapping[str, Any] | pd.DataFrame) -> dict[str, np.ndarray]:
    """Outcome → (points, replications) array, NaN where a run is missing or failed."""
    if isinstance(data, pd.DataFrame):
        required = {"point_id", "replication", "outcome", "value"}
        missing = sorted(required - set(data.columns))
        if missing:
            raise ValueError(
                f"replication data lacks column(s) {missing}; needs {sorted(required)}"
            )
        matrices: dict[str, np.ndarray] = {}
        for outcome, group in data.groupby("outcome", sort=False):
            table = group.pivot_table(
                index="point_id",
                columns="replication",
                values="value",
                aggfunc="mean",
                dropna=False,
            )
            matrices[str(outcome)] = table.to_numpy(dtype=float)
        return matrices
    result: dict[str, np.ndarray] = {}
    for outcome, raw in data.items():
        matrix = np.asarray(raw, dtype=float)
        if matrix.ndim != 2:
            raise ValueError(
                f"outcome {outcome!r}: expected an array of shape (points, replications), "
                f"got shape {matrix.shape}"
            )
        result[outcome] = matrix
    return result


def _noise_row(outcome: str, matrix: np.ndarray) -> dict[str, Any]:
    """One outcome's row of :func:`replication_noise` (points × replications ``matrix``)."""
    valid = np.isfinite(matrix)
    row: dict[str, Any] = {
        "outcome": outcome,
        "points": 0,
        "replications": math.nan,
        "within_variance": math.nan,
        "between_variance": math.nan,
        "noise_share": math.nan,
        "noise_share_of_point_means": math.nan,
        "note": "",
    }
    complete = valid.all(axis=1)
    n_complete, n_with_values = int(complete.sum()), int(valid.any(axis=1).sum())
    # the two-way analysis on the complete points when they are most of the points: the
    # others' means average other seeds, whose shifts do not cancel
    if matrix.shape[1] >= 2 and n_complete >= 2 and 2 * n_complete >= n_with_values:
        left_out = n_with_values - n_complete
        within, between, points, replications = _two_way(matrix[complete])
        note = (
            f"{left_out} point(s) with a failed or undefined replication left out"
            if left_out
            else ""
        )
    else:
        counts = valid.sum(axis=1)
        if int((counts > 0).sum()) < 2 or int(counts.sum() - (counts > 0).sum()) < 1:
            row["note"] = "needs at least two design points and two replications of some point"
            return row
        within, between, points, replications = _one_way(matrix)
        note = (
            "fewer than half the points have every replication: a one-way analysis, which "
            "counts a seed's shift common to every point as noise"
        )
    row.update(points=points, replications=replications, note=note)
    row["within_variance"] = within
    row["between_variance"] = between
    # zero up to rounding: the residuals of a pure shift are ≈ 1e-33, not 0
    scale = float(np.mean(matrix[valid] ** 2))
    if within + between <= 1e-24 * scale:
        row["note"] = (
            "the point means do not vary (the seeds may shift every point alike, which "
            "cancels in the indices)"
        )
        return row
    row["noise_share"] = within / (within + between)
    row["noise_share_of_point_means"] = (within / replications) / (within / replications + between)
    return row


def _two_way(values: np.ndarray) -> tuple[float, float, int, float]:
    """(seed noise, point variance, points, replications) of a complete points ×
    replications array whose replication r ran on the same seed at every point (common
    random numbers): a two-way analysis of variance without repetition. A seed's shift
    common to every point is its own effect, left out: it moves every point mean alike, so
    it cancels in the indices; the noise is the point × seed interaction (the residual)."""
    points, replications = values.shape
    grand = float(values.mean())
    point_means = values.mean(axis=1)
    seed_means = values.mean(axis=0)
    residual = values - point_means[:, None] - seed_means[None, :] + grand
    ms_residual = float((residual**2).sum()) / ((points - 1) * (replications - 1))
    ms_points = replications * float(((point_means - grand) ** 2).sum()) / (points - 1)
    between = max(0.0, (ms_points - ms_residual) / replications)
    return ms_residual, between, points, float(replications)


def _one_way(matrix: np.ndarray) -> tuple[float, float, int, float]:
    """(within-point variance, point variance, points, mean replications) by a one-way
    random-effects analysis of variance, NaN runs left out (points of unequal sizes)."""
    valid = np.isfinite(matrix)
    counts = valid.sum(axis=1)
    keep = counts > 0
    counts = counts[keep]
    values = np.where(valid, matrix, 0.0)[keep]
    points = int(keep.sum())
    n = int(counts.sum())
    means = values.sum(axis=1) / counts
    grand = values.sum() / n
    ss_within = float((((values - means[:, None]) ** 2) * valid[keep]).sum())
    ss_between = float((counts * (means - grand) ** 2).sum())
    ms_within = ss_within / (n - points)
    ms_between = ss_between / (points - 1)
    n0 = (n - float((counts**2).sum()) / n) / (points - 1)  # effective replications per point
    between = max(0.0, (ms_between - ms_within) / n0)
    return ms_within, between, points, float(counts.mean())
