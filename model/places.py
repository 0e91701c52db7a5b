"""Where residents live: streets and towns, community types and their grids (F6.1).

:func:`build_layout` turns ``population`` and ``community_types`` into one
:class:`Layout`: the type of every street and community, every grid's size, and per
community the resolved :class:`Place` (geometry, age profile, travel, problem rates).
Without ``population.street_types`` every street is the one default place of the
``population`` fields, laid out exactly as before community types existed (grids of
``residents_per_grid``, ``grids_per_community`` per community): the street baseline.

:func:`demand_weights` gives the demand generator each resident's relative need rate
and case mix, and the public-space problems' weights per grid; the case mixes are
fitted so that the scenario's overall mix stays ``demand.case_type_shares`` (F2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from model.cases import REPORTED_TYPES
from model.geography import Geography

if TYPE_CHECKING:
    from model.parameters import ModelParameters

DEFAULT_PLACE = "default"  # the type name of streets when a scenario names none
_MIX_ITERATIONS = 200  # iterative proportional fitting of the case mixes (converges fast)


@dataclass(frozen=True)
class Place:
    """A community type as resolved for one street: everything a community of it needs."""

    name: str
    grids_per_community: int
    residents_per_grid: int
    residents_per_building: int
    age_group_shares: tuple[float, ...]  # in the order of population.age_group_shares
    grid_travel_hours: float
    department_travel_hours: float
    need_rate_multiplier: float
    public_problem_rate_multiplier: float
    case_type_multipliers: tuple[float, ...]  # in the order of REPORTED_TYPES


@dataclass(frozen=True)
class Layout:
    """Streets, communities and grids of one scenario.

    Attributes:
        street_type: per street, its type's name.
        places: the distinct resolved places; ``community_place`` indexes them.
        community_place: per community, the index of its place in ``places``.
        community_street: per community, its street.
        grid_community: per grid, its community.
        grid_residents: per grid, its residents.
    """

    street_type: tuple[str, ...]
    places: tuple[Place, ...]
    community_place: np.ndarray
    community_street: np.ndarray
    grid_community: np.ndarray
    grid_residents: np.ndarray

    @property
    def n_streets(self) -> int:
        return len(self.street_type)

    @property
    def n_communities(self) -> int:
        return int(self.community_street.shape[0])

    @property
    def n_grids(self) -> int:
        return int(self.grid_community.shape[0])

    @property
    def residents(self) -> int:
        return int(self.grid_residents.sum())

    @property
    def typed(self) -> bool:
        """Whether the scenario names community types (else one default place)."""
        return self.places[0].name != DEFAULT_PLACE

    @property
    def grid_place(self) -> np.ndarray:
        """Per grid, the index of its community's place."""
        return self.community_place[self.grid_community]

    def grid_values(self, attribute: str) -> np.ndarray:
        """Per grid, a numeric attribute of its place (e.g. ``"grid_travel_hours"``)."""
        values = np.array([float(getattr(p, attribute)) for p in self.places])
        return values[self.grid_place]


def street_counts(counts: dict[str, int], streets: int) -> list[tuple[str, int]]:
    """Streets of each type: ``counts`` as given when they total ``streets``, else scaled to
    ``streets`` by largest remainder (a scaled-down run keeps the mix), in the given order."""
    total = sum(counts.values())
    if total == streets:
        return list(counts.items())
    exact = np.array(list(counts.values()), dtype=float) * streets / total
    whole = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - whole), kind="stable")[: streets - int(whole.sum())]:
        whole[k] += 1
    return list(zip(counts, whole.tolist(), strict=True))


def _share_counts(shares: dict[str, float], n: int) -> list[tuple[str, int]]:
    """Communities of each embedded type among ``n`` (largest remainder, at most ``n``)."""
    exact = np.array(list(shares.values()), dtype=float) * n
    whole = np.floor(exact).astype(int)
    spare = round(min(float(exact.sum()), float(n))) - int(whole.sum())
    for k in np.argsort(-(exact - whole), kind="stable")[: max(spare, 0)]:
        whole[k] += 1
    return list(zip(shares, whole.tolist(), strict=True))


