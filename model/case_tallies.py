"""What the run's summary needs of its cases, as statistics that add up block by block.

A long run retires finished cases from the case table as it goes
(:mod:`model.case_retirement`, docs/design.md "A case log that does not grow"), so the
summary cannot read every case's row at the end. Instead, every case-based outcome of
:func:`model.outcomes.summarise` is computed from

- **tallies** (:data:`TALLIES`): sums over a set of case rows — counts, totals, and
  1-D arrays of counts indexed by something fixed (a grid, a department, a measured day);
  arrays of different lengths add up as if padded with zeros;
- **samples** (:data:`SAMPLES`): per-case values kept for the exact quantiles (the
  resolution time of every measured case with its case type and grid: 13 bytes a case).

Each is a function of a :class:`CaseRows`. The tallies and samples of the cases retired
so far are folded into a :class:`CaseTallies` as the cases leave the table; the summary
adds those of the live rows. Sums of integers are exact and the quantiles sort their
samples, so the summary is the same whether or not cases were retired.

**Adding an outcome computed from cases**: add an entry to :data:`TALLIES` (or
:data:`SAMPLES`) — a function of a :class:`CaseRows` ``r`` reading columns as ``r["name"]``
(any column of ``CaseTable._SPEC``) and the masks ``r.measured``, ``r.closed``,
``r.parked`` — and read it in ``summarise`` as ``tallies[name]`` (``tallies.sample(name)``).
Never read whole case columns in ``summarise``: retired cases are no longer there.
``tests/test_case_retirement.py`` compares every outcome with and without retirement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from model.cases import CASE_TYPES, SOURCES
from model.engine_backend import compiled_engine
from model.mediation import NEIGHBOUR_DISPUTE, SETTLED_LEVELS

if TYPE_CHECKING:
    from model.casework import CaseTable

Tally = int | np.ndarray
_ENGINE = compiled_engine()  # None: the pure-Python engine asked for, or not built


class CaseRows:
    """A set of rows of a :class:`~model.casework.CaseTable`, read column by column.

    Args:
        table: the case table.
        rows: the rows (in case-number order), or None for every row ``0 … size − 1``
            (then columns are views, not copies).
        now: the simulated time the rows are read at (open cases past their deadline
            are overdue).
        warmup_days: cases reported from this day on are measured.
    """

    def __init__(
        self, table: CaseTable, rows: np.ndarray | None, now: float, warmup_days: int
    ) -> None:
        self.table = table
        self.rows = rows
        self.now = now
        self.warmup_days = warmup_days
        self._cache: dict[str, np.ndarray] = {}
        self._departments: list[tuple[int, ...]] | None = None

    def __len__(self) -> int:
        return self.table.size if self.rows is None else int(self.rows.size)

    def __getitem__(self, name: str) -> np.ndarray:
        """The values of column ``name`` for these rows."""
        found = self._cache.get(name)
        if found is None:
            column = self.table.column(name)
            found = column if self.rows is None else column[self.rows]
            self._cache[name] = found
        return found

    def column(self, name: str) -> np.ndarray:
        """Same as ``rows[name]`` (reads like ``CaseTable.column``)."""
        return self[name]

    def _listed(self, attribute: str) -> list[Any]:
        values: list[Any] = getattr(self.table, attribute)
        if self.rows is None:
            return values[: self.table.size]
        return [values[r] for r in self.rows.tolist()]

    @property
    def departments(self) -> list[tuple[int, ...]]:
        """The departments each case needs (lead first); listed once per set of rows (the
        tallies read them twice and the case log once: ≈ 0.5 % of a district year; issue
        11, eighteenth round). Read it, do not change it."""
        if self._departments is None:
            self._departments = self._listed("departments")
        return self._departments

    @property
    def lead(self) -> np.ndarray:
        """Each case's lead department (the first it needs)."""
        return self._leads_and_counts()[0]

    @property
    def needed(self) -> np.ndarray:
        """How many departments each case needs (the tallies and the case log read it)."""
        return self._leads_and_counts()[1]

    def _leads_and_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """:attr:`lead` and :attr:`needed`, made together once and kept: by the compiled
        engine's ``leads_and_counts`` in one pass over the rows' tuples where it is built
        (the same arrays; ≈ 1 % of a district day in Python, issue 11, thirty-third round),
        else from :attr:`departments`."""
        cache = self._cache
        if "_lead" in cache:
            return cache["_lead"], cache["_needed"]
        if _ENGINE is not None:
            rows = np.arange(self.table.size) if self.rows is None else self.rows
            lead, needed = _ENGINE.leads_and_counts(
                self.table.departments, np.ascontiguousarray(rows, dtype=np.int64)
            )
        else:
            departments = self.departments
            lead = np.array([d[0] for d in departments], dtype=np.int64)
            needed = np.array([len(d) for d in departments], dtype=np.int64)
        cache["_lead"], cache["_needed"] = lead, needed
        return lead, needed

    def _mask(self, key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = make()
        return found

    @property
    def measured(self) -> np.ndarray:
        """Reported after the warm-up."""
        return self._mask("_measured", lambda: self["reported"] >= self.warmup_days)

    @property
    def closed(self) -> np.ndarray:
        return self._mask("_closed", lambda: ~np.isnan(self["closed"]))

    @property
    def parked(self) -> np.ndarray:
        return self._mask("_parked", lambda: ~np.isnan(self["parked"]))


def _shared(mask: Callable[[CaseRows], np.ndarray]) -> Callable[[CaseRows], np.ndarray]:
    """Compute ``mask`` once per :class:`CaseRows` (several tallies read it)."""

    def cached(r: CaseRows) -> np.ndarray:
        return r._mask(mask.__name__, lambda: mask(r))

    cached.__doc__ = mask.__doc__
    return cached


def _count(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


def _total(values: np.ndarray) -> int:
    return int(values.sum(dtype=np.int64))


@_shared
def _first_contacts(r: CaseRows) -> np.ndarray:
    """Residents' first contacts (not repeat contacts, not patrol or sensor finds)."""
    return _own(r) & (r["parent"] < 0)


@_shared
def _on_time(r: CaseRows) -> np.ndarray:
    return r.closed & (r["closed"] <= r["deadline"])


@_shared
def _overdue(r: CaseRows) -> np.ndarray:
    """Not closed (open or parked) and past the deadline: late whatever happens next."""
    return ~r.closed & (r["deadline"] < r.now)


@_shared
def _dispatched(r: CaseRows) -> np.ndarray:
    """Measured cases sent on from intake (to a street or department)."""
    return r.measured & ~np.isnan(r["dispatched"])


@_shared
def _resolved(r: CaseRows) -> np.ndarray:
    """Cases closed with the problem resolved."""
    return r.closed & (r["resolved"] == 1)


@_shared
def _hotline(r: CaseRows) -> np.ndarray:
    return r.measured & (r["source"] == SOURCES.index("hotline"))


@_shared
def _own(r: CaseRows) -> np.ndarray:
    """Measured requests residents made themselves (hotline, grid worker, party member): what a
    hotline's published rates count (F8.1-F8.3), not patrol or sensor finds."""
    return r.measured & (r["source"] <= SOURCES.index("party_member"))


@_shared
def _sent(r: CaseRows) -> np.ndarray:
    """Residents' requests that reached a street or department (what a street's rates
    count, F8.3)."""
    return _own(r) & _dispatched(r)


@_shared
def _patrol_cases(r: CaseRows) -> np.ndarray:
    return r.measured & (r["case_type"] == CASE_TYPES.index("patrol"))


def _requests_by_day(r: CaseRows) -> np.ndarray:
    """Residents' cases per measured day (index 0 = the first day after the warm-up)."""
    reported = r["reported"][r.measured & (r["resident"] >= 0)]
    return np.bincount(np.floor(reported).astype(np.int64) - r.warmup_days)


@_shared
def _disputes(r: CaseRows) -> np.ndarray:
    """Measured neighbourhood disputes (model.mediation)."""
    return r.measured & (r["case_type"] == NEIGHBOUR_DISPUTE)


@_shared
def _bundles(r: CaseRows) -> np.ndarray:
    """Measured 一件事 bundles (model.bundles)."""
    return r.measured & (r["bundle"] > 0)


def _by_grid(r: CaseRows, mask: np.ndarray) -> np.ndarray:
    return np.bincount(r["grid"][mask])


# Sums over case rows (name → function of the rows), read by summarise as tallies[name].
# "All cases" tallies cover the warm-up too; the others cover measured cases only.
TALLIES: dict[str, Callable[[CaseRows], Tally]] = {
    "cases_all": len,
    "closed_all": lambda r: _count(r.closed),
    "parked_all": lambda r: _count(r.parked),
    "measured": lambda r: _count(r.measured),
    "closed": lambda r: _count(r.measured & r.closed),
    "on_time": lambda r: _count(r.measured & _on_time(r)),
    "overdue": lambda r: _count(r.measured & _overdue(r)),
    "resolved": lambda r: _count(r.measured & _resolved(r)),
    "on_the_spot": lambda r: _total(r["on_the_spot"][r.measured]),
    "dispatched": lambda r: _count(_dispatched(r)),
    "returned": lambda r: _count(_dispatched(r) & (r["returns"] > 0)),
    "returns": lambda r: _total(r["returns"][_dispatched(r)]),
    "handoffs": lambda r: _total(r["handoffs"][r.measured]),
    "parked": lambda r: _count(r.measured & r.parked),
    "repeat_contacts": lambda r: _count(r.measured & (r["parent"] >= 0)),
    "reopened": lambda r: _count(r.measured & (r["reopened"] > 0)),
    "premature_closures": lambda r: _total(r["premature"][r.measured]),
    "premature": lambda r: _count(r.measured & (r["premature"] > 0)),
    "premature_caught": lambda r: _count(r.measured & (r["premature"] > 0) & (r["reopened"] > 0)),
    "reclassified": lambda r: _total(r["reclassified"][r.measured]),
    "residents_cases": lambda r: _count(r.measured & (r["resident"] >= 0)),
    "satisfied": lambda r: _count(r.measured & (r["satisfied"] == 1)),
    "rated": lambda r: _count(r.measured & (r["satisfied"] >= 0)),
    "closed_by_grid": lambda r: _by_grid(r, r.measured & r.closed),
    "on_time_by_grid": lambda r: _by_grid(r, r.measured & _on_time(r)),
    "first_contacts_by_type": lambda r: np.bincount(
        r["case_type"][_first_contacts(r)], minlength=len(CASE_TYPES)
    ),
    "hotline": lambda r: _count(_hotline(r)),
    "front_desk": lambda r: _count(
        _hotline(r) & (r["on_the_spot"] == 1) & np.isnan(r["dispatched"])
    ),
    "measured_by_lead": lambda r: np.bincount(r.lead[r.measured]),
    "patrol_found_by_lead": lambda r: np.bincount(
        r.lead[r.measured & (r["source"] == SOURCES.index("patrol"))]
    ),
    "patrol_cases_closed": lambda r: _count(_patrol_cases(r) & r.closed),
    "patrol_cases_on_time": lambda r: _count(_patrol_cases(r) & _on_time(r)),
    "patrol_cases_overdue": lambda r: _count(_patrol_cases(r) & _overdue(r)),
    "requests_by_day": _requests_by_day,
    # residents' own and dispatched requests (the F8 figures' denominators)
    "own_requests": lambda r: _count(_own(r)),
    "own_resolved": lambda r: _count(_own(r) & _resolved(r)),
    "own_closed": lambda r: _count(_own(r) & r.closed),
    "own_on_time": lambda r: _count(_own(r) & _on_time(r)),
    "own_overdue": lambda r: _count(_own(r) & _overdue(r)),
    "sent_requests": lambda r: _count(_sent(r)),
    "sent_resolved": lambda r: _count(_sent(r) & _resolved(r)),
    "sent_satisfied": lambda r: _count(_sent(r) & (r["satisfied"] == 1)),
    "sent_rated": lambda r: _count(_sent(r) & (r["satisfied"] >= 0)),
    # community types (model.places.place_outcomes); on_time_by_grid above
    "counted_by_grid": lambda r: _by_grid(r, r.measured & (r.closed | _overdue(r))),
    "satisfied_by_grid": lambda r: _by_grid(r, r.measured & (r["satisfied"] == 1)),
    "rated_by_grid": lambda r: _by_grid(r, r.measured & (r["satisfied"] >= 0)),
    # neighbourhood disputes (model.mediation.dispute_outcomes)
    "dispute_cases": lambda r: _count(_disputes(r)),
    "dispute_brought": lambda r: _count(_disputes(r) & (r["parent"] < 0)),
    "dispute_settled_by_level": lambda r: np.bincount(
        r["mediated_at"][_disputes(r) & (r["mediated_at"] >= 0)], minlength=len(SETTLED_LEVELS)
    ),
    "dispute_escalated": lambda r: _count(_disputes(r) & (r["mediations"] >= 3)),
    "dispute_closed": lambda r: _count(_disputes(r) & r.closed),
    "dispute_settled": lambda r: _count(_disputes(r) & _resolved(r)),
    "dispute_unsettled": lambda r: _count(_disputes(r) & r.closed & (r["resolved"] != 1)),
    "dispute_repeats": lambda r: _count(_disputes(r) & (r["parent"] >= 0)),
    # 一件事 bundles (model.bundles.bundle_outcomes)
    "bundles": lambda r: _count(_bundles(r)),
    "bundle_requests_merged": lambda r: _total(r.needed[_bundles(r)]),
    "bundle_handoffs_saved": lambda r: _total(r["handoffs_saved"][_bundles(r)]),
    "linked_request_cases": lambda r: _count(r.measured & (r["split"] > 0)),
    # 一张屏 (model.sensors.sensor_outcomes)
    "sensor_found": lambda r: _count(r.measured & (r["source"] == SOURCES.index("sensor"))),
    "patrol_found": lambda r: _count(r.measured & (r["source"] == SOURCES.index("patrol"))),
}

# Per measured case, kept for exact quantiles (name → function of the rows, one value per
# measured case, in the same order across names); read as tallies.sample(name).
SAMPLES: dict[str, Callable[[CaseRows], np.ndarray]] = {
    # +inf while still open (censored at the horizon)
    "resolution_time": lambda r: np.where(r.closed, r["closed"] - r["reported"], np.inf)[
        r.measured
    ],
    "case_type": lambda r: r["case_type"][r.measured],
    "grid": lambda r: r["grid"][r.measured].astype(np.int32),
}


def _plus(a: Tally, b: Tally) -> Tally:
    """Add two tallies; 1-D arrays of different lengths add as if padded with zeros."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.atleast_1d(np.asarray(a)), np.atleast_1d(np.asarray(b))
        out = np.zeros(max(x.size, y.size), dtype=np.result_type(x, y))
        out[: x.size] += x
        out[: y.size] += y
        return out
    return a + b


class CaseTallies:
    """The tallies and samples of the cases added so far (see the module docstring)."""

    def __init__(self) -> None:
        self.sums: dict[str, Tally] = {}
        self.samples: dict[str, list[np.ndarray]] = {name: [] for name in SAMPLES}

    def add(self, rows: CaseRows) -> None:
        """Fold ``rows`` in."""
        for name, tally in TALLIES.items():
            value = tally(rows)
            self.sums[name] = _plus(self.sums[name], value) if name in self.sums else value
        for name, sample in SAMPLES.items():
            parts = self.samples[name]
            parts.append(np.asarray(sample(rows)))
            if len(parts) > 16:  # few large arrays, not many small ones
                parts[:] = [np.concatenate(parts)]

    def plus(self, rows: CaseRows) -> CaseTallies:
        """A new accumulator: these tallies with ``rows`` folded in (self is unchanged)."""
        out = CaseTallies()
        out.sums = dict(self.sums)
        out.samples = {name: list(parts) for name, parts in self.samples.items()}
        out.add(rows)
        return out

    def __getitem__(self, name: str) -> Tally:
        return self.sums[name]

    def count(self, name: str, index: int | None = None) -> int:
        """A scalar tally, or entry ``index`` of an array tally (0 beyond its end)."""
        value = self.sums[name]
        if index is None:
            return int(value)
        array = np.atleast_1d(np.asarray(value))
        return int(array[index]) if 0 <= index < array.size else 0

    def sample(self, name: str) -> np.ndarray:
        """Every kept value of sample ``name`` (retired cases first, then live ones)."""
        parts = self.samples[name]
        return np.concatenate(parts) if parts else np.empty(0)
