"""``microgov explain``: a reform's effect decomposed by mechanism, on common random numbers.

The *mechanisms* of a reform against a reference scenario are

- every mechanism its policies declare (``model.mechanisms``, the reform → mechanism →
  parameter → neutral value table), with its declared neutral value — or, where the
  reference runs the same policy kind in the same block, the reference's value (what
  the reform changes is then only the difference); a mechanism already at that value
  is *inactive* and not run;
- every other scenario setting in which the reform differs from the reference (a
  ``coordination.*`` value, a same-kind policy parameter no mechanism names); its
  neutral value is the reference's value, so a reform made only of settings (the
  "digital" reform) decomposes too.

What cannot be switched off — a change of policy kind, a table only one scenario has —
is *fixed*: it stays on in every variant and is the structural part of the effect
(reform with every mechanism neutral, against the reference).

The variants, each a point of an ordinary experiment (``kind = "explain"``) so that an
explain run goes through :func:`experiments.runner.run_experiment` — parallel
(``workers``, ``cluster``), stored one transaction per run, resumable — on the same
replication seeds: the reference, the reform, the reform with mechanism *k* neutral
(``off.<path>``), the reform with only *k* on (``alone.<path>``), and the reform with
every mechanism neutral (``all_neutral``). Variants that give the model the same
parameters (same digest, e.g. with one mechanism) share one point. Which point plays
which role is stored in the ``meta`` table under ``explain``;
:mod:`analysis.decomposition` reads it back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, cast

from experiments.errors import InputError, closest
from experiments.executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor
from experiments.experiment_files import (
    CompareSpec,
    Experiment,
    ExplainSpec,
    Point,
    known_outcome,
)
from experiments.runner import ExperimentReport, ProgressEvent, default_folder, run_experiment
from experiments.scenario_files import (
    OWN_KEYS,
    Scenario,
    apply_overrides,
    field_value,
    parameters_mapping,
)
from model.mechanisms import POLICY_BLOCKS, mechanisms_of, scenario_mechanisms
from model.outcomes import OUTCOME_NAMES
from model.policies.registry import Family, PolicyError, available_kinds, policy_class

logger = logging.getLogger(__name__)

AnyExecutor = SerialExecutor | ProcessExecutor | DaskExecutor
EXPLAIN_FOLDER = "explain"  # a compare experiment's explains: <folder>/explain/<reform>/
ALL_NEUTRAL = "all_neutral"
DEFAULT_REPLICATIONS = 5
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_MISSING = object()


# ---------------------------------------------------------------------------
# The mechanisms of a reform
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExplainMechanism:
    """One mechanism of a reform, as ``microgov explain`` switches it.

    Attributes:
        path: its dotted scenario path (``routing.inner.first_unit_leads``).
        name: its short name (the declared name, or the path of a setting).
        origin: ``"mechanism"`` (declared by a policy) or ``"setting"`` (a scenario
            value in which the reform differs from the reference).
        kind: the policy kind that declares it, or the scenario section of a setting.
        value: its value in the reform.
        neutral: the value it is switched to.
        description: what it does (declared mechanisms), else what changes.
        source: a fact id or ``"assumption"``; a setting cites its scenario file.
        structural: whether it changes who does what rather than a behaviour's strength.
    """

    path: str
    name: str
    origin: Literal["mechanism", "setting"]
    kind: str
    value: Any
    neutral: Any
    description: str
    source: str
    structural: bool


@dataclass(frozen=True)
class InactiveMechanism:
    """A declared mechanism that the reform does not use against this reference."""

    path: str
    name: str
    reason: str


@dataclass(frozen=True)
class FixedDifference:
    """A difference from the reference that cannot be switched off (stays on in every variant)."""

    path: str
    reform: Any
    reference: Any


@dataclass(frozen=True)
class ReformMechanisms:
    """What ``explain`` can switch in a reform, and what it cannot."""

    active: tuple[ExplainMechanism, ...]
    inactive: tuple[InactiveMechanism, ...]
    fixed: tuple[FixedDifference, ...]


def reform_mechanisms(reform: Scenario, reference: Scenario) -> ReformMechanisms:
    """The mechanisms of ``reform`` against ``reference`` (module docstring)."""
    active: list[ExplainMechanism] = []
    inactive: list[InactiveMechanism] = []
    declared: set[str] = set()
    for located in scenario_mechanisms(reform.parameters):
        mechanism = located.mechanism
        declared.add(located.path)
        value = field_value(reform, located.path)
        block = located.path.rsplit(".", 1)[0]
        if _same_policy_kind(reform, reference, block):
            neutral = field_value(reference, located.path)
            if value == neutral:
                inactive.append(
                    InactiveMechanism(located.path, mechanism.name, "as in the reference")
                )
                continue
        else:
            neutral = mechanism.neutral
            if value == neutral:
                inactive.append(
                    InactiveMechanism(located.path, mechanism.name, "at its neutral value")
                )
                continue
        active.append(
            ExplainMechanism(
                path=located.path,
                name=mechanism.name,
                origin="mechanism",
                kind=_policy_kind_at(reform, block),
                value=value,
                neutral=neutral,
                description=mechanism.description,
                source=mechanism.source,
                structural=mechanism.structural,
            )
        )
    settings, fixed = _setting_differences(reform, reference, declared)
    return ReformMechanisms(tuple(active + settings), tuple(inactive), tuple(fixed))


def _policy_kind_at(scenario: Scenario, block: str) -> str:
    mapping = _policy_mapping_at(parameters_mapping(scenario.parameters), block)
    return str(mapping.get("kind")) if mapping else ""


def _policy_mapping_at(mapping: Mapping[str, Any], dotted: str) -> Mapping[str, Any] | None:
    node: Any = mapping
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, Mapping) else None


def _same_policy_kind(reform: Scenario, reference: Scenario, block: str) -> bool:
    """Whether the policy block at ``block`` has the same kind in both, up to the top."""
    mine = parameters_mapping(reform.parameters)
    theirs = parameters_mapping(reference.parameters)
    parts = block.split(".")
    for depth in range(1, len(parts) + 1):
        here = ".".join(parts[:depth])
        a, b = _policy_mapping_at(mine, here), _policy_mapping_at(theirs, here)
        if a is None or b is None or a.get("kind") != b.get("kind"):
            return False
    return True


def _setting_differences(
    reform: Scenario, reference: Scenario, declared: set[str]
) -> tuple[list[ExplainMechanism], list[FixedDifference]]:
    """Settings in which ``reform`` differs from ``reference`` (declared mechanisms aside)."""
    settings: list[ExplainMechanism] = []
    fixed: list[FixedDifference] = []
    source = f"scenario {reform.name}" + (f" ({reform.path.name})" if reform.path else "")

    def walk(mine: Mapping[str, Any], theirs: Mapping[str, Any], prefix: str, kind: str) -> None:
        for key in sorted(set(mine) | set(theirs), key=str):
            if (not prefix and key in OWN_KEYS) or key == "kind":
                continue
            path = f"{prefix}{key}"
            a, b = mine.get(key, _MISSING), theirs.get(key, _MISSING)
            if a is _MISSING or b is _MISSING:  # a table only one of them has
                fixed.append(
                    FixedDifference(
                        path, None if a is _MISSING else a, None if b is _MISSING else b
                    )
                )
            elif isinstance(a, Mapping) and isinstance(b, Mapping):
                if a.get("kind") != b.get("kind"):  # another policy: nothing to switch between
                    fixed.append(FixedDifference(f"{path}.kind", a.get("kind"), b.get("kind")))
                else:
                    walk(a, b, f"{path}.", str(a.get("kind") or (kind if prefix else key)))
            elif path not in declared and a != b:
                settings.append(
                    ExplainMechanism(
                        path=path,
                        name=path,
                        origin="setting",
                        kind=kind or key,
                        value=a,
                        neutral=b,
                        description=f"{path} = {a!r} (the reference has {b!r})",
                        source=source,
                        structural=False,
                    )
                )

    walk(parameters_mapping(reform.parameters), parameters_mapping(reference.parameters), "", "")
    return settings, fixed


def nothing_to_decompose(reform: Scenario, reference: Scenario, found: ReformMechanisms) -> str:
    """The message when a reform has no mechanism to switch against ``reference``."""
    why = [f"{reform.name}'s policies declare no mechanism that differs from {reference.name}"]
    why.append("no other scenario setting differs")
    if found.inactive:
        why.append("inactive: " + ", ".join(f"{m.path} ({m.reason})" for m in found.inactive))
    text = f"nothing to decompose: {'; '.join(why)}"
    if found.fixed:
        text += "; its whole effect comes from what cannot be switched off: " + ", ".join(
            f"{f.path} {f.reference!r} → {f.reform!r}" for f in found.fixed
        )
    return text


# ---------------------------------------------------------------------------
# The variants and the experiment
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One variant of the reform: its role, the mechanism it concerns and its overrides."""

    role: Literal["reference", "reform", "off", "alone", "neutral"]
    mechanism: str | None
    point: str  # the point it runs as (variants with equal parameters share a point)


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).lstrip("._-") or "scenario"


