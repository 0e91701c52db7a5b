"""Categorical draws with a fixed distribution, as ``Generator.choice`` makes them, without
its per-call cost (issue 11).

``rng.choice(k, n, p=p)`` (replace=True) checks ``p`` and rebuilds its cumulative sum on
every call, which costs more than the draw itself when ``n`` is a day's handful of needs.
numpy's sampler is: ``cdf = p.cumsum(); cdf /= cdf[-1]; u = rng.random(n);
idx = cdf.searchsorted(u, side="right")`` (numpy/random/_generator.pyx, ``choice``). Here
``cdf`` is built once, by the same operations, and the uniforms may come from a larger
``rng.random`` call shared with other draws (consecutive ``random`` calls on a generator
give the same numbers as one call of their total size). The indices are those ``choice``
returns, bit for bit, and the generator is left in the same state
(tests/test_categorical.py).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# numpy's tolerance on the sum of ``p`` (float64)
_ATOL = float(np.sqrt(np.finfo(np.float64).eps))


def choice_cdf(p: ArrayLike) -> np.ndarray:
    """The cumulative distribution ``Generator.choice`` builds from the probabilities ``p``;
    a ValueError, as ``choice`` would raise, if ``p`` is not a probability vector."""
    probabilities = np.ascontiguousarray(p, dtype=np.float64)
    if probabilities.ndim != 1 or probabilities.size == 0:
        raise ValueError("probabilities must be a non-empty 1-dimensional vector")
    if np.isnan(probabilities).any():
        raise ValueError("probabilities contain NaN")
    if (probabilities < 0).any():
        raise ValueError("probabilities are not non-negative")
    if abs(float(probabilities.sum()) - 1.0) > _ATOL:
        raise ValueError(f"probabilities do not sum to 1 (they sum to {probabilities.sum()})")
    cdf = probabilities.cumsum()
    cdf /= cdf[-1]
    return cdf


def choose(cdf: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """The categories (int64) that ``uniforms`` (from ``rng.random``) select under ``cdf``."""
    return cdf.searchsorted(uniforms, side="right")


def choice(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """``rng.choice(len(cdf), n, p=p)`` for ``cdf = choice_cdf(p)``: same indices, same
    generator state after."""
    return cdf.searchsorted(rng.random(n), side="right")
