"""A day's new cases written into the case table (issue 11, fifteenth round): rows are
allocated for the whole day at once as one add per case would give them, and the compiled
engine's ``write_cases`` writes them as the reference ``Casework._write_cases`` does, bit for
bit — departments and work content (a separate linked request's part), the need's fields
and uniforms, source, grid, resident (none for a find), the moment reported, and the
repeat-need dictionary in the cases' order."""

from __future__ import annotations

import contextlib
import copy
import gc
import math
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_small_day import _columns, _run, batches

import model.casework as casework_module
from experiments.scenario_files import Scenario, apply_overrides
from model.casework import (
    _DESK_ROW,
    _FOUND_TYPE,
    _VALUE_ROWS,
    HOTLINE,
    NEED_VALUES,
    PATROL_SOURCE,
    SENSOR_DELAY,
    SENSOR_SOURCE,
    CaseTable,
    Casework,
    _NeedRows,
)
from model.engine_backend import compiled_engine
from model.governance import GovernanceModel
from model.mediation import NEIGHBOUR_DISPUTE

ENGINE = compiled_engine()
needs_compiled = pytest.mark.skipif(ENGINE is None, reason="the compiled engine is not built")


class SmallBlocks(CaseTable):
    """A table that grows four rows at a time, so that a few cases cross its capacity."""

    _BLOCK = 4


def _table(history: list[int]) -> SmallBlocks:
    """A table after ``history``: a positive entry adds that many cases, a negative one
    releases that many of the live rows (every other one, from the top)."""
    table = SmallBlocks()
    for step in history:
        if step > 0:
            for _ in range(step):
                table.add((table.added % 3,), (float(table.added),))
        else:
            live = [r for r in range(table.size) if table.number[r] >= 0]
            table.release(live[::-2][:-step])
    return table


def _state(table: CaseTable) -> tuple:
    columns = {name: table.column(name).tobytes() for name in sorted(table._SPEC)}
    return (
        columns,
        table.size,
        table.added,
        list(table._free),
        table._capacity,
        list(table.departments),
        list(table.work),
    )


def _add_before(table: CaseTable, departments: tuple[int, ...], work: tuple[float, ...]) -> int:
    """``CaseTable.add`` as it was before ``allocate`` (0817bfb), verbatim: the reference."""
    if table._free:
        row = table._free.pop()  # released: it holds the defaults but for _KEPT
        for column, default in table._kept:
            column[row] = default
        table.departments[row] = departments
        table.work[row] = work
    else:
        if table.size == table._capacity:
            for column, block in table._blocks:
                column.extend(block)
            table._capacity += table._BLOCK
        table.departments.append(departments)
        table.work.append(work)
        row = table.size
        table.size += 1
    table.number[row] = table.added
    table.added += 1
    return row


@settings(max_examples=80, deadline=None)
@given(
    history=st.lists(st.integers(-6, 9).filter(lambda s: s != 0), max_size=8),
    n=st.integers(0, 12),
    written=st.lists(st.tuples(st.sampled_from(["closed", "parked", "grid"]), st.floats(0, 9))),
)
def test_allocate_gives_the_rows_of_one_add_per_case(
    history: list[int], n: int, written: list[tuple[str, float]]
) -> None:
    """``allocate(n)`` then setting each row's departments and work leaves the table as ``n``
    calls of ``add`` as it was before left it: the same rows in the same order (freed rows
    first, the kept columns back to their defaults), numbers, capacity, free list and every
    column — also when the freed rows' kept columns were written before they were freed."""
    by_add, by_allocate = _table(history), _table(history)
    for table in (by_add, by_allocate):  # the same values in live rows, freed later or not
        for k, (name, value) in enumerate(written):
            if table.size:
                getattr(table, name)[k % table.size] = int(value) if name == "grid" else value
        table.release([r for r in range(table.size) if table.number[r] % 3 == 1][:4])
    work = [((k % 5,), (k / 2.0,)) for k in range(n)]
    rows_added = [_add_before(by_add, d, w) for d, w in work]
    rows = by_allocate.allocate(n)
    for row, (d, w) in zip(rows, work, strict=True):
        by_allocate.departments[row] = d
        by_allocate.work[row] = w
    assert rows == rows_added
    assert _state(by_allocate) == _state(by_add)
    assert [by_allocate.number[r] for r in rows] == list(range(by_add.added - n, by_add.added))


