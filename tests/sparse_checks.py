"""One check for sparse matrices the tests hold equal: the same class, shape, dtypes and
bytes of ``indptr``, ``indices`` and ``data`` (entries in the same order, bit for bit)."""

from __future__ import annotations

import scipy.sparse as sp


def assert_same_csr(ours: sp.spmatrix | sp.sparray, theirs: sp.spmatrix | sp.sparray) -> None:
    assert type(ours) is type(theirs) and ours.shape == theirs.shape
    for name in ("indptr", "indices", "data"):
        mine, other = getattr(ours, name), getattr(theirs, name)
        assert mine.dtype == other.dtype, name
        assert mine.tobytes() == other.tobytes(), name