def build_explain(
    reform: Scenario,
    reference: Scenario,
    *,
    name: str | None = None,
    seed: int = 0,
    replications: int = DEFAULT_REPLICATIONS,
    days: int | None = None,
    outcomes: Sequence[str] = (),
    description: str = "",
) -> Experiment:
    """The explain experiment of ``reform`` against ``reference`` (every variant built).

    Raises:
        InputError: the two scenarios are the same, the reform has nothing to decompose,
            an outcome is unknown, or a neutral value is not accepted by its field.
    """
    for i, outcome in enumerate(outcomes):
        if not known_outcome(outcome):
            raise InputError(
                "unknown outcome",
                field=f"outcomes[{i}]",
                value=outcome,
                allowed=", ".join(OUTCOME_NAMES),
                suggestion=closest(outcome, list(OUTCOME_NAMES)),
            )
    if reform.digest == reference.digest:
        raise InputError(
            f"nothing to decompose: {reform.name} and {reference.name} give the model the same "
            "parameters"
        )
    found = reform_mechanisms(reform, reference)
    if not found.active:
        raise InputError(nothing_to_decompose(reform, reference, found))
    reform_point, reference_point = _safe(reform.name), _safe(reference.name)
    if reform_point == reference_point:
        reform_point, reference_point = "reform", "reference"
    neutral = {m.path: m.neutral for m in found.active}
    wanted: list[tuple[Variant, Scenario | None, dict[str, Any]]] = [
        (Variant("reference", None, reference_point), reference, {}),
        (Variant("reform", None, reform_point), reform, {}),
    ]
    for m in found.active:
        wanted.append((Variant("off", m.path, f"off.{m.path}"), None, {m.path: m.neutral}))
    for m in found.active:
        others = {p: v for p, v in neutral.items() if p != m.path}
        wanted.append((Variant("alone", m.path, f"alone.{m.path}"), None, others))
    wanted.append((Variant("neutral", None, ALL_NEUTRAL), None, dict(neutral)))

    points: list[Point] = []
    by_digest: dict[str, str] = {}
    variants: list[Variant] = []
    for variant, scenario, overrides in wanted:
        if scenario is None:
            try:
                scenario = apply_overrides(reform, overrides, name=variant.point)
            except InputError as exc:
                raise InputError(
                    f"{reform.name}: cannot switch {', '.join(overrides)} to neutral "
                    f"(variant {variant.point}): {exc}"
                ) from None
        elif scenario.name != variant.point:
            scenario = apply_overrides(scenario, {}, name=variant.point)
        point = by_digest.get(scenario.digest)
        if point is None:
            if any(p.point_id == variant.point for p in points):
                raise InputError(
                    f"a scenario is named {variant.point!r}, which explain uses for a variant; "
                    "rename the scenario"
                )
            point = by_digest[scenario.digest] = variant.point
            points.append(Point(variant.point, variant.point, _jsonable(overrides), scenario))
        variants.append(Variant(variant.role, variant.mechanism, point))
    plan = {
        "reform": reform_point,
        "reference": reference_point,
        "reform_scenario": reform.name,
        "reference_scenario": reference.name,
        "reform_file": None if reform.path is None else str(reform.path),
        "reference_file": None if reference.path is None else str(reference.path),
        "mechanisms": [_jsonable(asdict(m)) for m in found.active],
        "inactive": [asdict(m) for m in found.inactive],
        "fixed": [_jsonable(asdict(f)) for f in found.fixed],
        "variants": [asdict(v) for v in variants],
    }
    name = name or _safe(f"explain_{reform.name}_vs_{reference.name}")
    identity = {
        "kind": "explain",
        "reform": reform.digest,
        "reference": reference.digest,
        "seed": seed,
        "days": days,
        "variants": [(v.role, v.mechanism, v.point) for v in variants],
        "points": {p.point_id: p.digest for p in points},
    }
    spec = ExplainSpec(
        kind="explain",
        name=name,
        description=description
        or f"The effect of {reform.name} against {reference.name}, decomposed by mechanism.",
        seed=seed,
        replications=replications,
        days=days,
        outcomes=list(outcomes),
        reform=reform_point,
        reference=reference_point,
        plan=plan,
    )
    text = _record_text(spec, reform, reference, found)
    return Experiment(
        path=reform.path if reform.path is not None else Path(f"{name}.toml"),
        text=text,
        # replications are left out: more of them on --resume extend the same results
        digest=hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest(),
        spec=spec,
        scenarios={p.point_id: p.built for p in points},
        points=points,
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _record_text(
    spec: ExplainSpec, reform: Scenario, reference: Scenario, found: ReformMechanisms
) -> str:
    """What was run, as text for the manifest (not a file one runs)."""
    days = "" if spec.days is None else f" --days {spec.days}"
    reform_ref = str(reform.path) if reform.path else reform.name
    reference_ref = str(reference.path) if reference.path else reference.name
    lines = [
        "# microgov explain: the record of what was run (re-run with the command below)",
        f"# microgov explain {reform_ref} --against {reference_ref} "
        f"--replications {spec.replications} --seed {spec.seed}{days}",
        'kind = "explain"',
        f"name = {json.dumps(spec.name)}",
        f"reform = {json.dumps(reform.name)}  # digest {reform.digest}",
        f"reference = {json.dumps(reference.name)}  # digest {reference.digest}",
        f"seed = {spec.seed}",
        f"replications = {spec.replications}",
    ]
    if spec.days is not None:
        lines.append(f"days = {spec.days}")
    lines.append("")
    for m in found.active:
        lines.append(
            f"# {m.origin} {m.path}: {m.value!r} in the reform, neutral {m.neutral!r} ({m.source})"
        )
    for f in found.fixed:
        lines.append(f"# fixed {f.path}: {f.reference!r} → {f.reform!r} (stays on: structural)")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def run_explain(
    reform: Scenario,
    reference: Scenario,
    out: str | Path | None = None,
    *,
    replications: int = DEFAULT_REPLICATIONS,
    days: int | None = None,
    seed: int = 0,
    outcomes: Sequence[str] = (),
    name: str | None = None,
    executor: AnyExecutor | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    resume: bool = False,
    progress: Callable[[ProgressEvent], None] | None = None,
    run_fn: Callable[..., Any] | None = None,
) -> ExperimentReport:
    """Build and run the explain experiment of ``reform`` against ``reference``.

    Results go to ``out`` (default ``results/explain_<reform>_vs_<reference>/``); the
    other arguments are those of :func:`experiments.runner.run_experiment`. More
    replications on ``resume`` extend the stored ones.

    Raises:
        InputError: see :func:`build_explain`, and the runner's own checks.
    """
    experiment = build_explain(
        reform,
        reference,
        name=name,
        seed=seed,
        replications=replications,
        days=days,
        outcomes=outcomes,
    )
    folder = Path(out) if out is not None else default_folder(experiment.name)
    return run_experiment(
        experiment,
        folder,
        executor=executor,
        workers=workers,
        cluster=cluster,
        resume=resume,
        progress=progress,
        run_fn=run_fn,
    )


def explain_folder(compare_folder: str | Path, reform: str) -> Path:
    """Where a compare experiment keeps the explain results of ``reform``."""
    return Path(compare_folder) / EXPLAIN_FOLDER / _safe(reform)


def compare_explains(experiment: Experiment, replications: int | None = None) -> list[Experiment]:
    """The explain experiments a compare experiment asks for (its ``explain`` list).

    Each uses the compare's scenarios (with its overrides), seed, days and outcomes;
    ``replications`` defaults to the compare's.

    Raises:
        InputError: a listed reform has nothing to decompose against the reference.
    """
    spec = experiment.spec
    if not isinstance(spec, CompareSpec) or not spec.explain:
        return []
    reference = experiment.reference
    assert reference is not None
    explains = []
    for reform in spec.explain:
        try:
            explains.append(
                build_explain(
                    experiment.scenarios[reform],
                    experiment.scenarios[reference],
                    name=_safe(f"{experiment.name}.explain.{reform}"),
                    seed=spec.seed,
                    replications=replications or spec.replications,
                    days=spec.days,
                    outcomes=spec.outcomes,
                )
            )
        except InputError as exc:
            raise InputError(f"{experiment.path}: explain: {reform}: {exc}") from None
    return explains


def run_compare_explains(
    experiment: Experiment,
    folder: str | Path,
    *,
    replications: int | None = None,
    executor: AnyExecutor | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    resume: bool = False,
    progress: Callable[[ProgressEvent], None] | None = None,
    run_fn: Callable[..., Any] | None = None,
) -> list[ExperimentReport]:
    """Run the explains a compare experiment asks for into ``<folder>/explain/<reform>/``.

    Run after the compare itself (``replications``: the number it ended with); one
    executor serves them all.
    """
    explains = compare_explains(experiment, replications)
    if not explains:
        return []
    own = executor is None
    runner = executor or make_executor(workers=workers, cluster=cluster)
    reports = []
    try:
        for explain in explains:
            assert isinstance(explain.spec, ExplainSpec)
            reform = str(explain.spec.plan["reform_scenario"])
            reports.append(
                run_experiment(
                    explain,
                    explain_folder(folder, reform),
                    executor=runner,
                    resume=resume,
                    progress=progress,
                    run_fn=run_fn,
                )
            )
    finally:
        if own:
            runner.close()
    return reports


# ---------------------------------------------------------------------------
# The mechanism table
# ---------------------------------------------------------------------------

MECHANISM_COLUMNS: tuple[str, ...] = (
    "family",
    "kind",
    "mechanism",
    "parameter",
    "neutral",
    "default",
    "structural",
    "source",
    "description",
)


def registered_mechanisms(families: Iterable[str] = POLICY_BLOCKS) -> list[dict[str, Any]]:
    """Every mechanism of every registered policy (built-in and entry points): one row per
    mechanism with the columns :data:`MECHANISM_COLUMNS` (``default``: the policy's own
    default value of the parameter)."""
    rows: list[dict[str, Any]] = []
    for family in families:
        for kind in available_kinds(cast(Family, family)):
            try:
                cls = policy_class(cast(Family, family), kind)
            except PolicyError as exc:  # a broken plug-in must not hide the others
                logger.warning("%s kind %s: %s", family, kind, exc)
                continue
            rows.extend(_policy_rows(family, kind, cls))
    return rows


def scenario_mechanism_rows(scenario: Scenario) -> list[dict[str, Any]]:
    """The mechanisms of a scenario's policies: the columns of :data:`MECHANISM_COLUMNS`
    with ``parameter`` its dotted scenario path and ``value`` (its value in the scenario)
    in place of ``default``."""
    rows = []
    for located in scenario_mechanisms(scenario.parameters):
        m = located.mechanism
        rows.append(
            {
                "family": located.family,
                "kind": _policy_kind_at(scenario, located.path.rsplit(".", 1)[0]),
                "mechanism": m.name,
                "parameter": located.path,
                "neutral": m.neutral,
                "value": field_value(scenario, located.path),
                "structural": m.structural,
                "source": m.source,
                "description": m.description,
            }
        )
    return rows


def _policy_rows(family: str, kind: str, cls: type) -> list[dict[str, Any]]:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    rows = []
    for m in mechanisms_of(cls):
        field = fields.get(m.parameter)  # a parameter nested in a sub-table shows no default
        default = None if field is None or field.default is dataclasses.MISSING else field.default
        rows.append(
            {
                "family": family,
                "kind": kind,
                "mechanism": m.name,
                "parameter": m.parameter,
                "neutral": m.neutral,
                "default": default,
                "structural": m.structural,
                "source": m.source,
                "description": m.description,
            }
        )
    return rows


__all__ = [
    "ALL_NEUTRAL",
    "EXPLAIN_FOLDER",
    "MECHANISM_COLUMNS",
    "ExplainMechanism",
    "FixedDifference",
    "InactiveMechanism",
    "ReformMechanisms",
    "Variant",
    "build_explain",
    "compare_explains",
    "explain_folder",
    "nothing_to_decompose",
    "reform_mechanisms",
    "registered_mechanisms",
    "run_compare_explains",
    "run_explain",
    "scenario_mechanism_rows",
]
