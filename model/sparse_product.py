"""The daily trust product without scipy's dispatch, into kept work space (issue 11, eighth round).

``influence.dot(x)`` on a CSR matrix and a dense vector checks the operand (scalar, sparse,
dense, shape) through about a dozen Python calls, allocates a zeroed result and calls
scipy's compiled ``csr_matvec``, which adds each row's products, in stored order, to the
result's entry. :func:`csr_product_into` calls the same kernel on a result array zeroed in
place: the same sums in the same order, so the same bits (tests/test_fixed_day.py), with no
Python dispatch and, at district scale, no 4.6 MB result allocated a day.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

try:  # scipy's private kernel and stored shape (checked on scipy 1.18)
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec

    _PRIVATE = hasattr(sp.csr_matrix((1, 1)), "_shape")
except ImportError:  # a scipy that moved them: the public product below (the same sums)
    _csr_matvec = None
    _PRIVATE = False


def csr_product_into(matrix: sp.csr_matrix, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``matrix.dot(x)`` written into ``out`` (and returned), bit for bit.

    ``matrix`` is CSR (``csr_matrix`` or ``csr_array``); ``x`` and ``out`` are contiguous
    1-D arrays of the matrix's dtype, of its column and row counts: anything else is
    refused (``TypeError``) rather than converted, since a converted ``out`` would not
    receive the product.
    """
    if not isinstance(matrix, _CSR):
        raise TypeError(f"csr_product_into needs a CSR matrix; got {type(matrix).__name__}")
    # the matrix's own arrays and stored shape: ``shape``, ``format`` and ``dtype`` are
    # Python properties, a frame each (tests/test_fixed_day.py checks these reads)
    data = matrix.data
    rows, columns = matrix._shape if _PRIVATE else matrix.shape
    if (
        x.dtype != data.dtype
        or out.dtype != data.dtype
        or x.shape != (columns,)
        or out.shape != (rows,)
        or not x.flags.c_contiguous
        or not out.flags.c_contiguous
    ):
        raise TypeError(
            f"csr_product_into needs contiguous vectors of the matrix's dtype ({data.dtype}) "
            f"and shapes ({columns},) and ({rows},); got x {x.dtype} {x.shape}, "
            f"out {out.dtype} {out.shape}"
        )
    if _csr_matvec is None or not _PRIVATE:
        np.copyto(out, matrix.dot(x))
        return out
    out.fill(0)
    _csr_matvec(rows, columns, matrix.indptr, matrix.indices, data, x, out)
    return out


_CSR = (sp.csr_matrix, sp.csr_array)
