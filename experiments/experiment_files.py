"""Experiment files (``experiments/*.toml``): schema, validation and the points they define.

An experiment file declares *what* to run; :mod:`experiments.runner` (and
:mod:`experiments.calibration` for ``calibrate``) decides *how*. The kinds share one set
of common keys::

    name = "compare_reforms"          # results go to results/<name>/ by default
    kind = "compare"                  # compare | sweep | sensitivity | calibrate
    seed = 20240601                   # root seed; replication i uses SeedSequence(seed, spawn_key=(i,))
    replications = 10                 # R; every scenario / point runs replications 0 … R-1
    days = 365                        # optional; simulated days per run (else the scenario's own)
    outcomes = ["resolution_time_median_days"]   # optional: outcomes of interest (stored in meta)
    question = "Which reform …?"      # optional: the report's title
    main_outcomes = ["resolution_time_median_days", "on_time_share"]  # optional: ranked first
    sensitivity_results = "../results/sobol"   # optional: what the answer rests on
    [thresholds]                      # optional: smallest difference that matters (stored unit)
    resolution_time_median_days = 1.0
    [overrides]                       # optional: dotted scenario fields changed for every run
    "population.communities_per_street" = 2
    [precision]                       # optional: add replications until the CI is narrow enough
    outcomes = ["resolution_time_median_days"]
    target = 0.05                     # half-width of the confidence interval ...
    relative = true                   # ... as a share of |mean| (false: in the outcome's units)
    batch = 5                         # replications added per round
    max_replications = 50             # cap

``compare``: ``[[scenarios]]`` tables with ``path`` (relative to the experiment
file), optional ``name`` and ``overrides``; ``reference`` names the scenario paired
differences are taken against (default: the first); ``explain`` (optional) lists
scenarios whose effect on the reference is also decomposed by mechanism
(:mod:`experiments.explain`, results in ``<folder>/explain/<scenario>/``).
``sweep``: one base ``scenario`` and either ``[grid]`` (dotted field → list of values,
all combinations) or ``points`` (a list of {dotted field: value} tables); optionally
``[roles]`` marks every factor as ``"lever"`` (a policy choice) or ``"uncertainty"``
(a parameter nobody controls) for robustness analysis (``analysis.robustness``).
``sensitivity``: one base ``scenario``, ``method`` (``sobol`` or ``morris``),
``samples`` and ``[[factors]]`` with a dotted ``name`` and ``bounds``; the design
comes from :mod:`experiments.sensitivity` (SALib).
``calibrate``: one base ``scenario``, a ``targets`` file (:mod:`experiments.targets`)
and ``[calibration]`` with ``[[calibration.parameters]]`` (dotted ``name``, ``lower``,
``upper``, optional ``log`` and ``integer``); its candidates are proposed while it runs
(:mod:`experiments.calibration`), so it has no points here. Reform parameters (policy
blocks) cannot be fitted.

Every dotted field is checked against the scenario schema, and every point's
scenario is built and validated, before any run starts (issue 4). Errors are
:class:`experiments.errors.InputError` naming the file, the key, the bad value and
what is allowed.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, is_dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from experiments.errors import MAX_SHOWN_PROBLEMS, InputError
from experiments.scenario_files import (
    Scenario,
    apply_overrides,
    check_field_path,
    field_value,
    load_scenario,
    parse_toml,
    read_toml_bytes,
    resolved,
)
from model.cases import CASE_TYPES
from model.mechanisms import POLICY_BLOCKS
from model.outcomes import OUTCOME_NAMES, find_outcome

KINDS: tuple[str, ...] = ("compare", "sweep", "sensitivity", "calibrate")
_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


# ---------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------


class Spec(BaseModel):
    """Base of every experiment-file block: frozen, unknown keys rejected, strictly typed
    (`replications = "2"`, `days = 5.0` and `seed = true` are refused, not converted: an
    audit found `seed = true` run as seed 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class PrecisionSpec(Spec):
    """Keep adding replications until the confidence interval is narrow enough (issue 4)."""

    outcomes: Annotated[list[str], Field(min_length=1)]
    target: Annotated[float, Field(gt=0)]
    relative: bool = (
        True  # half-width / |mean| ≤ target; false: half-width ≤ target (outcome units)
    )
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    batch: Annotated[int, Field(ge=1)] = 5
    max_replications: Annotated[int, Field(ge=2, le=100_000)] = 100


class ScenarioEntry(Spec):
    """One scenario of a ``compare`` experiment."""

    path: str  # relative to the experiment file
    name: Annotated[str, Field(pattern=_NAME_PATTERN)] | None = None  # default: the scenario's name
    overrides: dict[str, Any] = Field(default_factory=dict)


class FactorSpec(Spec):
    """One factor of a sensitivity analysis (meaning of each key: ``experiments.sensitivity.Factor``)."""

    name: str  # dotted scenario field, also the SALib factor name (docs/design.md "Conventions")
    lower: float
    upper: float
    distribution: Literal["uniform", "normal", "lognormal", "triangular"] = "uniform"
    integer: bool = False  # round sampled values (needed for integer fields)
    mode: float | None = None  # triangular only


class SensitivityBlock(Spec):
    """The ``[sensitivity]`` table: the SALib design (see ``experiments.sensitivity.SensitivitySpec``)."""

    method: Literal["sobol", "morris"] = "sobol"
    samples: Annotated[int, Field(ge=2, le=1_000_000)] = (
        64  # sobol: N (a power of two); morris: trajectories
    )
    calc_second_order: bool = False  # sobol only: also S2 (N·(2k+2) points instead of N·(k+2))
    morris_levels: Annotated[int, Field(ge=2, le=100)] = 4  # morris only: grid levels (even)
    factors: Annotated[list[FactorSpec], Field(min_length=1)]


class ExperimentSpec(Spec):
    """Keys every experiment kind has."""

    name: Annotated[str, Field(pattern=_NAME_PATTERN)]
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    replications: Annotated[int, Field(ge=1, le=100_000)] = 10
    days: Annotated[int, Field(ge=1, le=3650)] | None = None
    outcomes: list[str] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)
    precision: PrecisionSpec | None = None
    # What the report answers (docs/design.md "Reports that answer first"): the question is
    # its title; the main outcomes are ranked in its summary box; thresholds (outcome →
    # smallest difference that matters, in the outcome's stored unit) override the
    # registry's; sensitivity_results names a sensitivity results folder (relative to this
    # file) whose largest total-order indices are the assumptions the answer rests on.
    question: str = ""
    main_outcomes: Annotated[list[str], Field(max_length=4)] = Field(default_factory=list)
    thresholds: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    sensitivity_results: str | None = None

    @model_validator(mode="after")
    def _precision_cap(self) -> ExperimentSpec:
        if self.precision is not None and self.precision.max_replications < self.replications:
            raise ValueError(
                f"precision.max_replications ({self.precision.max_replications}) is below "
                f"replications ({self.replications})"
            )
        return self


