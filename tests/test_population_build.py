"""The population's ties and influence matrix (issue 11, seventh round): drawn as int32 and
merged with int8 counts, row weights on the ties' own indices, built without numpy's
huge-page advice, they are bit for bit what the plain construction gives."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sparse_checks import assert_same_csr

from model import allocation
from model import population as population_module
from model.allocation import without_hugepage_advice
from model.parameters import PopulationParameters, SocialParameters
from model.population import _row_normalised, _runs, _ties, build_population


def _plain_ties(
    household: np.ndarray, building: np.ndarray, social: SocialParameters, rng: np.random.Generator
) -> sp.csr_matrix:
    """The ties as first written: int64 pairs, float64 ones summed, then set to 1."""
    n = household.shape[0]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for offset in range(1, 8):
        same = household[offset:] == household[:-offset]
        if not same.any():
            break
        idx = np.flatnonzero(same)
        rows.append(idx + offset)
        cols.append(idx)
    start = np.searchsorted(building, building, side="left")
    size = np.searchsorted(building, building, side="right") - start
    for _ in range(social.building_ties_per_resident // 2 + social.building_ties_per_resident % 2):
        offset = rng.integers(1, np.maximum(size, 2))
        partner = start + (np.arange(n) - start + offset) % size
        keep = size > 1
        rows.append(np.arange(n)[keep])
        cols.append(partner[keep])
    for _ in range(social.weak_ties_per_resident):
        rows.append(np.arange(n))
        cols.append(np.asarray(rng.integers(0, n, size=n)))
    if rows:
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        keep = r != c
        r, c = r[keep], c[keep]
        data = np.ones(2 * r.shape[0], dtype=np.float64)
        ties = sp.coo_matrix(
            (data, (np.concatenate((r, c)), np.concatenate((c, r)))), shape=(n, n)
        ).tocsr()
        ties.data[:] = 1.0
        return ties
    return sp.csr_matrix((n, n))


def _plain_influence(ties: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix]:
    """The degrees' inverses and ``diags(inverse) @ ties`` as float32, as first written."""
    degree = np.asarray(ties.sum(axis=1)).ravel()
    inverse = np.divide(1.0, degree, out=np.zeros_like(degree, dtype=np.float64), where=degree > 0)
    return inverse, sp.diags(inverse).dot(ties).tocsr().astype(np.float32)


def _same_matrix(a: sp.csr_matrix, b: sp.csr_matrix) -> None:
    assert_same_csr(a, b)
    assert a.has_sorted_indices and b.has_sorted_indices


