"""Scenario files: reading, ``extends`` merging, validation, overrides and digests.

A scenario file is TOML whose tables are the fields of
:class:`model.parameters.ModelParameters` (see ``scenarios/README.md``). Rules:

- ``extends = "baseline.toml"`` (relative to the file) starts from the parent's
  mapping; the child's keys win and tables merge key by key. A table with a ``kind``
  (a policy block) whose ``kind`` changes replaces the parent's block instead: the
  old policy's parameters would mean nothing to the new one.
- ``name`` and ``description`` belong to one file and are not inherited; ``name``
  defaults to the file's stem.
- Every scenario sits on top of the model defaults with the same merge rule, so
  ``[departments.urban_management]`` with one key changes that key only and keeps the
  other departments (a dict field would otherwise replace the defaults wholesale).
- Validation is pydantic's; its errors become :class:`InputError` naming the file,
  the dotted field, the bad value and what is allowed (every error, not the first).

Overrides (``apply_overrides``) set dotted fields in a copy and re-validate; they are
how sweeps, sensitivity analysis and calibration vary a scenario.

Limits (issue 13): a scenario or experiment file must end in ``.toml`` (anything else
is refused unread, so an error can never show lines of ``/etc/passwd``), hold at most
:data:`MAX_FILE_BYTES` and nest tables and arrays at most :data:`MAX_NESTING` deep;
at most :data:`MAX_DESCRIBED_PROBLEMS` problems are described, the rest counted.
Files are trusted input: a policy ``kind = "package.module:Class"`` imports code,
unless the scenario is loaded with ``allow_imports=False`` (``--registered-kinds-only``).
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import hashlib
import json
import re
import tomllib
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
import numpy as np
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from experiments.errors import MISSING, InputError, closest
from model.mechanisms import POLICY_BLOCKS
from model.parameters import DepartmentParameters, ModelParameters
from model.places import build_layout
from model.policies.registry import policy_kind

# Keys that describe one file and are not inherited through ``extends``.
OWN_KEYS: tuple[str, ...] = ("name", "title", "description")
# Scenario files shipped with a source checkout (an editable install finds them here).
SCENARIOS_FOLDER = Path(__file__).resolve().parents[1] / "scenarios"

# The largest scenario or experiment file read (the shipped ones hold a few KiB).
MAX_FILE_BYTES = 1024 * 1024
# Deepest nesting of tables and arrays (the schema's deepest path, a policy wrapping a
# policy wrapping a policy, is four levels: routing.inner.inner.kind).
MAX_NESTING = 10
# Problems described in one error; more are only counted (describing each costs time).
MAX_DESCRIBED_PROBLEMS = 100

_DEFAULT_CASE_SHARE = DepartmentParameters.model_fields["case_share"].default
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


@dataclass(frozen=True)
class Scenario:
    """One validated scenario.

    Attributes:
        name: the scenario's name (the file's ``name`` key, else the file stem).
        path: the file it was read from, or None when built in memory.
        raw: the merged mapping after ``extends`` and overrides, as written in the
            files (model defaults not filled in; no ``extends`` key).
        parameters: the validated, frozen model parameters (``parameters.name == name``).
        digest: first 16 hex digits of the sha256 of the canonical JSON of the
            effective parameters (defaults filled in, policies with their ``kind``;
            ``name`` and ``description`` left out): equal digests ⇒ the model gets
            the same parameters.
        allow_imports: whether policy kinds may be ``module:Class`` references (which
            import code); False admits registered kinds only, here and in every
            scenario :func:`apply_overrides` derives from this one.
    """

    name: str
    path: Path | None
    raw: dict[str, Any]
    parameters: ModelParameters
    digest: str
    allow_imports: bool = True

    def __hash__(self) -> int:
        return hash((self.name, self.digest))

    @property
    def residents(self) -> int:
        """Number of residents in the scenario's population."""
        return build_layout(self.parameters).residents  # community types included

    def policy_kind(self, family: str) -> str:
        """Registry name (or import reference) of the scenario's policy of ``family``."""
        return policy_kind(getattr(self.parameters, family))

    @property
    def routing_kind(self) -> str:
        """Registry name of the routing policy (e.g. 'integrated')."""
        return self.policy_kind("routing")

    @property
    def consultation_kind(self) -> str:
        """Registry name of the consultation policy (e.g. 'council')."""
        return self.policy_kind("consultation")


