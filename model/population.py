"""Who the residents are and whom they know, as arrays (docs/design.md "Residents at scale").

Per-resident state that changes every day (trust, engagement) lives in numpy
arrays; :class:`model.agents.Resident` agents read and write their own row.
Social ties are a sparse 0/1 matrix so that trust diffusion is one sparse
matrix-vector product per day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from model.allocation import without_hugepage_advice
from model.engine_backend import compiled_engine
from model.parameters import PopulationParameters, SocialParameters
from model.places import Layout

if TYPE_CHECKING:
    from model.far_tie_trial import FarTieTrial
    from model.trust_diffusion import TiesByDegree

_ENGINE = compiled_engine()  # None: the pure-Python engine asked for, or not built


@dataclass
class Population:
    """Residents as columns. Index = resident id."""

    grid: np.ndarray  # int32
    community: np.ndarray  # int32
    street: np.ndarray  # int32
    building: np.ndarray  # int32
    household: np.ndarray  # int32
    age_group: np.ndarray  # int8 index into age_groups
    age_groups: tuple[str, ...]
    party_member: np.ndarray  # bool
    volunteer: np.ndarray  # bool: party member organised into the grid (党员编组入网)
    trust: np.ndarray  # float64 in [0, 1]
    # float64 in [0, 1]: one's own settled view, from one's own experience; daily trust is
    # pulled back to it, neighbours move trust only for a while (assumption)
    disposition: np.ndarray
    ties: sp.csr_matrix  # symmetric 0/1 social ties
    influence: sp.csr_matrix  # row-normalised ties (mean of neighbours' trust), float32
    isolated: np.ndarray  # bool: residents without ties (no neighbours to learn from)
    # work space of the daily trust product (GovernanceModel._diffuse_trust): trust as
    # float32 and the share kept, filled each day rather than allocated (issue 11)
    trust32: np.ndarray = field(init=False, repr=False)
    kept: np.ndarray = field(init=False, repr=False)
    # the neighbours' means: the reference's product result, zeroed in place each day
    # (model/sparse_product.py; eighth round), or the compiled step's, written row by row
    neighbours32: np.ndarray = field(init=False, repr=False)
    # the rows of ``isolated``, found once: the ties never change (issue 11, seventh round)
    isolated_rows: np.ndarray = field(init=False, repr=False)
    # each row's one stored value of ``influence`` (float32), when the compiled trust step
    # can run on it (model/trust_diffusion.py; issue 11, eleventh round), else None; and the
    # matrix they were read from (a matrix put in its place later takes the reference)
    row_weight: np.ndarray | None = field(init=False, repr=False)
    weighted_influence: sp.csr_matrix | None = field(init=False, repr=False)
    # the ties grouped by degree for the compiled step, made on its first day (district:
    # 44 MB, the ties' indices once more and a row order and weight per resident,
    # model/trust_diffusion.py, thirteenth round; and, where the far ties' gathered layout
    # is kept, 29 MB for the 2.0 M far ties' residents and slots and the grouping's own work
    # space, twenty-fourth round, which leaves ``trust32`` to the numpy reference)
    ties_by_degree: TiesByDegree | None = field(init=False, repr=False)
    # while the step's first days time the far ties gathered against read in place (the
    # same bits; model/far_tie_trial.py, thirty-sixth round): both layouts, else None
    far_tie_trial: FarTieTrial | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.trust32 = np.empty(self.trust.shape[0], dtype=np.float32)
        self.kept = np.empty(self.trust.shape[0], dtype=np.float64)
        self.neighbours32 = np.empty(self.trust.shape[0], dtype=np.float32)
        self.isolated_rows = np.flatnonzero(self.isolated)
        self.row_weight = _row_weight(self.influence, self.isolated, self.trust, self.disposition)
        self.weighted_influence = self.influence
        self.ties_by_degree = None
        self.far_tie_trial = None

    @property
    def size(self) -> int:
        return int(self.grid.shape[0])


@without_hugepage_advice()
def build_population(
    population: PopulationParameters,
    social: SocialParameters,
    rng: np.random.Generator,
    layout: Layout | None = None,
) -> Population:
    """Draw the residents of every grid and their ties (grids of ``population``'s uniform
    sizes, or of the community types of ``layout``, model/places.py)."""
    if layout is None:
        grids = population.grids
        sizes = np.full(grids, population.residents_per_grid, dtype=np.int64)
        grid_community = np.arange(grids, dtype=np.int32) // population.grids_per_community
        community_street = (
            np.arange(grids // population.grids_per_community, dtype=np.int32)
            // population.communities_per_street
        )
        building_size = np.full(grids, population.residents_per_building, dtype=np.int64)
    else:
        sizes = layout.grid_residents
        grid_community, community_street = layout.grid_community, layout.community_street
        building_size = layout.grid_values("residents_per_building").astype(np.int64)
    n = int(sizes.sum())
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    grid = np.repeat(np.arange(sizes.shape[0], dtype=np.int32), sizes)
    community = grid_community[grid].astype(np.int32)
    street = community_street[community].astype(np.int32)
    position = np.arange(n, dtype=np.int64) - starts[grid]
    buildings = -(-sizes // building_size)  # per grid
    first_building = np.concatenate(([0], np.cumsum(buildings)[:-1]))
    building = (first_building[grid] + position // building_size[grid]).astype(np.int32)
    household = _households(n, population.household_size, rng)

    groups = tuple(population.age_group_shares)
    shares = np.array([population.age_group_shares[g] for g in groups])
    if layout is not None:
        shares = np.array(layout.places[0].age_group_shares)
    if layout is None or len({p.age_group_shares for p in layout.places}) == 1:
        age_group = rng.choice(len(groups), size=n, p=shares / shares.sum()).astype(np.int8)
    else:
        # each community type its own age profile (rural towns older, F6.1; assumption)
        profiles = np.array([p.age_group_shares for p in layout.places])
        cdf = np.cumsum(profiles / profiles.sum(axis=1, keepdims=True), axis=1)
        place = layout.grid_place[grid]
        u = rng.random(n)
        age_group = (u[:, None] >= cdf[place]).sum(axis=1).clip(0, len(groups) - 1)
        age_group = age_group.astype(np.int8)
    party = rng.random(n) < population.party_member_share
    volunteer = party & (rng.random(n) < population.party_volunteer_share)
    trust = np.clip(
        rng.normal(population.initial_trust_mean, population.initial_trust_sd, n), 0.0, 1.0
    )

    ties = _ties(household, building, social, rng)
    degree = np.diff(ties.indptr)  # the row sums of canonical 0/1 ties: their stored ties
    inverse = np.divide(1.0, degree, out=np.zeros(n, dtype=np.float64), where=degree > 0)
    # float32: the daily product is memory-bound, and trust needs no more precision
    influence = _row_normalised(ties, inverse, degree)
    return Population(
        grid=grid,
        community=community,
        street=street,
        building=building,
        household=household,
        age_group=age_group,
        age_groups=groups,
        party_member=party,
        volunteer=volunteer,
        trust=trust,
        disposition=trust.copy(),
        ties=ties,
        influence=influence,
        isolated=degree == 0,
    )


def _runs(sorted_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per entry of non-decreasing ``sorted_ids``: where its run of equal ids starts and the
    run's length — ``searchsorted`` left, and right minus left, of the array in itself,
    without a binary search per entry (issue 11, seventh round)."""
    n = sorted_ids.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    first = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    lengths = np.diff(np.append(first, n))
    return np.repeat(first, lengths), np.repeat(lengths, lengths)


