"""The daily trust step (GovernanceModel._diffuse_trust, model/trust_diffusion.py; issue 11):
filled work space, a clip only when needed and the compiled kernel give, bit for bit, what
the plain formula gives."""

from __future__ import annotations

import copy
import pickle
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from trust_checks import plain_trust as _plain

import model.trust_diffusion as diffusion
from experiments.scenario_files import Scenario
from model.governance import GovernanceModel
from model.parameters import PopulationParameters, SocialParameters
from model.population import Population, build_population

COMPILED = diffusion.BACKEND == "compiled"

SMALL = PopulationParameters(
    streets=1, communities_per_street=2, grids_per_community=2, residents_per_grid=40
)


def _bits(a: np.ndarray) -> list[int]:
    return a.view(np.int64).tolist()  # equal bits: −0.0 too


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bits, but a NaN equals any NaN (its sign and payload are outside the kernel's
    contract: which of two NaNs a sum keeps is the compiler's or scipy's choice)."""
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b))) and _bits(a[~nan]) == _bits(b[~nan])


def _step_matches_plain(pop: Population) -> None:
    """The model's step on ``pop`` gives the plain formula's trust, bit for bit."""
    social = SocialParameters(neighbour_influence_per_day=0.4, disposition_weight_per_day=0.1)
    expected = _plain(pop, pop.trust, 0.4, 0.1)
    GovernanceModel._diffuse_trust(
        SimpleNamespace(parameters=SimpleNamespace(social=social), population=pop)
    )  # type: ignore[arg-type]
    assert _bits(pop.trust) == _bits(expected)


class _OneValue:
    """The compiled engine with the trust step's one-value loops (``simd=False``): the loops
    that run where the compiler does not target SSE2 (model/_trust_step.h)."""

    def __init__(self, engine: object) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)

    def diffuse_trust(self, *args: object, **kwargs: object) -> object:
        return self._engine.diffuse_trust(*args, simd=False, **kwargs)  # type: ignore[attr-defined]


@contextmanager
def _loops(simd: bool) -> Iterator[None]:
    """The compiled step's vector loops (``simd``, the default) or its one-value loops."""
    engine = diffusion._engine
    if simd or engine is None:
        yield
        return
    diffusion._engine = _OneValue(engine)  # type: ignore[assignment]
    try:
        yield
    finally:
        diffusion._engine = engine


_WIDTHS = pytest.mark.parametrize(
    "simd",
    [
        True,
        pytest.param(
            False, marks=pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
        ),
    ],
    ids=["lanes", "one-value"],
)


_TRUST = st.sampled_from([0.0, -0.0, 1.0, 0.25, 1.0 / 3.0, 0.999999, 1e-300, -0.1, 1.2])


@_WIDTHS
@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    w=st.sampled_from([0.0, 0.05, 0.3, 0.9, 1.0]),
    r=st.sampled_from([0.0, 0.02, 0.5, 1.0]),
    ties=st.integers(0, 6),
    values=st.lists(_TRUST, min_size=1, max_size=20),
    days=st.integers(1, 3),
    grids=st.sampled_from([1, 3]),
    residents=st.sampled_from([1, 2, 3, 40, 41]),
    reference=st.booleans(),
)
def test_diffusion_equals_the_plain_formula_bit_for_bit(
    seed: int,
    w: float,
    r: float,
    ties: int,
    values: list[float],
    days: int,
    grids: int,
    residents: int,
    reference: bool,
    simd: bool,
) -> None:
    """Any weights (also summing past 1, so that trust leaves [0, 1]), ties, trust values
    out of bounds, ±0 or 1 exactly, over several days, an odd or even number of residents
    (the kernel sums rows of one degree four side by side): every bit as the plain formula,
    by the compiled kernel — its vector loops and its one-value loops — and by the numpy
    reference (``row_weight`` None)."""
    social = SocialParameters(
        building_ties_per_resident=ties,
        weak_ties_per_resident=ties // 2,
        neighbour_influence_per_day=w,
        disposition_weight_per_day=r,
    )
    rng = np.random.default_rng(seed)
    sizes = SMALL.model_copy(
        update={
            "communities_per_street": 1,
            "grids_per_community": grids,
            "residents_per_grid": residents,
        }
    )
    pop = build_population(sizes, social, rng)
    assert pop.row_weight is not None, "a built population has the kernel's form"
    if reference:
        pop.row_weight = None
    chosen = rng.integers(0, pop.size, size=len(values))
    pop.trust[chosen] = values  # some residents at the edges or beyond them
    pop.disposition[:] = rng.permutation(pop.trust)
    model = SimpleNamespace(parameters=SimpleNamespace(social=social), population=pop)
    expected = pop.trust.copy()
    for _ in range(days):
        expected = _plain(pop, expected, w, r)
        with _loops(simd):
            GovernanceModel._diffuse_trust(model)  # type: ignore[arg-type]
        assert _bits(pop.trust) == _bits(expected)


def test_nan_trust_is_clipped_as_before() -> None:
    """A NaN among the values does not hide a value above 1 from the clip."""
    social = SocialParameters(neighbour_influence_per_day=0.0, disposition_weight_per_day=1.0)
    pop = build_population(SMALL, social, np.random.default_rng(3))
    pop.disposition[:2] = [np.nan, 1.5]
    expected = _plain(pop, pop.trust, 0.0, 1.0)
    GovernanceModel._diffuse_trust(
        SimpleNamespace(parameters=SimpleNamespace(social=social), population=pop)
    )  # type: ignore[arg-type]
    assert pop.trust[1] == 1.0 and np.isnan(pop.trust[0])
    assert _bits(pop.trust) == _bits(expected)