@st.composite
def _residents(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    """Households and buildings as runs of consecutive ids, and tie counts."""
    n = draw(st.integers(0, 300))
    household_sizes = draw(st.lists(st.integers(1, 9), min_size=1, max_size=n + 1))
    building_sizes = draw(st.lists(st.integers(1, 40), min_size=1, max_size=n + 1))
    household = np.repeat(np.arange(len(household_sizes), dtype=np.int32), household_sizes)
    building = np.repeat(np.arange(len(building_sizes), dtype=np.int32), building_sizes)
    m = min(n, household.shape[0], building.shape[0])
    return (
        household[:m],
        building[:m],
        draw(st.integers(0, 9)),
        draw(st.integers(0, 3)),
        draw(st.integers(0, 2**32)),
    )


@settings(max_examples=150, deadline=None)
@given(_residents())
def test_ties_and_influence_equal_the_plain_construction(case) -> None:
    """Random households, buildings and tie counts: the same ties, influence and draws."""
    household, building, building_ties, weak_ties, seed = case
    social = SocialParameters(
        building_ties_per_resident=building_ties, weak_ties_per_resident=weak_ties
    )
    fast_rng, plain_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    ties = _ties(household, building, social, fast_rng)
    plain = _plain_ties(household, building, social, plain_rng)
    _same_matrix(ties, plain)
    assert fast_rng.random() == plain_rng.random()  # the same draws were taken
    inverse, influence = _plain_influence(plain)
    _same_matrix(_row_normalised(ties, inverse, np.diff(ties.indptr)), influence)


def test_district_sized_ties_merge_many_duplicates() -> None:
    """A pair drawn many times over (two residents a building, many ties each) is one tie."""
    household = np.arange(2, dtype=np.int32)
    building = np.zeros(2, dtype=np.int32)
    social = SocialParameters(building_ties_per_resident=50, weak_ties_per_resident=20)
    ties = _ties(household, building, social, np.random.default_rng(3))
    _same_matrix(ties, _plain_ties(household, building, social, np.random.default_rng(3)))
    assert ties.toarray().tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_built_population_equals_the_plain_construction(monkeypatch) -> None:
    """A seeded build's ties and influence are the plain construction's on the same draws."""
    seen: list[tuple[np.ndarray, np.ndarray, dict]] = []

    def recording(household, building, social, rng):  # type: ignore[no-untyped-def]
        seen.append((household, building, rng.bit_generator.state))
        return _ties(household, building, social, rng)

    monkeypatch.setattr(population_module, "_ties", recording)
    population = PopulationParameters(
        streets=2, communities_per_street=2, grids_per_community=3, residents_per_grid=150
    )
    social = SocialParameters()
    pop = build_population(population, social, np.random.default_rng(11))
    ((household, building, state),) = seen
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    _same_matrix(pop.ties, _plain_ties(household, building, social, rng))
    _same_matrix(pop.influence, _plain_influence(pop.ties)[1])
    assert pop.isolated.tolist() == (np.diff(pop.ties.indptr) == 0).tolist()


def test_hugepage_advice_is_restored() -> None:
    """The advice is off inside the block and as it was after, even after an error."""
    switch = allocation._madvise_switch()
    assert switch is not None  # numpy 1.26 to 2.x have it
    before = switch(True)
    try:
        with without_hugepage_advice():
            assert switch(False) is False  # it was off inside
        assert switch(True) is True  # and on again after
        try:
            with without_hugepage_advice():
                raise RuntimeError("inside")
        except RuntimeError:
            pass
        assert switch(True) is True
    finally:
        switch(before)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=60))
def test_runs_equal_the_searches(ids: list[int]) -> None:
    """Any non-decreasing ids: each run's start and length as ``searchsorted`` gives them."""
    sorted_ids = np.sort(np.array(ids, dtype=np.int32))
    start, size = _runs(sorted_ids)
    left = np.searchsorted(sorted_ids, sorted_ids, side="left")
    right = np.searchsorted(sorted_ids, sorted_ids, side="right")
    assert start.dtype == left.dtype and size.dtype == right.dtype
    assert start.tolist() == left.tolist()
    assert size.tolist() == (right - left).tolist()