@pytest.fixture(scope="module")
def intake_model(classroom: Scenario) -> GovernanceModel:
    scenario = apply_overrides(classroom, {"simulation.warmup_days": 3})
    return _run(scenario, 3)


@st.composite
def intake_days(draw: st.DrawFn, residents: int, departments: int, grids: int) -> tuple:
    """Two days' need rows, and new cases drawn from either: any source (finds included),
    parts of linked requests or none, with earlier reports of some in the repeat-need
    dictionary."""
    rows = []
    for _ in range(2):
        batch = draw(batches(residents, departments))
        need_rows = _NeedRows(batch, list(range(len(batch))))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        need_rows.public_grid = rng.integers(0, grids, len(batch)).tolist()
        rows.append(need_rows)
    items, case_types = [], []
    n = draw(st.integers(0, 16))
    for k in range(n):
        need_rows = rows[draw(st.integers(0, 1))]
        if not need_rows.time:
            continue
        i = draw(st.integers(0, len(need_rows.time) - 1))
        source = draw(st.sampled_from([HOTLINE, 1, 2, PATROL_SOURCE, SENSOR_SOURCE]))
        parts = len(need_rows.departments[i])
        part = draw(st.sampled_from([None, -1, *range(parts)]))
        now = need_rows.time[i] + k / 100.0
        items.append((now, need_rows, i, source, 1_000 + k, part))
        case_types.append(_FOUND_TYPE.get(source, need_rows.case_type[i]))
    earlier = {}
    for now, need_rows, i, _, _, _ in items:
        resident = need_rows.resident[i]
        if resident >= 0 and draw(st.booleans()):
            key = resident * departments + need_rows.departments[i][0]
            earlier[key] = now - draw(st.floats(0.0, 60.0))
    return items, case_types, earlier


@contextlib.contextmanager
def _writing_into(casework: Casework, table: CaseTable, last_need: dict) -> Iterator[None]:
    """``casework`` writes into ``table`` and ``last_need`` (its own put back after)."""
    saved = casework.cases, casework.last_need
    casework.cases, casework.last_need = table, last_need
    try:
        yield
    finally:
        casework.cases, casework.last_need = saved


def _write(casework: Casework, table: CaseTable, last_need: dict, items, case_types, compiled):
    """The day's ``items`` written into ``table`` and ``last_need`` by ``casework``'s
    compiled writer or its reference."""
    rows = table.allocate(len(items))
    with _writing_into(casework, table, last_need):
        write = casework._write_compiled if compiled else casework._write_cases
        write(rows, items, case_types)


@needs_compiled
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_compiled_writer_is_the_reference(
    intake_model: GovernanceModel, data: st.DataObject
) -> None:
    """On a table with freed rows, the compiled writer and the reference write every column,
    the departments and work content, and the repeat-need dictionary the same, bit for bit."""
    casework = intake_model.casework
    residents = len(casework.geography.resident_grid)
    items, case_types, earlier = data.draw(
        intake_days(residents, casework.n_departments, intake_model.n_grids), label="items"
    )
    base = _table(data.draw(st.lists(st.integers(-6, 9).filter(bool), max_size=6), label="h"))
    tables = [copy.deepcopy(base), copy.deepcopy(base)]
    dicts = [dict(earlier), dict(earlier)]
    for table, last_need, compiled in zip(tables, dicts, (False, True), strict=True):
        _write(casework, table, last_need, items, case_types, compiled)
    assert _state(tables[1]) == _state(tables[0])
    assert dicts[1] == dicts[0]
    assert [type(v) for v in dicts[1].values()] == [float] * len(dicts[1])


WRITERS = ["reference"] if ENGINE is None else ["reference", "compiled"]


def _one_need_rows(departments: tuple[int, ...] = (0, 1)) -> _NeedRows:
    """Need rows holding one need (resident 0), every uniform 0.5."""
    rows = _NeedRows.__new__(_NeedRows)
    for name in _NeedRows.__slots__:
        setattr(rows, name, [0.5])
    rows.values = np.full((1, len(NEED_VALUES)), 0.5)
    rows.resident, rows.case_type, rows.minor, rows.disputed = [0], [0], [False], [False]
    rows.departments, rows.work = [departments], [tuple(1.0 for _ in departments)]
    rows.public_grid, rows.public_shift = [], 0
    return rows