def _row_normalised(ties: sp.csr_matrix, inverse: np.ndarray, degree: np.ndarray) -> sp.csr_matrix:
    """``diags(inverse) @ ties`` as float32, for canonical 0/1 ``ties`` with ``degree``
    stored ties per row: each stored tie of row i is ``inverse[i] * 1.0``, the product's
    only term, on the same sorted indices (issue 11, seventh round; the indices and index
    pointers are shared with ``ties``)."""
    data = np.repeat(inverse.astype(np.float32), degree)
    influence = sp.csr_matrix((data, ties.indices, ties.indptr), shape=ties.shape)
    influence.has_canonical_format = True
    return influence


def _row_weight(
    influence: sp.csr_matrix, isolated: np.ndarray, trust: np.ndarray, disposition: np.ndarray
) -> np.ndarray | None:
    """Each row's one stored value of ``influence`` as float32 (0 for an empty row), or None
    when the compiled trust step cannot reproduce the reference on these arrays: a row whose
    stored values differ, ``isolated`` other than the empty rows, or arrays not of the
    kernel's types (float32 CSR with int32 indices; float64 contiguous trust and
    disposition). ``build_population`` always gives the kernel's form."""
    if not isinstance(influence, sp.csr_matrix | sp.csr_array):
        return None
    n = trust.shape[0]
    arrays_fit = (
        influence.shape == (n, n)
        and influence.data.dtype == np.float32
        and influence.indices.dtype == np.int32
        and influence.indptr.dtype == np.int32
        and trust.dtype == np.float64
        and disposition.dtype == np.float64
        and trust.shape == disposition.shape == (n,)
        and trust.flags.c_contiguous
        and disposition.flags.c_contiguous
    )
    if not arrays_fit:
        return None
    indptr = influence.indptr
    degree = np.diff(indptr)
    if not np.array_equal(isolated, degree == 0):
        return None
    weight = np.zeros(n, dtype=np.float32)
    filled = degree > 0
    weight[filled] = influence.data[indptr[:-1][filled]]
    if not np.array_equal(influence.data, np.repeat(weight, degree)):
        return None
    return weight