def test_work_space_matches_the_population() -> None:
    """The float32 copy and the kept share are one value per resident, of their types."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(1))
    assert pop.trust32.shape == pop.kept.shape == pop.trust.shape
    assert pop.trust32.dtype == np.float32 and pop.kept.dtype == np.float64


def test_rows_of_unequal_weights_take_the_reference() -> None:
    """An influence matrix whose rows are not one value each (not what build_population
    makes) has no row weights, and the step is still the plain formula's, bit for bit."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(5))
    data = pop.influence.data.copy()
    data[::3] *= np.float32(1.5)
    pop.influence = type(pop.influence)(
        (data, pop.influence.indices, pop.influence.indptr), shape=pop.influence.shape
    )
    pop.__post_init__()
    assert pop.row_weight is None
    _step_matches_plain(pop)


def _grouped_call(
    pop: Population | SimpleNamespace,
    grouped: diffusion.TiesByDegree | SimpleNamespace,
    w: float = 0.1,
    r: float = 0.1,
    **changed: object,
) -> object:
    """The compiled step's call on ``pop`` with ``grouped``, some arguments replaced."""
    engine = diffusion._engine
    assert engine is not None
    arguments: dict[str, object] = {
        "rows": grouped.rows,
        "starts": grouped.starts,
        "ties": grouped.ties,
        "weight": grouped.weight,
        "trust": pop.trust,
        "disposition": pop.disposition,
        "work": grouped.work,
        "neighbours": pop.neighbours32,
        "far_from": grouped.far_from,
        "far_to": grouped.far_to,
    }
    arguments.update(changed)
    return engine.diffuse_trust(*arguments.values(), w, r)


@pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
def test_kernel_refuses_arrays_that_do_not_fit() -> None:
    """The compiled step checks its arrays' lengths and groups (it reads them unchecked after)."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(2))
    assert pop.row_weight is not None
    grouped = diffusion.TiesByDegree.of(pop.influence, pop.row_weight)
    with pytest.raises(ValueError, match="different lengths"):
        _grouped_call(pop, grouped, trust=pop.trust[:-1], disposition=pop.disposition[:-1])
    gathered = diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=1)
    assert gathered.far_from.shape[0] > 0
    with pytest.raises(ValueError, match="different lengths"):  # no room for the slots
        _grouped_call(pop, gathered, work=pop.trust32)
    with pytest.raises(ValueError, match="different lengths"):
        _grouped_call(pop, gathered, far_to=gathered.far_to[:-1])
    assert _grouped_call(pop, gathered) == (False, float(np.add.reduce(pop.trust)))
    with pytest.raises(ValueError, match="do not cover"):
        _grouped_call(pop, grouped, starts=grouped.starts[:-1])
    shifted = grouped.starts.copy()
    shifted[1:-1] += 1  # a row of the most ties counted among those without ties
    with pytest.raises(ValueError, match="not the ties given"):
        _grouped_call(pop, grouped, starts=shifted)
    disordered = grouped.starts.copy()
    disordered[1] = pop.size
    with pytest.raises(ValueError, match="not in order"):
        _grouped_call(pop, grouped, starts=disordered)
    # the same arrays as they are: accepted (nothing out of [0, 1]; the new trust's sum)
    assert _grouped_call(pop, grouped) == (False, float(np.add.reduce(pop.trust)))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 60),
    most=st.integers(0, 13),
    w=st.sampled_from([0.05, 0.5, 1.0]),
    r=st.sampled_from([0.0, 0.02, 0.7]),
    far=st.sampled_from([0, 1, 3, 20, diffusion.FAR_TIE_ROWS, 2**40]),
    stretch=st.sampled_from([1, 2, 3, 7, 9, 2**64]),
)
def test_ties_by_degree_group_every_row_and_keep_each_rows_order(
    seed: int, n: int, most: int, w: float, r: float, far: int, stretch: int
) -> None:
    """Any degrees (groups of 0 to 60 rows, not multiples of the four summed side by side):
    every row once, ascending within its group of equal degree; each row's ties in its stored
    order; its weight beside it; the ties more than ``far`` rows away as slots, each filled
    once from its resident, stretch by stretch in the residents' order; and the step on them
    the plain formula's, bit for bit, by the vector loops and by the one-value loops."""
    rng = np.random.default_rng(seed)
    degree = rng.integers(0, most + 1, size=n) if n > 1 else np.zeros(1, dtype=np.int64)
    # unsorted: each row's stored order is what the grouping must keep
    columns = [rng.choice(n, size=min(int(k), n - 1), replace=False) for k in degree]
    degree = np.array([c.shape[0] for c in columns])
    indptr = np.concatenate(([0], np.cumsum(degree))).astype(np.int32)
    indices = np.concatenate([*columns, np.empty(0, dtype=np.int64)]).astype(np.int32)
    # one value per row, rows of one degree unlike each other (the kernel must not mix them)
    weight = np.where(degree > 0, rng.random(n) / np.maximum(degree, 1), 0).astype(np.float32)
    data = np.repeat(weight, degree)
    influence = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    grouped = diffusion.TiesByDegree.of(influence, weight, far, stretch)
    assert sorted(grouped.rows.tolist()) == list(range(n))
    columns = _columns(grouped).tolist()
    at = 0
    slots = []
    for d in range(grouped.starts.shape[0] - 1):
        group = grouped.rows[grouped.starts[d] : grouped.starts[d + 1]].tolist()
        assert group == sorted(group) and all(degree[i] == d for i in group)
        for i in group:
            assert columns[at : at + d] == indices[indptr[i] : indptr[i + 1]].tolist()
            row_ties = grouped.ties[at : at + d].tolist()
            for tie, column in zip(row_ties, columns[at : at + d], strict=True):
                assert tie == column if abs(column - i) <= far else tie >= n
                slots += [tie] if tie >= n else []
            at += d
    assert at == indices.shape[0]
    assert slots == list(range(n, n + len(slots)))  # slots in the order the sums read them
    assert grouped.work.shape == (n + len(slots),) and grouped.work.dtype == np.float32
    assert grouped.weight.tolist() == weight[grouped.rows].tolist()
    fills = list(zip(grouped.far_to.tolist(), grouped.far_from.tolist(), strict=True))
    assert sorted(fills) == [(slot, columns[grouped.ties.tolist().index(slot)]) for slot in slots]
    for first in range(0, len(fills), stretch):  # a stretch's slots, by resident
        part = fills[first : first + stretch]
        assert {slot for slot, _ in part} == set(range(n + first, n + first + len(part)))
        assert [source for _, source in part] == sorted(source for _, source in part)
    if not COMPILED:
        return
    values = [0.0, -0.0, 0.3, 1.0, 1.0 / 3.0, 1.1, -0.2, np.nan, -np.nan, np.inf]
    trust = rng.choice(np.array(values), size=n)
    disposition = rng.random(n)
    pop = SimpleNamespace(
        influence=influence,
        isolated=degree == 0,
        disposition=disposition,
        trust32=np.empty(n, dtype=np.float32),
        neighbours32=np.empty(n, dtype=np.float32),
    )
    with np.errstate(invalid="ignore"):  # inf − inf, NaN: the values are the test's point
        expected = _plain(pop, trust, w, r)  # type: ignore[arg-type]
    for simd in (True, False):  # the vector loops and the one-value loops
        pop.trust = trust.copy()
        with _loops(simd):
            if _grouped_call(pop, grouped, w, r):  # out of [0, 1]: the caller clips
                np.clip(pop.trust, 0.0, 1.0, out=pop.trust)
        assert _same(pop.trust, expected)