def test_hugepage_advice_survives_blocks_that_overlap_in_threads() -> None:
    """A enters, B enters, A leaves, B leaves: off until B leaves, then as it was."""
    switch = allocation._madvise_switch()
    assert switch is not None, "numpy 1.26 to 2.x have the switch"
    before = switch(True)
    a_in, a_out, b_in = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def a() -> None:
        with without_hugepage_advice():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b() -> None:
        a_in.wait(5)
        with without_hugepage_advice():
            b_in.set()
            a_out.wait(5)
            seen.append(switch(False))  # still off after A left

    try:
        threads = [threading.Thread(target=a), threading.Thread(target=b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert seen == [False], "the advice stays off while a block is open"
        assert switch(True) is True, "the last block out restored the advice"
    finally:
        switch(before)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 60),
    pairs=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59)), max_size=300),
    hub=st.integers(0, 80),
)
def test_the_compiled_ties_are_scipys(n: int, pairs: list[tuple[int, int]], hub: int) -> None:
    """The engine's ``symmetric_ties`` holds what scipy's COO-to-CSR of the pairs and their
    mirror images holds (``_scipy_ties``, the reference): the same row pointers and sorted,
    unique columns, of the same types — for repeated pairs, a resident paired with themself,
    empty rows, and a hub of up to 80 pairs (a row of more than 32 ties before its repeats
    are dropped is sorted by ``qsort``)."""
    engine = population_module._ENGINE
    if engine is None:
        pytest.skip("the compiled engine is not built")
    kept = [(i % n, j % n) for i, j in pairs] + [(0, 1 + k % (n - 1)) for k in range(hub) if n > 1]
    r = np.array([i for i, _ in kept], dtype=np.int32)
    c = np.array([j for _, j in kept], dtype=np.int32)
    indptr, indices = engine.symmetric_ties(r, c, n)
    expected_indptr, expected_indices = population_module._scipy_ties(r, c, n)
    assert indptr.dtype == expected_indptr.dtype == np.int32
    assert indices.dtype == expected_indices.dtype == np.int32
    assert indptr.tolist() == expected_indptr.tolist()
    assert indices.tolist() == expected_indices.tolist()


def test_ties_are_made_by_the_engine_where_it_is_built_and_by_scipy_without(monkeypatch) -> None:
    """``_ties`` goes through the engine's ``symmetric_ties`` where it is built (the int32
    pairs a build draws), else through scipy — the same matrix either way — and the engine
    refuses pairs outside the rows, and first and second rows of different lengths."""
    engine = population_module._ENGINE
    if engine is None:
        pytest.skip("the compiled engine is not built")
    calls: list[int] = []

    class Counting:
        def symmetric_ties(self, first, second, n):  # type: ignore[no-untyped-def]
            calls.append(n)
            return engine.symmetric_ties(first, second, n)

    household = np.repeat(np.arange(40, dtype=np.int32), 3)
    building = np.repeat(np.arange(12, dtype=np.int32), 10)
    social = SocialParameters(building_ties_per_resident=3, weak_ties_per_resident=2)
    monkeypatch.setattr(population_module, "_ENGINE", Counting())
    compiled = _ties(household, building, social, np.random.default_rng(8))
    monkeypatch.setattr(population_module, "_ENGINE", None)
    by_scipy = _ties(household, building, social, np.random.default_rng(8))
    assert calls == [120]
    _same_matrix(compiled, by_scipy)
    _same_matrix(compiled, _plain_ties(household, building, social, np.random.default_rng(8)))
    pair = np.array([0, 1], dtype=np.int32)
    with pytest.raises(ValueError, match=r"pair 1 \(1, 5\) outside rows 0 … 4"):
        engine.symmetric_ties(pair, np.array([1, 5], dtype=np.int32), 5)
    with pytest.raises(ValueError, match="outside rows"):
        engine.symmetric_ties(np.array([-1], dtype=np.int32), pair[:1], 5)
    with pytest.raises(ValueError, match="2 first rows and 1 second rows"):
        engine.symmetric_ties(pair, pair[:1], 5)
    none = np.empty(0, dtype=np.int32)
    with pytest.raises(ValueError, match="int32 numbers"):
        engine.symmetric_ties(none, none, 2**31)
    indptr, indices = engine.symmetric_ties(none, none, 0)  # no rows
    assert indptr.tolist() == [0] and indices.tolist() == []
    # a resident with themself is dropped before the rows are checked, as scipy's reference
    # drops it
    self_pair = np.array([7, 0], dtype=np.int32)
    indptr, indices = engine.symmetric_ties(self_pair, np.array([7, 1], dtype=np.int32), 5)
    expected = population_module._scipy_ties(self_pair, np.array([7, 1], dtype=np.int32), 5)
    assert indptr.tolist() == expected[0].tolist() == [0, 1, 2, 2, 2, 2]
    assert indices.tolist() == expected[1].tolist() == [1, 0]
