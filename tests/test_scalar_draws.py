"""``integer_below`` is numpy's ``int(rng.integers(high))``, ``uniform`` its
``rng.random()`` and ``uniforms`` its ``rng.random(n).tolist()``: the same numbers, the
same generator state afterwards, the same refusals (model/scalar_draws.py)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import model.scalar_draws as scalar_draws
from model.engine_backend import compiled_engine
from model.scalar_draws import integer_below, uniform, uniforms

needs_engine = pytest.mark.skipif(
    compiled_engine() is None, reason="the compiled engine is not built"
)


@given(
    seed=st.integers(0, 2**32 - 1),
    highs=st.lists(
        st.one_of(st.integers(1, 40), st.integers(1, 2**32 - 1), st.integers(2**32, 2**62)),
        min_size=1,
        max_size=60,
    ),
)
@settings(max_examples=200, deadline=None)
@example(seed=3, highs=[1, 2**32 - 1, 2**32, 2**32 + 1, 2**31 + 1, 2])  # each path's edge
@example(seed=4, highs=[2**63 - 1, 1, 1, 5])
def test_the_same_numbers_and_state_as_numpy(seed: int, highs: list[int]) -> None:
    ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
    # interleaved with uniforms, as the lifecycle draws them from one stream
    got = [(integer_below(ours, high), uniform(ours)) for high in highs]
    expected = [(int(numpys.integers(high)), numpys.random()) for high in highs]
    assert got == expected
    assert all(type(k) is int and type(u) is float for k, u in got)
    assert ours.bit_generator.state == numpys.bit_generator.state
    # and the next draw of another kind too: nothing buffered differs
    assert ours.random() == numpys.random()


@given(
    seed=st.integers(0, 2**32 - 1),
    counts=st.lists(st.integers(0, 40), min_size=1, max_size=20),
)
@settings(max_examples=200, deadline=None)
@example(seed=7, counts=[0, 9, 1, 0, 9])
def test_uniforms_are_numpys_list_and_leave_its_state(seed: int, counts: list[int]) -> None:
    ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
    # interleaved with single draws, as a repeat contact's nine follow other draws
    got = [(uniforms(ours, n), uniform(ours)) for n in counts]
    expected = [(numpys.random(n).tolist(), numpys.random()) for n in counts]
    assert got == expected
    assert all(type(u) is list and all(type(x) is float for x in u) for u, _ in got)
    assert ours.bit_generator.state == numpys.bit_generator.state


def test_a_negative_count_is_refused_as_numpy_refuses_it() -> None:
    rng = np.random.default_rng(2)
    before = rng.bit_generator.state
    with pytest.raises(ValueError, match="negative dimensions"):
        uniforms(rng, -1)
    assert rng.bit_generator.state == before


def test_a_range_beyond_numpys_is_refused_as_numpy_refuses_it() -> None:
    with pytest.raises(ValueError, match="out of bounds"):
        integer_below(np.random.default_rng(1), 2**64 - 1)


def test_one_value_draws_nothing() -> None:
    rng = np.random.default_rng(5)
    before = rng.bit_generator.state
    assert integer_below(rng, 1) == 0
    assert rng.bit_generator.state == before


@pytest.mark.parametrize("high", [0, -3])
def test_an_empty_range_is_refused_as_numpy_refuses_it(high: int) -> None:
    with pytest.raises(ValueError, match="high <= 0"):
        integer_below(np.random.default_rng(1), high)


@pytest.mark.parametrize("high", [np.int64(7), np.uint32(2**32 - 1), 2**63, True])
def test_other_forms_of_high_are_numpys_own(high: object) -> None:
    """A numpy integer, a range beyond 64 bits signed, a bool: what numpy's call gives."""
    ours, numpys = np.random.default_rng(9), np.random.default_rng(9)
    assert integer_below(ours, high) == int(numpys.integers(high))  # type: ignore[arg-type]
    assert ours.bit_generator.state == numpys.bit_generator.state


@needs_engine
def test_the_compiled_draw_is_chosen_where_it_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = compiled_engine()
    assert engine is not None
    assert scalar_draws.integer_below is engine.integer_below
    assert scalar_draws.uniform is engine.uniform
    assert scalar_draws.uniforms is engine.uniforms
    monkeypatch.setattr(scalar_draws, "_agree", [False])  # as if a numpy release changed
    assert scalar_draws._chosen() == (
        scalar_draws._numpy_integer_below,
        scalar_draws._numpy_uniform,
        scalar_draws._numpy_uniforms,
    )