def _columns(grouped: diffusion.TiesByDegree) -> np.ndarray:
    """Every tie's resident (the matrix's column index), in the grouped order: a slot read
    as the resident it is filled from."""
    n = grouped.source.shape[0]
    resident = np.empty(grouped.work.shape[0], dtype=np.int64)
    resident[:n] = np.arange(n)
    resident[grouped.far_to] = grouped.far_from
    return resident[grouped.ties]


def _copies(grouped: diffusion.TiesByDegree) -> dict[str, np.ndarray]:
    """Writable copies of the grouping's checked arrays, by name, in the constructor's order."""
    return {name: np.array(getattr(grouped, name)) for name in diffusion._CHECKED}


@pytest.fixture(params=["compiled", "numpy"])
def checker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The groupings' checks by the compiled engine's ``grouping_fits`` or by numpy's
    reference (``_numpy_fits``), each test run with both."""
    if request.param == "compiled":
        if diffusion._engine is None:
            pytest.skip("the compiled engine is not built")
    else:
        monkeypatch.setattr(diffusion, "_fits", diffusion._numpy_fits)
    return str(request.param)


def test_ties_by_degree_refuse_a_grouping_that_is_not_the_matrixs(checker: str) -> None:
    """A row twice (another missing), a row in the group of another number of ties, or a tie
    beyond the rows is refused when made; what is made cannot be changed after the check."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(4))
    assert pop.row_weight is not None
    good = diffusion.TiesByDegree.of(pop.influence, pop.row_weight)
    made = (good.source, good.source_weight)
    far = (good.far_from, good.far_to)
    rows = good.rows.copy()
    rows[0] = rows[1]
    with pytest.raises(ValueError, match="do not describe"):
        diffusion.TiesByDegree(*made, rows, good.starts, good.ties, good.weight, *far)
    swapped = good.rows.copy()
    swapped[[0, -1]] = swapped[[-1, 0]]  # the first row has fewer ties than the last
    assert np.diff(pop.influence.indptr)[swapped[0]] != np.diff(pop.influence.indptr)[swapped[-1]]
    with pytest.raises(ValueError, match="do not describe"):
        diffusion.TiesByDegree(*made, swapped, good.starts, good.ties, good.weight, *far)
    ties = good.ties.copy()
    ties[-1] = pop.size  # a slot, but no far tie was gathered
    assert good.far_from.shape[0] == 0
    with pytest.raises(ValueError, match="do not describe"):
        diffusion.TiesByDegree(*made, good.rows, good.starts, ties, good.weight, *far)
    for name in ("rows", "starts", "ties", "weight", "far_from", "far_to"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(good, name)[0] = 0
    # with far ties: a slot read twice (another never), a slot filled twice, a tie filled
    # from beyond the rows, a slot beyond the far ties
    gathered = diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=2)
    n, count = pop.size, gathered.far_from.shape[0]
    assert count > 1
    slots = np.flatnonzero(gathered.ties >= n)
    read_twice = gathered.ties.copy()
    read_twice[slots[0]] = read_twice[slots[1]]
    filled_twice = gathered.far_to.copy()
    filled_twice[0] = filled_twice[1]
    beyond_rows = gathered.far_from.copy()
    beyond_rows[0] = n
    beyond_slots = gathered.ties.copy()
    beyond_slots[slots[0]] = n + count
    grouping = (gathered.rows, gathered.starts)
    for bad in (
        (*grouping, read_twice, gathered.weight, gathered.far_from, gathered.far_to),
        (*grouping, gathered.ties, gathered.weight, gathered.far_from, filled_twice),
        (*grouping, gathered.ties, gathered.weight, beyond_rows, gathered.far_to),
        (*grouping, beyond_slots, gathered.weight, gathered.far_from, gathered.far_to),
        (*grouping, gathered.ties, gathered.weight, gathered.far_from[1:], gathered.far_to[1:]),
    ):
        with pytest.raises(ValueError, match="do not describe"):
            diffusion.TiesByDegree(*made, *bad)
    into_rows = gathered.far_to.copy()
    into_rows[0] = 0  # a fill that would overwrite a resident's trust
    with pytest.raises(ValueError, match="do not describe"):
        diffusion.TiesByDegree(*made, *grouping, gathered.ties, gathered.weight,
                               gathered.far_from, into_rows)  # fmt: skip
    for name in diffusion._CHECKED:  # not one-dimensional, not contiguous
        arrays = {key: getattr(gathered, key) for key in diffusion._CHECKED}
        for odd in (arrays[name][:, None], np.repeat(arrays[name], 2)[::2]):
            with pytest.raises(ValueError, match="do not describe"):
                diffusion.TiesByDegree(*made, **{**arrays, name: odd})
    with pytest.raises(ValueError, match="far_rows -1 must be"):
        diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=-1)
    with pytest.raises(ValueError, match="stretch 0"):
        diffusion.TiesByDegree.of(pop.influence, pop.row_weight, stretch=0)