def build_layout(parameters: ModelParameters) -> Layout:
    """The streets, communities and grids of ``parameters`` (see the module docstring)."""
    pop = parameters.population
    ages = tuple(pop.age_group_shares.values())
    default = Place(
        name=DEFAULT_PLACE,
        grids_per_community=pop.grids_per_community,
        residents_per_grid=pop.residents_per_grid,
        residents_per_building=pop.residents_per_building,
        age_group_shares=ages,
        grid_travel_hours=0.0,
        department_travel_hours=0.0,
        need_rate_multiplier=1.0,
        public_problem_rate_multiplier=1.0,
        case_type_multipliers=(1.0,) * len(REPORTED_TYPES),
    )
    types = parameters.community_types
    if not pop.street_types:
        cps = pop.communities_per_street
        communities = pop.streets * cps
        grids = communities * pop.grids_per_community
        return Layout(
            street_type=(DEFAULT_PLACE,) * pop.streets,
            places=(default,),
            community_place=np.zeros(communities, dtype=np.int32),
            community_street=np.repeat(np.arange(pop.streets, dtype=np.int32), cps),
            grid_community=np.repeat(
                np.arange(communities, dtype=np.int32), pop.grids_per_community
            ),
            grid_residents=np.full(grids, pop.residents_per_grid, dtype=np.int64),
        )
    places: dict[tuple[str, str], Place] = {}

    def resolve(name: str, street: Place) -> Place:
        kind = types[name]
        key = (street.name, name)
        if key not in places:
            mix = tuple(
                m * kind.case_type_multipliers.get(t, 1.0)
                for m, t in zip(street.case_type_multipliers, REPORTED_TYPES, strict=True)
            )
            places[key] = Place(
                name=name,
                grids_per_community=_pick(kind.grids_per_community, street.grids_per_community),
                residents_per_grid=_pick(kind.residents_per_grid, street.residents_per_grid),
                residents_per_building=_pick(
                    kind.residents_per_building, street.residents_per_building
                ),
                age_group_shares=tuple(kind.age_group_shares[g] for g in pop.age_group_shares)
                if kind.age_group_shares is not None
                else street.age_group_shares,
                grid_travel_hours=_pick(kind.grid_travel_hours, street.grid_travel_hours),
                department_travel_hours=_pick(
                    kind.department_travel_hours, street.department_travel_hours
                ),
                need_rate_multiplier=street.need_rate_multiplier * kind.need_rate_multiplier,
                public_problem_rate_multiplier=street.public_problem_rate_multiplier
                * kind.public_problem_rate_multiplier,
                case_type_multipliers=mix,
            )
        return places[key]

    street_type: list[str] = []
    community_place: list[Place] = []
    community_street: list[int] = []
    for name, count in street_counts(dict(pop.street_types), pop.streets):
        own = resolve(name, default)
        n = _pick(types[name].communities_per_street, pop.communities_per_street)
        embedded = _share_counts(dict(types[name].community_shares), n)
        kinds = [own] * (n - sum(k for _, k in embedded))
        for other, k in embedded:
            kinds += [resolve(other, own)] * k
        for _ in range(count):
            community_street += [len(street_type)] * n
            street_type.append(name)
            community_place += kinds
    distinct = list(dict.fromkeys(community_place))
    index = {place: i for i, place in enumerate(distinct)}
    grids_each = np.array([p.grids_per_community for p in community_place], dtype=np.int64)
    per_grid = np.repeat([p.residents_per_grid for p in community_place], grids_each)
    return Layout(
        street_type=tuple(street_type),
        places=tuple(distinct),
        community_place=np.array([index[p] for p in community_place], dtype=np.int32),
        community_street=np.array(community_street, dtype=np.int32),
        grid_community=np.repeat(np.arange(len(community_place), dtype=np.int32), grids_each),
        grid_residents=per_grid.astype(np.int64),
    )


def _pick[T: (int, float)](value: T | None, inherited: T) -> T:
    return inherited if value is None else value


@dataclass(frozen=True)
class DemandWeights:
    """What the demand generator needs of the places (None of it for the default place).

    Attributes:
        resident_cdf: cumulative relative need rate over residents (a need's resident is
            drawn in proportion to it); its last value is the residents' total weight.
        resident_place: per resident, the row of ``type_cdf`` of their community's place.
        type_cdf: per place, the cumulative case-type mix over REPORTED_TYPES.
        public_weight: the public-space problems' rate relative to the default place,
            summed over residents (their number scales with it).
        public_grid_cdf: cumulative public-problem weight over grids (where one arises).
    """

    resident_cdf: np.ndarray
    resident_place: np.ndarray
    type_cdf: np.ndarray
    public_weight: float
    public_grid_cdf: np.ndarray


