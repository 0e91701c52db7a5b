"""The daily trust step by its plain formula: what the tests of the step's layouts and
kernels compare with (tests/test_trust_diffusion.py, tests/test_far_tie_trial.py)."""

from __future__ import annotations

import numpy as np

from model.population import Population


def plain_trust(pop: Population, trust: np.ndarray, w: float, r: float) -> np.ndarray:
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