def test_ties_by_degree_refuse_more_slots_than_int32_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows and slots are int32 numbers: a grouping with more of them is refused, when
    made and when checked (the limit lowered to this population's size)."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(4))
    assert pop.row_weight is not None
    gathered = diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=2)
    count = gathered.far_from.shape[0]
    monkeypatch.setattr(diffusion, "_MOST_SLOTS", pop.size + count)  # exactly enough
    assert diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=2).ties.shape
    monkeypatch.setattr(diffusion, "_MOST_SLOTS", pop.size + count - 1)
    with pytest.raises(ValueError, match="more than int32 can number"):
        diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=2)
    arrays = list(_copies(gathered).values())
    with pytest.raises(ValueError, match="do not describe"):
        diffusion.TiesByDegree(gathered.source, gathered.source_weight, *arrays)


def test_ties_by_degree_cannot_be_changed_after_the_check() -> None:
    """The checked arrays are copies numpy refuses to make writable (a caller's own arrays
    changed later do not show through), and a pickled or copied grouping is made afresh
    through the constructor's checks."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(4))
    assert pop.row_weight is not None
    gathered = diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=2)
    for name in diffusion._CHECKED:
        with pytest.raises(ValueError, match="WRITEABLE"):
            getattr(gathered, name).flags.writeable = True
    mine = list(_copies(gathered).values())
    made = diffusion.TiesByDegree(gathered.source, gathered.source_weight, *mine)
    mine[5][0] = 2**31 - 1  # far_to: the caller's array changed after the check
    assert made.far_to[0] == gathered.far_to[0]
    for copied in (pickle.loads(pickle.dumps(gathered)), copy.deepcopy(gathered)):
        assert copied is not gathered and copied.work.shape == gathered.work.shape
        for name in diffusion._CHECKED:
            assert np.array_equal(getattr(copied, name), getattr(gathered, name))
            assert not getattr(copied, name).flags.writeable
    shallow = copy.copy(gathered)
    assert shallow.far_to is not gathered.far_to  # made again, not the same arrays shared
    with pytest.raises(ValueError, match="do not describe"):
        diffusion.TiesByDegree(gathered.source, gathered.source_weight, *mine)
    assert not hasattr(gathered, "__dict__")  # no instance dictionary to put arrays in


def test_ties_by_degree_check_what_they_keep() -> None:
    """A masked array reads past its masked entries but copies their fill value: the
    checks run on the copies kept, so the fill value beyond the arrays is refused; and a
    subclass of ndarray is refused outright (its copy may not be what it reads)."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(4))
    assert pop.row_weight is not None
    gathered = diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=2)
    for name in ("rows", "ties", "far_to"):
        arrays = _copies(gathered)
        masked = np.ma.MaskedArray(arrays[name], mask=np.zeros(arrays[name].shape, bool))
        masked.mask[-1] = True
        masked.fill_value = 2_000_000_000  # a row, tie or slot far beyond the arrays
        with pytest.raises(ValueError, match="do not describe"):
            diffusion.TiesByDegree(
                gathered.source, gathered.source_weight, **{**arrays, name: masked}
            )
        # a subclass is refused outright: its copy need not be numpy's (here, a writable
        # buffer it could change after the check)
        own = arrays[name].view(_OwnBytes)
        with pytest.raises(ValueError, match="do not describe"):
            diffusion.TiesByDegree(gathered.source, gathered.source_weight, **{**arrays, name: own})


class _OwnBytes(np.ndarray):
    """An array whose copy (``tobytes``) is a writable buffer."""

    def tobytes(self, order: str = "C") -> bytes:  # type: ignore[override]
        return bytearray(np.asarray(self).tobytes())  # type: ignore[return-value]


@pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
def test_an_array_repointed_after_the_check_does_not_reach_the_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ndarray.__setstate__`` points a kept view at other memory; the step gives the
    kernel fresh views of the bytes checked, so the next days are still the plain
    formula's (before: a crash)."""
    monkeypatch.setattr(diffusion, "FAR_TIE_ROWS", 1)
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(12))
    _step_matches_plain(pop)
    grouped = pop.ties_by_degree
    assert grouped is not None and grouped.far_from.shape[0] > 0
    for name, beyond in (("far_to", 2**31 - 1000), ("ties", 2**31 - 1000), ("rows", 10**9)):
        view = getattr(grouped, name)
        bad = np.full_like(view, beyond)
        view.__setstate__((1, view.shape, view.dtype, False, bad.tobytes()))
        assert getattr(grouped, name)[0] == beyond  # the view on the object is repointed
    for _ in range(2):  # the in-place twin, then the repointed grouping (the far ties' trial)
        _step_matches_plain(pop)
    assert pop.ties_by_degree is grouped


