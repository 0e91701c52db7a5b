"""Policies that wrap another policy of the same family (composition).

A reform such as 小事不出网格 (``grid_first``) or 吹哨报到 (``whistle``) acts on some
cases and passes the others on to an *inner* routing policy. In a scenario file the
inner policy is a nested block with its own ``kind``::

    [routing]
    kind = "grid_first"
    [routing.inner]
    kind = "integrated"

The registry turns the nested block into a policy instance before the outer policy
is validated (``model.policies.registry.resolve_policy``); the field type below also
accepts a bare kind name (``inner = "integrated"``) and checks that what it got can
route.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ValidationInfo

from model.policies.registry import imports_allowed, resolve_policy


def _inner_from_name(value: Any, info: ValidationInfo) -> Any:
    # ``inner = "integrated"`` is shorthand for ``[routing.inner] kind = "integrated"``.
    if isinstance(value, str):
        return resolve_policy("routing", {"kind": value}, imports_allowed(info.context))
    return value


def _can_route(value: Any) -> Any:
    if isinstance(value, type) or not callable(getattr(value, "route", None)):
        raise ValueError(
            f"the inner policy must be a routing policy (a block with a 'kind', e.g. "
            f'{{kind = "integrated"}}), got {value!r}'
        )
    return value


InnerRouting = Annotated[Any, BeforeValidator(_inner_from_name), AfterValidator(_can_route)]
"""Field type of a wrapped routing policy: a policy instance, a nested block or a kind name."""


def inner_queue_discipline(inner: Any) -> str | None:
    """The queue discipline a wrapped policy asks for (None: the scenario's own).

    The engine reads ``getattr(policy, "queue_discipline", None)`` on the outer policy
    only, so wrappers pass their inner policy's wish through (e.g. ``grid_first`` in
    front of ``immediate`` keeps deadline-first queues).
    """
    value = getattr(inner, "queue_discipline", None)
    return value if isinstance(value, str) else None
