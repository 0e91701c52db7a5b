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


def _same_draws() -> bool:
    """Whether the compiled draws give numpy's numbers and generator states, interleaved."""
    assert _engine is not None
    compiled, reference = np.random.default_rng(20261204), np.random.default_rng(20261204)
    same = True
    for _ in range(40):
        for high in _CHECKED_HIGHS:
            same &= _engine.integer_below(compiled, high) == _numpy_integer_below(reference, high)
            same &= _engine.uniform(compiled) == _numpy_uniform(reference)
    return same and compiled.bit_generator.state == reference.bit_generator.state


def _chosen() -> tuple[
    Callable[[np.random.Generator, int], int], Callable[[np.random.Generator], float]
]:
    """The compiled draws where the engine is built and agrees with numpy, else numpy's."""
    if _engine is not None and agrees_with_numpy(_agree, _same_draws, "scalar draws", logger):
        return _engine.integer_below, _engine.uniform
    return _numpy_integer_below, _numpy_uniform


integer_below, uniform = _chosen()
"""``integer_below(rng, high)``: a uniform integer in ``[0, high)`` from ``rng``,
``int(rng.integers(high))`` — the same number, the same state of ``rng`` afterwards, the
same error for ``high`` < 1. ``uniform(rng)``: ``rng.random()``, a Python float in
[0, 1), the same number and state."""
