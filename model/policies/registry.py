"""One explicit registry per policy family, keyed by the scenario's ``kind``.

A ``kind`` is one of: a built-in name (``hierarchical``), a name registered by a
third-party package under the entry-point group ``microgov.routing`` /
``microgov.consultation``, or a ``"package.module:Class"`` reference.
The block's other keys are the policy's parameters, validated by pydantic
against the dataclass fields (unknown keys are errors).

A ``module:Class`` reference imports that module, i.e. runs its code: scenario files
are trusted input. Where they are not (the web view, ``--registered-kinds-only``),
validation runs with ``allow_imports=False`` — as an argument of :func:`resolve_policy`
or as the pydantic validation context ``{"allow_imports": False}`` of
``ModelParameters.model_validate`` — and only built-in and entry-point kinds resolve.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import typing
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from importlib.metadata import entry_points
from typing import Any, Literal, TypeVar, get_args

from pydantic import TypeAdapter, ValidationError

from model.policies.base import MediationPolicy

Family = Literal[
    "routing", "consultation", "accountability", "organisation", "projects", "mediation"
]
# The policy families, in scenario order: each is a scenario block holding one policy
FAMILIES: tuple[Family, ...] = get_args(Family)
_REGISTRIES: dict[Family, dict[str, type]] = {
    "routing": {},
    "consultation": {},
    "accountability": {},
    "organisation": {},
    "projects": {},
    "mediation": {},
}


def _protocol_methods(protocol: type) -> tuple[str, ...]:
    """The methods a policy protocol of model.policies.base declares."""
    return tuple(n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_"))


# the methods the engine calls on a policy of each family; a routing policy also has
# route(): the mediation protocol's other methods tell the two apart
_METHODS: dict[Family, tuple[str, ...]] = {
    "routing": ("route",),
    "consultation": ("convene",),
    "accountability": ("assess",),
    "organisation": ("on_duty",),
    "projects": ("propose",),
    "mediation": _protocol_methods(MediationPolicy),
}
T = TypeVar("T", bound=type)


class PolicyError(ValueError):
    """A policy block that cannot be turned into a policy; the message says why."""


def register(family: Family, kind: str) -> Callable[[T], T]:
    """Class decorator adding a built-in policy to its family's registry."""

    def add(cls: T) -> T:
        _REGISTRIES[family][kind] = cls
        return cls

    return add


def builtin_kinds(family: Family) -> list[str]:
    """The built-in kinds of a family (sorted)."""
    _load_builtins()
    return sorted(_REGISTRIES[family])


def available_kinds(family: Family) -> list[str]:
    """Built-in kinds plus those registered through entry points."""
    names = set(builtin_kinds(family))
    names.update(ep.name for ep in entry_points(group=f"microgov.{family}"))
    return sorted(names)


def _load_builtins() -> None:
    # Importing the implementation modules registers them (explicit list, no scanning).
    for module in (
        "model.policies.routing",
        "model.policies.consultation",
        "model.policies.whistle",
        "model.policies.immediate",
        "model.policies.grid_first",
        "model.policies.deliberation",
        "model.policies.accountability",
        "model.policies.organisation",
        "model.policies.micro_renewal",
        "model.policies.mediation",
    ):
        importlib.import_module(module)


def imports_allowed(context: Any) -> bool:
    """The ``allow_imports`` setting of a pydantic validation context (default: allowed)."""
    if isinstance(context, Mapping):
        return bool(context.get("allow_imports", True))
    return True