@pytest.mark.parametrize("writer", WRITERS)
def test_writer_marks_repeats_and_finds(intake_model: GovernanceModel, writer: str) -> None:
    """What is written, read back: a find has no resident and the need's grid; a report
    within the window of the same resident's report to the same lead department (exactly
    at its end included) is a repeat, one after it is not; a dispute is never one; a part
    is one department."""
    casework = intake_model.casework
    window = casework.p.demand.repeat_complaint_window_days
    resident = 7
    grid = casework.geography.resident_grid[resident]
    batch = _one_need_rows((2, 4))
    batch.resident, batch.work, batch.public_grid = [resident], [(1.5, 2.5)], [3]
    batch.values[0, NEED_VALUES.index("u_verify")] = 0.9
    later = 10.0 + 3 * window
    items = [
        (10.0, batch, 0, HOTLINE, 1, None),  # the first report (lead department 2)
        (10.0 + window, batch, 0, HOTLINE, 2, None),  # within the window: a repeat
        (later, batch, 0, HOTLINE, 3, 1),  # part 1: department 4 alone, a first report
        (later + 0.5, batch, 0, HOTLINE, 4, None),  # lead 2, 2 windows after the last: none
        (later + 0.6, batch, 0, HOTLINE, 5, None),  # a dispute: never a repeat, not kept
        (later + 0.7, batch, 0, PATROL_SOURCE, 6, None),  # a find: nobody reported it
    ]
    case_types = [0, 0, 0, 0, NEIGHBOUR_DISPUTE, 0]
    table, last_need = CaseTable(), {}
    assert float(window).is_integer()  # so that the second report is at the window's end exactly
    _write(casework, table, last_need, items, case_types, compiled=writer == "compiled")
    assert table.column("repeat").tolist() == [0, 1, 0, 0, 0, 0]
    assert table.column("resident").tolist() == [resident] * 5 + [-1]
    assert table.column("source").tolist() == [HOTLINE] * 5 + [PATROL_SOURCE]
    assert table.column("grid").tolist() == [grid] * 6
    assert table.departments == [(2, 4), (2, 4), (4,), (2, 4), (2, 4), (2, 4)]
    assert table.work[2] == (2.5,)
    assert table.column("u_verify").tolist() == [0.9] * 6
    assert table.column("need").tolist() == [1, 2, 3, 4, 5, 6]
    assert table.column("reported").tolist() == [item[0] for item in items]
    n = casework.n_departments  # the dispute and the find left the entries as they were
    assert last_need == {resident * n + 2: later + 0.5, resident * n + 4: later}


@needs_compiled
def test_compiled_writer_refuses_rows_and_residents_beyond_the_table(
    intake_model: GovernanceModel,
) -> None:
    """A row the table has not allocated, or a resident the population does not have, is an
    IndexError naming it, not a write past the columns or a read past the grid array."""
    casework = intake_model.casework
    table = CaseTable()
    rows = table.allocate(1)
    batch = _one_need_rows((0,))
    batch.public_grid = [0]
    residents = len(casework.geography.resident_grid)

    def write(row: int, resident: int) -> None:
        batch.resident = [resident]
        with _writing_into(casework, table, {}):
            casework._write_compiled([row], [(1.0, batch, 0, HOTLINE, 0, None)], [0])

    with pytest.raises(IndexError, match="row 1 beyond the table's 1"):
        write(1, 0)
    with pytest.raises(IndexError, match=f"resident {residents} beyond"):
        write(rows[0], residents)
    write(rows[0], residents - 1)
    assert table.grid[rows[0]] == casework.geography.resident_grid[residents - 1]


