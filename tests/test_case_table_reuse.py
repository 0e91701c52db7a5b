"""Rows of a CaseTable freed and reused (model/casework.py, model/case_retirement.py): a
freed row is reset in bulk when released, so that reusing it writes only its kept columns;
every live row must read as a fresh table's defaults plus what was written to it."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from model.casework import CaseTable

NAMES = sorted(CaseTable._SPEC)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _value(code: str, draw: int) -> float | int:
    """A value column type ``code`` can hold (−100…100, or a float made of it)."""
    return draw / 4.0 if code == "d" else draw


# one operation: ("add", writes) writes (column, value draw) pairs to the new row; ("release",
# picks) frees the live rows at these positions (modulo the live count)
_ADD = st.tuples(
    st.just("add"),
    st.lists(st.tuples(st.sampled_from(NAMES), st.integers(-100, 100)), max_size=8),
)
_RELEASE = st.tuples(st.just("release"), st.lists(st.integers(0, 10_000), max_size=6))


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.one_of(_ADD, _RELEASE), max_size=60))
def test_rows_read_as_defaults_plus_what_was_written(
    ops: list[tuple[str, list[tuple[str, int]]]],
) -> None:
    """Any add/release sequence: a live row holds a fresh row's defaults, its number and
    what was written to it since it was added; a freed row has number −1 and no other
    column but the kept ones (closed, parked) away from its default."""
    table = CaseTable()
    fresh = CaseTable()
    fresh.add((), ())
    defaults = {name: getattr(fresh, name)[0] for name in NAMES}
    defaults["number"] = -1
    written: dict[int, dict[str, float | int]] = {}  # live row → column → value
    numbers: dict[int, int] = {}
    kept: dict[int, dict[str, float | int]] = {}  # freed row → its kept columns' values
    for op, args in ops:
        if op == "add":
            row = table.add((table.added,), (float(table.added),))
            assert row not in written, "a live row was handed out again"
            numbers[row] = table.added - 1
            kept.pop(row, None)
            written[row] = {}
            for name, draw in args:
                if name == "number":
                    continue  # the table's own bookkeeping
                value = _value(CaseTable._SPEC[name][0], draw)
                getattr(table, name)[row] = value
                written[row][name] = value
        elif written:
            live = sorted(written)
            rows = sorted({live[k % len(live)] for k in args})
            table.release(rows)
            for row in rows:
                values = written.pop(row)
                kept[row] = {k: values.get(k, defaults[k]) for k in CaseTable._KEPT}
                del numbers[row]
    assert table.live == len(written)
    assert table.added == sum(1 for op, _ in ops if op == "add")
    for name in NAMES:
        column = table.column(name)
        for row in range(table.size):
            if row in written:
                expected = written[row].get(name, defaults[name])
                if name == "number":
                    expected = numbers[row]
            else:
                expected = kept[row].get(name, defaults[name])
            assert _same(column[row], expected), (name, row)
    for row in written:  # the departments and work content of the case now in the row
        assert table.departments[row] == (numbers[row],)
        assert table.work[row] == (float(numbers[row]),)


def test_release_resets_in_bulk_and_keeps_the_finish_times() -> None:
    """Released rows hold every default but number −1 and their closed and parked times;
    a row never released keeps what was written."""
    table = CaseTable()
    rows = [table.add((0,), (1.0,)) for _ in range(5)]
    for row in rows:
        table.handoffs[row] = 7
        table.severity[row] = 0.5
        table.closed[row] = 3.0 + row
    table.release([rows[1], rows[3]])
    assert table.column("handoffs").tolist() == [7, 0, 7, 0, 7]
    assert table.column("severity").tolist() == [0.5, 0.0, 0.5, 0.0, 0.5]
    assert table.column("number").tolist() == [0, -1, 2, -1, 4]
    assert table.column("closed").tolist() == [3.0, 4.0, 5.0, 6.0, 7.0]
    reused = table.add((1,), (2.0,))
    assert reused == rows[1] and table.added == 6
    assert math.isnan(table.closed[reused]) and math.isnan(table.parked[reused])
    assert table.number[reused] == 5 and table.departments[reused] == (1,)
    assert np.isnan(table.column("closed")).sum() == 1


def test_releasing_nothing_changes_nothing() -> None:
    """An empty release leaves the table as it was."""
    table = CaseTable()
    table.add((0,), (1.0,))
    table.release([])
    assert table.live == 1 and table.number[0] == 0