class CompareSpec(ExperimentSpec):
    """Several scenarios × R replications on common random numbers."""

    kind: Literal["compare"]
    scenarios: Annotated[list[ScenarioEntry], Field(min_length=1)]
    reference: str | None = None  # default: the first scenario
    # scenarios whose effect is also decomposed by mechanism (`microgov explain`, issue 9)
    explain: list[str] = Field(default_factory=list)


class ExplainSpec(ExperimentSpec):
    """A reform's effect decomposed by mechanism (built by :mod:`experiments.explain`, not
    read from a file): the reform, the reference and the reform with its mechanisms
    switched to neutral one by one, alone and all together, on the same seeds."""

    kind: Literal["explain"]
    reform: str  # point (and scenario) name of the reform
    reference: str  # point (and scenario) name of the reference
    plan: dict[str, Any]  # mechanisms and which point plays which role (stored in meta)


class SweepSpec(ExperimentSpec):
    """A grid or list of points over dotted fields of one base scenario × R replications."""

    kind: Literal["sweep"]
    scenario: str
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] | None = None
    points: Annotated[list[dict[str, Any]], Field(min_length=1)] | None = None
    # factor → its role in robustness analysis (EMA Workbench's levers and uncertainties)
    roles: dict[str, Literal["lever", "uncertainty"]] | None = None

    @model_validator(mode="after")
    def _grid_or_points(self) -> SweepSpec:
        if (self.grid is None) == (self.points is None):
            raise ValueError(
                "a sweep needs exactly one of 'grid' (field → list of values) or 'points'"
            )
        if self.grid is not None and not self.grid:
            raise ValueError(
                "'grid' is empty: give at least one dotted field with a list of values"
            )
        return self


class SensitivityExperimentSpec(ExperimentSpec):
    """Sobol or Morris over named factors; each design point × R replications on the same seeds."""

    kind: Literal["sensitivity"]
    scenario: str
    sensitivity: SensitivityBlock


