"""One draw at a time, as numpy draws it but without its call's cost (issue 11).

``int(rng.integers(n))`` costs ≈ 1.8 µs and ``rng.random()`` ≈ 0.5 µs, nearly all of it
numpy's argument handling, and the lifecycle makes them one case at a time: an integer per
misdirected case (:meth:`model.agents.Office.classify`) and per small task offered to a
grid's volunteers (:meth:`model.party.Organisations.offer`), a uniform per handling whose
quality is not decided by the case's pre-drawn uniform (``Casework._quality_draw``) —
≈ 4 % of a street year between them (eighteenth round). :func:`integer_below` and
:func:`uniform` give the same numbers and leave the generator in the same state, by the
compiled engine's copies of numpy's algorithms (model/_engine.pyx ``integer_below`` and
``uniform``, through numpy's public bit-generator interface) where the engine is built
and agrees with this numpy (checked once per process, when this module is imported, on a
few hundred draws, ≈ 1 ms: a numpy release could change its algorithms; if one did,
numpy's own calls run, with a WARNING), else by numpy's calls themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from model.engine_backend import agrees_with_numpy, compiled_engine

logger = logging.getLogger(__name__)
_engine = compiled_engine()
_agree: list[bool] = []  # whether the compiled draws agree with numpy, once per process
# ranges the check draws from: no draw (1), small and large ones, one whose rejection
# threshold is large (2**31 + 1), the largest the compiled path takes (2**32 − 1) and the
# smallest it leaves to numpy (2**32)
_CHECKED_HIGHS = (1, 2, 3, 7, 10, 97, 1000, 2**31 + 1, 2**32 - 1, 2**32)


def _numpy_integer_below(rng: np.random.Generator, high: int) -> int:
    """The reference: numpy's own scalar call."""
    return int(rng.integers(high))


def _numpy_uniform(rng: np.random.Generator) -> float:
    """The reference: numpy's own scalar call (a Python float)."""
    return rng.random()


def _numpy_uniforms(rng: np.random.Generator, n: int) -> list[float]:
    """The reference: numpy's own call, as a list of Python floats."""
    return rng.random(n).tolist()


# how many uniforms the check draws at a time: none, one, a repeat contact's nine, more
_CHECKED_COUNTS = (0, 1, 9, 33)


def _same_draws() -> bool:
    """Whether the compiled draws give numpy's numbers and generator states, interleaved."""
    assert _engine is not None
    compiled, reference = np.random.default_rng(20261204), np.random.default_rng(20261204)
    same = True
    for _ in range(40):
        for high in _CHECKED_HIGHS:
            same &= _engine.integer_below(compiled, high) == _numpy_integer_below(reference, high)
            same &= _engine.uniform(compiled) == _numpy_uniform(reference)
        for n in _CHECKED_COUNTS:
            same &= _engine.uniforms(compiled, n) == _numpy_uniforms(reference, n)
    return same and compiled.bit_generator.state == reference.bit_generator.state


def _chosen() -> tuple[
    Callable[[np.random.Generator, int], int],
    Callable[[np.random.Generator], float],
    Callable[[np.random.Generator, int], list[float]],
]:
    """The compiled draws where the engine is built and agrees with numpy, else numpy's."""
    if _engine is not None and agrees_with_numpy(_agree, _same_draws, "scalar draws", logger):
        return _engine.integer_below, _engine.uniform, _engine.uniforms
    return _numpy_integer_below, _numpy_uniform, _numpy_uniforms


integer_below, uniform, uniforms = _chosen()
"""``integer_below(rng, high)``: a uniform integer in ``[0, high)`` from ``rng``,
``int(rng.integers(high))`` — the same number, the same state of ``rng`` afterwards, the
same error for ``high`` < 1. ``uniform(rng)``: ``rng.random()``, a Python float in
[0, 1), the same number and state. ``uniforms(rng, n)``: ``rng.random(n).tolist()``, the
same floats and state."""


