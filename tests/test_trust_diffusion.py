"""The daily trust step (GovernanceModel._diffuse_trust, model/trust_diffusion.py; issue 11):
filled work space, a clip only when needed and the compiled kernel give, bit for bit, what
the plain formula gives."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.trust_diffusion as diffusion
from model.governance import GovernanceModel
from model.parameters import PopulationParameters, SocialParameters
from model.population import Population, build_population

COMPILED = diffusion.BACKEND == "compiled"

SMALL = PopulationParameters(
    streets=1, communities_per_street=2, grids_per_community=2, residents_per_grid=40
)


def _plain(pop: Population, trust: np.ndarray, w: float, r: float) -> np.ndarray:
    """The day's trust by the formula as first written: a new float32 copy, a new ``kept``,
    an unconditional clip (no diffusion at all when both weights are 0)."""
    trust = trust.copy()
    if w <= 0 and r <= 0:
        return trust
    neighbours = pop.influence.dot(trust.astype(np.float32))
    if pop.isolated.any():
        neighbours[pop.isolated] = trust[pop.isolated]
    kept = trust * (1.0 - w - r)
    kept += np.multiply(neighbours, w, out=neighbours)
    np.multiply(pop.disposition, r, out=trust)
    trust += kept
    np.clip(trust, 0.0, 1.0, out=trust)
    return trust


def _bits(a: np.ndarray) -> list[int]:
    return a.view(np.int64).tolist()  # equal bits: −0.0 and NaN payloads too


_TRUST = st.sampled_from([0.0, -0.0, 1.0, 0.25, 1.0 / 3.0, 0.999999, 1e-300, -0.1, 1.2])


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
) -> None:
    """Any weights (also summing past 1, so that trust leaves [0, 1]), ties, trust values
    out of bounds, ±0 or 1 exactly, over several days, an odd or even number of residents
    (the kernel sums rows in pairs): every bit as the plain formula, by the compiled kernel
    and by the numpy reference (``row_weight`` None)."""
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
    social = SocialParameters(neighbour_influence_per_day=0.4, disposition_weight_per_day=0.1)
    expected = _plain(pop, pop.trust, 0.4, 0.1)
    GovernanceModel._diffuse_trust(
        SimpleNamespace(parameters=SimpleNamespace(social=social), population=pop)
    )  # type: ignore[arg-type]
    assert _bits(pop.trust) == _bits(expected)


@pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")
def test_kernel_refuses_arrays_of_different_lengths() -> None:
    """The compiled step checks its arrays' lengths (it reads them unchecked after)."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(2))
    engine = diffusion._engine
    assert engine is not None
    influence = pop.influence
    with pytest.raises(ValueError, match="different lengths"):
        engine.diffuse_trust(
            influence.indptr,
            influence.indices,
            pop.row_weight,
            pop.trust[:-1],
            pop.disposition[:-1],
            pop.trust32[:-1],
            0.1,
            0.1,
        )


def test_compiled_step_runs_where_required() -> None:
    """Under MICROGOV_REQUIRE_COMPILED=1 (CI) the compiled trust step is the one in use."""
    from model.engine_backend import REQUIRE_COMPILED_VARIABLE, flag

    if not flag(REQUIRE_COMPILED_VARIABLE):
        pytest.skip("MICROGOV_REQUIRE_COMPILED is not set")
    assert COMPILED


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
    social = SocialParameters(neighbour_influence_per_day=0.4, disposition_weight_per_day=0.1)
    expected = _plain(pop, pop.trust, 0.4, 0.1)
    GovernanceModel._diffuse_trust(
        SimpleNamespace(parameters=SimpleNamespace(social=social), population=pop)
    )  # type: ignore[arg-type]
    assert _bits(pop.trust) == _bits(expected)