class FittedParameterSpec(Spec):
    """One parameter a calibration fits (a dotted scenario field and its search bounds)."""

    name: str
    lower: float
    upper: float
    log: bool = False  # search on a log scale (lower must be > 0)
    integer: bool = False  # integer fields

    @model_validator(mode="after")
    def _bounds(self) -> FittedParameterSpec:
        if (
            not (math.isfinite(self.lower) and math.isfinite(self.upper))
            or self.lower >= self.upper
        ):
            raise ValueError(f"need finite lower < upper (got {self.lower} and {self.upper})")
        if self.log and self.lower <= 0:
            raise ValueError(f"log = true needs lower > 0 (got {self.lower})")
        return self


class ProfileSpec(Spec):
    """Optional profile plots: the others re-optimised at a few fixed values of each parameter."""

    points: Annotated[int, Field(ge=2, le=25)] = 5  # grid values per fitted parameter
    candidates: Annotated[int, Field(ge=1, le=500)] = 6  # candidates per grid value


class SettleSpec(Spec):
    """Optional: a field set to the level the fitted dynamics settle at (``experiments.calibration_settle``)."""

    parameter: str  # dotted scenario field, not fitted (e.g. population.initial_trust_mean)
    outcome: str  # the run outcome whose end value it takes (e.g. trust_mean)
    days: Annotated[int, Field(ge=1, le=36_500)] = 730  # measured days of a settling run
    replications: Annotated[int, Field(ge=1, le=100)] = 1  # settling runs per iteration
    iterations: Annotated[int, Field(ge=1, le=50)] = 4  # most settling runs (iterations)
    tolerance: Annotated[float, Field(gt=0)] = 0.01  # stop when a step moves it less
    refit_candidates: Annotated[int, Field(ge=1, le=100_000)] = 16  # the refit's budget


class CalibrationBlock(Spec):
    """The ``[calibration]`` table (meaning of each key: ``experiments.calibration``)."""

    parameters: Annotated[list[FittedParameterSpec], Field(min_length=1)]
    sampler: Literal["tpe", "random"] = "tpe"
    batch: Annotated[int, Field(ge=1, le=1000)] = 4  # candidates proposed and run together
    max_candidates: Annotated[int, Field(ge=1, le=100_000)] = 40  # budget
    patience: Annotated[int, Field(ge=1, le=10_000)] = (
        4  # stop after K batches without a better best
    )
    startup_candidates: Annotated[int, Field(ge=1, le=10_000)] = 8  # random ones before TPE
    profile: ProfileSpec | None = None
    settle: SettleSpec | None = None


class CalibrateSpec(ExperimentSpec):
    """Fit dotted fields of one base scenario to a target file (method of simulated moments)."""

    kind: Literal["calibrate"]
    scenario: str
    targets: str  # target file, relative to the experiment file
    calibration: CalibrationBlock

    @model_validator(mode="after")
    def _no_precision(self) -> CalibrateSpec:
        if self.precision is not None:
            raise ValueError(
                "a calibration runs a fixed number of replications per candidate; "
                "remove [precision] and set 'replications'"
            )
        return self