# ---------------------------------------------------------------------------
# Reading and merging
# ---------------------------------------------------------------------------


def merge_tables(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``top`` over ``base`` (new dict; inputs untouched).

    Keys of ``top`` win; tables present in both merge recursively, except a policy
    block (a table with ``kind``) whose kind differs, which ``top`` replaces.
    """
    merged = copy.deepcopy(dict(base))
    for key, value in top.items():
        old = merged.get(key)
        if (
            isinstance(value, Mapping)
            and isinstance(old, Mapping)
            and not _kind_changes(old, value)
        ):
            merged[key] = merge_tables(old, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _kind_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return "kind" in new and old.get("kind", new["kind"]) != new["kind"]


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read one TOML file; syntax and I/O problems become :class:`InputError`."""
    path = Path(path)
    return parse_toml(read_toml_bytes(path), path)


def read_toml_bytes(path: str | Path) -> bytes:
    """The bytes of a ``.toml`` file of at most :data:`MAX_FILE_BYTES`.

    A file whose name does not end in ``.toml`` is refused before it is opened: its
    content is never read, so no message can show it.

    Raises:
        InputError: for another suffix, a missing or unreadable file, a folder, or a
            file larger than the cap.
    """
    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise InputError(
            "is not a valid scenario or experiment file: the name must end in .toml "
            "(the file was not read)",
            file=path,
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a TOML file", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"is larger than {MAX_FILE_BYTES // 1024**2} MiB, the most a scenario or "
            "experiment file may hold (the shipped ones hold a few KiB)",
            file=path,
        )
    return data


def parse_toml(data: bytes, path: str | Path) -> dict[str, Any]:
    """Decode and parse TOML bytes read from ``path``, and check their nesting depth."""
    try:
        # a byte-order mark (Windows editors write one) is skipped, not a syntax error
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(_toml_syntax_message(str(exc), text), file=path) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise _too_deep(path, None) from None
    _check_nesting(parsed, path)
    return parsed


def _check_nesting(data: dict[str, Any], path: str | Path) -> None:
    """Refuse tables and arrays nested deeper than :data:`MAX_NESTING` (iteratively: a
    recursive walk is what fails on such input)."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        node, depth, where = stack.pop()
        if depth > MAX_NESTING:
            raise _too_deep(path, where)
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(child, dict | list):
                label = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}"
                stack.append((child, depth + 1, label.lstrip(".")))


def _too_deep(path: str | Path, where: str | None) -> InputError:
    return InputError(
        f"tables or arrays are nested more than {MAX_NESTING} levels deep"
        + (f" (at {where[:80]})" if where else "")
        + "; no scenario or experiment field is that deep",
        file=path,
    )


def _toml_syntax_message(message: str, text: str) -> str:
    position = _TOML_POSITION.search(message)
    if not position:
        return f"TOML syntax error: {message}"
    line, column = int(position.group(1)), int(position.group(2))
    what = message[: position.start()]
    lines = text.splitlines()
    shown = f"; the line reads {lines[line - 1].strip()!r}" if 0 < line <= len(lines) else ""
    return f"TOML syntax error at line {line}, column {column}: {what}{shown}"


def load_mapping(path: str | Path) -> dict[str, Any]:
    """The merged mapping of a scenario file after following ``extends`` (no validation).

    ``name`` and ``description`` come from this file only; the ``extends`` key is removed.
    """
    return _load_merged(Path(path), ())


def _load_merged(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    own = read_toml(path)
    parent_ref = own.pop("extends", None)
    if parent_ref is None:
        return own
    parent = _parent_path(path, parent_ref)
    here = path.resolve()  # (read already, and _parent_path ruled out a loop of links)
    parent_resolved = parent.resolve()
    if parent_resolved in (*chain, here):
        names = [p.name for p in (*chain, here, parent_resolved)]
        raise InputError(
            "extends cycle: " + " → ".join(names), file=path, field="extends", value=parent_ref
        )
    inherited = _load_merged(parent, (*chain, here))
    for key in OWN_KEYS:
        inherited.pop(key, None)
    return merge_tables(inherited, own)


def _parent_path(path: Path, reference: Any) -> Path:
    if not isinstance(reference, str) or not reference.strip():
        raise InputError(
            "must be a file name",
            file=path,
            field="extends",
            value=reference,
            allowed='a .toml file path relative to this file, e.g. "baseline.toml"',
        )
    if not reference.lower().endswith(".toml"):
        # refused unread: a message must never show lines of another kind of file
        raise InputError(
            "must name a .toml file (other files are not read)",
            file=path,
            field="extends",
            value=reference,
            allowed='a .toml file path relative to this file, e.g. "baseline.toml"',
        )
    parent = path.parent / reference
    resolved(parent, file=path, field="extends", value=reference)  # a loop of links
    if not parent.is_file():
        siblings = sorted(p.name for p in path.parent.glob("*.toml") if p.name != path.name)
        raise InputError(
            f"no such file ({parent})",
            file=path,
            field="extends",
            value=reference,
            allowed=", ".join(siblings) or "a .toml file path relative to this file",
            suggestion=closest(reference, siblings),
        )
    return parent


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _default_mapping() -> dict[str, Any]:
    # Policies are left to the schema's own defaults: their blocks must not merge.
    return ModelParameters().model_dump(mode="python", exclude={*POLICY_BLOCKS, *OWN_KEYS})


def validate_mapping(
    raw: Mapping[str, Any],
    *,
    name: str,
    file: str | Path | None = None,
    allow_imports: bool = True,
) -> ModelParameters:
    """Validate a merged scenario mapping over the model defaults.

    ``allow_imports=False`` refuses policy kinds that are ``module:Class`` references
    (registered kinds only; ``model.policies.registry``).

    Raises:
        InputError: listing every problem, each with its dotted field (the first
            :data:`MAX_DESCRIBED_PROBLEMS` described, the others counted).
    """
    effective = merge_tables(_default_mapping(), {k: v for k, v in raw.items() if k != "extends"})
    effective["name"] = name
    problems = _new_department_problems(raw, file)
    omitted = 0
    try:
        parameters = ModelParameters.model_validate(
            effective, context={"allow_imports": allow_imports}
        )
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        room = max(0, MAX_DESCRIBED_PROBLEMS - len(problems))
        problems += [_pydantic_problem(error, file, effective) for error in errors[:room]]
        omitted = max(0, len(errors) - room)
    if problems:
        raise InputError.combine(problems, omitted=omitted)
    return parameters


def _new_department_problems(raw: Mapping[str, Any], file: str | Path | None) -> list[InputError]:
    """A department not among the defaults must say its ``case_share``: otherwise a typo
    in a department's name would silently add a department."""
    departments = raw.get("departments")
    if not isinstance(departments, Mapping):
        return []
    known = list(_default_mapping()["departments"])
    return [
        InputError(
            "is not a default department; to add a department, give its case_share",
            file=file,
            field=f"departments.{name}",
            allowed=", ".join(known),
            suggestion=closest(str(name), known),
        )
        for name, table in departments.items()
        if name not in known and not (isinstance(table, Mapping) and "case_share" in table)
    ]


def _pydantic_problem(
    error: Mapping[str, Any], file: str | Path | None, effective: Mapping[str, Any]
) -> InputError:
    loc = tuple(str(part) for part in error["loc"])
    field = ".".join(loc) or None
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input", MISSING)
    if isinstance(value, Mapping):
        value = MISSING  # a whole table is too long to show; the field names it
    if kind == "value_error" and loc and loc[0] in POLICY_BLOCKS and len(loc) == 1:
        # The registry's PolicyError message already names the kind, the bad key and
        # what is allowed (model/policies/registry.py); keep it as it is.
        return InputError(message, file=file, field=field)
    if kind == "extra_forbidden":
        keys = _allowed_keys(loc[:-1])
        return InputError(
            "unknown key",
            file=file,
            field=field,
            value=value,
            allowed=", ".join(keys),
            suggestion=closest(loc[-1], keys),
        )
    if kind == "missing":
        return InputError("is required", file=file, field=field, allowed=describe_field(loc))
    if kind == "value_error":
        if loc == ("departments",) and isinstance(effective.get("departments"), Mapping):
            message += "; case_share now: " + ", ".join(
                f"{name} {table.get('case_share', _DEFAULT_CASE_SHARE)}"
                for name, table in effective["departments"].items()
                if isinstance(table, Mapping)
            )
        # A validator's message already says what is wrong and what would do.
        return InputError(message, file=file, field=field, value=value)
    return InputError(message, file=file, field=field, value=value, allowed=describe_field(loc))


def _schema_at(loc: tuple[str, ...]) -> tuple[Any, list[Any]] | None:
    """Annotation and constraint metadata of the schema node at ``loc`` (None if unknown)."""
    annotation: Any = ModelParameters
    metadata: list[Any] = []
    for part in loc:
        base, extra = _unwrap(annotation)
        if isinstance(base, type) and issubclass(base, BaseModel):
            field = base.model_fields.get(part)
            if field is None:
                return None
            annotation, metadata = field.annotation, list(field.metadata)
        elif get_origin(base) is dict:
            annotation, metadata = get_args(base)[1], []
        else:
            return None
    base, extra = _unwrap(annotation)
    return base, metadata + extra


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` (and pydantic FieldInfo wrappers) into (type, constraints)."""
    metadata: list[Any] = []
    while get_origin(annotation) is typing.Annotated:
        annotation, *extra = get_args(annotation)
        for item in extra:
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return annotation, metadata


def _allowed_keys(loc: tuple[str, ...]) -> list[str]:
    node = _schema_at(loc)
    if node and isinstance(node[0], type) and issubclass(node[0], BaseModel):
        return list(node[0].model_fields)
    return []


def describe_field(loc: tuple[str, ...] | str) -> str:
    """What a schema field accepts, in words (e.g. 'an integer from 1 to 100'); '' if unknown."""
    if isinstance(loc, str):
        loc = tuple(loc.split("."))
    node = _schema_at(loc)
    if node is None:
        return ""
    annotation, metadata = node
    lower: Any = None
    upper: Any = None
    lower_open = upper_open = False
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            lower = item.ge
        elif isinstance(item, annotated_types.Gt):
            lower, lower_open = item.gt, True
        elif isinstance(item, annotated_types.Le):
            upper = item.le
        elif isinstance(item, annotated_types.Lt):
            upper, upper_open = item.lt, True
    if get_origin(annotation) is Literal:
        return ", ".join(repr(v) for v in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a table of " + ", ".join(annotation.model_fields)
    if get_origin(annotation) is dict:
        _, value_meta = _unwrap(get_args(annotation)[1])
        inner = describe_field((*loc, "*")) if value_meta else ""
        return "a table of name = value" + (f" ({inner} each)" if inner else "")
    noun = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        annotation, ""
    )
    if annotation is bool or not noun:
        return noun
    if lower is not None and upper is not None and not (lower_open or upper_open):
        return f"{noun} from {_num(lower)} to {_num(upper)}"
    bounds = []
    if lower is not None:
        bounds.append(f"{'>' if lower_open else '≥'} {_num(lower)}")
    if upper is not None:
        bounds.append(f"{'<' if upper_open else '≤'} {_num(upper)}")
    return noun + (" " + " and ".join(bounds) if bounds else "")


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------


def load_scenario(path: str | Path, *, allow_imports: bool = True) -> Scenario:
    """Read, merge (``extends``) and validate one scenario file.

    ``allow_imports=False`` admits registered policy kinds only: a ``module:Class`` kind
    is an error and imports nothing (for files that are not trusted).

    Raises:
        InputError: for an unreadable file, a TOML syntax error, a missing or cyclic
            ``extends``, or any invalid field (all of a file's field errors at once).
    """
    path = Path(path)
    raw = load_mapping(path)
    _not_an_experiment(raw, path)
    return scenario_from_mapping(raw, path=path, allow_imports=allow_imports)


_EXPERIMENT_KINDS = ("compare", "sweep", "sensitivity", "calibrate")
_EXPERIMENT_KEYS = ("scenarios", "scenario", "grid", "points", "sensitivity", "calibration")


def _not_an_experiment(raw: Mapping[str, Any], path: Path) -> None:
    """An experiment file given where a scenario is expected: said as such, with the
    command that runs it (it was read as a scenario with unknown keys)."""
    kind = raw.get("kind")
    if kind in _EXPERIMENT_KINDS:
        raise InputError(
            f"is an experiment file (kind = {kind!r}), not a scenario",
            file=path,
            allowed=f"`microgov {kind} {path}` runs it; give a scenario file here",
        )
    keys = [k for k in _EXPERIMENT_KEYS if k in raw]
    if keys and "kind" not in raw:
        raise InputError(
            f"looks like an experiment file without its kind (it has {', '.join(keys)}), "
            "not a scenario",
            file=path,
            field="kind",
            allowed="kind = "
            + " | ".join(repr(k) for k in _EXPERIMENT_KINDS)
            + " at the top of an experiment file",
        )


def scenario_from_mapping(
    raw: Mapping[str, Any],
    *,
    name: str | None = None,
    path: str | Path | None = None,
    allow_imports: bool = True,
) -> Scenario:
    """Build a scenario from an already merged mapping (no ``extends`` following).

    ``name`` defaults to the mapping's ``name``, else the file stem, else 'unnamed'.
    """
    path = None if path is None else Path(path)
    raw = {k: copy.deepcopy(v) for k, v in raw.items() if k != "extends"}
    bad_name = None
    if name is None and "name" in raw:
        if isinstance(raw["name"], str):
            name = raw["name"]
        else:
            bad_name = InputError(
                "must be a string", file=path, field="name", value=raw["name"], allowed="a string"
            )
    if name is None:
        name = path.stem if path is not None else "unnamed"
    try:
        parameters = validate_mapping(raw, name=name, file=path, allow_imports=allow_imports)
    except InputError as exc:
        if bad_name is None:
            raise
        raise InputError.combine([bad_name, *exc.all_problems()], omitted=exc.omitted) from None
    if bad_name is not None:
        raise bad_name
    return Scenario(
        name=name,
        path=path,
        raw=raw,
        parameters=parameters,
        digest=scenario_digest(parameters),
        allow_imports=allow_imports,
    )


def parameters_mapping(parameters: ModelParameters) -> dict[str, Any]:
    """Every parameter as plain JSON-ready data; policies as ``{"kind": ..., **fields}``.

    The result is itself a valid scenario mapping: validating it gives ``parameters`` back.
    """
    mapping = parameters.model_dump(mode="json", exclude=set(POLICY_BLOCKS))
    for field in POLICY_BLOCKS:
        mapping[field] = _policy_mapping(getattr(parameters, field))
    return mapping


def _policy_mapping(policy: Any) -> dict[str, Any]:
    block: dict[str, Any] = {"kind": policy_kind(policy)}
    for field in dataclasses.fields(policy):
        value = getattr(policy, field.name)
        block[field.name] = (
            _policy_mapping(value)
            if dataclasses.is_dataclass(value) and not isinstance(value, type)
            else _plain(value)
        )
    return block


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def scenario_digest(scenario: Scenario | ModelParameters | Mapping[str, Any]) -> str:
    """First 16 hex digits of the sha256 of the canonical JSON of the effective parameters.

    ``name`` and ``description`` are left out, so two files that give the model the same
    parameters share a digest. A mapping is hashed as given (canonical JSON, sorted keys).
    """
    if isinstance(scenario, Scenario):
        scenario = scenario.parameters
    if isinstance(scenario, ModelParameters):
        mapping: Mapping[str, Any] = {
            k: v for k, v in parameters_mapping(scenario).items() if k not in OWN_KEYS
        }
    else:
        mapping = scenario
    text = json.dumps(_plain(mapping), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def iter_scenario_files(folder: str | Path = SCENARIOS_FOLDER) -> Iterator[Path]:
    """The ``*.toml`` files of ``folder`` (not recursive), in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such folder", file=folder)
    yield from sorted(p for p in folder.glob("*.toml") if p.is_file())


def resolved(
    path: Path, *, file: Path | None = None, field: str | None = None, value: object = None
) -> Path:
    """``path.resolve()``, with a loop of symbolic links an :class:`InputError` naming the
    file that refers to it (``file``, else ``path``; pathlib raises ``RuntimeError``)."""
    try:
        return path.resolve(strict=True)
    except RuntimeError as exc:  # Python 3.12's word for a loop
        loop = str(exc)
    except OSError as exc:  # 3.13's: ELOOP (a missing file is left to the caller)
        if exc.errno != errno.ELOOP:
            return path.resolve()
        loop = exc.strerror or "too many levels of symbolic links"
    raise InputError(
        f"is a loop of symbolic links ({loop})", file=file or path, field=field, value=value
    )


def resolve_scenario_path(reference: str | Path) -> Path:
    """A scenario file from a path, or from a bare name found in ``./scenarios/`` or the
    project's ``scenarios/`` folder (``"classroom"`` → ``scenarios/classroom.toml``)."""
    path = Path(reference)
    if path.is_file():
        return path
    if path.is_dir():
        raise InputError("is a folder; give a scenario .toml file", file=path)
    if path.is_symlink():
        resolved(path)  # a loop of links is said as such, not as a missing file
    folders = [Path("scenarios"), SCENARIOS_FOLDER]
    if not path.suffix and len(path.parts) == 1:
        for folder in folders:
            candidate = folder / f"{path.name}.toml"
            if candidate.is_file():
                return candidate
    known = sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.toml")})
    raise InputError(
        "no such scenario file",
        file=path,
        allowed=("a .toml path or one of: " + ", ".join(known)) if known else "a .toml path",
        suggestion=closest(path.stem, known),
    )


# ---------------------------------------------------------------------------
# Dotted field paths and overrides
# ---------------------------------------------------------------------------


def field_paths(parameters: ModelParameters, *, tables: bool = False) -> list[str]:
    """Every settable dotted path of ``parameters`` (e.g. 'population.streets').

    Policy blocks contribute ``<field>.kind`` and their own parameters; ``tables``
    adds the paths of tables too ('population', 'departments.health').
    """
    paths: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        children = _children(node)
        if children is None:
            paths.append(prefix)
            return
        if tables and prefix:
            paths.append(prefix)
        for key, child in children.items():
            walk(child, f"{prefix}.{key}" if prefix else key)

    walk(parameters, "")
    return paths


def _children(node: Any) -> dict[str, Any] | None:
    """Named sub-nodes of a parameter node, or None for a leaf value."""
    if isinstance(node, BaseModel):
        return {name: getattr(node, name) for name in type(node).model_fields}
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return {"kind": policy_kind(node)} | {
            f.name: getattr(node, f.name) for f in dataclasses.fields(node)
        }
    if isinstance(node, Mapping):
        return {str(k): v for k, v in node.items()}
    return None


def _path_problem(parameters: ModelParameters, dotted: str, file: Path | None) -> InputError | None:
    """Why ``dotted`` is not a field of ``parameters``, or None when it is."""
    parts = dotted.split(".") if isinstance(dotted, str) else []
    if not parts or any(not p for p in parts):
        return InputError(
            "is not a dotted field path",
            file=file,
            field="(override)",
            value=dotted,
            allowed="e.g. 'population.streets' or 'routing.kind'",
        )
    node: Any = parameters
    for depth, part in enumerate(parts):
        children = _children(node)
        here = ".".join(parts[:depth])
        if children is None:
            return InputError(
                f"{here!r} is a value, not a table",
                file=file,
                field=dotted,
                allowed="a path ending at " + repr(here),
            )
        if part not in children:
            return InputError(
                "no such field",
                file=file,
                field=dotted,
                allowed=f"{here + ': ' if here else ''}{', '.join(children)}",
                suggestion=_closest_path(parameters, parts, depth, list(children)),
            )
        if part in OWN_KEYS and depth == 0:
            return InputError(
                "is not a model parameter",
                file=file,
                field=dotted,
                allowed="a field path such as 'population.streets'",
            )
        node = children[part]
    return None


def _closest_path(
    parameters: ModelParameters, parts: list[str], depth: int, siblings: list[str]
) -> str | None:
    """The valid path closest to a bad one: first repair the failing part, else compare
    whole paths."""
    fix = closest(parts[depth], siblings, cutoff=0.5)
    if fix is not None:
        repaired = ".".join([*parts[:depth], fix, *parts[depth + 1 :]])
        if _path_problem(parameters, repaired, None) is None:
            return repaired
    return closest(".".join(parts), field_paths(parameters, tables=True), cutoff=0.5)


def check_field_path(scenario: Scenario, dotted: str) -> None:
    """Check that ``dotted`` names a field of ``scenario`` (without setting a value).

    Used to check sweep and sensitivity factors before any run. A path inside a policy
    block must exist for the scenario's current policy ``kind``.

    Raises:
        InputError: naming the path, what exists at that level and the closest valid path.
    """
    problem = _path_problem(scenario.parameters, dotted, None)
    if problem is not None:
        raise problem


def field_value(scenario: Scenario | ModelParameters, dotted: str) -> Any:
    """The current value at ``dotted`` (policy parameters and ``<policy>.kind`` included).

    ``field_value(s, "consultation.base_logit")`` → -4.5; a table path gives the section,
    mapping or policy object.

    Raises:
        InputError: for a path that is not a field (with the closest valid path).
    """
    parameters = scenario.parameters if isinstance(scenario, Scenario) else scenario
    problem = _path_problem(parameters, dotted, None)
    if problem is not None:
        raise problem
    node: Any = parameters
    for part in dotted.split("."):
        node = (_children(node) or {})[part]
    return node


def apply_overrides(
    scenario: Scenario, overrides: Mapping[str, Any], name: str | None = None
) -> Scenario:
    """A copy of ``scenario`` with dotted fields set, re-validated.

    ``{"departments.urban_management.staff_per_100k_residents": 20, "routing.kind":
    "integrated"}``. A ``<policy>.kind`` that changes the kind replaces the policy block
    (like ``extends``), and is applied before the other overrides so that the new
    policy's parameters can be set in the same call. A mapping value merges into the
    table like a child file's table. numpy scalars are accepted. The copy keeps the
    scenario's ``allow_imports`` setting.

    Args:
        scenario: the scenario to start from (unchanged).
        overrides: dotted field path → value.
        name: the new scenario's name; defaults to the old one.

    Raises:
        InputError: for a path that is not a field (with the closest valid path) or a
            value the field does not accept.
    """
    name = scenario.name if name is None else name
    if not overrides:
        if name == scenario.name:
            return scenario
        return scenario_from_mapping(
            scenario.raw, name=name, path=scenario.path, allow_imports=scenario.allow_imports
        )
    first = {k: v for k, v in overrides.items() if _applies_first(k, v)}
    rest = {k: v for k, v in overrides.items() if k not in first}
    raw = copy.deepcopy(scenario.raw)
    parameters = scenario.parameters
    for group in (first, rest):
        if not group:
            continue
        problems = [p for k in group if (p := _path_problem(parameters, k, scenario.path))]
        if problems:
            raise InputError.combine(problems)
        for dotted, value in sorted(group.items(), key=lambda kv: kv[0].count(".")):
            _set_path(raw, parameters, dotted.split("."), _plain(value))
        parameters = validate_mapping(
            raw,
            name=name,
            file=_override_label(scenario),
            allow_imports=scenario.allow_imports,
        )
    return Scenario(
        name=name,
        path=scenario.path,
        raw=raw,
        parameters=parameters,
        digest=scenario_digest(parameters),
        allow_imports=scenario.allow_imports,
    )


def _override_label(scenario: Scenario) -> str:
    base = str(scenario.path) if scenario.path is not None else scenario.name
    return f"{base} (with overrides)"


def _applies_first(dotted: str, value: Any) -> bool:
    return dotted.split(".")[-1] == "kind" or isinstance(value, Mapping)


def _set_path(
    raw: dict[str, Any], parameters: ModelParameters, parts: list[str], value: Any
) -> None:
    """Set ``parts`` to ``value`` in ``raw``, creating the tables the file left out."""
    table = raw
    node: Any = parameters
    for part in parts[:-1]:
        node = (_children(node) or {})[part]
        child = table.get(part)
        if not isinstance(child, dict):
            # A policy block absent from the files runs on the schema default: name its kind
            # so that setting one parameter keeps the same policy.
            child = {"kind": policy_kind(node)} if _is_policy(node) else {}
            table[part] = child
        table = child
    last = parts[-1]
    if last == "kind":
        if table.get("kind") != value:
            table.clear()
        table["kind"] = value
    elif isinstance(value, Mapping) and isinstance(table.get(last), Mapping):
        table[last] = merge_tables(table[last], value)
    elif isinstance(value, Mapping) and _is_policy((_children(node) or {}).get(last)):
        old = _policy_mapping((_children(node) or {})[last])
        table[last] = merge_tables(old, value)
    else:
        table[last] = value


def _is_policy(node: Any) -> bool:
    return dataclasses.is_dataclass(node) and not isinstance(node, type | BaseModel)


__all__ = [
    "SCENARIOS_FOLDER",
    "InputError",
    "Scenario",
    "apply_overrides",
    "check_field_path",
    "describe_field",
    "field_paths",
    "field_value",
    "iter_scenario_files",
    "load_mapping",
    "load_scenario",
    "merge_tables",
    "parameters_mapping",
    "parse_toml",
    "read_toml",
    "read_toml_bytes",
    "resolve_scenario_path",
    "scenario_digest",
    "scenario_from_mapping",
    "validate_mapping",
]
