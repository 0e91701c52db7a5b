"""Calibration target files (``scenarios/targets/*.toml``): schema, loading and outcome checks.

A target file lists published figures the model should reproduce. Each target names
one *outcome* — a key of a run's summary (``model.outcomes``), not a free expression —,
the published value, its uncertainty or tolerance, a weight, the source id and the
period and reform it describes::

    title = "Pre-reform street baseline"

    [[targets]]
    name = "resolution_before_reform"   # unique in the file
    outcome = "resolution_share"        # a summary key of a run
    value = 0.53
    uncertainty = 0.05                  # standard uncertainty (one standard deviation)
    tolerance = 0.10                    # optional; default 2 × uncertainty
    weight = 1.0                        # optional; default 1
    source = "F8.1"
    place = "Beijing city hotline"      # optional
    period = "January 2019"
    reform = "before 接诉即办"           # the system or reform the figure describes
    group = "fit"                       # fit | holdout

Holdout targets never enter the objective; they are reported on their own table.

Outcome names are checked in two steps so that a file may name outcomes the model
gains later: :func:`load_targets` checks only their spelling (an identifier);
:func:`check_outcomes` checks them against the keys a run of the model at hand
actually reports (the first run's summary, see ``experiments.calibration``), and
fails for an unknown *fit* outcome with the closest known name. An unknown *holdout*
outcome only makes that holdout unavailable (it is listed as such), since it never
changes the fit.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from experiments.errors import InputError

GROUPS: tuple[str, ...] = ("fit", "holdout")
_IDENTIFIER = r"^[a-z][a-z0-9_]*$"
# Assumption: a tolerance not given is two standard uncertainties (≈ a 95 % band).
TOLERANCE_PER_UNCERTAINTY = 2.0


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Target(_Spec):
    """One published figure and how closely the model must meet it."""

    name: Annotated[str, Field(pattern=_IDENTIFIER)]
    outcome: Annotated[str, Field(pattern=_IDENTIFIER)]
    value: float
    uncertainty: Annotated[float, Field(gt=0)] | None = None
    tolerance: Annotated[float, Field(gt=0)] | None = None
    weight: Annotated[float, Field(ge=0)] = 1.0
    source: Annotated[str, Field(min_length=1)]
    place: str = ""
    period: Annotated[str, Field(min_length=1)]
    reform: Annotated[str, Field(min_length=1)]
    group: Literal["fit", "holdout"] = "fit"
    note: str = ""

    @model_validator(mode="after")
    def _scale_given(self) -> Target:
        if self.uncertainty is None and self.tolerance is None:
            raise ValueError("give 'uncertainty' (one standard deviation) or 'tolerance' or both")
        if not math.isfinite(self.value):
            raise ValueError("'value' must be a finite number")
        return self

    @property
    def scale(self) -> float:
        """The standard uncertainty that standardises the distance (tolerance / 2 if not given)."""
        if self.uncertainty is not None:
            return self.uncertainty
        assert self.tolerance is not None
        return self.tolerance / TOLERANCE_PER_UNCERTAINTY

    @property
    def band(self) -> float:
        """Half-width of the acceptable interval (2 × uncertainty if not given)."""
        if self.tolerance is not None:
            return self.tolerance
        assert self.uncertainty is not None
        return TOLERANCE_PER_UNCERTAINTY * self.uncertainty

    def record(self) -> dict[str, Any]:
        """Plain data for the results store (read by ``analysis.calibration``)."""
        return self.model_dump() | {"scale": self.scale, "band": self.band}


class TargetFileSpec(_Spec):
    """The whole file."""

    title: str = ""
    description: str = ""
    targets: Annotated[list[Target], Field(min_length=1)]


@dataclass(frozen=True)
class TargetSet:
    """A validated target file.

    Attributes:
        path: the file.
        sha256: sha256 of its bytes (recorded in the calibrated scenario's provenance).
        spec: the validated content.
    """

    path: Path
    sha256: str
    spec: TargetFileSpec

    @property
    def targets(self) -> list[Target]:
        """Every target, in file order."""
        return list(self.spec.targets)

    @property
    def fit(self) -> list[Target]:
        """The targets that enter the objective."""
        return [t for t in self.spec.targets if t.group == "fit"]

    @property
    def holdout(self) -> list[Target]:
        """The targets reported on their own, never in the objective."""
        return [t for t in self.spec.targets if t.group == "holdout"]

    def fit_digest(self) -> str:
        """sha256 of the fit targets only: what the fit depends on (checked on resume)."""
        text = json.dumps([t.model_dump() for t in self.fit], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def records(self) -> list[dict[str, Any]]:
        """Every target as plain data, in file order."""
        return [t.record() for t in self.spec.targets]


def load_targets(path: str | Path) -> TargetSet:
    """Read and validate a target file (outcome names are checked later, against a run).

    Raises:
        InputError: naming the file, the target (``targets[i]`` and its name) and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("target file not found", file=path)
    data = path.read_bytes()
    try:
        raw = tomllib.loads(data.decode("utf-8-sig"))  # a byte-order mark is skipped
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"not a valid TOML file: {exc}", file=path) from None
    try:
        spec = TargetFileSpec.model_validate(raw)
    except ValidationError as exc:
        raise InputError.combine(_problems(path, raw, exc)) from None
    seen: dict[str, int] = {}
    for i, target in enumerate(spec.targets):
        if target.name in seen:
            raise InputError(
                f"target name {target.name!r} is also used by targets[{seen[target.name]}]; "
                "names must be unique",
                file=path,
                field=f"targets[{i}].name",
            )
        seen[target.name] = i
    if not any(t.group == "fit" for t in spec.targets):
        raise InputError("no target has group = 'fit': a calibration needs at least one", file=path)
    return TargetSet(path=path, sha256=hashlib.sha256(data).hexdigest(), spec=spec)


