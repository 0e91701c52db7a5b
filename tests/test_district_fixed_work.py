"""A district day's and year's work outside the case lifecycle (issue 11, seventh round):
trust eroded community by community in place, party members' ties gathered at once for
their invitations, the per-grid groups of the summary by one stable sort, give bit for bit
what the plain numpy gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sparse_checks import assert_same_csr

from experiments.scenario_files import load_scenario
from model.agents import PartyMember
from model.governance import GovernanceModel
from model.outcomes import _by_group
from model.policies.base import CommunityView
from model.policies.participation import invitations_through_ties

CLASSROOM = Path(__file__).resolve().parent.parent / "scenarios" / "classroom.toml"


def _bits(a: np.ndarray) -> list[int]:
    return a.view(np.int64).tolist()  # equal bits: −0.0 and NaN payloads too


@settings(max_examples=60, deadline=None)
@given(
    open_issues=st.lists(st.integers(-1, 9), min_size=1, max_size=64),
    drag=st.sampled_from([0.0, 0.05, 0.3, 1.0, 2.5]),
    seed=st.integers(0, 2**16),
)
def test_erosion_equals_the_plain_product(open_issues: list[int], drag: float, seed: int) -> None:
    """Erosion equals ``trust *= np.repeat(1 − drag·min(open, 5), sizes)`` bit for bit."""
    parameters = load_scenario(CLASSROOM).parameters
    feedback = parameters.feedback.model_copy(
        update={"collective_issue_trust_drag_per_year": drag * 365.0}
    )
    population = parameters.population.model_copy(  # six communities of 120 residents
        update={"streets": 2, "communities_per_street": 3, "residents_per_grid": 60}
    )
    model = GovernanceModel(
        parameters.model_copy(update={"feedback": feedback, "population": population}), seed=1
    )
    delib = model.deliberation
    rng = np.random.default_rng(seed)
    trust = model.population.trust
    trust[:] = rng.choice([0.0, -0.0, 1.0, 0.37, 1e-300, 0.999], size=trust.shape[0])
    n = delib.open_issues.shape[0]
    delib.open_issues[:] = np.resize(np.array(open_issues, dtype=np.int64), n)
    expected = trust.copy()
    per_community = 1.0 - (drag * 365.0 / 365.0) * np.minimum(delib.open_issues, 5)
    if drag > 0 and delib.open_issues.any():
        expected *= np.repeat(per_community, np.diff(delib.bounds))
    delib.erode_trust()
    assert _bits(trust) == _bits(expected)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.sampled_from([0.0, -0.0, 0.37, 1.0, np.nan, np.inf, 1e-300]), max_size=30),
    blocks=st.lists(
        st.tuples(
            st.integers(-40, 40),  # a bound (a slice's end: from the end if negative)
            st.sampled_from([0.95, 1.0, 1.05, -0.0, 0.0, 2.5]),  # the block's factor
            st.integers(-2, 6),  # its count (open issues; zero: not scaled)
        ),
        min_size=1,
        max_size=12,
    ),
    last=st.integers(-40, 40),
)
def test_the_compiled_block_product_is_the_slices(
    values: list[float], blocks: list[tuple[int, float, int]], last: int
) -> None:
    """The compiled engine's ``scale_blocks`` (the erosion of each community with open
    issues) scales what the numpy slices scale, bit for bit, bounds read as a slice's.
    Factors are finite, as the model's are (``1 − drag·min(open, 5)``, the drag a finite
    share): of two NaNs multiplied, which one's sign comes out is the compiler's order of
    the operands, not a number either side promises."""
    from model import meetings

    engine = meetings._ENGINE
    if engine is None:
        pytest.skip("the compiled engine is not built")
    bounds = [b for b, _, _ in blocks] + [last]
    factors = np.array([f for _, f, _ in blocks])
    counts = np.array([k for _, _, k in blocks], dtype=np.int64)
    compiled, python = np.array(values, dtype=np.float64), np.array(values, dtype=np.float64)
    engine.scale_blocks(compiled, bounds, factors, counts)
    with np.errstate(invalid="ignore"):  # inf × 0: numpy's warning, the engine's NaN
        meetings._python_scale_blocks(python, bounds, factors, counts)
    assert _bits(compiled) == _bits(python)


def test_trust_of_another_type_is_eroded_by_the_slices() -> None:
    """Values the compiled product does not take (not float64, or not contiguous) are
    scaled by the numpy slices, as before."""
    from model.meetings import _scale_blocks

    bounds = [0, 2, 4]
    factors = np.array([0.5, 2.0])
    counts = np.array([1, 1], dtype=np.int64)
    single = np.ones(4, dtype=np.float32)
    _scale_blocks(single, bounds, factors, counts)
    assert single.tolist() == [0.5, 0.5, 2.0, 2.0]
    strided = np.ones(8)[::2]
    _scale_blocks(strided, bounds, factors, counts)
    assert strided.tolist() == [0.5, 0.5, 2.0, 2.0]


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 12),
    ties=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=120),
    weights=st.sampled_from([1.0, 0.5, -0.0, np.inf]),
    block=st.tuples(st.integers(0, 12), st.integers(0, 12)),
)
@example(n=6, ties=[(i, j) for i in range(6) for j in range(6)], weights=1.0, block=(1, 5))
def test_a_community_block_of_ties_is_scipys_slice(
    n: int, ties: list[tuple[int, int]], weights: float, block: tuple[int, int]
) -> None:
    """``community_ties`` (the compiled ``diagonal_block`` for canonical CSR) holds what
    scipy's ``ties[a:b, a:b]`` holds: the same class, shape, dtypes and entries in the same
    order, bit for bit, for any block ``0 ≤ a ≤ b ≤ n`` (empty rows, empty blocks, ties
    on the block's edges)."""
    from model.meetings import community_ties

    pairs = [(i, j) for i, j in ties if i < n and j < n]
    rows = np.array([i for i, _ in pairs], dtype=np.int32)
    cols = np.array([j for _, j in pairs], dtype=np.int32)
    matrix = sp.csr_matrix(
        (np.full(len(pairs), weights), (rows, cols)), shape=(n, n)
    )  # duplicates summed: canonical
    a, b = sorted(min(x, n) for x in block)
    assert matrix.has_canonical_format
    scipys = matrix[a:b, a:b]
    assert_same_csr(community_ties(matrix, a, b), scipys)
    from model.meetings import _ENGINE

    if _ENGINE is not None:  # the engine's own arrays, not only what the wrapper returns
        indptr, indices, data = _ENGINE.diagonal_block(
            matrix.indptr, matrix.indices, matrix.data, a, b
        )
        assert_same_csr(sp.csr_matrix((data, indices, indptr), shape=(b - a, b - a)), scipys)


def test_the_compiled_block_is_taken_for_the_models_ties_and_refuses_bad_bounds() -> None:
    """Where the engine is built, the model's ties (canonical int32 / float64 CSR) go
    through ``diagonal_block``; out-of-range rows and row pointers outside the arrays or
    decreasing are refused in one line, not read."""
    from model import meetings

    engine = meetings._ENGINE
    if engine is None:
        pytest.skip("the compiled engine is not built")
    model = GovernanceModel(load_scenario(CLASSROOM).parameters, seed=3)
    ties = model.population.ties
    calls: list[tuple[int, int]] = []

    class Counting:
        def diagonal_block(self, indptr, indices, data, a, b):  # type: ignore[no-untyped-def]
            calls.append((a, b))
            return engine.diagonal_block(indptr, indices, data, a, b)

    bounds = model.deliberation.bounds
    original = meetings._ENGINE
    meetings._ENGINE = Counting()
    try:
        for c in range(len(bounds) - 1):
            a, b = bounds[c], bounds[c + 1]
            assert_same_csr(meetings.community_ties(ties, a, b), ties[a:b, a:b])
    finally:
        meetings._ENGINE = original
    assert calls == [(bounds[c], bounds[c + 1]) for c in range(len(bounds) - 1)]
    with pytest.raises(ValueError, match="diagonal_block: rows 5:3"):
        engine.diagonal_block(ties.indptr, ties.indices, ties.data, 5, 3)
    with pytest.raises(ValueError, match="diagonal_block: rows"):
        engine.diagonal_block(ties.indptr, ties.indices, ties.data, 0, ties.shape[0] + 1)
    past = ties.indptr.copy()
    past[-1] = ties.indices.shape[0] + 1
    with pytest.raises(ValueError, match="row pointers outside"):
        engine.diagonal_block(past, ties.indices, ties.data, 0, 1)
    falling = np.array([0, 2, 1, 2], dtype=np.int32)
    with pytest.raises(ValueError, match="row pointers decrease at row 1"):
        engine.diagonal_block(falling, np.arange(2, dtype=np.int32), np.ones(2), 0, 3)


def test_ties_the_compiled_block_does_not_take_are_sliced_by_scipy() -> None:
    """Ties with unsorted indices, of another dtype or class, or with arrays that are not
    contiguous are sliced by scipy, as before, and hold the same entries as the slice."""
    from model.meetings import community_ties

    unsorted = sp.csr_matrix(
        (np.ones(4), np.array([3, 1, 2, 0], dtype=np.int32), np.array([0, 2, 4, 4, 4])),
        shape=(4, 4),
    )
    assert not unsorted.has_sorted_indices
    assert_same_csr(community_ties(unsorted, 1, 4), unsorted[1:4, 1:4])
    small = sp.csr_matrix(np.eye(5, dtype=np.float32))
    assert_same_csr(community_ties(small, 1, 3), small[1:3, 1:3])
    array = sp.csr_array(np.eye(5))
    assert_same_csr(community_ties(array, 2, 5), array[2:5, 2:5])
    strided = sp.csr_matrix(np.eye(5))
    strided.indices = np.repeat(strided.indices, 2)[::2]  # the same values, not contiguous
    assert not strided.indices.flags.c_contiguous
    assert_same_csr(community_ties(strided, 1, 4), strided[1:4, 1:4])


_VALUES = st.sampled_from([0.0, -0.0, 1.5, 2.0, np.inf, np.nan, 1e-9, 7.25])


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 12), _VALUES), max_size=80),
)
def test_groups_equal_the_masks(pairs: list[tuple[int, float]]) -> None:
    """Each group of ``np.unique(grid)``, in order, holds ``values[grid == g]`` in order."""
    grid = np.array([g for g, _ in pairs], dtype=np.int32)
    values = np.array([v for _, v in pairs], dtype=np.float64)
    got = [(g, _bits(v)) for g, v in _by_group(grid, values)]
    assert got == [(g, _bits(values[grid == g])) for g in np.unique(grid).tolist()]