def policy_class(family: Family, kind: str, *, allow_imports: bool = True) -> type:
    """Find the class behind ``kind``; raise PolicyError naming what is allowed.

    With ``allow_imports=False`` a ``module:Class`` reference is refused before anything
    is imported; built-in and entry-point kinds still resolve.
    """
    _load_builtins()
    if ":" in kind and not allow_imports:
        raise PolicyError(
            f"{family} kind {kind!r} is a 'module:Class' reference, which would import code; "
            f"only registered kinds are allowed here: {', '.join(available_kinds(family))}"
        )
    if ":" in kind:
        module_name, _, attr = kind.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise PolicyError(
                f"cannot import module {module_name!r} for kind {kind!r}: {exc}"
            ) from None
        except Exception as exc:  # the plug-in's own code failed as it was imported
            raise PolicyError(
                f"module {module_name!r} for kind {kind!r} failed while it was imported: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        try:
            cls = getattr(module, attr)
        except AttributeError:
            raise PolicyError(f"module {module_name!r} has no attribute {attr!r}") from None
    elif kind in _REGISTRIES[family]:
        cls = _REGISTRIES[family][kind]
    else:
        matches = [ep for ep in entry_points(group=f"microgov.{family}") if ep.name == kind]
        if not matches:
            allowed = available_kinds(family)
            close = difflib.get_close_matches(kind, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PolicyError(
                f"unknown {family} kind {kind!r}{hint}; allowed: {', '.join(allowed)} "
                "or a 'package.module:Class' reference"
            )
        try:
            cls = matches[0].load()
        except Exception as exc:  # a broken third-party plug-in must not crash validation
            raise PolicyError(f"cannot load {family} plug-in {kind!r}: {exc}") from None
    if not (isinstance(cls, type) and is_dataclass(cls)):
        raise PolicyError(f"{family} kind {kind!r} is not a dataclass policy class")
    missing = [m for m in _METHODS[family] if not callable(getattr(cls, m, None))]
    if missing:
        raise PolicyError(
            f"{family} kind {kind!r} has no {', '.join(m + '()' for m in missing)} "
            f"method{'s' if len(missing) > 1 else ''}"
        )
    return cls


def resolve_policy(family: Family, block: Any, allow_imports: bool = True) -> Any:
    """Turn a scenario block ``{"kind": ..., **params}`` into a frozen policy instance.

    Already-built policy instances pass through unchanged. A parameter whose value
    is itself a block with a ``kind`` (e.g. ``grid_first``'s ``inner``) is resolved
    as a policy of the same family, so policies compose. ``allow_imports=False`` refuses
    ``module:Class`` kinds at every level (see :func:`policy_class`).
    """
    if not isinstance(block, Mapping):
        if is_dataclass(block) and not isinstance(block, type):
            return block
        raise PolicyError(f"a {family} block must be a table with a 'kind' key, got {block!r}")
    if "kind" not in block:
        raise PolicyError(
            f"the {family} block needs a 'kind' key; allowed: {', '.join(available_kinds(family))}"
        )
    kind = block["kind"]
    if not isinstance(kind, str):
        raise PolicyError(f"'kind' must be a string, got {kind!r}")
    cls = policy_class(family, kind, allow_imports=allow_imports)
    allowed_keys = [f.name for f in fields(cls)]
    for key in block:
        if key != "kind" and key not in allowed_keys:
            close = difflib.get_close_matches(str(key), allowed_keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PolicyError(
                f"{family} kind {kind!r} has no parameter {key!r}{hint}; "
                f"allowed: {', '.join(allowed_keys) or 'none'}"
            )
    params = {
        key: resolve_policy(family, value, allow_imports)
        if isinstance(value, Mapping) and "kind" in value
        else value
        for key, value in block.items()
        if key != "kind"
    }
    flags = [
        k
        for k in _flag_fields(cls)
        if k in params and params[k] is not None and not isinstance(params[k], bool)
    ]
    if flags:  # pydantic would read "no", "yes", 0 and 1 as booleans ("no" became false)
        raise PolicyError(
            f"{family} kind {kind!r}: "
            + "; ".join(f"{k}: must be true or false (got {params[k]!r})" for k in flags)
        )
    try:
        # the context reaches nested validators (composition.InnerRouting's kind names)
        return _adapter(cls).validate_python(params, context={"allow_imports": allow_imports})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or kind}: {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors()
        )
        raise PolicyError(f"{family} kind {kind!r}: {problems}") from None


@functools.cache
def _flag_fields(cls: type) -> tuple[str, ...]:
    """The fields of a policy dataclass typed ``bool``."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        return ()
    return tuple(
        f.name for f in fields(cls) if hints.get(f.name) is bool or hints.get(f.name) == bool | None
    )


@functools.cache
def _adapter(cls: type) -> TypeAdapter[Any]:
    """One pydantic validator per policy class (building one costs milliseconds)."""
    return TypeAdapter(cls)


def policy_kind(policy: Any) -> str:
    """The registry name of a policy instance (or its import reference)."""
    cls = type(policy)
    for family in _REGISTRIES.values():
        for kind, registered in family.items():
            if registered is cls:
                return kind
    return f"{cls.__module__}:{cls.__qualname__}"
