"""The daily trust step: neighbours' trust pulls one's own, one's own disposition pulls it
back (assumption; docs/design.md "The daily trust step in C").

``trust ← disposition·r + (trust·(1 − w − r) + w·neighbours)``, where ``neighbours`` is
each resident's mean of their neighbours' trust — the row-normalised ties
(``Population.influence``, float32) times trust as float32 — or one's own trust for a
resident without ties; values that leave [0, 1] are clipped.

:func:`diffuse_reference` is the definition in numpy: scipy's product kernel on the matrix,
then the vector operations in their order. At district scale it is ≈ 12 % of a year's time:
the product gathers each row's neighbours from all over the trust vector, and four more
passes read and write the district's vectors. The compiled engine's ``diffuse_trust``
(model/_engine.pyx) does the same float operations in the same order in four passes (trust
as float32; the far ties' trust gathered into slots in the order the sums read it, where
the run's first days timed that faster than reading them in place; each row's neighbours'
mean; the update), reading each row's one weight once instead of a stored value per tie, on
the ties grouped by the residents' numbers of ties (:class:`TiesByDegree`, made once per
matrix and row weights, in the two layouts of the far ties whose faster the run's first
days keep, model/far_tie_trial.py: rows of one degree are summed four side by side, in
loops whose lengths the processor predicts — the four lanes of one vector where the
compiler targets SSE2, model/_trust_step.h), and sums the new trust block by block as it
writes it, in numpy's pairwise order (the day's mean trust without a pass of its own;
docs/design.md "The day's mean trust summed by the trust step"). It is used when the matrix
has that form (every stored value of a row equal, as ``build_population`` makes it, and the
matrix is still the one the row weights were read from) and the results are the reference's
bit for bit (tests/test_trust_diffusion.py) — but for a NaN's sign and payload: where NaNs
of both signs meet in one sum, which one survives is the compiler's choice here and scipy's
there (a NaN stays a NaN). The matrix and the row weights are read when they are grouped:
change them by putting new ones in place (``Population.__post_init__`` reads the weights
again), not in place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from model import far_tie_trial
from model.engine_backend import compiled_engine
from model.sparse_product import csr_product_into

if TYPE_CHECKING:
    from model.population import Population

_MAX = np.maximum.reduce
_MIN = np.minimum.reduce
_engine = compiled_engine()
BACKEND = "python" if _engine is None else "compiled"
"""Which trust step runs where it can: ``"compiled"`` (model/_engine.pyx) or ``"python"``."""


FAR_TIE_ROWS = 65_536
"""A tie is *far* when its resident's row number is more than this many rows from its
owner's (256 KiB of the float32 trust vector either side): far ties' trust is gathered once
a day into slots read in the order the step sums them (:class:`TiesByDegree`). Rows near
one another are near in memory and stay where they are; a district's weak ties (a quarter
of its ties) are far, a street's population has none (docs/design.md "The far ties'
trust gathered before the sums", issue 11, twenty-fourth round). Whether the gather pays
is the machine's: the step times it against every tie read in place on its first days and
keeps the faster (model/far_tie_trial.py, thirty-sixth round)."""

GATHER_SLOTS = 262_144
"""How many far ties' slots (1 MiB of float32) one stretch of the gather writes, in the
order of the residents read: small enough to stay in this machine's 2 MiB second-level
cache while the trust vector is read once in order (measured: 64 Ki, 128 Ki, 384 Ki
and 512 Ki slots gave less; docs/performance.md, twenty-fourth round)."""


@dataclass(frozen=True, eq=False, slots=True)
class TiesByDegree:
    """The ties of ``source`` (a CSR matrix of n rows) grouped by the rows' numbers of ties,
    for the compiled step: ``rows[starts[d]:starts[d + 1]]`` are the rows with ``d`` ties in
    ascending order (int32), ``ties`` their ties group by group and row by row, each row's
    in its stored order (int32), ``weight`` each grouped row's one stored value (float32),
    read from ``source_weight`` (the population's row weights).

    A near tie is its resident's row number. In the *gathered* layout a far one
    (:data:`FAR_TIE_ROWS`) is a slot ``n + k``, the ``k``-th far tie in that order, which
    the step fills before it sums:
    ``work[far_to[i]] = work[far_from[i]]`` (``far_from``: the far ties' residents, int32;
    ``far_to``: their slots, int32; arranged in stretches of :data:`GATHER_SLOTS` slots,
    each stretch by resident, so that the trust vector is read in order and the slots
    written stay in cache). The sums then read the far ties' trust in the order they use it
    instead of from anywhere in the trust vector; each sum's terms and order are the same.
    ``work`` is the step's float32 work space: trust, then the slots (n + the far ties). In
    the *in-place* layout every tie is its resident's row and there are no slots
    (``far_from`` and ``far_to`` empty): which of the two a run keeps is timed on its first
    days (:meth:`layouts_of`, model/far_tie_trial.py).

    Checked once when made (the kernel reads them unchecked): every array a plain
    one-dimensional contiguous ``ndarray``, every row once and in the group of its number
    of ties, every tie a row or a slot, every slot filled once from a row and read once.
    The checks run on copies taken first, kept as immutable bytes; the arrays on the
    object are read-only views of them, and the kernel is given memoryviews of the same
    bytes (:meth:`kernel_arrays`), so nothing done to an array on the object reaches it (a
    pickled or copied grouping is made, and checked, afresh)."""

    source: sp.csr_matrix
    source_weight: np.ndarray
    rows: np.ndarray
    starts: np.ndarray
    ties: np.ndarray
    weight: np.ndarray
    far_from: np.ndarray
    far_to: np.ndarray
    work: np.ndarray = field(init=False, repr=False)
    _buffers: tuple[bytes, ...] = field(init=False, repr=False)
    _views: tuple[memoryview, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        given = [getattr(self, name) for name in _CHECKED]
        if not all(
            type(a) is np.ndarray and a.ndim == 1 and a.flags.c_contiguous for a in given
        ):  # (a subclass's own reading — a masked array's — is not what is copied)
            raise ValueError("TiesByDegree: the groups do not describe the matrix's ties")
        # copied first, then checked: what is checked is what is kept
        buffers = tuple(a.tobytes() for a in given)
        for name, a, kept in zip(_CHECKED, given, buffers, strict=True):
            object.__setattr__(self, name, np.frombuffer(kept, dtype=a.dtype))
        n = self.source.shape[0]
        slots = self.far_from.shape[0]
        fits = (
            all(a.dtype == dtype for a, dtype in zip(given, _DTYPES, strict=True))
            and self.rows.shape == self.weight.shape == (n,)
            and self.far_to.shape == (slots,)
            and n + slots <= _MOST_SLOTS
            and self.source.indptr.shape == (n + 1,)
            and _fits(
                self.source.indptr, self.rows, self.starts, self.ties, self.far_from, self.far_to
            )
        )
        if not fits:
            raise ValueError("TiesByDegree: the groups do not describe the matrix's ties")
        object.__setattr__(self, "_buffers", buffers)
        object.__setattr__(
            self,
            "_views",
            tuple(_view(kept, dtype) for kept, dtype in zip(buffers, _DTYPES, strict=True)),
        )
        object.__setattr__(self, "work", np.empty(n + slots, dtype=np.float32))

    def kernel_arrays(self) -> tuple[memoryview, ...]:
        """The checked arrays, in :data:`_CHECKED`'s order, as read-only memoryviews of the
        bytes checked, made once — what the kernel is given, whatever was done to the arrays
        on the object since (``ndarray.__setstate__`` can point one of them at other memory;
        a memoryview cannot be pointed elsewhere, and a released one raises). Made once,
        not each day: ≈ 9 µs a day, ≈ 2 % of a classroom year (issue 11, twenty-ninth
        round)."""
        return self._views

    def __reduce__(self) -> tuple[type[TiesByDegree], tuple[object, ...]]:
        """Pickled or copied: made again through the constructor, which checks."""
        arrays = tuple(np.array(getattr(self, name)) for name in _CHECKED)
        return (type(self), (self.source, self.source_weight, *arrays))

    @classmethod
    def of(
        cls,
        influence: sp.csr_matrix,
        row_weight: np.ndarray,
        far_rows: int | None = None,
        stretch: int | None = None,
    ) -> TiesByDegree:
        """The grouping of ``influence``'s rows (int32 CSR), with ``row_weight`` (float32,
        one per row) the rows' stored values; ties more than ``far_rows`` rows from their
        owner (default :data:`FAR_TIE_ROWS`) gathered into slots, ``stretch`` slots at a
        time (default :data:`GATHER_SLOTS`): one layout, as tests and benchmarks ask for it
        (the step makes both, :meth:`layouts_of`)."""
        return cls.layouts_of(influence, row_weight, far_rows, stretch, in_place=False)[0]

    @classmethod
    def layouts_of(
        cls,
        influence: sp.csr_matrix,
        row_weight: np.ndarray,
        far_rows: int | None = None,
        stretch: int | None = None,
        in_place: bool = True,
    ) -> tuple[TiesByDegree, TiesByDegree | None]:
        """:meth:`of`'s grouping, and where it has far ties (and ``in_place``) the same
        grouping with every tie read in place (else None): the rows grouped once for both
        (the far ties' layout on trial, model/far_tie_trial.py)."""
        far_rows = FAR_TIE_ROWS if far_rows is None else far_rows
        stretch = GATHER_SLOTS if stretch is None else stretch
        if far_rows < 0 or stretch < 1:
            raise ValueError(
                f"TiesByDegree: far_rows {far_rows} must be ≥ 0 and stretch {stretch} ≥ 1"
            )
        rows, starts, ties, slot_of = _grouping(influence, far_rows)
        n = influence.shape[0]
        count = slot_of.shape[0]
        if n + count > _MOST_SLOTS:
            raise ValueError(
                f"TiesByDegree: {n} rows and {count} far ties: more than int32 can number"
            )
        weight = row_weight[rows]
        no_slots = np.empty(0, dtype=np.int32)
        if count == 0 or in_place:
            # (the constructor keeps copies: ``ties`` can be changed for the gathered layout)
            read_in_place = cls(
                influence, row_weight, rows, starts, ties, weight, no_slots, no_slots
            )
            if count == 0:
                return read_in_place, None
        far_from = ties[slot_of]
        ties[slot_of] = np.arange(n, n + count, dtype=np.int32)
        # by stretch, then by row (stably; the order of one row's slots within a stretch
        # does not matter, but the engine's and numpy's give the same)
        stretch = min(stretch, count)
        order = _stretch_order(far_from, n, stretch)
        gathered = cls(
            influence,
            row_weight,
            rows,
            starts,
            ties,
            weight,
            far_from[order],
            (order + n).astype(np.int32),
        )
        return gathered, read_in_place if in_place else None


def _grouping(
    influence: sp.csr_matrix, far_rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``influence``'s rows grouped by their numbers of ties: (``rows``, ``starts``,
    ``ties``, the positions in ``ties`` of the far ones), as :func:`_numpy_grouping` makes
    them — by the compiled engine's ``group_by_degree`` where it is built and the matrix is
    of its types (int32 row pointers from 0 to the number of indices, int32 indices): one
    counting sort and two passes over the ties, the district's grouping in ≈ 0.04–0.11 s
    against numpy's ≈ 0.13–0.29 s (issue 11, thirty-seventh round)."""
    indptr, indices = influence.indptr, influence.indices
    if (
        _engine is not None
        and indptr.dtype == np.int32
        and indices.dtype == np.int32
        and indptr.ndim == indices.ndim == 1
        and indptr.shape[0] >= 1
        and indptr[0] == 0
        and indptr[-1] == indices.shape[0]
    ):
        return _engine.group_by_degree(
            np.ascontiguousarray(indptr), np.ascontiguousarray(indices), min(far_rows, 2**62)
        )
    return _numpy_grouping(influence, far_rows)


def _numpy_grouping(
    influence: sp.csr_matrix, far_rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The reference of :func:`_grouping` (and the pure-Python engine's): ``rows`` (int32)
    the rows in ascending order of their numbers of ties, ascending within a number;
    ``starts`` (int64) where each number's rows begin (``rows[starts[d]:starts[d + 1]]``
    have ``d`` ties); ``ties`` (int32) their ties group by group and row by row, each row's
    in its stored order; and (intp) the positions in ``ties`` of the ties more than
    ``far_rows`` rows from their owner."""
    indptr = influence.indptr
    degree = np.diff(indptr)
    rows = _stable_order(degree).astype(np.int32)
    top = int(degree.max()) if degree.shape[0] else 0
    grouped_degree = degree[rows]
    starts = np.searchsorted(grouped_degree, np.arange(top + 2)).astype(np.int64)
    indices = influence.indices
    ties = np.empty(indices.shape[0], dtype=np.int32)
    at = 0
    for d in range(1, top + 1):  # a group's ties as a (rows, d) block, row by row
        group = rows[starts[d] : starts[d + 1]]
        if group.shape[0]:
            block = indices[indptr[group][:, None] + np.arange(d, dtype=np.int32)]
            ties[at : at + block.size] = block.ravel()
            at += block.size
    return rows, starts, ties, _far_ties(ties, rows, grouped_degree, far_rows)


def _fits(indptr: np.ndarray, *grouping: np.ndarray) -> bool:
    """Whether the grouping's arrays — ``rows``, ``starts``, ``ties``, ``far_from``,
    ``far_to``, of their types and shapes — describe the rows of the row pointers
    ``indptr``: by the compiled engine's ``grouping_fits`` where it is built and the
    pointers are int32 (one pass over each array, where numpy's checks took ≈ 0.1 s of each
    of the district's two groupings; issue 11, forty-second round), else by
    :func:`_numpy_fits` (its reference: the same answer)."""
    if _engine is not None and indptr.dtype == np.int32 and indptr.flags.c_contiguous:
        return bool(_engine.grouping_fits(indptr, *grouping))
    return _numpy_fits(indptr, *grouping)


def _numpy_fits(
    indptr: np.ndarray,
    rows: np.ndarray,
    starts: np.ndarray,
    ties: np.ndarray,
    far_from: np.ndarray,
    far_to: np.ndarray,
) -> bool:
    """:func:`_fits` by numpy: every row once and in the group of its number of ties, the
    groups' ties as many as their rows have, every tie a row (``0`` … ``n − 1``) or a slot
    (``n`` … ``n + slots − 1``), every slot filled once from a row and read once."""
    n, slots = rows.shape[0], far_from.shape[0]
    sizes = np.diff(starts)
    return bool(
        starts.shape[0] >= 2
        and starts[0] == 0
        and starts[-1] == n
        and bool((sizes >= 0).all())
        and int(sizes @ np.arange(sizes.shape[0])) == ties.shape[0]
        and _within(rows, n)
        and bool((np.bincount(rows, minlength=n) == 1).all())  # each row once
        and np.array_equal(  # each row in the group of its number of ties (int64: no wrap)
            np.diff(indptr.astype(np.int64))[rows], np.repeat(np.arange(sizes.shape[0]), sizes)
        )
        and _within(ties, n + slots)
        and _within(far_from, n)
        and _each_slot_once(far_to, n, slots)  # each slot filled once
        and _each_slot_once(ties[ties >= n], n, slots)  # and read once
    )


def _stable_order(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of a one-dimensional array of non-negative
    integers (of any integer type), by 16-bit digits from
    the lowest: numpy's stable sort of ``uint16`` is a radix sort, so a district's 2.0 M far
    ties (24-bit keys, two digits) are ordered in ≈ 65 ms against ≈ 160 ms for one sort of
    the int64 keys, and its 1.15 M degrees (one digit) in ≈ 6 against ≈ 40 ms (issue 11,
    thirty-sixth round)."""
    if key.shape[0] == 0:
        return np.zeros(0, dtype=np.intp)
    if int(key.min()) < 0:
        raise ValueError("_stable_order: a negative key")
    top = int(key.max())
    order = np.argsort(key.astype(np.uint16), kind="stable")  # (the cast keeps the low 16 bits)
    shift = 16
    while top >> shift:
        digit = (key >> shift).astype(np.uint16)[order]
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
    return order


def _stretch_order(far_from: np.ndarray, n: int, stretch: int) -> np.ndarray:
    """The far ties in order of their stretch of ``stretch``, then of their row (stably):
    by the compiled engine's ``stretch_order`` where it is built (three stable counting
    sorts: the district's 2.0 M in ≈ 0.05–0.06 s against ≈ 0.11–0.16 s; issue 11,
    forty-second round), else by :func:`_stable_order` of one key (the same order for rows
    below ``n``)."""
    if _engine is not None and far_from.dtype == np.int32 and far_from.flags.c_contiguous:
        return _engine.stretch_order(far_from, stretch)
    return _stable_order(np.arange(far_from.shape[0], dtype=np.int64) // stretch * n + far_from)


_CHECKED = ("rows", "starts", "ties", "weight", "far_from", "far_to")
"""The arrays :class:`TiesByDegree` checks and keeps unwritable."""

_DTYPES = (np.int32, np.int64, np.int32, np.float32, np.int32, np.int32)
"""Their types, as checked (native byte order)."""

_MOST_SLOTS = 2**31
"""Rows and far ties' slots together are numbered by int32: at most 2³¹ of them."""


def _far_ties(ties: np.ndarray, rows: np.ndarray, degree: np.ndarray, far_rows: int) -> np.ndarray:
    """The positions of the grouped ``ties`` (row by row: ``rows[k]``'s ``degree[k]`` ties)
    more than ``far_rows`` rows from their owner. Each tie's distance is taken in one int32
    array (no overflow below 2³¹; a fresh 35 MB array costs the district ≈ 0.1 s of page
    faults)."""
    distance = np.repeat(rows, degree)
    np.subtract(ties, distance, out=distance)
    np.abs(distance, out=distance)
    return np.flatnonzero(distance > far_rows)


def _view(kept: bytes, dtype: type) -> memoryview:
    """A read-only memoryview of ``kept``'s items of type ``dtype`` (numpy's buffer format
    for it: int64 is ``l`` on one platform and ``q`` on another)."""
    view: Any = memoryview(kept)  # (typeshed's overloads of ``cast`` take literals only)
    return view.cast(np.dtype(dtype).char)


def _each_slot_once(slots: np.ndarray, n: int, count: int) -> bool:
    """Whether ``slots`` are ``n … n + count − 1``, each once."""
    return slots.shape[0] == count and (
        count == 0
        or bool(
            slots.min() >= n  # (bincount refuses a negative number with its own error)
            and slots.max() < n + count
            and (np.bincount(slots - n, minlength=count) == 1).all()
        )
    )


def _within(values: np.ndarray, n: int) -> bool:
    """Whether every value is a row number of ``n`` rows."""
    return values.shape[0] == 0 or bool(values.min() >= 0 and values.max() < n)


def grouped_ties(pop: Population) -> TiesByDegree | None:
    """The grouping the compiled step runs on — ``pop.ties_by_degree``, made or made afresh
    for the current matrix and row weights, or while the far ties' layout is on trial the
    layout whose turn it is (``pop.far_tie_trial``, model/far_tie_trial.py) — or None where
    the reference runs (no engine, no row weights, or a matrix other than the one they were
    read from)."""
    if _reference_runs(pop):
        return None
    grouped = _current_grouping(pop)
    if grouped is None:
        pop.ties_by_degree = pop.far_tie_trial = None  # (not held while the new ones are made)
        assert pop.row_weight is not None
        grouped, in_place = TiesByDegree.layouts_of(pop.influence, pop.row_weight)
        pop.ties_by_degree = grouped
        pop.far_tie_trial = (
            None if in_place is None else far_tie_trial.FarTieTrial(grouped, in_place)
        )
    trial = pop.far_tie_trial
    if trial is None:
        return grouped
    if trial.gathered is not grouped:  # a grouping put in place by hand: no trial of it
        pop.far_tie_trial = None
        return grouped
    return trial.turn()


def _reference_runs(pop: Population) -> bool:
    """Whether the numpy reference runs ``pop``'s step: no engine, no row weights, or a
    matrix other than the one they were read from."""
    return _engine is None or pop.row_weight is None or pop.weighted_influence is not pop.influence


def _current_grouping(pop: Population) -> TiesByDegree | None:
    """``pop.ties_by_degree`` where it was made from the current matrix and row weights."""
    grouped = pop.ties_by_degree
    if grouped is None or grouped.source is not pop.influence:
        return None
    return grouped if grouped.source_weight is pop.row_weight else None


def far_tie_layout(pop: Population) -> str:
    """How the trust step reads ``pop``'s ties now, for benchmarks' records: ``"gathered"``
    or ``"in place"`` (the far ties' layout kept, model/far_tie_trial.py), ``"on trial"``,
    ``"no far ties"``, or ``"not grouped"`` (the numpy reference runs, or no step yet).
    Telling "in place" from "no far ties" takes a few numpy passes over the ties, with
    temporaries of their size (≈ 100 MB for a district): read it after the measurements."""
    grouped = None if _reference_runs(pop) else _current_grouping(pop)
    if grouped is None:
        return "not grouped"
    if pop.far_tie_trial is not None:
        return "on trial"
    if grouped.far_from.shape[0]:
        return "gathered"
    # every tie read in place: were any of them far?
    sizes = np.diff(grouped.starts)
    degree = np.repeat(np.arange(sizes.shape[0]), sizes)
    far = _far_ties(grouped.ties, grouped.rows, degree, FAR_TIE_ROWS).shape[0] > 0
    return "in place" if far else "no far ties"


def diffuse_trust(pop: Population, w: float, r: float) -> float:
    """One day's trust step on ``pop.trust``, in place (``w``: neighbours' pull, ``r``:
    one's disposition's pull, per day); returns the new trust's sum, ``np.add.reduce``'s
    (the compiled kernel sums each block of residents as it updates it, in numpy's order).
    While the far ties' layout is on trial the call is timed, and the trial's choice, once
    made, becomes ``pop.ties_by_degree`` (model/far_tie_trial.py)."""
    grouped = grouped_ties(pop)
    total: float | None = None
    if grouped is not None:
        assert _engine is not None
        trial = pop.far_tie_trial
        started = far_tie_trial.clock() if trial is not None else 0.0
        rows, starts, ties, weight, far_from, far_to = grouped.kernel_arrays()
        out_of_bounds, total = _engine.diffuse_trust(
            rows,
            starts,
            ties,
            weight,
            pop.trust,
            pop.disposition,
            grouped.work,
            pop.neighbours32,
            far_from,
            far_to,
            w,
            r,
        )
        if trial is not None:  # the far ties' layout on trial (model/far_tie_trial.py)
            chosen = trial.took(grouped, far_tie_trial.clock() - started)
            if chosen is not None:
                pop.ties_by_degree, pop.far_tie_trial = chosen, None
    else:
        out_of_bounds = diffuse_reference(pop, w, r)
    if out_of_bounds:
        np.clip(pop.trust, 0.0, 1.0, out=pop.trust)
        total = None
    return float(np.add.reduce(pop.trust)) if total is None else total


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