@needs_compiled
@pytest.mark.parametrize("overrides", [{}, {"intake.one_thing_bundles": True}])
@pytest.mark.parametrize("small_batch", [casework_module.SMALL_BATCH, 4])
def test_a_run_writes_the_same_cases_with_either_writer(
    classroom: Scenario, overrides: dict, small_batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two 40-day runs, one making and writing new cases by the reference and one by the
    compiled engine (linked requests, their parts and bundles, sensor and patrol finds,
    freed rows reused; batches from 4 cases on taking the calendar's vector forms, with the
    arrays the engine's ``intake_items`` makes): the same case table, bit for bit, and the
    same events."""
    monkeypatch.setattr(casework_module, "SMALL_BATCH", small_batch)
    scenario = apply_overrides(
        classroom,
        {
            "simulation.warmup_days": 5,
            "demand.linked_request_share": 0.5,
            "detection.sensor_coverage_share": 0.5,
            **overrides,
        },
    )
    runs = []
    for backend in ("python", "compiled"):
        model = GovernanceModel(scenario.parameters, seed=5, case_sink=lambda frame: None)
        model.casework.backend = backend
        model.run(days=35)
        runs.append((_columns(model), model.events.processed, dict(model.casework.last_need)))
    assert runs[0] == runs[1]
    sources = np.frombuffer(bytes.fromhex(runs[0][0]["source"]), dtype=np.int8)
    assert (sources == PATROL_SOURCE).any() and (sources == SENSOR_SOURCE).any()
    assert np.frombuffer(bytes.fromhex(runs[0][0]["repeat"]), dtype=np.int8).any()
    assert casework_module.BACKEND == "compiled"


@pytest.mark.parametrize("writer", WRITERS)
def test_a_position_from_the_end_is_read_as_a_list_reads_it(
    intake_model: GovernanceModel, writer: str
) -> None:
    """Positions are read as Python reads a list's (the reference's need rows): −1 is the
    last need's, departments and values alike, in either writer."""
    need_rows = _one_need_rows((3,))
    need_rows.departments = [(1,), (3,)]
    need_rows.work, need_rows.resident, need_rows.case_type = [(1.0,), (2.0,)], [0, 0], [0, 0]
    need_rows.minor, need_rows.disputed = [False, True], [False, True]
    need_rows.values = np.stack([np.full(len(NEED_VALUES), 0.25), np.arange(len(NEED_VALUES))])
    table = CaseTable()
    items = [(1.0, need_rows, -1, HOTLINE, 0, None)]
    _write(intake_model.casework, table, {}, items, [0], compiled=writer == "compiled")
    assert table.departments == [(3,)] and table.work == [(2.0,)]
    assert table.column("disputed").tolist() == [1]
    assert [table.column(name)[0] for name in NEED_VALUES] == list(range(len(NEED_VALUES)))


def _short_values(rows: int = 1, columns: int = len(NEED_VALUES)) -> _NeedRows:
    """One need's rows whose values array has ``rows`` rows of ``columns`` values."""
    need_rows = _one_need_rows()
    need_rows.values = np.full((rows, columns), 0.5)
    return need_rows


# malformed items, each with the error the reference raises: a position beyond the need
# rows, a part beyond the departments, no departments, too short an item, a source or case
# type beyond a byte, need values missing the item's row or a column, a public problem
# without its grid
MALFORMED = {
    "position": ([(1.0, _one_need_rows(), 1, HOTLINE, 0, None)], [0], IndexError),
    "part": ([(1.0, _one_need_rows(), 0, HOTLINE, 0, 2)], [0], IndexError),
    "no departments": ([(1.0, _one_need_rows(()), 0, HOTLINE, 0, None)], [0], IndexError),
    "short item": ([(1.0, _one_need_rows(), 0, HOTLINE, 0)], [0], ValueError),
    "source": ([(1.0, _one_need_rows(), 0, 300, 0, None)], [0], OverflowError),
    "case type": ([(1.0, _one_need_rows(), 0, HOTLINE, 0, None)], [200], OverflowError),
    "values short": ([(1.0, _short_values(rows=0), 0, HOTLINE, 0, None)], [0], IndexError),
    "values narrow": ([(1.0, _short_values(columns=8), 0, HOTLINE, 0, None)], [0], ValueError),
}


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_items_raise_the_references_error(
    intake_model: GovernanceModel, writer: str, case: str
) -> None:
    """A malformed item is the reference's exception in either writer (the compiled one
    checks its indexing), never a read past a list or a value wrapped into a byte."""
    items, case_types, error = MALFORMED[case]
    with pytest.raises(error):
        _write(intake_model.casework, CaseTable(), {}, items, case_types, writer == "compiled")
    public = _one_need_rows()
    public.resident = [-1]  # a public problem whose grid was not set
    with pytest.raises(IndexError):
        _write(
            intake_model.casework, CaseTable(), {}, [(1.0, public, 0, HOTLINE, 0, None)], [0],
            writer == "compiled",
        )  # fmt: skip


@needs_compiled
@pytest.mark.parametrize("shape", [(3, 9), (2, 8), (2, 10)])
def test_gather_refuses_values_not_a_row_of_nine_per_kept_need(
    shape: tuple[int, int],
) -> None:
    """The compiled gather writes into the array it is given only when it has one row of
    nine per kept need: any other shape is refused before anything is written."""
    n = 4
    u = np.linspace(0.1, 0.9, n)
    values = np.full(shape, -1.0)
    with pytest.raises(ValueError, match=r"values of shape"):
        _gather([0, 2], u, np.full((n, 2), -1, np.int16), np.zeros((n, 2)), values)
    assert (values == -1.0).all()


@needs_compiled
@pytest.mark.parametrize("desk_row, last_value_row", [(14, 13), (2, 14), (-1, 13)])
def test_gather_refuses_rows_beyond_the_uniforms(desk_row: int, last_value_row: int) -> None:
    """A front-desk or value row outside the block of uniforms is refused, not read."""
    n = 2
    u = np.linspace(0.1, 0.9, n)
    rows = np.array([*_VALUE_ROWS[:-1], last_value_row], dtype=np.intp)
    values = np.full((n, len(NEED_VALUES)), -1.0)
    with pytest.raises(IndexError, match=r"beyond the 14 uniforms"):
        _gather([0, 1], u, np.full((n, 2), -1, np.int16), np.zeros((n, 2)), values, desk_row, rows)
    assert (values == -1.0).all()


def _gather(
    kept: list[int],
    u: np.ndarray,
    departments: np.ndarray,
    work: np.ndarray,
    values: np.ndarray,
    desk_row: int = _DESK_ROW,
    value_rows: np.ndarray = _VALUE_ROWS,
) -> list[list]:
    """The compiled gather of ``kept`` from needs whose every number field is ``u`` (their
    block of uniforms ``u`` in every row), residents and types 0, flags off."""
    assert ENGINE is not None
    n = u.shape[0]
    flags = np.zeros(n, np.uint8)
    return ENGINE.gather_needs(
        kept,
        u,
        np.zeros(n, np.int64),
        np.zeros(n, np.int8),
        u,
        flags,
        flags,
        np.tile(u, (14, 1)),
        departments,
        work,
        desk_row,
        value_rows,
        values,
    )


@needs_compiled
def test_gathered_departments_and_work_are_left_out_of_the_cyclic_collector() -> None:
    """The compiled gather's departments and work tuples (ints and floats only, kept for
    weeks by a district's cases) are not tracked by the cyclic collector — as CPython
    leaves such a tuple out when a collection first meets it — and hold the padded rows'
    entries."""
    n = 3
    u = np.linspace(0.1, 0.9, n)
    departments = np.array([[4, -1, -1], [2, 5, -1], [1, 3, 6]], np.int16)
    work = np.array([[1.5, 0.0, 0.0], [2.5, 0.5, 0.0], [0.25, 0.75, 1.0]])
    gathered = _gather([0, 1, 2], u, departments, work, np.empty((n, len(NEED_VALUES))))
    made_departments, made_work = gathered[6], gathered[7]
    assert made_departments == [(4,), (2, 5), (1, 3, 6)]
    assert made_work == [(1.5,), (2.5, 0.5), (0.25, 0.75, 1.0)]
    assert not any(gc.is_tracked(t) for t in made_departments + made_work)


@st.composite
def intake_entries(draw: st.DrawFn, residents: int, departments: int) -> tuple:
    """A day's entries for ``Casework._create`` — (the moment, the need's number, the need
    rows, the row, the source), from two days' need rows, in the order drawn — and which
    of the needs are linked requests."""
    rows = [
        _NeedRows(batch, list(range(len(batch))))
        for batch in (draw(batches(residents, departments)) for _ in range(2))
    ]
    today = []
    for k in range(draw(st.integers(0, 60))):
        need_rows = rows[draw(st.integers(0, 1))]
        if not need_rows.time:
            continue
        i = draw(st.integers(0, len(need_rows.time) - 1))
        source = draw(st.sampled_from([HOTLINE, 1, 2, PATROL_SOURCE, SENSOR_SOURCE]))
        now = need_rows.time[i] + k / 100.0
        today.append((now, 1_000 + k, need_rows, i, source))
    linked = frozenset(draw(st.sets(st.integers(1_000, 1_060))))
    return today, linked


@contextlib.contextmanager
def _one_thing(casework: Casework, share: float, bundling: bool, linked: frozenset):
    """``casework``'s linked requests set for one test (its own put back after)."""
    one_thing = casework.one_thing
    saved = one_thing.share, one_thing.bundling, one_thing.linked
    one_thing.share, one_thing.bundling, one_thing.linked = share, bundling, linked
    try:
        yield
    finally:
        one_thing.share, one_thing.bundling, one_thing.linked = saved


@needs_compiled
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_intake_items_are_the_references(
    intake_model: GovernanceModel, data: st.DataObject
) -> None:
    """The compiled ``intake_items`` makes ``Casework._items``' items and case types — linked
    requests as a bundle or one item per department, or none — and, from ``small_batch``
    items on, the moments, the in-person flags and the time limits numpy makes of them."""
    casework = intake_model.casework
    residents = len(casework.geography.resident_grid)
    today, linked = data.draw(intake_entries(residents, casework.n_departments), label="today")
    share = data.draw(st.sampled_from([0.0, 0.3]), label="share")
    bundling = data.draw(st.booleans(), label="bundling")
    small_batch = data.draw(st.sampled_from([0, 5, casework_module.SMALL_BATCH, 10**6]))
    with _one_thing(casework, share, bundling, linked):
        items, case_types = casework._items(today)
    assert ENGINE is not None
    made = ENGINE.intake_items(
        today,
        linked if share > 0 else None,
        bundling,
        casework_module.PATROL_CHANNEL,
        _FOUND_TYPE,
        HOTLINE,
        casework.limits,
        small_batch,
    )
    assert made[0] == items and made[1] == case_types
    assert [tuple(map(type, t)) for t in made[0]] == [tuple(map(type, t)) for t in items]
    assert [type(c) for c in made[1]] == [type(c) for c in case_types]
    if len(items) < small_batch:
        assert made[2:] == (None, None, None)
        return
    now_of, in_person, limit_days = made[2:]
    expected = (
        np.array([item[0] for item in items]),
        np.array([item[3] for item in items]) != HOTLINE,
        np.array([casework.limits[c] for c in case_types]),
    )
    for got, want in zip((now_of, in_person, limit_days), expected, strict=True):
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


@needs_compiled
def test_intake_items_leave_arrays_of_other_numbers_to_numpy(
    intake_model: GovernanceModel,
) -> None:
    """A moment or a time limit that is not a float, or a source that is not an int, is not
    read as one: the three arrays are left to the caller (numpy makes them as it would); an
    entry not of five fields is refused."""
    casework = intake_model.casework
    rows = _one_need_rows()
    today = [(0.5, 7, rows, 0, HOTLINE), (0.75, 8, rows, 0, 1)]
    assert ENGINE is not None

    def made(entries: list, limits: list) -> tuple:
        return ENGINE.intake_items(entries, None, False, 3, _FOUND_TYPE, HOTLINE, limits, 1)

    assert made(today, casework.limits)[2] is not None
    assert made([(1, 7, rows, 0, HOTLINE)], casework.limits)[2:] == (None, None, None)
    assert made(today, [int(v) for v in casework.limits])[2:] == (None, None, None)
    assert made([(0.5, 7, rows, 0, 0.5)], casework.limits)[2:] == (None, None, None)
    with pytest.raises(ValueError, match="not 5"):
        made([(0.5, 7, rows, 0)], casework.limits)


@st.composite
def kept_needs(draw: st.DrawFn) -> tuple[list[int], list[int], list[float], int]:
    """A day's kept needs as ``Casework.receive`` has them: each one's source (a channel
    0–2, the sensor's, or −1: left for a patrol), its position in the batch (ascending),
    its time, and the day's first need number."""
    n = draw(st.integers(0, 40))
    how = draw(st.lists(st.sampled_from([0, 1, 2, SENSOR_SOURCE, -1]), min_size=n, max_size=n))
    position = sorted(draw(st.sets(st.integers(0, 10**4), min_size=n, max_size=n)))
    moments = st.floats(0.0, 4000.0, allow_nan=False)
    times = draw(st.lists(moments, min_size=n, max_size=n))
    return how, position, times, draw(st.integers(0, 2**40))


# the moments a find may be filed at: a day's, and any finite float or int (negative, past
# the C conversion's range)
FOUND_AT = st.one_of(
    st.floats(0.0, 4000.0, allow_nan=False),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**70), 2**70),
)


