"""Routes computed once per distinct case, for policies that declare what they read (issue 11).

A routing or mediation policy may declare, in its own class body, ``ROUTE_FIELDS``: the
:class:`~model.policies.base.CaseView` fields its ``route`` reads (the promise is in
``model/policies/base.py``, "Memoized routes"). The case lifecycle then keeps one
:class:`RouteMemo` per such policy: the route of a case is looked up by a key made from
the case's raw columns for those fields, and the policy is asked (with a fresh
:class:`CaseView`) only the first time a key is seen. A policy without the declaration is
called for every case, as before. Routes are frozen value objects, so one can serve many
cases; the results are the same bit for bit (tests/test_route_memo.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from model.policies.base import CaseView, Route

ROUTE_FIELDS = "ROUTE_FIELDS"
"""Name of the optional class attribute that declares the CaseView fields a route reads."""

CASE_VIEW_FIELDS = tuple(f.name for f in dataclasses.fields(CaseView))

# The raw case column that determines each CaseView field (the lifecycle's case_view):
# the enforcement flag is a function of the departments, the time limit of the case type,
# the street of the community. A key of these columns is exact for the fields.
_COLUMN_OF = {
    "case_id": "number",
    "case_type": "case_type",
    "time_limit_working_days": "case_type",
    "source": "source",
    "departments": "departments",
    "enforcement": "departments",
    "grid": "grid",
    "community": "community",
    "street": "street",
    "minor": "minor",
    "repeat": "repeat",
    "severity": "severity",
    "returns": "returns",
    "work_hours": "work",
}


class RouteFieldsError(ValueError):
    """A policy's ``ROUTE_FIELDS`` names something that is not a CaseView field."""


def declared_route_fields(policy: object) -> tuple[str, ...] | None:
    """The CaseView fields ``policy`` declares its route reads, or None (it is called every time).

    Read from the policy's own class body only, not inherited: a subclass may change what
    ``route`` reads (a draw from ``rng``, a live system array), so it must declare again.
    """
    fields = type(policy).__dict__.get(ROUTE_FIELDS)
    if fields is None:
        return None
    name = type(policy).__name__
    if isinstance(fields, str) or not isinstance(fields, Sequence):
        raise RouteFieldsError(
            f"{name}.{ROUTE_FIELDS} must be a tuple of CaseView field names, got {fields!r}"
        )
    for field in fields:
        if field not in _COLUMN_OF:
            raise RouteFieldsError(
                f"{name}.{ROUTE_FIELDS} names {field!r}, which is not a CaseView field; "
                f"allowed: {', '.join(CASE_VIEW_FIELDS)}"
            )
    return tuple(fields)


def key_columns(fields: Sequence[str]) -> tuple[str, ...]:
    """The raw columns whose values make an exact key for ``fields`` (in a fixed order,
    without a column implied by a finer one)."""
    columns = {_COLUMN_OF[f] for f in fields}
    # the community is a function of the grid, the street of the community
    if "grid" in columns:
        columns -= {"community", "street"}
    elif "community" in columns:
        columns.discard("street")
    return tuple(c for c in dict.fromkeys(_COLUMN_OF.values()) if c in columns)


KeyPart = tuple[Sequence[Any], Sequence[Any] | None, Sequence[Any] | None]
"""Where one value of a case's key is read: ``column[row]``, then looked up in the second
entry and in the third where they are not None (a grid's community, a community's street)."""


class RouteMemo:
    """The routes of one policy by key: ``route(cid)`` computes a case's route once per key.

    Args:
        key: the key of a case, for a memo without ``parts`` (then every look-up goes
            through ``route``); None with ``parts``.
        fresh: the route of a case computed by the policy (a fresh CaseView each time).
        parts: where the key reads each value (:func:`key_parts`, a tuple); the key is
            then made from them (:func:`key_function`), and the lifecycle, which makes the
            same key from them (in C where compiled), finds memo hits in ``routes`` and
            keeps a miss's route there itself. Replacing ``key`` or ``parts`` later is not
            supported.

    Raises:
        ValueError: both ``key`` and ``parts`` given, or neither.
    """

    __slots__ = ("fresh", "key", "parts", "routes")

    def __init__(
        self,
        key: Callable[[int], Hashable] | None,
        fresh: Callable[[int], Route],
        parts: tuple[KeyPart, ...] | None = None,
    ) -> None:
        if parts is not None and key is None:
            key = key_function(parts)
        elif key is None or parts is not None:
            raise ValueError(
                "a route memo takes a key, or the parts its key is made from (key None), "
                "not both and not neither"
            )
        self.key = key
        self.fresh = fresh
        self.parts = parts
        self.routes: dict[Hashable, Route] = {}

    def route(self, cid: int) -> Route:
        """The route of case ``cid``: the memoized one of its key, else the policy's."""
        key = self.key(cid)
        route = self.routes.get(key)
        if route is None:
            route = self.routes[key] = self.fresh(cid)
        return route


def key_parts(
    fields: Sequence[str], cases: Any, grid_community: Any, community_street: Any
) -> tuple[KeyPart, ...]:
    """Where each value of a case's key for ``fields`` is read (:data:`KeyPart`), in the
    key's order (``cases`` is a :class:`model.casework.CaseTable`; its columns grow in
    place, so they can be held)."""
    parts: list[KeyPart] = []
    for column in key_columns(fields):
        if column == "community":
            parts.append((cases.grid, grid_community, None))
        elif column == "street":
            parts.append((cases.grid, grid_community, community_street))
        else:
            parts.append((getattr(cases, column), None, None))
    return tuple(parts)


def readable_parts(parts: object) -> bool:
    """Whether the lifecycle may make a key from ``parts`` itself: a tuple of
    :data:`KeyPart` tuples, as :func:`key_parts` makes them (else it asks ``route``)."""
    return type(parts) is tuple and all(type(p) is tuple and len(p) == 3 for p in parts)


def key_function(parts: Sequence[KeyPart]) -> Callable[[int], Hashable]:
    """The key of a case row read from ``parts`` (:func:`key_parts`): the one value of a
    single part, else the tuple of the values."""
    getters: list[Callable[[int], Hashable]] = []
    for column, through, then in parts:
        if through is None:
            getters.append(column.__getitem__)
        else:
            getters.append(_looked_up(column, through, then))
    # a tuple display of the getters' calls: no list to build and convert per key (issue 11,
    # eighth round); the same tuple as the general form below
    if len(getters) == 1:
        return getters[0]
    if len(getters) == 2:
        a, b = getters
        return lambda cid: (a(cid), b(cid))
    if len(getters) == 3:
        a, b, c = getters
        return lambda cid: (a(cid), b(cid), c(cid))
    if len(getters) == 4:
        a, b, c, d = getters
        return lambda cid: (a(cid), b(cid), c(cid), d(cid))
    return lambda cid: tuple([get(cid) for get in getters])


def _looked_up(
    column: Sequence[Any], through: Sequence[Any], then: Sequence[Any] | None
) -> Callable[[int], Hashable]:
    """A key part's getter through one or two look-ups (a grid's community, its street)."""
    if then is None:
        return lambda cid: through[column[cid]]
    return lambda cid: then[through[column[cid]]]