def demand_weights(
    layout: Layout, resident_grid: np.ndarray, case_type_shares: dict[str, float]
) -> DemandWeights | None:
    """Per-resident need weights and per-place case mixes of ``layout`` (None when untyped).

    The mixes are ``shares × type multipliers``, rescaled per case type by iterative
    proportional fitting so that the need-weighted mix over all places equals
    ``case_type_shares`` (F2): types are relative, the scenario's mix stays.
    """
    if not layout.typed or _alike(layout):
        return None
    grid_place = layout.grid_place
    resident_place = grid_place[resident_grid].astype(np.int32)
    need = np.array([p.need_rate_multiplier for p in layout.places])
    public = np.array([p.public_problem_rate_multiplier for p in layout.places])
    residents_per_place = np.bincount(
        grid_place, weights=layout.grid_residents, minlength=len(layout.places)
    )
    base = np.array([case_type_shares.get(t, 0.0) for t in REPORTED_TYPES])
    base = base / base.sum()
    mix = base * np.array([p.case_type_multipliers for p in layout.places])
    weight = residents_per_place * need
    if weight.sum() > 0:
        weight = weight / weight.sum()
        for _ in range(_MIX_ITERATIONS):
            rows = mix / np.maximum(mix.sum(axis=1, keepdims=True), 1e-300)
            overall = weight @ rows
            with np.errstate(divide="ignore", invalid="ignore"):
                mix = mix * np.where(overall > 0, base / overall, 1.0)
    rows = mix / np.maximum(mix.sum(axis=1, keepdims=True), 1e-300)
    empty = mix.sum(axis=1) <= 0  # every type weighted 0: the scenario's own mix
    rows[empty] = base
    grid_public = layout.grid_residents * public[grid_place]
    return DemandWeights(
        resident_cdf=np.cumsum(need[resident_place]),
        resident_place=resident_place,
        type_cdf=np.cumsum(rows, axis=1),
        public_weight=float(grid_public.sum()),
        public_grid_cdf=np.cumsum(grid_public),
    )


def _alike(layout: Layout) -> bool:
    """Whether every resident has the same needs and every grid the same public problems:
    the places differ in nothing the demand generator draws (so it draws as untyped)."""
    return (
        all(p.need_rate_multiplier == 1.0 for p in layout.places)
        and all(set(p.case_type_multipliers) == {1.0} for p in layout.places)
        and all(p.public_problem_rate_multiplier == 1.0 for p in layout.places)
        and len({p.residents_per_grid for p in layout.places}) == 1
    )


def place_geography(
    layout: Layout, resident_grid: np.ndarray, weights: DemandWeights | None
) -> Geography:
    """The geography the case lifecycle is given: the hierarchy, and per grid the travel
    of its place (left empty when no place travels beyond the street baseline)."""
    grid_travel = layout.grid_values("grid_travel_hours")
    department_travel = layout.grid_values("department_travel_hours")
    travels = bool(grid_travel.any() or department_travel.any())
    return Geography(
        resident_grid=resident_grid.tolist(),
        resident_grids=np.ascontiguousarray(resident_grid, dtype=np.int32),
        grid_community=layout.grid_community.tolist(),
        community_street=layout.community_street.tolist(),
        grid_travel_hours=grid_travel.tolist() if travels else [],
        department_travel_hours=department_travel.tolist() if travels else [],
        public_grid_cdf=weights.public_grid_cdf if weights is not None else np.zeros(0),
    )


def place_outcomes(
    layout: Layout,
    grid: np.ndarray,
    durations: np.ndarray,
    by_grid: Callable[[str], np.ndarray | int],
) -> dict[str, float]:
    """Per community type (typed scenarios only), over the measured cases: the median
    resolution time, the on-time share and the satisfaction share.

    Args:
        grid: per measured case, its grid.
        durations: per measured case, days to closure (+inf while open).
        by_grid: counts of measured cases per grid (``model.case_tallies.TALLIES``), by
            name: ``on_time_by_grid`` (closed within the limit), ``counted_by_grid``
            (closed or already overdue: the on-time share's denominator),
            ``satisfied_by_grid`` and ``rated_by_grid``.
    """
    if not layout.typed:
        return {}
    grid_place = layout.grid_place
    place = grid_place[grid] if grid.size else np.zeros(0, dtype=np.int32)
    n_grids = grid_place.size

    def per_grid(name: str) -> np.ndarray:
        counts = np.atleast_1d(np.asarray(by_grid(name), dtype=np.int64))[:n_grids]
        return np.pad(counts, (0, n_grids - counts.size))

    on_time, counted = per_grid("on_time_by_grid"), per_grid("counted_by_grid")
    satisfied, rated = per_grid("satisfied_by_grid"), per_grid("rated_by_grid")
    summary: dict[str, float] = {}
    for name in dict.fromkeys(p.name for p in layout.places):
        ids = [k for k, p in enumerate(layout.places) if p.name == name]
        mine = np.isin(place, ids)
        here = np.isin(grid_place, ids)
        median = float(np.median(durations[mine])) if mine.any() else float("nan")
        summary[f"place_resolution_time_median_days_{name}"] = (
            median if np.isfinite(median) else float("nan")
        )
        n_counted, n_rated = int(counted[here].sum()), int(rated[here].sum())
        summary[f"place_on_time_share_{name}"] = (
            float(on_time[here].sum() / n_counted) if n_counted else float("nan")
        )
        summary[f"place_satisfaction_share_{name}"] = (
            float(satisfied[here].sum() / n_rated) if n_rated else float("nan")
        )
    return summary