AnyExperimentSpec = Annotated[
    CompareSpec | SweepSpec | SensitivityExperimentSpec | CalibrateSpec,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[CompareSpec | SweepSpec | SensitivityExperimentSpec | CalibrateSpec] = (
    TypeAdapter(AnyExperimentSpec)
)


# ---------------------------------------------------------------------------
# Loaded experiment
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One scenario configuration that runs R times (one row of the ``points`` table).

    Attributes:
        point_id: ``compare``: the scenario name; ``sweep``: ``p0000`` …; ``sensitivity``: ``s0000`` ….
        scenario: name of the scenario this point derives from.
        parameters: the point's own dotted-field values ({} for ``compare``).
        built: the fully built and validated scenario the run receives.
    """

    point_id: str
    scenario: str
    parameters: dict[str, Any]
    built: Scenario

    @property
    def digest(self) -> str:
        """Digest of the built scenario (changes when the scenario file or an override changes)."""
        return str(self.built.digest)


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file with every point built.

    Attributes:
        path: the experiment file.
        text: its content (stored in the manifest).
        digest: sha256 of its bytes; a changed file on resume is an error.
        spec: the validated schema object.
        scenarios: base scenario name → scenario (after the experiment-wide overrides).
        points: every point, in a stable order.
        design: sensitivity only: the design points (factor → value), in point order.
        salib_spec: sensitivity only: the ``experiments.sensitivity.SensitivitySpec``.
        targets: calibrate only: the ``experiments.targets.TargetSet``.
    """

    path: Path
    text: str
    digest: str
    spec: CompareSpec | SweepSpec | SensitivityExperimentSpec | ExplainSpec | CalibrateSpec
    scenarios: dict[str, Scenario]
    points: list[Point]
    design: list[dict[str, float]] = field(default_factory=list)
    salib_spec: Any = None
    targets: Any = None

    @property
    def name(self) -> str:
        """The experiment's name."""
        return self.spec.name

    @property
    def kind(self) -> str:
        """``compare``, ``sweep`` or ``sensitivity``."""
        return self.spec.kind

    @property
    def reference(self) -> str | None:
        """Compare and explain: the reference scenario for paired differences."""
        if isinstance(self.spec, CompareSpec):
            return self.spec.reference or next(iter(self.scenarios))
        if isinstance(self.spec, ExplainSpec):
            return self.spec.reference
        return None

    def scenario_digests(self) -> dict[str, str]:
        """Scenario name → digest, for the manifest."""
        return {name: str(s.digest) for name, s in self.scenarios.items()}


def known_outcome(name: str) -> bool:
    """Whether ``name`` is an outcome every run can report (model.outcomes)."""
    # The outcome registry knows every fixed outcome and the families (per case type, age
    # group, department) by pattern.
    return find_outcome(name) is not None


def load_experiment(path: str | Path, *, allow_imports: bool = True) -> Experiment:
    """Read, validate and build an experiment file; raise InputError on any problem.

    Every dotted field is checked against the scenario schema and every point's
    scenario is built (so values are validated too) before this returns. The file's
    size and nesting are capped as a scenario file's (``experiments.scenario_files``);
    ``allow_imports=False`` loads its scenarios with registered policy kinds only.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: experiment file not found")
    data = read_toml_bytes(path)
    raw = parse_toml(data, path)
    text = data.decode("utf-8")  # parse_toml checked that it is UTF-8
    spec = parse_spec(raw, path)
    digest = hashlib.sha256(data).hexdigest()
    for i, name in enumerate(spec.outcomes):
        _check_outcome(path, f"outcomes[{i}]", name)
    for i, name in enumerate(spec.main_outcomes):
        _check_outcome(path, f"main_outcomes[{i}]", name)
    for name in spec.thresholds:
        _check_outcome(path, f"thresholds.{name}", name)
    if spec.precision is not None:
        for i, name in enumerate(spec.precision.outcomes):
            _check_outcome(path, f"precision.outcomes[{i}]", name)

    if isinstance(spec, CalibrateSpec):
        scenarios, targets = _build_calibration(spec, path, allow_imports)
        return Experiment(path, text, digest, spec, scenarios, [], targets=targets)
    if isinstance(spec, CompareSpec):
        scenarios, points = _build_compare(spec, path, allow_imports)
        design: list[dict[str, float]] = []
    elif isinstance(spec, SweepSpec):
        scenarios, points = _build_sweep(spec, path, allow_imports)
        design = []
    else:
        scenarios, points, design, salib_spec = _build_sensitivity(spec, path, allow_imports)
        return Experiment(path, text, digest, spec, scenarios, points, design, salib_spec)
    return Experiment(path, text, digest, spec, scenarios, points, design)


def parse_spec(
    raw: Mapping[str, Any], path: Path | str = "<experiment>"
) -> CompareSpec | SweepSpec | SensitivityExperimentSpec | CalibrateSpec:
    """Validate the raw TOML mapping of an experiment file (no scenario is read)."""
    kind = raw.get("kind")
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind), KINDS, n=1) if kind is not None else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        got = "missing" if kind is None else repr(kind)
        raise InputError(f"{path}: kind: {got}{hint}; allowed: {', '.join(KINDS)}")
    try:
        return _ADAPTER.validate_python(dict(raw))
    except ValidationError as exc:
        raise InputError(_format_validation_error(path, kind, exc)) from None


def _format_validation_error(path: Path | str, kind: str, exc: ValidationError) -> str:
    models: dict[str, type[BaseModel]] = {
        "compare": CompareSpec,
        "sweep": SweepSpec,
        "sensitivity": SensitivityExperimentSpec,
        "calibrate": CalibrateSpec,
    }
    model = models[kind]
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] == kind:  # discriminator tag
            loc = loc[1:]
        where = _dotted_loc(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            close = difflib.get_close_matches(loc[-1], allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            lines.append(f"{path}: {where}: unknown key{hint}; allowed: {', '.join(allowed)}")
        elif err["type"] == "missing":
            lines.append(f"{path}: {where}: required key is missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: {where}: {msg} (got {_short(err.get('input'))})")
        if len(lines) == MAX_SHOWN_PROBLEMS:
            break
    more = exc.error_count() - len(lines)
    if more > 0:
        lines.append(f"… and {more:,} more errors")
    return "\n".join(lines)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dotted_loc(loc: Sequence[str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _allowed_keys(model: type[BaseModel], loc: Sequence[str]) -> list[str]:
    """Field names of the block at ``loc`` (best effort, for the 'allowed' hint)."""
    current: Any = model
    for part in loc:
        if part.isdigit():
            continue
        is_model = isinstance(current, type) and issubclass(current, BaseModel)
        info = current.model_fields.get(part) if is_model else None
        if info is None:
            break
        annotation = info.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            inner = getattr(candidate, "__args__", (candidate,))
            found = [c for c in (candidate, *inner) if isinstance(c, type) and issubclass(c, Spec)]
            if found:
                current = found[0]
                break
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _check_outcome(path: Path, key: str, name: str) -> None:
    if not known_outcome(name):
        allowed = list(OUTCOME_NAMES)
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(
            f"{path}: {key}: unknown outcome {name!r}{hint}; allowed: {', '.join(allowed)}, "
            f"and per-type keys such as resolution_time_median_days_<type> (types: {', '.join(CASE_TYPES)})"
        )


# ---------------------------------------------------------------------------
# Building points
# ---------------------------------------------------------------------------


def _scenario_path(experiment_path: Path, reference: str, key: str) -> Path:
    target = resolved(
        experiment_path.parent / reference, file=experiment_path, field=key, value=reference
    )
    if target.is_dir():  # it exists: "not found" would send the user looking for it
        raise InputError(
            f"{experiment_path}: {key}: {reference!r} is a folder ({target}); allowed: a "
            "scenario .toml file, relative to the experiment file"
        )
    if not target.is_file():
        raise InputError(
            f"{experiment_path}: {key}: scenario file {reference!r} not found "
            f"(looked for {target}; paths are relative to the experiment file)"
        )
    return target


def _load_base(
    experiment_path: Path, reference: str, key: str, allow_imports: bool = True
) -> Scenario:
    scenario_path = _scenario_path(experiment_path, reference, key)
    try:
        return load_scenario(scenario_path, allow_imports=allow_imports)
    except InputError as exc:
        raise InputError(f"{experiment_path}: {key}: {exc}") from None


def _lookup(parameters: Any, dotted: str) -> Any:
    """The current value at ``dotted`` in built parameters (None when not reachable)."""
    current = parameters
    for part in dotted.split("."):
        if isinstance(current, BaseModel) or (
            is_dataclass(current) and not isinstance(current, type)
        ):
            current = getattr(current, part, None)
        elif isinstance(current, Mapping):
            current = current.get(part)
        else:
            return None
    return current


def flatten_overrides(
    scenario: Scenario, overrides: Mapping[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """Turn nested override tables into dotted keys, deep-merge style.

    TOML turns an unquoted ``population.streets = 2`` into nested tables; a table
    whose target is a section or a mapping (``population``, ``departments.x``) is
    merged key by key, while a table whose target is a policy (``routing``) or a
    plain value replaces it as a whole.
    """
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        dotted = f"{prefix}{key}"
        current = _lookup(scenario.parameters, dotted)
        mergeable = isinstance(current, BaseModel | Mapping) and not is_dataclass(current)
        if isinstance(value, Mapping) and mergeable and value:
            flat.update(flatten_overrides(scenario, value, prefix=f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def _check_fields(
    experiment_path: Path, key: str, scenario: Scenario, fields: Sequence[str]
) -> None:
    # A path inside a policy whose kind the same overrides change belongs to the new kind:
    # apply_overrides checks it after switching the kind.
    switched = {f.removesuffix(".kind") for f in fields if f.endswith(".kind")}
    for dotted in fields:
        if any(
            dotted.startswith(f"{prefix}.") and dotted != f"{prefix}.kind" for prefix in switched
        ):
            continue
        try:
            check_field_path(scenario, dotted)
        except InputError as exc:
            raise InputError(f"{experiment_path}: {key}: {exc}") from None


def _apply(
    experiment_path: Path,
    key: str,
    scenario: Scenario,
    overrides: Mapping[str, Any],
    name: str | None = None,
) -> Scenario:
    flat = flatten_overrides(scenario, overrides)
    if not flat and name is None:
        return scenario
    try:
        return apply_overrides(scenario, flat, name=name)
    except InputError as exc:
        raise InputError(f"{experiment_path}: {key}: {exc}") from None


def _build_compare(
    spec: CompareSpec, path: Path, allow_imports: bool = True
) -> tuple[dict[str, Scenario], list[Point]]:
    scenarios: dict[str, Scenario] = {}
    # each entry's first problem, reported together (``InputError.combine``); the file's
    # own [overrides] once, at the first entry they fail on
    problems: list[InputError] = []
    named: set[str] = set()
    shared_failed = False
    for i, entry in enumerate(spec.scenarios):
        key = f"scenarios[{i}]"
        try:
            name, base = _compare_base(path, key, entry, allow_imports)
        except InputError as exc:
            problems.append(exc)
            continue
        if name in named:
            problems.append(
                InputError(
                    f"{path}: {key}: scenario name {name!r} appears twice; give each entry a "
                    "distinct 'name'"
                )
            )
            continue
        named.add(name)
        if shared_failed:
            continue
        try:
            built = _apply(path, "overrides", base, spec.overrides)
        except InputError as exc:
            problems.append(exc)
            shared_failed = True
            continue
        try:
            scenarios[name] = _apply(path, f"{key}.overrides", built, entry.overrides, name=name)
        except InputError as exc:
            problems.append(exc)
    if problems:
        raise InputError.combine(problems)
    if spec.reference is not None and spec.reference not in scenarios:
        raise InputError(
            f"{path}: reference: {spec.reference!r} is not one of the scenarios; allowed: {', '.join(scenarios)}"
        )
    reference = spec.reference or next(iter(scenarios))
    for i, reform in enumerate(spec.explain):
        if reform not in scenarios or reform == reference:
            others = [name for name in scenarios if name != reference]
            raise InputError(
                f"{path}: explain[{i}]: {reform!r} is not one of the compared scenarios other "
                f"than the reference {reference!r}; allowed: {', '.join(others) or 'none'}"
            )
    points = [Point(name, name, {}, built) for name, built in scenarios.items()]
    return scenarios, points


def _compare_base(
    path: Path, key: str, entry: ScenarioEntry, allow_imports: bool
) -> tuple[str, Scenario]:
    """A compare entry's name and its scenario as its file gives it (no overrides yet)."""
    base = _load_base(path, entry.path, f"{key}.path", allow_imports)
    name = entry.name or str(base.name)
    if not re.match(_NAME_PATTERN, name):
        raise InputError(
            f"{path}: {key}: scenario name {name!r} cannot name a point "
            "(letters, digits, '_', '-', '.'); give the entry a 'name'"
        )
    return name, base


def _build_sweep(
    spec: SweepSpec, path: Path, allow_imports: bool = True
) -> tuple[dict[str, Scenario], list[Point]]:
    base = _load_base(path, spec.scenario, "scenario", allow_imports)
    base = _apply(path, "overrides", base, spec.overrides)
    name = str(base.name)
    if spec.grid is not None:
        _check_fields(path, "grid", base, list(spec.grid))
        keys = list(spec.grid)
        combos = [
            dict(zip(keys, values, strict=True))
            for values in itertools.product(*spec.grid.values())
        ]
        where = "grid"
    else:
        assert spec.points is not None
        combos = [dict(p) for p in spec.points]
        where = "points"
    points: list[Point] = []
    for i, combo in enumerate(combos):
        key = (
            f"{where}[{i}]"
            if where == "points"
            else f"grid (point {i}: {describe_parameters(combo)})"
        )
        _check_fields(path, key, base, list(combo))
        shadowed = sorted(set(combo) & set(spec.overrides))
        if shadowed:
            raise InputError(
                f"{path}: {', '.join(shadowed)}: set in [overrides] and varied in [{where}], "
                f"whose values would silently win; remove {'it' if len(shadowed) == 1 else 'them'} "
                "from [overrides] (a results folder started with this file: run the corrected "
                "file into a new folder with --out)"
            )
        built = _apply(path, key, base, combo)
        points.append(Point(f"p{i:04d}", name, combo, built))
    seen: dict[str, Point] = {}
    for point in points:  # the same scenario twice: the same seeds, the same runs counted twice
        twin = seen.setdefault(str(point.built.digest), point)
        if twin is not point:
            raise InputError(
                f"{path}: {where}: points {twin.point_id} ({describe_parameters(twin.parameters)}) "
                f"and {point.point_id} ({describe_parameters(point.parameters)}) are the same "
                "scenario: they would run the same seeds twice and count the same runs twice; "
                "remove the repeated value (a results folder started with this file: run the "
                "corrected file into a new folder with --out)"
            )
    if spec.roles is not None:
        _check_roles(path, spec.roles, list(dict.fromkeys(k for c in combos for k in c)))
    return {name: base}, points


def _check_roles(path: Path, roles: Mapping[str, str], factors: list[str]) -> None:
    """Every role names a factor of the sweep, and every factor has a role."""
    for factor in roles:
        if factor not in factors:
            close = difflib.get_close_matches(factor, factors, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(
                f"{path}: roles: {factor!r} is not a factor of this sweep{hint}; "
                f"factors: {', '.join(factors)}"
            )
    unmarked = [f for f in factors if f not in roles]
    if unmarked:
        raise InputError(
            f"{path}: roles: factor(s) {', '.join(unmarked)} have no role; mark each factor "
            '"lever" or "uncertainty"'
        )


def _build_sensitivity(
    spec: SensitivityExperimentSpec, path: Path, allow_imports: bool = True
) -> tuple[dict[str, Scenario], list[Point], list[dict[str, float]], Any]:
    from experiments import sensitivity as sa  # SALib is only needed here

    base = _load_base(path, spec.scenario, "scenario", allow_imports)
    base = _apply(path, "overrides", base, spec.overrides)
    block = spec.sensitivity
    for i, factor in enumerate(block.factors):
        key = f"sensitivity.factors[{i}].name"
        _check_fields(path, key, base, [factor.name])
        current = field_value(base, factor.name)  # checked above; a policy's kind too
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise InputError(
                f"{path}: {key}: {factor.name!r} holds {current!r}; a sensitivity factor must be a "
                "numeric scenario field"
            )
        if isinstance(current, int) and not factor.integer:
            raise InputError(
                f"{path}: sensitivity.factors[{i}]: {factor.name!r} is an integer field; "
                "add integer = true (sampled values are then rounded)"
            )
    factors: list[sa.Factor] = []
    for i, f in enumerate(block.factors):
        try:  # its own rules (order, whole bounds, mode), named by its place in the file
            sampled = sa.as_factor(f.model_dump(), i)
        except sa.SensitivitySpecError as exc:
            raise InputError(
                exc.reason, file=path, field=exc.field, value=exc.value, allowed=exc.allowed
            ) from None
        if sampled.distribution in ("uniform", "triangular") or block.method == "morris":
            # every value lies in [lower, upper] (Morris's grid runs from lower to upper
            # whatever the distribution): each end must be a value the field allows
            for bound in ("lower", "upper"):
                value = getattr(sampled, bound)
                end = round(value) if sampled.integer else value
                _apply(path, f"sensitivity.factors[{i}].{bound}", base, {sampled.name: end})
        factors.append(sampled)
    try:
        salib_spec = sa.SensitivitySpec(
            method=block.method,
            factors=tuple(factors),
            samples=block.samples,
            seed=spec.seed,
            calc_second_order=block.calc_second_order,
            morris_levels=block.morris_levels,
        )
        design = [dict(p) for p in sa.sensitivity_design(salib_spec)]
    except sa.SensitivitySpecError as exc:
        raise InputError(f"{path}: {exc}") from None
    name = str(base.name)
    points: list[Point] = []
    for i, values in enumerate(design):
        built = _apply(
            path, f"sensitivity design point {i} ({describe_parameters(values)})", base, values
        )
        points.append(Point(f"s{i:04d}", name, dict(values), built))
    return {name: base}, points, design, salib_spec


def _build_calibration(
    spec: CalibrateSpec, path: Path, allow_imports: bool
) -> tuple[dict[str, Scenario], Any]:
    from experiments.targets import load_targets

    base = _load_base(path, spec.scenario, "scenario", allow_imports)
    base = _apply(path, "overrides", base, spec.overrides)
    names = [p.name for p in spec.calibration.parameters]
    for i, parameter in enumerate(spec.calibration.parameters):
        key = f"calibration.parameters[{i}]"
        _refuse_reform_field(
            path,
            f"{key}.name",
            parameter.name,
            "a calibration fits the baseline and never the reform: reforms must get their "
            "effect from their mechanisms. Fields under "
            f"{', '.join(b + '.' for b in POLICY_BLOCKS)} cannot be fitted",
        )
        if names.count(parameter.name) > 1:
            raise InputError(f"{path}: {key}.name: {parameter.name!r} is listed twice")
        _check_fields(path, f"{key}.name", base, [parameter.name])
        current = field_value(base, parameter.name)
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise InputError(
                f"{path}: {key}.name: {parameter.name!r} holds {current!r}; a fitted parameter "
                "must be a numeric scenario field"
            )
        if isinstance(current, int) and not parameter.integer:
            raise InputError(
                f"{path}: {key}: {parameter.name!r} is an integer field; add integer = true"
            )
        for bound in ("lower", "upper"):
            value: float | int = getattr(parameter, bound)
            if parameter.integer:
                if value != int(value):
                    raise InputError(f"{path}: {key}.{bound}: {value} is not a whole number")
                value = int(value)
            _apply(path, f"{key}.{bound}", base, {parameter.name: value})
    if spec.calibration.settle is not None:
        _check_settle(path, spec.calibration.settle, base, names)
    reference = resolved(path.parent / spec.targets, file=path, field="targets", value=spec.targets)
    try:
        targets = load_targets(reference)
    except InputError as exc:
        raise InputError(f"{path}: targets: {exc}") from None
    return {str(base.name): base}, targets


def _refuse_reform_field(path: Path, key: str, name: str, why: str) -> None:
    """A calibration neither fits nor sets a field of a policy block (a reform's)."""
    block = name.split(".")[0]
    if block in POLICY_BLOCKS:
        raise InputError(f"{path}: {key}: {name!r} is a reform parameter (under '{block}.'); {why}")


def _check_settle(path: Path, settle: SettleSpec, base: Scenario, fitted: list[str]) -> None:
    """The settled field is a numeric, non-reform scenario field that is not fitted."""
    key = "calibration.settle.parameter"
    _refuse_reform_field(path, key, settle.parameter, "a calibration never sets a reform parameter")
    if settle.parameter in fitted:
        raise InputError(
            f"{path}: {key}: {settle.parameter!r} is also a fitted parameter; a settled field "
            "takes the level the fitted dynamics reach, so remove it from calibration.parameters"
        )
    _check_fields(path, key, base, [settle.parameter])
    current = field_value(base, settle.parameter)
    if isinstance(current, bool) or not isinstance(current, float):
        raise InputError(
            f"{path}: {key}: {settle.parameter!r} holds {current!r}; a settled field must be "
            "a real-valued scenario field"
        )
    if not known_outcome(settle.outcome):
        raise InputError(
            f"{path}: calibration.settle.outcome: {settle.outcome!r} is not an outcome the "
            "model reports (model/outcomes.py)"
        )


def describe_parameters(combo: Mapping[str, Any]) -> str:
    """``field=value, …`` of a point's parameters, shortened to 200 characters."""
    text = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in combo.items())
    return text if len(text) < 200 else text[:197] + "..."


def parameter_json(parameters: Mapping[str, Any]) -> str:
    """The JSON stored in ``points.parameters`` (NaN/inf are not JSON: rejected)."""
    for key, value in parameters.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"point parameter {key} = {value!r} is not a finite number")
    return json.dumps(dict(parameters), sort_keys=True, default=str)


EXPERIMENTS_FOLDER = Path(__file__).resolve().parent


def resolve_experiment_path(reference: str | Path) -> Path:
    """An experiment file from a path, or from a bare name in ``./experiments/`` or the
    package's own folder (``"compare_reforms"`` → ``experiments/compare_reforms.toml``)."""
    path = Path(reference)
    if path.is_file():
        return path
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give an experiment .toml file")
    folders = [Path("experiments"), EXPERIMENTS_FOLDER]
    if not path.suffix and len(path.parts) == 1:
        for folder in folders:
            candidate = folder / f"{path.name}.toml"
            if candidate.is_file():
                return candidate
    known = sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.toml")})
    close = difflib.get_close_matches(path.stem, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    allowed = f"; give a .toml path or one of: {', '.join(known)}" if known else ""
    raise InputError(f"{path}: no such experiment file{hint}{allowed}")