def test_the_kernels_arrays_are_memoryviews_of_the_bytes_checked() -> None:
    """What the kernel is given: read-only memoryviews of the immutable bytes the grouping
    checked (the same objects every day, of the checked arrays' types and values); one
    released by hand is refused with an error, never read."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(13))
    grouped = diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=1)
    views = grouped.kernel_arrays()
    assert grouped.kernel_arrays() is views
    for view, kept, name in zip(views, grouped._buffers, diffusion._CHECKED, strict=True):
        assert type(view) is memoryview and view.readonly and view.obj is kept
        array = getattr(grouped, name)
        assert np.asarray(view).dtype == array.dtype and np.array_equal(view, array)
    if not COMPILED:
        return
    pop.ties_by_degree = grouped
    views[2].release()
    with pytest.raises(ValueError, match="released"):
        _step_matches_plain(pop)


@pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
def test_the_grouping_is_made_once_and_again_for_another_matrix() -> None:
    """The step groups the ties on its first day and keeps them; a matrix whose row weights
    were read afresh (``__post_init__``) is grouped afresh."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(8))
    assert pop.ties_by_degree is None
    diffusion.diffuse_trust(pop, 0.2, 0.1)
    first = pop.ties_by_degree
    assert first is not None and first.source is pop.influence
    diffusion.diffuse_trust(pop, 0.2, 0.1)
    assert pop.ties_by_degree is first
    other = build_population(
        SMALL, SocialParameters(weak_ties_per_resident=3), np.random.default_rng(9)
    )
    pop.influence, pop.isolated = other.influence, other.isolated
    pop.__post_init__()
    _step_matches_plain(pop)
    assert pop.ties_by_degree is not None and pop.ties_by_degree.source is other.influence


@pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
def test_a_matrix_or_weights_put_in_without_reading_them_again_are_grouped_afresh() -> None:
    """Put in place without ``__post_init__``: another matrix of the same rows' degrees and
    weights (other ties), or other row weights for the same matrix (its values scaled in
    place): the grouping made for the old ones is not used."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(10))
    diffusion.diffuse_trust(pop, 0.2, 0.1)
    first = pop.ties_by_degree
    assert first is not None
    old = pop.influence
    # the same weights on other ties
    moved = type(old)((old.data.copy(), (old.indices + 1) % pop.size, old.indptr), shape=old.shape)
    pop.influence = pop.weighted_influence = moved
    _step_matches_plain(pop)
    assert pop.ties_by_degree is not first and pop.ties_by_degree.source is moved
    second = pop.ties_by_degree
    assert pop.row_weight is not None
    pop.influence.data *= np.float32(0.5)
    pop.row_weight = pop.row_weight * np.float32(0.5)  # read again, by hand
    _step_matches_plain(pop)
    assert pop.ties_by_degree is not second
    assert pop.ties_by_degree.source_weight is pop.row_weight


@pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
@pytest.mark.parametrize("far", [0, 1, 5])
@_WIDTHS
def test_the_model_step_with_far_ties_gathered_is_the_plain_formulas(
    monkeypatch: pytest.MonkeyPatch, far: int, simd: bool
) -> None:
    """A population small enough to have no far tie at the shipped distance, its ties
    made far by a shorter one (every tie at 0): several days of the model's step, each the
    plain formula's, bit for bit, on the grouping the step made with far ties in slots
    (days 1 and 3) and on its in-place twin (days 2 and 4: the far ties' trial alternates
    them, model/far_tie_trial.py)."""
    monkeypatch.setattr(diffusion, "FAR_TIE_ROWS", far)
    monkeypatch.setattr(diffusion, "GATHER_SLOTS", 7)
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(11))
    pop.trust[::5] = 1.0  # and some at the bound, some below it
    pop.trust[1::7] = 0.0
    for _ in range(4):
        with _loops(simd):
            _step_matches_plain(pop)
    grouped = pop.ties_by_degree
    assert grouped is not None and grouped.far_from.shape[0] > 0
    if far == 0:
        assert grouped.far_from.shape[0] == grouped.ties.shape[0]
    trial = pop.far_tie_trial
    assert trial is not None and [len(s) for s in trial.seconds] == [2, 2]


def test_compiled_step_runs_where_required() -> None:
    """Under MICROGOV_REQUIRE_COMPILED=1 (CI) the compiled trust step is the one in use, on
    x86-64 with its vector loops."""
    from model.engine_backend import REQUIRE_COMPILED_VARIABLE, flag

    if not flag(REQUIRE_COMPILED_VARIABLE):
        pytest.skip("MICROGOV_REQUIRE_COMPILED is not set")
    assert COMPILED
    if platform.machine().lower() in ("x86_64", "amd64"):  # SSE2 is x86-64's baseline
        assert diffusion._engine is not None and diffusion._engine.TRUST_SIMD


def test_a_matrix_put_in_later_takes_the_reference() -> None:
    """Row weights read from the built matrix are not used with another one put in its place
    (the kernel would sum the new ties with the old weights): the step is the plain formula's."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(6))
    assert pop.row_weight is not None
    other = build_population(
        SMALL, SocialParameters(weak_ties_per_resident=3), np.random.default_rng(7)
    )
    pop.influence, pop.isolated = other.influence, other.isolated
    pop.isolated_rows = other.isolated_rows
    _step_matches_plain(pop)


def _isolated_call(
    trust: np.ndarray, disposition: np.ndarray, w: float, r: float
) -> tuple[bool, float]:
    """The compiled step on ``trust`` for residents without ties (one group, degree 0)."""
    n = trust.shape[0]
    pop = SimpleNamespace(
        trust=trust, disposition=disposition, neighbours32=np.zeros(n, dtype=np.float32)
    )
    no_ties = SimpleNamespace(
        rows=np.arange(n, dtype=np.intc),
        starts=np.array([0, n], dtype=np.int64),
        ties=np.zeros(0, dtype=np.intc),
        weight=np.zeros(n, dtype=np.float32),
        work=np.zeros(n, dtype=np.float32),
        far_from=np.zeros(0, dtype=np.intc),
        far_to=np.zeros(0, dtype=np.intc),
    )
    return _grouped_call(pop, no_ties, w, r)  # type: ignore[return-value]