# ------------------------------------------------------------ generators seeded by a key
# entropies the check seeds with: empty, zeros, one word, two words, more words than the
# pool's four (SeedSequence's last mixing loop), an int of 2**64 − 1 (the largest element
# the compiled path takes; it takes up to 64 words in all)
_CHECKED_ENTROPY = (
    (),
    (0,),
    (0, 0, 0),
    (7, 1, 3, 2),
    (2**62 - 1, 1, 123456, 3),
    (2**32, 2**32 - 1, 0, 5, 9),
    (2**64 - 1, 2**63, 1, 2, 3, 4, 5),
)
_seeded_agree: list[bool] = []


class _SeedWords:
    """A seed sequence of four given 64-bit words: what PCG64 reads from a SeedSequence
    (``generate_state(4, uint64)``), computed beforehand (numpy's ISeedSequence). Not
    spawnable: ``spawn`` on a generator seeded by it raises numpy's TypeError, where one
    from ``default_rng(key)`` would spawn (nothing in the model spawns a case's stream)."""

    __slots__ = ("words",)

    def __init__(self, words: tuple[int, int, int, int]) -> None:
        self.words = words

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        if n_words != 4 or np.dtype(dtype) != np.uint64:  # PCG64 asks for just this
            raise ValueError("_SeedWords gives PCG64's four 64-bit words only")
        return np.array(self.words, dtype=np.uint64)


np.random.bit_generator.ISeedSequence.register(_SeedWords)


def _numpy_seeded_uniforms(entropy: tuple[int, ...] | list[int], n: int) -> list[float]:
    """The reference: numpy's generator seeded with ``entropy``, its first ``n`` uniforms."""
    return np.random.default_rng(entropy).random(n).tolist()


def _numpy_seeded_generator(entropy: tuple[int, ...] | list[int]) -> np.random.Generator:
    """The reference: ``numpy.random.default_rng(entropy)``."""
    return np.random.default_rng(entropy)


def _compiled_seeded_generator(entropy: tuple[int, ...] | list[int]) -> np.random.Generator:
    """``default_rng(entropy)`` with SeedSequence's hashing done by the compiled engine."""
    assert _engine is not None
    words = _engine.seed_state(entropy)
    if words is None:  # entropy the compiled hashing does not take
        return np.random.default_rng(entropy)
    return np.random.Generator(np.random.PCG64(_SeedWords(words)))  # type: ignore[arg-type]


def _same_seeded() -> bool:
    """Whether the compiled seeding gives numpy's generators and uniforms."""
    assert _engine is not None
    same = True
    for entropy in _CHECKED_ENTROPY:
        same &= _engine.seeded_uniforms(entropy, 9) == _numpy_seeded_uniforms(entropy, 9)
        compiled, reference = _compiled_seeded_generator(entropy), np.random.default_rng(entropy)
        same &= compiled.bit_generator.state == reference.bit_generator.state
        same &= compiled.random(3).tolist() == reference.random(3).tolist()
    return same


def _seeded_chosen() -> tuple[
    Callable[[tuple[int, ...] | list[int], int], list[float]],
    Callable[[tuple[int, ...] | list[int]], np.random.Generator],
]:
    """The compiled seeding where the engine is built and agrees with numpy, else numpy's."""
    if _engine is not None and agrees_with_numpy(
        _seeded_agree, _same_seeded, "seeded generators", logger
    ):
        return _engine.seeded_uniforms, _compiled_seeded_generator
    return _numpy_seeded_uniforms, _numpy_seeded_generator


seeded_uniforms, seeded_generator = _seeded_chosen()
"""``seeded_uniforms(entropy, n)``: ``numpy.random.default_rng(entropy).random(n).tolist()``;
``seeded_generator(entropy)``: a generator in the state of ``default_rng(entropy)``, drawing
the same numbers. ``entropy`` a list or tuple of non-negative ints (a key and a case's
numbers). numpy's SeedSequence costs ≈ 9 µs a call, most of it reading the entropy; the
compiled engine hashes it in C (``seed_state``, ``seeded_uniforms``): ≈ 0.3 µs for eight
uniforms, ≈ 1 µs for a generator (issue 11, twenty-first round)."""
