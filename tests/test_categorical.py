"""Categorical draws from a precomputed cdf are numpy's ``Generator.choice``, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.categorical import choice, choice_cdf, choose


@st.composite
def probability_vectors(draw: st.DrawFn) -> np.ndarray:
    """Non-negative weights (zeros included, at least one positive), normalised."""
    weights = draw(
        st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 10.0)), min_size=1, max_size=9).filter(
            lambda w: sum(w) > 0
        )
    )
    w = np.array(weights)
    return w / w.sum()


@settings(max_examples=200, deadline=None)
@given(p=probability_vectors(), n=st.integers(0, 40), seed=st.integers(0, 2**32 - 1))
def test_choice_gives_numpys_indices_and_leaves_the_same_state(
    p: np.ndarray, n: int, seed: int
) -> None:
    """choice(rng, choice_cdf(p), n) equals rng.choice(len(p), n, p=p): values, dtype, state."""
    ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
    got = choice(ours, choice_cdf(p), n)
    expected = numpys.choice(len(p), n, p=p)
    assert got.dtype == expected.dtype == np.int64
    assert np.array_equal(got, expected)
    assert ours.bit_generator.state == numpys.bit_generator.state
    assert not np.isin(got, np.flatnonzero(p == 0)).any(), "a zero-probability category drawn"


@settings(max_examples=100, deadline=None)
@given(
    p=probability_vectors(),
    q=probability_vectors(),
    sizes=st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(0, 12)),
    seed=st.integers(0, 2**32 - 1),
)
def test_choices_from_one_shared_random_call_equal_consecutive_choice_calls(
    p: np.ndarray, q: np.ndarray, sizes: tuple[int, int, int], seed: int
) -> None:
    """Uniforms of one rng.random call, split, give the choices (and uniforms) of separate calls."""
    a, b, c = sizes
    ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
    u = ours.random(a + b + c)
    expected_p = numpys.choice(len(p), a, p=p)
    expected_q = numpys.choice(len(q), b, p=q)
    expected_u = numpys.random(c)
    assert np.array_equal(choose(choice_cdf(p), u[:a]), expected_p)
    assert np.array_equal(choose(choice_cdf(q), u[a : a + b]), expected_q)
    assert u[a + b :].tobytes() == expected_u.tobytes()
    assert ours.bit_generator.state == numpys.bit_generator.state


@pytest.mark.parametrize(
    ("p", "message"),
    [
        ([0.5, -0.1, 0.6], "non-negative"),
        ([0.5, float("nan")], "NaN"),
        ([0.2, 0.2], "sum to 1"),
        ([], "non-empty"),
        ([[0.5, 0.5]], "1-dimensional"),
    ],
)
def test_a_vector_that_is_not_a_distribution_is_refused(p: list[float], message: str) -> None:
    """choice_cdf refuses what Generator.choice would refuse, with the reason."""
    with pytest.raises(ValueError, match=message):
        choice_cdf(p)
