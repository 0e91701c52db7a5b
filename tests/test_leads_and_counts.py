"""A block of cases' lead departments and counts of departments (``CaseRows.lead`` and
``needed``, model/case_tallies.py): the compiled engine's one pass over the case table's
tuples gives the arrays the Python reading gives, and refuses what it refuses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.case_tallies as case_tallies
from model.case_tallies import CaseRows
from model.casework import CaseTable
from model.engine_backend import compiled_engine

ENGINE = compiled_engine()
needs_engine = pytest.mark.skipif(ENGINE is None, reason="the compiled engine is not built")


def _python(departments: list[tuple[int, ...]], rows: list[int]) -> tuple[list[int], list[int]]:
    """The reading the compiled pass replaces: each row's tuple, its first entry, its length."""
    listed = [departments[r] for r in rows]
    return [d[0] for d in listed], [len(d) for d in listed]


tuples = st.lists(st.integers(0, 2**40), min_size=1, max_size=5).map(tuple)


@needs_engine
@settings(max_examples=200, deadline=None)
@given(
    departments=st.lists(tuples, min_size=1, max_size=40),
    picks=st.lists(st.integers(0, 10**6), max_size=60),
)
def test_the_compiled_pass_reads_what_python_reads(
    departments: list[tuple[int, ...]], picks: list[int]
) -> None:
    assert ENGINE is not None
    rows = [p % len(departments) for p in picks]
    lead, needed = ENGINE.leads_and_counts(departments, np.array(rows, dtype=np.int64))
    assert lead.dtype == needed.dtype == np.int64
    assert (lead.tolist(), needed.tolist()) == _python(departments, rows)


@needs_engine
def test_a_case_without_departments_and_a_row_beyond_the_table_are_refused() -> None:
    assert ENGINE is not None
    with pytest.raises(IndexError, match="tuple index"):
        ENGINE.leads_and_counts([(1,), ()], np.array([0, 1], dtype=np.int64))
    with pytest.raises(IndexError, match="list index"):
        ENGINE.leads_and_counts([(1,)], np.array([1], dtype=np.int64))
    # a list instead of a tuple is read as Python reads it
    lead, needed = ENGINE.leads_and_counts([[4, 5, 6]], np.array([0], dtype=np.int64))
    assert (lead.tolist(), needed.tolist()) == ([4], [3])


def _table(departments: list[tuple[int, ...]]) -> CaseTable:
    table = CaseTable()
    for d in departments:
        table.add(d, tuple(1.0 for _ in d))
    return table


@pytest.mark.parametrize("engine", [True, False], ids=["compiled", "python"])
@pytest.mark.parametrize("rows", [None, [3, 0, 2]], ids=["every-row", "some-rows"])
def test_a_blocks_leads_and_counts_are_each_cases_own(
    monkeypatch: pytest.MonkeyPatch, engine: bool, rows: list[int] | None
) -> None:
    """CaseRows.lead and .needed, by either path, for every row or some rows in order."""
    if engine and ENGINE is None:
        pytest.skip("the compiled engine is not built")
    if not engine:
        monkeypatch.setattr(case_tallies, "_ENGINE", None)
    departments = [(2,), (0, 1), (5, 3, 4), (1,)]
    block = CaseRows(_table(departments), None if rows is None else np.array(rows), 0.0, 0)
    expected = _python(departments, list(range(4)) if rows is None else rows)
    assert (block.lead.tolist(), block.needed.tolist()) == expected
    assert block.lead is block.lead and block.needed is block.needed  # made once, kept