def _types(entries: list[tuple]) -> list[tuple[type, ...]]:
    return [tuple(map(type, entry)) for entry in entries]


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(kept=kept_needs(), moments=st.data())
def test_compiled_entries_of_the_day_are_the_references(
    kept: tuple[list[int], list[int], list[float], int], moments: st.DataObject
) -> None:
    """The compiled ``today_entries`` and ``file_found`` make ``_today_entries``' entries,
    patrolled rows and positions and ``_file_found``'s filing — the same tuples, of the same
    types, in the same order, under the same days (ints), onto days already holding finds —
    and count what they file."""
    how, position, times, base = kept
    rows = _one_need_rows()
    assert ENGINE is not None
    arguments = (how, position, times, base, rows, SENSOR_DELAY, SENSOR_SOURCE)
    want = casework_module._today_entries(*arguments)
    got = ENGINE.today_entries(*arguments)
    assert got == want and _types(got[0]) == _types(want[0])
    patrolled, batch_rows = want[1], want[2]
    found_at = moments.draw(
        st.lists(FOUND_AT, min_size=len(patrolled), max_size=len(patrolled)), label="found_at"
    )
    earlier = ("an earlier day's find",)
    found_want: dict = {int(t): [earlier] for t in found_at[:1]}
    found_got = copy.deepcopy(found_want)
    filed = (patrolled, found_at, batch_rows, base, rows, PATROL_SOURCE)
    n_want = casework_module._file_found(found_want, *filed)
    n_got = ENGINE.file_found(found_got, *filed)
    assert n_got == n_want == len(patrolled)
    assert found_got == found_want
    assert list(found_got) == list(found_want)  # the days in the order first filed
    assert [type(day) for day in found_got] == [type(day) for day in found_want]
    for day, entries in found_want.items():
        assert _types(found_got[day]) == _types(entries)


