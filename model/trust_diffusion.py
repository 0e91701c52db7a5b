"""The daily trust step: neighbours' trust pulls one's own, one's own disposition pulls it
back (assumption; docs/design.md "The daily trust step in C").

``trust ← disposition·r + (trust·(1 − w − r) + w·neighbours)``, where ``neighbours`` is
each resident's mean of their neighbours' trust — the row-normalised ties
(``Population.influence``, float32) times trust as float32 — or one's own trust for a
resident without ties; values that leave [0, 1] are clipped.

:func:`diffuse_reference` is the definition in numpy: scipy's product kernel on the
matrix, then the vector operations in their order. At district scale it is ≈ 12 % of a
year's time: the product gathers each row's neighbours from all over the trust vector,
and four more passes read and write the district's vectors. The compiled engine's
``diffuse_trust`` (model/_engine.pyx) does the same float operations in the same order
in two passes, reading each row's one weight once instead of a stored value per tie; it
is used when the matrix has that form (every stored value of a row equal, as
``build_population`` makes it, and the matrix is still the one the row weights were read
from) and the results are the reference's bit for bit (tests/test_trust_diffusion.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.engine_backend import compiled_engine
from model.sparse_product import csr_product_into

if TYPE_CHECKING:
    from model.population import Population

_MAX = np.maximum.reduce
_MIN = np.minimum.reduce
_engine = compiled_engine()
BACKEND = "python" if _engine is None else "compiled"
"""Which trust step runs where it can: ``"compiled"`` (model/_engine.pyx) or ``"python"``."""


def diffuse_trust(pop: Population, w: float, r: float) -> None:
    """One day's trust step on ``pop.trust``, in place (``w``: neighbours' pull, ``r``:
    one's disposition's pull, per day)."""
    influence = pop.influence
    current = pop.weighted_influence is pop.influence  # weights read from this very matrix
    if _engine is not None and pop.row_weight is not None and current:
        out_of_bounds = _engine.diffuse_trust(
            influence.indptr,
            influence.indices,
            pop.row_weight,
            pop.trust,
            pop.disposition,
            pop.trust32,
            w,
            r,
        )
    else:
        out_of_bounds = diffuse_reference(pop, w, r)
    if out_of_bounds:
        np.clip(pop.trust, 0.0, 1.0, out=pop.trust)


def diffuse_reference(pop: Population, w: float, r: float) -> bool:
    """The trust step in numpy, without the clip; whether some value is out of [0, 1] or
    NaN. The definition the compiled kernel follows bit for bit."""
    np.copyto(pop.trust32, pop.trust, casting="same_kind")  # as astype, into work space
    # influence.dot(trust32), into work space (model/sparse_product.py)
    neighbours = csr_product_into(pop.influence, pop.trust32, pop.neighbours32)
    if pop.isolated_rows.shape[0]:  # nobody to listen to: one's own trust stays
        neighbours[pop.isolated_rows] = pop.trust[pop.isolated_rows]
    # (1 − w − r)·trust + w·neighbours (float32) + r·disposition, summed in that order,
    # with no temporary but the product's result (issue 11)
    kept = np.multiply(pop.trust, 1.0 - w - r, out=pop.kept)
    kept += np.multiply(neighbours, w, out=neighbours)
    np.multiply(pop.disposition, r, out=pop.trust)
    pop.trust += kept
    # clip only when some value is out of [0, 1] (or NaN): two reductions cost less than
    # the clip, which leaves every value in bounds as it is (−0.0 too; issue 11)
    trust = pop.trust
    return bool(trust.size and not (_MAX(trust) <= 1.0 and _MIN(trust) >= 0.0))