_SIZES = st.one_of(
    st.integers(0, 300),  # every case of numpy's blocks: < 8, ≤ 128, halves at multiples of 8
    st.sampled_from([1_023, 1_024, 1_025, 8_193, 65_537, 1_148_462]),  # deep halvings; the district
)


@pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
@_WIDTHS
@settings(max_examples=80, deadline=None)
@given(
    n=_SIZES,
    seed=st.integers(0, 2**16),
    exponents=st.sampled_from([(0, 0), (-30, 30), (-300, -300), (35, 37)]),  # float32: < 3.4e38
    specials=st.lists(st.sampled_from([0.0, -0.0, 5e-324, 1e-310, -1e-310]), max_size=4),
)
def test_the_kernels_sum_is_numpys_bit_for_bit(
    n: int, seed: int, exponents: tuple[int, int], specials: list[float], simd: bool
) -> None:
    """The sum the kernel returns is ``np.add.reduce`` of the trust it wrote, bit for bit, at
    any length — numpy's pairwise order — on values of both signs over wide ranges of
    magnitude (where the order of the additions shows in the bits), subnormals and zeros.
    With both weights 0 and a disposition of −1 the step writes every value back as it was
    (−0.0 too), so the sums are of these values themselves."""
    rng = np.random.default_rng(seed)
    low, high = exponents
    trust = rng.standard_normal(n) * 10.0 ** rng.uniform(low, high, n)
    if n:
        trust[rng.integers(0, n, size=len(specials))] = specials
    given_values = trust.copy()
    with _loops(simd):
        out_of_bounds, total = _isolated_call(trust, np.full(n, -1.0), 0.0, 0.0)
    assert _bits(trust) == _bits(given_values)  # the step wrote the values back
    assert np.float64(total).view(np.int64) == np.add.reduce(trust).view(np.int64)
    assert out_of_bounds == bool(n and not ((trust >= 0) & (trust <= 1)).all())


@pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
@_WIDTHS
def test_a_nan_or_infinite_trust_is_reported_and_summed_to_nan(special: float, simd: bool) -> None:
    """A NaN or infinite value (a NaN once stepped: ``float32(inf)·0``) leaves [0, 1]: the
    caller clips and sums again; the kernel's own sum is a NaN, as numpy's would be."""
    trust = np.random.default_rng(1).random(300)
    trust[17] = special
    with _loops(simd):
        out_of_bounds, total = _isolated_call(trust, np.zeros(300), 0.0, 0.25)
    assert out_of_bounds and np.isnan(total) and np.isnan(np.add.reduce(trust))


@pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
@pytest.mark.parametrize("special", [np.nextafter(1.0, 2.0), -5e-324, np.nan])
@_WIDTHS
def test_a_value_out_of_bounds_is_reported_wherever_it_is(special: float, simd: bool) -> None:
    """One value just above 1, just below 0 or NaN, at any resident — either lane of a
    vector of two, a block's last odd one, a block of fewer than 8 — is reported; none,
    when every value is in bounds (the step writes each value back: both weights 0, a
    disposition of −1)."""
    for n in (5, 37, 300):
        trust = np.random.default_rng(n).random(n)
        trust[[0, 2, -1]] = [0.0, -0.0, 1.0]  # the bounds themselves are in bounds
        with _loops(simd):
            assert _isolated_call(trust, np.full(n, -1.0), 0.0, 0.0)[0] is False
        for at in range(n):
            changed = trust.copy()
            changed[at] = special
            with _loops(simd):
                assert _isolated_call(changed, np.full(n, -1.0), 0.0, 0.0)[0] is True


@pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
@_WIDTHS
def test_the_kernels_sum_is_pairwise_not_running(simd: bool) -> None:
    """Where numpy's pairwise sum and a running sum differ in the last bits, the kernel's
    is numpy's (a running sum would pass the test above only by luck on short vectors)."""
    trust = np.random.default_rng(7).random(100_000)
    running = 0.0
    for value in trust.tolist():
        running += value
    with _loops(simd):
        _, total = _isolated_call(trust, np.zeros_like(trust), 0.0, 0.0)
    assert total == np.add.reduce(trust) != running


def test_the_days_mean_trust_is_the_steps_sum_once(classroom: Scenario) -> None:
    """The collected mean trust is ``trust.mean()`` of the trust at collection; the trust
    step's own sum serves that day's collection only."""
    model = GovernanceModel(classroom.parameters, seed=4, case_sink=lambda frame: None)
    for _ in range(3):
        model.step()
        assert model.datacollector.model_vars["trust_mean"][-1] == model.population.trust.mean()
    assert model._trust_total is None  # used by the day's collection
    model._diffuse_trust()
    assert model._trust_total == np.add.reduce(model.population.trust)
    assert model._mean_trust() == model.population.trust.mean()
    assert model._trust_total is None and model._mean_trust() == model.population.trust.mean()