def test_groups_of_nothing() -> None:
    """No cases measured yet (the tallies' empty float sample): no groups."""
    assert list(_by_group(np.empty(0), np.empty(0))) == []


def _plain_invitations(view: CommunityView, per_member: float, rng: np.random.Generator):
    """The invitations as first written: one slice of ``indices`` per member with ties."""
    n = view.trust.shape[0]
    if per_member <= 0 or not view.party_member.any():
        return np.zeros(n, dtype=np.int64)
    ties = view.ties.tocsr()
    members = np.flatnonzero(view.party_member)
    counts = np.zeros(n, dtype=np.int64)
    starts, ends = ties.indptr[members], ties.indptr[members + 1]
    degree = ends - starts
    has_ties = degree > 0
    if not has_ties.any():
        return counts
    neighbours = np.concatenate(
        [ties.indices[s:e] for s, e in zip(starts[has_ties], ends[has_ties], strict=True)]
    )
    chance = PartyMember.invitation_probability(per_member, degree[has_ties])
    invited = neighbours[rng.random(neighbours.shape[0]) < np.repeat(chance, degree[has_ties])]
    np.add.at(counts, invited, 1)
    return counts


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 40),
    density=st.sampled_from([0.0, 0.05, 0.3, 1.0]),
    members=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    per_member=st.sampled_from([0.0, 0.5, 2.0, 50.0]),
    seed=st.integers(0, 2**16),
)
def test_invitations_equal_one_slice_per_member(
    n: int, density: float, members: float, per_member: float, seed: int
) -> None:
    """The same invitations and draws as gathering each member's ties by its own slice."""
    rng = np.random.default_rng(seed)
    upper = sp.random(n, n, density=density, random_state=rng, format="csr")
    ties = ((upper + upper.T) > 0).astype(np.float64).tocsr()
    view = CommunityView(
        day=45,
        community=0,
        trust=np.full(n, 0.5),
        age_group=np.zeros(n, dtype=np.int8),
        age_groups=("18-29",),
        party_member=rng.random(n) < members,
        ties=ties,
        open_collective_issues=1,
    )
    fast, plain = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    got = invitations_through_ties(view, per_member, fast)
    assert got.tolist() == _plain_invitations(view, per_member, plain).tolist()
    assert fast.random() == plain.random()


def test_build_leaves_the_collector_as_it_was(monkeypatch) -> None:
    """The build runs with a quiet collector and restores it: thresholds, nothing frozen."""
    import gc

    thresholds = gc.get_threshold()
    inside: list[tuple[int, int]] = []
    original = GovernanceModel._build_units

    def spying(model: GovernanceModel):  # type: ignore[no-untyped-def]
        inside.append((gc.get_threshold()[0], gc.get_freeze_count()))
        return original(model)

    monkeypatch.setattr(GovernanceModel, "_build_units", spying)
    GovernanceModel(load_scenario(CLASSROOM).parameters, seed=1)
    assert inside and inside[0][0] >= 200_000 and inside[0][1] > 0  # quiet inside
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0