@needs_engine
def test_a_disagreeing_engine_is_found_and_warned_about(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = compiled_engine()

    class IntegersOffByOne:  # an engine whose integers differ from numpy's
        uniform = engine.uniform
        uniforms = engine.uniforms

        @staticmethod
        def integer_below(rng: np.random.Generator, high: int) -> int:
            return (int(rng.integers(high)) + 1) % high

    class UniformsFromAnotherAlgorithm:  # uniforms of 32 bits where numpy takes 53
        integer_below = engine.integer_below
        uniforms = engine.uniforms

        @staticmethod
        def uniform(rng: np.random.Generator) -> float:
            return float(rng.random(dtype=np.float32))

    class ListsReversed:  # several uniforms in another order
        integer_below = engine.integer_below
        uniform = engine.uniform

        @staticmethod
        def uniforms(rng: np.random.Generator, n: int) -> list[float]:
            return rng.random(n).tolist()[::-1]

    for disagreeing in (IntegersOffByOne, UniformsFromAnotherAlgorithm, ListsReversed):
        monkeypatch.setattr(scalar_draws, "_engine", disagreeing)
        monkeypatch.setattr(scalar_draws, "_agree", [])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="model.scalar_draws"):
            chosen = scalar_draws._chosen()
        assert chosen == (
            scalar_draws._numpy_integer_below,
            scalar_draws._numpy_uniform,
            scalar_draws._numpy_uniforms,
        )
        assert "differ from numpy" in caplog.text


# ------------------------------------------------------------ generators seeded by a key
entropies = st.lists(
    st.one_of(st.integers(0, 4), st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1)),
    max_size=10,
)


@given(entropy=entropies, n=st.integers(0, 12), as_tuple=st.booleans())
@settings(max_examples=300, deadline=None)
@example(entropy=[], n=3, as_tuple=False)  # no entropy: the pool hashed from zeros
@example(entropy=[0, 0, 0, 0, 0, 0], n=8, as_tuple=True)  # more words than the pool
@example(entropy=[2**64 - 1, 2**32, 2**32 - 1], n=1, as_tuple=False)  # each word count's edge
def test_seeded_draws_are_numpys(entropy: list[int], n: int, as_tuple: bool) -> None:
    """``seeded_uniforms`` are ``default_rng(entropy).random(n)``, and ``seeded_generator``
    is in ``default_rng(entropy)``'s state and draws its numbers, for any key of ints below
    2**64, given as a list or a tuple."""
    key: list[int] | tuple[int, ...] = tuple(entropy) if as_tuple else entropy
    reference = np.random.default_rng(entropy)
    assert scalar_draws.seeded_uniforms(key, n) == reference.random(n).tolist()
    generator, reference = scalar_draws.seeded_generator(key), np.random.default_rng(entropy)
    assert generator.bit_generator.state == reference.bit_generator.state
    assert generator.exponential(2.0, 5).tolist() == reference.exponential(2.0, 5).tolist()


@pytest.mark.parametrize("entropy", [[2**64], [3, 2**70], [-1], [1.5], [np.int64(4)], [True]])
def test_other_keys_are_numpys_own(entropy: list[object]) -> None:
    """A key the compiled hashing does not take (64 bits or more, negative, not an int) is
    numpy's: the same numbers, or the same refusal."""
    try:
        expected = np.random.default_rng(entropy).random(4).tolist()  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        with pytest.raises(type(error)):
            scalar_draws.seeded_uniforms(entropy, 4)  # type: ignore[arg-type]
        with pytest.raises(type(error)):
            scalar_draws.seeded_generator(entropy)  # type: ignore[arg-type]
        return
    assert scalar_draws.seeded_uniforms(entropy, 4) == expected  # type: ignore[arg-type]
    assert scalar_draws.seeded_generator(entropy).random(4).tolist() == expected  # type: ignore[arg-type]


@needs_engine
def test_the_compiled_seeding_is_chosen_where_it_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled seeding runs where it agrees with numpy; where it does not (as if a numpy
    release changed SeedSequence), numpy's calls run and a warning says so."""
    engine = compiled_engine()
    assert engine is not None
    assert scalar_draws.seeded_uniforms is engine.seeded_uniforms
    assert scalar_draws.seeded_generator is scalar_draws._compiled_seeded_generator

    class OtherHashing:  # seed words of another hashing
        @staticmethod
        def seeded_uniforms(entropy: list[int], n: int) -> list[float]:
            return engine.seeded_uniforms([*entropy, 1], n)

        @staticmethod
        def seed_state(entropy: list[int]) -> object:
            return engine.seed_state(entropy)

    monkeypatch.setattr(scalar_draws, "_engine", OtherHashing)
    monkeypatch.setattr(scalar_draws, "_seeded_agree", [])
    assert scalar_draws._seeded_chosen() == (
        scalar_draws._numpy_seeded_uniforms,
        scalar_draws._numpy_seeded_generator,
    )