def test_a_sum_left_by_a_step_is_not_used_on_a_day_without_one(classroom: Scenario) -> None:
    """A day without a trust step (both weights 0) collects numpy's mean, not a sum left
    over from before: every step forgets the last one's sum before anything else."""
    social = classroom.parameters.social.model_copy(
        update={"neighbour_influence_per_day": 0.0, "disposition_weight_per_day": 0.0}
    )
    parameters = classroom.parameters.model_copy(update={"social": social})
    model = GovernanceModel(parameters, seed=4, case_sink=lambda frame: None)
    model.step()
    model._trust_total = 123.0  # as if left by a trust step whose day was not collected
    model.step()
    assert model.datacollector.model_vars["trust_mean"][-1] == model.population.trust.mean()


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.integers(0, 2**62), max_size=80),
    small=st.lists(st.integers(0, 5), max_size=80),
    dtype=st.sampled_from([np.int8, np.uint16, np.int32, np.int64, np.uint64]),
)
def test_the_groupings_stable_order_is_numpys(keys: list[int], small: list[int], dtype) -> None:
    """``_stable_order`` (16-bit digits, numpy's radix sort of each) is ``np.argsort(kind=
    "stable")`` — the same order and type — of non-negative keys of any size and integer
    type, many equal ones among them, and refuses a negative key."""
    for values in (keys, small, [k % 2**31 for k in keys]):
        if values and max(values) > np.iinfo(dtype).max:
            continue
        key = np.array(values, dtype=dtype)
        expected = np.argsort(key, kind="stable")
        got = diffusion._stable_order(key)
        assert got.tolist() == expected.tolist() and got.dtype == expected.dtype
    if np.issubdtype(dtype, np.signedinteger):
        with pytest.raises(ValueError, match="negative"):
            diffusion._stable_order(np.array([3, -1, 2], dtype=dtype))


@settings(max_examples=200, deadline=None)
@given(
    degrees=st.lists(st.integers(0, 9), max_size=40),
    columns=st.lists(st.integers(0, 2**31 - 1), min_size=400, max_size=400),
    far_rows=st.one_of(st.integers(0, 45), st.just(2**62), st.just(2**64)),
)
def test_the_compiled_grouping_is_numpys(
    degrees: list[int], columns: list[int], far_rows: int
) -> None:
    """The engine's ``group_by_degree`` makes what ``_numpy_grouping`` (the reference)
    makes — the rows by number of ties, where each number begins, the ties row by row in
    their stored order, the far ties' positions — the same values of the same types, for
    empty rows, no rows, unsorted ties, and any distance (``far_rows`` 0, or beyond every
    tie; ``_grouping`` takes a distance beyond int64 down to one beyond every tie)."""
    engine = diffusion._engine
    if engine is None:
        pytest.skip("the compiled engine is not built")
    n = len(degrees)
    indptr = np.concatenate(([0], np.cumsum(degrees, dtype=np.int64))).astype(np.int32)
    indices = np.array([c % max(n, 1) for c in columns[: int(indptr[-1])]], dtype=np.int32)
    matrix = sp.csr_matrix((np.ones(indices.shape[0], np.float32), indices, indptr), (n, n))
    got = engine.group_by_degree(indptr, indices, min(far_rows, 2**62))
    expected = diffusion._numpy_grouping(matrix, far_rows)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.dtype == theirs.dtype and mine.tolist() == theirs.tolist()
    assert [a.tolist() for a in diffusion._grouping(matrix, far_rows)] == [
        a.tolist() for a in expected
    ]


def _fits_arrays(grouped: diffusion.TiesByDegree) -> list[np.ndarray]:
    """What the checks are given of ``grouped``: its matrix's row pointers, then its rows,
    starts, ties, far_from and far_to (copies)."""
    arrays = _copies(grouped)
    del arrays["weight"]  # (the weights are not the checks')
    return [grouped.source.indptr, *arrays.values()]


def _gathered_arrays(degrees: list[int], columns: list[int], far_rows: int, stretch: int):
    """A random matrix of ``degrees`` and the arrays the checks are given of its gathered
    grouping (``TiesByDegree.of``)."""
    n = len(degrees)
    indptr = np.concatenate(([0], np.cumsum(degrees, dtype=np.int64))).astype(np.int32)
    indices = np.array([c % max(n, 1) for c in columns[: int(indptr[-1])]], dtype=np.int32)
    matrix = sp.csr_matrix((np.ones(indices.shape[0], np.float32), indices, indptr), (n, n))
    grouped = diffusion.TiesByDegree.of(matrix, np.ones(n, np.float32), far_rows, stretch)
    return _fits_arrays(grouped)


@settings(max_examples=300, deadline=None)
@given(
    degrees=st.lists(st.integers(0, 6), max_size=30),
    columns=st.lists(st.integers(0, 2**31 - 1), min_size=180, max_size=180),
    far_rows=st.integers(0, 12),
    stretch=st.integers(1, 9),
    which=st.integers(0, 5),
    at=st.integers(0, 2**31 - 1),
    value=st.one_of(st.integers(-3, -1), st.integers(0, 40), st.just(2**31 - 1)),
    shorter=st.booleans(),
)
def test_the_compiled_check_of_a_grouping_is_numpys(
    degrees: list[int],
    columns: list[int],
    far_rows: int,
    stretch: int,
    which: int,
    at: int,
    value: int,
    shorter: bool,
) -> None:
    """The engine's ``grouping_fits`` answers as ``_numpy_fits`` (the reference) does: yes
    for a grouping ``layouts_of`` makes, and the same answer after one of its arrays has
    one value changed to anything near the rows and slots, or negative (a row twice, a row
    in another group, a tie or slot beyond them, a slot filled or read twice, starts out of
    order, a decreasing row pointer), or has lost its last value (the ties fewer than the
    groups hold: the other arrays' lengths are the constructor's own checks)."""
    engine = diffusion._engine
    if engine is None:
        pytest.skip("the compiled engine is not built")
    arrays = list(_gathered_arrays(degrees, columns, far_rows, stretch))
    assert engine.grouping_fits(*arrays) and diffusion._numpy_fits(*arrays)
    changed = arrays[which].copy()
    if shorter and which == 3:
        arrays[which] = changed[:-1]
        assert engine.grouping_fits(*arrays) == diffusion._numpy_fits(*arrays)
    elif changed.shape[0]:
        changed[at % changed.shape[0]] = value
        arrays[which] = changed
        assert engine.grouping_fits(*arrays) == diffusion._numpy_fits(*arrays)