@needs_compiled
def test_finds_are_filed_under_the_day_int_gives() -> None:
    """A find's day is ``int(moment)``, toward zero, for a float past any C integer's range
    and for an int too; a moment int refuses (NaN, infinity) is refused as int refuses it;
    lists of different lengths are refused."""
    rows = _one_need_rows()
    assert ENGINE is not None
    found: dict = {}
    moments = [2.999, 1e19, -0.5, 7]
    assert (
        ENGINE.file_found(found, [0, 1, 2, 3], moments, [3, 4, 5, 6], 10, rows, PATROL_SOURCE) == 4
    )
    assert list(found) == [2, 10**19, 0, 7]
    assert found[0] == [(-0.5, 15, rows, 2, PATROL_SOURCE)]
    for bad, error in ((math.nan, ValueError), (math.inf, OverflowError)):
        with pytest.raises(error):
            ENGINE.file_found({}, [0], [bad], [3], 10, rows, PATROL_SOURCE)
    with pytest.raises(ValueError, match="different lengths"):
        ENGINE.file_found({}, [0, 1], [1.0, 2.0], [3], 10, rows, PATROL_SOURCE)
    with pytest.raises(ValueError, match="different lengths"):
        ENGINE.today_entries([0, 1], [3], [1.0], 10, rows, SENSOR_DELAY, SENSOR_SOURCE)