def _problems(path: Path, raw: Any, exc: ValidationError) -> list[InputError]:
    problems = []
    entries = raw.get("targets") if isinstance(raw, dict) else None
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        where = ""
        for part in loc:
            where += f"[{part}]" if part.isdigit() else (f".{part}" if where else part)
        if len(loc) >= 2 and loc[0] == "targets" and loc[1].isdigit() and isinstance(entries, list):
            index = int(loc[1])
            entry = entries[index] if index < len(entries) else None
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                where += f" (target {entry['name']!r})"
        if err["type"] == "extra_forbidden":
            model: type[BaseModel] = Target if len(loc) > 2 else TargetFileSpec
            allowed = sorted(model.model_fields)
            problems.append(
                InputError(
                    "unknown key",
                    file=path,
                    field=where,
                    allowed=", ".join(allowed),
                    suggestion=_closest(loc[-1], allowed),
                )
            )
        elif err["type"] == "missing":
            problems.append(InputError("required key is missing", file=path, field=where))
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "literal_error":
                message = f"must be one of {', '.join(GROUPS)}"
            if err["type"] == "string_pattern_mismatch":
                message = "must be a lower-case identifier (letters, digits, '_')"
            problems.append(
                InputError(f"{message} (got {err.get('input')!r})", file=path, field=where)
            )
    return problems


def _closest(word: str, candidates: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def check_outcomes(targets: TargetSet, known: Iterable[str]) -> list[Target]:
    """Check target outcomes against the outcome names a run of the model reports.

    Args:
        targets: the target file.
        known: the keys of a run's summary (the first run of the calibration).

    Returns:
        The holdout targets whose outcome the model does not report (listed as unavailable).

    Raises:
        InputError: a fit target names an outcome the model does not report (every such
            target at once, each with the closest known name).
    """
    names = set(known)
    problems = []
    missing_holdouts = []
    for i, target in enumerate(targets.targets):
        if target.outcome in names:
            continue
        if target.group == "holdout":
            missing_holdouts.append(target)
            continue
        problems.append(
            InputError(
                "is not an outcome this model reports",
                file=targets.path,
                field=f"targets[{i}].outcome (target {target.name!r})",
                value=target.outcome,
                suggestion=_closest(target.outcome, sorted(names)),
            )
        )
    if problems:
        problems.append(
            InputError(
                "a target file may name outcomes the model has not gained yet: fix the names "
                "above, or move those targets to group = 'holdout' until the model reports them"
            )
        )
        raise InputError.combine(problems)
    return missing_holdouts


__all__ = [
    "GROUPS",
    "Target",
    "TargetFileSpec",
    "TargetSet",
    "check_outcomes",
    "load_targets",
]