def test_the_compiled_check_refuses_what_numpys_refuses() -> None:
    """Both checks refuse groups whose starts go back, ties fewer or more than the groups
    hold, a row pointer whose difference wraps in int32, and a tie below the rows; both
    accept the grouping as made. (Starts that go back are also refused by the rows seen
    twice they imply; the engine's own check of their order keeps it from reading before
    the rows, which no answer shows.)"""
    engine = diffusion._engine
    if engine is None:
        pytest.skip("the compiled engine is not built")
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(4))
    assert pop.row_weight is not None
    good = _fits_arrays(diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=2))
    n = pop.size
    back = good[2].copy()
    back[1] = -5  # starts 0, −5, …: the group "between" would begin before the rows
    wrapped = np.array([2**31 - 1, -(2**31)], dtype=np.int32)  # one row: 1 tie, wrapped
    below = good[3].copy()
    below[0] = -1
    cases = {
        "as made": (good, True),
        "starts going back": ([*good[:2], back, *good[3:]], False),
        "a tie fewer": ([*good[:3], good[3][:-1], *good[4:]], False),
        "a tie more": ([*good[:3], np.append(good[3], 0).astype(np.int32), *good[4:]], False),
        "a tie below the rows": ([*good[:3], below, *good[4:]], False),
        "a wrapping row pointer": (
            [
                wrapped,
                np.array([0], dtype=np.int32),
                np.array([0, 0, 1], dtype=np.int64),
                np.array([0], dtype=np.int32),
                np.empty(0, dtype=np.int32),
                np.empty(0, dtype=np.int32),
            ],
            False,
        ),
    }
    assert n == good[1].shape[0]
    for name, (arrays, expected) in cases.items():
        assert engine.grouping_fits(*arrays) is expected, name
        assert diffusion._numpy_fits(*arrays) is expected, name


@settings(max_examples=200, deadline=None)
@given(
    far_from=st.lists(st.integers(0, 2**31 - 1), max_size=300),
    few=st.lists(st.integers(0, 4), max_size=300),
    stretch=st.one_of(st.integers(1, 70), st.just(2**62)),
)
def test_the_compiled_stretch_order_is_numpys(
    far_from: list[int], few: list[int], stretch: int
) -> None:
    """The engine's ``stretch_order`` is ``_stable_order`` of each far tie's stretch, then
    row — the same order and type — for rows of any size, many equal, any stretch; it
    refuses a negative row and a stretch below one."""
    engine = diffusion._engine
    if engine is None:
        pytest.skip("the compiled engine is not built")
    for values in (far_from, few):
        rows = np.array(values, dtype=np.int32)
        n = int(rows.max()) + 1 if rows.shape[0] else 0
        key = np.arange(rows.shape[0], dtype=np.int64) // stretch * n + rows
        expected = diffusion._stable_order(key)
        got = engine.stretch_order(rows, stretch)
        assert got.tolist() == expected.tolist() and got.dtype == expected.dtype
    with pytest.raises(ValueError, match="negative row"):
        engine.stretch_order(np.array([3, -1, 2], dtype=np.int32), 2)
    with pytest.raises(ValueError, match="stretch 0"):
        engine.stretch_order(np.array([3, 1], dtype=np.int32), 0)


def test_the_grouping_is_compiled_for_the_kernels_matrix_only() -> None:
    """``_grouping`` asks the engine for an int32 matrix whose row pointers span its indices,
    and numpy otherwise (int64 indices and row pointers);
    the engine refuses row pointers that do not span the indices or decrease, and a
    negative distance."""
    engine = diffusion._engine
    if engine is None:
        pytest.skip("the compiled engine is not built")
    calls: list[int] = []

    class Counting:
        def group_by_degree(self, indptr, indices, far_rows):  # type: ignore[no-untyped-def]
            calls.append(far_rows)
            return engine.group_by_degree(indptr, indices, far_rows)

    matrix = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]], dtype=np.float32))
    wide = matrix.copy()  # (scipy's constructor would take the int64 arrays down to int32)
    wide.indices, wide.indptr = matrix.indices.astype(np.int64), matrix.indptr.astype(np.int64)
    original = diffusion._engine
    diffusion._engine = Counting()  # type: ignore[assignment]
    try:
        grouped = diffusion._grouping(matrix, 1)
        assert calls == [1]
        by_numpy = diffusion._grouping(wide, 1)
        assert calls == [1]
    finally:
        diffusion._engine = original
    for mine, theirs in zip(grouped, by_numpy, strict=True):
        assert mine.dtype == theirs.dtype and mine.tolist() == theirs.tolist()
    assert grouped[0].tolist() == [1, 2, 0] and grouped[2].tolist() == [0, 0, 1, 2]
    assert grouped[3].tolist() == [1, 3]  # row 2 to row 0, row 0 to row 2: two rows apart
    ties = np.array([1, 2, 0], dtype=np.int32)
    with pytest.raises(ValueError, match="do not span"):
        engine.group_by_degree(np.array([1, 2, 3], dtype=np.int32), ties, 1)
    with pytest.raises(ValueError, match="do not span"):
        engine.group_by_degree(np.array([0, 2, 2], dtype=np.int32), ties, 1)
    with pytest.raises(ValueError, match="decrease at row 1"):
        engine.group_by_degree(np.array([0, 4, 1, 3], dtype=np.int32), ties, 1)
    wrapping = np.array([0, 2**31 - 1, -2, 3], dtype=np.int32)  # −2 − (2³¹ − 1) wraps in int32
    with pytest.raises(ValueError, match="decrease at row 1"):
        engine.group_by_degree(wrapping, ties, 1)
    with pytest.raises(ValueError, match="far_rows -1"):
        engine.group_by_degree(np.array([0, 3], dtype=np.int32), ties, -1)