def _households(n: int, mean_size: float, rng: np.random.Generator) -> np.ndarray:
    """Consecutive residents form households of size 1 + Poisson(mean − 1)."""
    sizes = 1 + rng.poisson(max(mean_size - 1.0, 0.0), size=n // max(int(mean_size), 1) + 2)
    while sizes.sum() < n:
        sizes = np.concatenate((sizes, 1 + rng.poisson(max(mean_size - 1.0, 0.0), size=len(sizes))))
    return np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)[:n]


def _ties(
    household: np.ndarray, building: np.ndarray, social: SocialParameters, rng: np.random.Generator
) -> sp.csr_matrix:
    """The symmetric 0/1 tie matrix: canonical (sorted indices, no duplicates), float64 ones.

    The pairs are drawn as int32 (a district's 4.7 M, 9.4 M both ways) and made into the
    matrix's structure by the compiled engine's ``symmetric_ties`` where it is built, else
    by scipy with boolean ones (:func:`_scipy_ties`), so that they are never held as int64
    or float64 (issue 11, seventh and thirty-seventh rounds: the same draws and the same
    matrix as summing float64 ones and setting them to 1).
    """
    n = household.shape[0]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    # household: everyone knows everyone in the household (contiguous ids)
    for offset in range(1, 8):
        same = household[offset:] == household[:-offset]
        if not same.any():
            break
        idx = np.flatnonzero(same).astype(np.int32)
        rows.append(idx + offset)  # int32 (numpy 2 keeps the array's type)
        cols.append(idx)
    # building neighbours: random partners within the same building (contiguous ids)
    start, size = _runs(building)
    keep = size > 1
    everyone = np.arange(n, dtype=np.int32)
    for _ in range(social.building_ties_per_resident // 2 + social.building_ties_per_resident % 2):
        offset = rng.integers(1, np.maximum(size, 2))
        partner = start + (np.arange(n) - start + offset) % size
        rows.append(everyone[keep])
        cols.append(partner[keep].astype(np.int32))
    # weak ties anywhere in the area (mostly across grids)
    for _ in range(social.weak_ties_per_resident):
        rows.append(everyone)
        cols.append(np.asarray(rng.integers(0, n, size=n)).astype(np.int32))
    if not rows:
        return sp.csr_matrix((n, n))
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    if _ENGINE is not None and r.dtype == c.dtype == np.int32 and 2 * r.shape[0] < 2**31:
        indptr, indices = _ENGINE.symmetric_ties(r, c, n)
    else:
        indptr, indices = _scipy_ties(r, c, n)
    ties = sp.csr_matrix(
        (np.ones(indices.shape[0], dtype=np.float64), indices, indptr), shape=(n, n)
    )
    ties.has_canonical_format = True
    return ties


def _scipy_ties(r: np.ndarray, c: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The canonical CSR structure ``(indptr, indices)`` of the symmetric 0/1 ties of the
    pairs ``(r[k], c[k])`` that are not a resident with themself, by scipy (the reference
    of the compiled engine's ``symmetric_ties``, which :func:`_ties` calls where it is
    built: ≈ 0.1 s less of a district's build; issue 11, thirty-seventh round). A pair of a
    resident with themself is dropped before anything else."""
    keep = r != c
    r, c = r[keep], c[keep]
    pairs = sp.coo_matrix(
        (
            np.ones(2 * r.shape[0], dtype=bool),
            (np.concatenate((r, c)), np.concatenate((c, r))),
        ),
        shape=(n, n),
    ).tocsr()  # sorts each row and merges the duplicates (a sum of bools is True, never 0)
    return pairs.indptr, pairs.indices
