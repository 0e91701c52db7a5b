"""A reused row's kept columns reset and new rows numbered (``CaseTable.allocate``,
model/casework.py): the compiled engine's ``fill_rows`` and ``number_rows`` write what their
Python twins write, refuse what they refuse after the same writes, and either pair leaves a
table of reused and new rows the same."""

from __future__ import annotations

import math
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.casework as casework
from model.casework import CaseTable, _python_fill_rows, _python_number_rows
from model.engine_backend import compiled_engine

ENGINE = compiled_engine()
needs_engine = pytest.mark.skipif(ENGINE is None, reason="the compiled engine is not built")


def _outcome(fill, column: array, rows: list[int], value: float | int) -> tuple[list, str | None]:
    """The column after ``fill(column, rows, value)`` and the error it raised, if any."""
    try:
        fill(column, rows, value)
    except IndexError as error:
        return column.tolist(), str(error)
    return column.tolist(), None


@needs_engine
@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(0, 30),
    rows=st.lists(st.integers(-40, 40), max_size=40),
    value=st.floats(allow_nan=True) | st.just(math.nan),
)
def test_fill_rows_writes_what_the_loop_writes(size: int, rows: list[int], value: float) -> None:
    """Every row, from the end if negative; one beyond the column stops both at the same
    row with the same error."""
    assert ENGINE is not None
    start = [float(k) for k in range(size)]
    compiled = _outcome(ENGINE.fill_rows, array("d", start), rows, value)
    python = _outcome(_python_fill_rows, array("d", start), rows, value)
    # nan != nan: compare the bits of each value
    assert array("d", compiled[0]).tobytes() == array("d", python[0]).tobytes()
    assert compiled[1] == python[1]


@needs_engine
@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(0, 30),
    rows=st.lists(st.integers(-40, 40), max_size=40),
    first=st.integers(-(2**40), 2**40),
)
def test_number_rows_writes_what_the_loop_writes(size: int, rows: list[int], first: int) -> None:
    assert ENGINE is not None
    start = list(range(100, 100 + size))
    compiled = _outcome(ENGINE.number_rows, array("q", start), rows, first)
    python = _outcome(_python_number_rows, array("q", start), rows, first)
    assert compiled == python


@needs_engine
def test_the_compiled_fills_refuse_a_column_of_another_type() -> None:
    """A kept column must be a float column (``CaseTable._KEPT``), numbers int64."""
    assert ENGINE is not None
    with pytest.raises(ValueError, match="dtype"):
        ENGINE.fill_rows(array("q", [0, 0]), [0], 1.0)
    with pytest.raises(ValueError, match="dtype"):
        ENGINE.number_rows(array("d", [0.0, 0.0]), [0], 1)


@pytest.mark.parametrize("engine", [True, False], ids=["compiled", "python"])
def test_reused_rows_get_their_defaults_and_every_row_its_number(
    monkeypatch: pytest.MonkeyPatch, engine: bool
) -> None:
    """Rows freed with their finish times written come back with ``closed`` and ``parked``
    empty (nan) and are numbered after every case before them, then new rows follow."""
    if engine and ENGINE is None:
        pytest.skip("the compiled engine is not built")
    if not engine:
        monkeypatch.setattr(casework, "_fill_rows", _python_fill_rows)
        monkeypatch.setattr(casework, "_number_rows", _python_number_rows)
    table = CaseTable()
    first = table.allocate(6)
    assert first == list(range(6)) and table.number.tolist()[:6] == list(range(6))
    for row in (1, 4):
        table.closed[row] = 3.5
        table.parked[row] = 2.0
    table.release([1, 4])
    assert table.closed[4] == 3.5  # kept until the row is reused
    rows = table.allocate(3)
    assert rows == [1, 4, 6]  # freed rows first, the lowest first, then a new one
    assert [table.number[r] for r in rows] == [6, 7, 8]
    assert all(math.isnan(table.closed[r]) and math.isnan(table.parked[r]) for r in rows)
