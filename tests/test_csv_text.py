"""The case log's CSV text written by the compiled engine (model/_csv_text.pxi, ``csv_text``)
against its reference, Arrow's writer (experiments/case_sinks.py ``_arrow_csv_rows``): the
same bytes for every frame it takes, the reference for every frame it does not, and bad
columns refused by name (docs/design.md "The case log's text written in C")."""

from __future__ import annotations

import io
import math
import os
import struct
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from experiments import case_sinks
from experiments.case_sinks import CsvCaseSink, _arrow_csv_rows, _csv_rows, _text_columns
from experiments.scenario_files import Scenario
from model.engine_backend import compiled_engine
from model.governance import GovernanceModel

ENGINE = compiled_engine()
needs_compiled = pytest.mark.skipif(
    ENGINE is None or not ENGINE.CSV_TEXT, reason="the compiled case-log writer is not built"
)

# where Arrow's layout changes (decimal exponents -6 … 9), the extremes, signed zeros
EDGES = [
    0.0, -0.0, 1.0, -1.0, 0.1, 1.5, 2.0, 100000.0, 1e9, 9999999999.0, 1e10, 1.5e10, 1e-6,
    1.5e-6, 9.99e-7, 1e-7, 1.25e-7, 123456789.123, 0.009295833333333335, 1e15, 1e16, 1e21,
    1e22, 1e100, -1e-300, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
    -1.7976931348623157e308, 2.0**53, 2.0**53 + 2, 2.0**63, 1 / 3, -2 / 3, math.pi,
    math.inf, -math.inf, math.nan,
]  # fmt: skip


def _floats(values: Any) -> str:
    """One float column written by the compiled engine."""
    assert ENGINE is not None
    array = np.ascontiguousarray(values, dtype=np.float64)
    text = ENGINE.csv_text([(ENGINE.CSV_FLOAT, array)], len(array))
    return text.decode("ascii")


def _arrow_floats(values: Any) -> str:
    return _arrow_csv_rows(pd.DataFrame({"x": np.asarray(values, dtype=np.float64)}))


@needs_compiled
def test_floats_at_the_layouts_edges_are_arrows() -> None:
    """Each edge float is spelled as Arrow spells it, and reads back as itself."""
    assert _floats(EDGES) == _arrow_floats(EDGES)
    for value, text in zip(EDGES, _floats(EDGES).splitlines(), strict=True):
        if math.isnan(value):
            assert text == ""
        else:
            back = float(text)
            assert back == value and math.copysign(1, back) == math.copysign(1, value)


@needs_compiled
def test_random_bit_patterns_are_spelled_as_arrow_spells_them() -> None:
    """200,000 doubles of random bits (every exponent, subnormals, NaNs of any payload) and
    200,000 of the case log's kind (days with fractions): Arrow's text, byte for byte."""
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2**64, size=200_000, dtype=np.uint64, endpoint=False).view(np.float64)
    days = rng.random(200_000) * 400 / rng.integers(1, 97, size=200_000)
    for values in (bits, days):
        assert _floats(values) == _arrow_floats(values)


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=40))
def test_any_floats_are_spelled_as_arrow_spells_them(values: list[float]) -> None:
    assert _floats(values) == _arrow_floats(values)


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=40))
def test_any_int64_is_written_in_decimal(values: list[int]) -> None:
    """Integers from the smallest int64 to the largest, as Arrow (and ``str``) writes them."""
    assert ENGINE is not None
    array = np.array(values, dtype=np.int64)
    text = ENGINE.csv_text([(ENGINE.CSV_INT, array)], len(array)).decode("ascii")
    assert text == "".join(f"{v}\n" for v in values)
    assert text == _arrow_csv_rows(pd.DataFrame({"x": array}))


TEXTS = st.text(alphabet=st.sampled_from("ab_ 街道社区网格é-"), max_size=6)


@st.composite
def frames(draw: Any) -> pd.DataFrame:
    """A frame of the kinds the case log has: integers of each width, floats, booleans,
    categories of texts with missing values, texts (``str`` and object) with missing ones."""
    n = draw(st.integers(0, 25))
    columns: dict[str, Any] = {}
    for k in range(draw(st.integers(1, 8))):
        kinds = ["i64", "i8", "u16", "f", "b", "cat", "str", "pystr", "obj"]
        kind = draw(st.sampled_from(kinds))
        name = f"c{k}"
        if kind in ("i64", "i8", "u16"):
            dtype = {"i64": np.int64, "i8": np.int8, "u16": np.uint16}[kind]
            columns[name] = draw(hnp.arrays(dtype, n))
        elif kind == "f":
            columns[name] = draw(hnp.arrays(np.float64, n, elements=st.sampled_from(EDGES)))
        elif kind == "b":
            columns[name] = draw(hnp.arrays(np.bool_, n))
        else:
            texts = draw(st.lists(st.one_of(st.none(), TEXTS), min_size=n, max_size=n))
            if kind == "cat":
                columns[name] = pd.Categorical(texts)
            elif kind == "str":
                columns[name] = pd.array(texts, dtype="str")
            elif kind == "pystr":
                columns[name] = pd.array(texts, dtype=pd.StringDtype("python"))
            else:
                columns[name] = pd.Series(texts, dtype=object)
    return pd.DataFrame(columns)


@needs_compiled
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.integers(0, 3))
def test_any_case_log_like_frame_is_written_as_arrow_writes_it(
    frame: pd.DataFrame, cut: int
) -> None:
    """Every frame of the case log's kinds — a slice of one too, whose columns are views,
    and one made by ``pd.concat`` with an empty frame, whose text columns have an empty
    first chunk — is written by the compiled writer (not declined) with Arrow's bytes."""
    assert ENGINE is not None
    for part in (frame.iloc[cut:], pd.concat([frame.iloc[:0], frame.iloc[cut:]])):
        columns = _text_columns(part)
        assert columns is not None
        if len(part):
            assert ENGINE.csv_text(columns, len(part)) is not None
        assert _csv_rows(part) == _arrow_csv_rows(part)


def _same_columns(a: list[tuple[Any, ...]] | None, b: list[tuple[Any, ...]] | None) -> bool:
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(
        len(x) == len(y)
        and all(
            x_part == y_part
            if not isinstance(x_part, np.ndarray)
            else (x_part.dtype == y_part.dtype and x_part.tobytes() == y_part.tobytes())
            for x_part, y_part in zip(x, y, strict=True)
        )
        for x, y in zip(a, b, strict=True)
    )


@needs_compiled
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.integers(0, 3))
def test_columns_are_read_alike_with_and_without_pandas_private_iterator(
    frame: pd.DataFrame, cut: int
) -> None:
    """``_text_columns`` reads the columns' arrays by pandas' private
    ``DataFrame._iter_column_arrays`` where it exists; a pandas without it gets the same
    columns, kinds, arrays and texts from each column's Series."""
    for part in (frame.iloc[cut:], pd.concat([frame.iloc[:0], frame.iloc[cut:]])):
        by_arrays = _text_columns(part)
        with pytest.MonkeyPatch.context() as patch:
            patch.delattr(pd.DataFrame, "_iter_column_arrays")
            by_series = _text_columns(part)
        assert _same_columns(by_arrays, by_series)


def test_arrow_writes_a_column_whose_first_chunk_is_empty() -> None:
    """The reference's own writer, on a text column of two chunks the first empty (pyarrow
    26 spelled such a column as NUL bytes until the table was made one chunk a column)."""
    frame = pd.DataFrame({"i": [1, 2], "s": ["a", "b"]})
    joined = pd.concat([frame.iloc[:0], frame])
    assert _arrow_csv_rows(joined) == "1,a\n2,b\n"
    assert _csv_rows(joined) == "1,a\n2,b\n"


def test_frames_without_columns_or_with_repeated_names() -> None:
    """No columns: no text, as Arrow writes it; a name used twice: pandas writes the frame
    (``frame[name]`` would be a frame); a number beyond 64 bits in an object column: pandas
    too, not an error."""
    empty = pd.DataFrame(index=range(3))
    assert _csv_rows(empty) == _arrow_csv_rows(empty) == ""
    twice = pd.DataFrame([[1, 2.5], [3, 4.5]], columns=["a", "a"])
    assert _csv_rows(twice) == twice.to_csv(index=False, header=False) == "1,2.5\n3,4.5\n"
    huge = pd.DataFrame({"x": pd.Series([2**70, 1], dtype=object)})
    assert _csv_rows(huge) == huge.to_csv(index=False, header=False)


@needs_compiled
@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1.5, 2.5], dtype=np.float32),
        pd.Series([1, None], dtype="Int64"),
        pd.Series([2**64 - 1, 3], dtype=np.uint64),
        pd.Series(pd.to_datetime(["2026-01-01", "2026-01-02"])),
        pd.Series([1, "a"], dtype=object),
        pd.Series([1.5, 2.5], dtype=object),
        pd.Series(pd.Categorical([1, 2])),
    ],
    ids=[
        "float32",
        "nullable",
        "uint64",
        "dates",
        "mixed objects",
        "float objects",
        "int categories",
    ],
)
def test_a_column_of_another_kind_goes_to_arrow(column: pd.Series) -> None:
    """A frame with a column the compiled writer does not take is written by Arrow, as before."""
    frame = pd.DataFrame({"case_id": [0, 1], "other": column})
    assert _text_columns(frame) is None
    assert _csv_rows(frame) == _arrow_csv_rows(frame)


@needs_compiled
@pytest.mark.parametrize("text", ["a,b", 'say "hi"', "two\nlines", "carriage\rreturn"])
@pytest.mark.parametrize("kind", ["str", "category"])
def test_text_needing_quotes_is_written_by_pandas(text: str, kind: str) -> None:
    """A text with a comma, a quote or a line break: the compiled writer declines (None) and
    the block is written by pandas, quoted, as before (pandas quotes no lone carriage
    return: that text alone does not read back)."""
    assert ENGINE is not None
    texts = pd.Series(["plain", text], dtype="str")
    frame = pd.DataFrame({"x": [1.5, 2.0], "note": texts.astype(kind)})
    columns = _text_columns(frame)
    assert columns is not None
    assert ENGINE.csv_text(columns, 2) is None
    handle = io.StringIO()
    CsvCaseSink(handle)(frame)
    assert handle.getvalue() == frame.to_csv(index=False)
    if "\r" not in text:
        back = pd.read_csv(io.StringIO(handle.getvalue()))
        assert back["note"].tolist() == ["plain", text]


def _bad(columns: list[tuple[Any, ...]], rows: int, match: str, error: type = ValueError) -> None:
    assert ENGINE is not None
    with pytest.raises(error, match=match):
        ENGINE.csv_text(columns, rows)


@needs_compiled
def test_bad_columns_are_refused_by_name() -> None:
    """Columns whose lengths, codes or offsets do not fit the rows are refused (never read
    beyond an array), naming the column and what is allowed."""
    assert ENGINE is not None
    e = ENGINE
    ints = np.arange(3, dtype=np.int64)
    ok = np.arange(3, dtype=np.float64)
    _bad([(e.CSV_FLOAT, ok), (e.CSV_INT, ints[:2])], 3, "column 1: 2 values for 3 rows")
    _bad([(e.CSV_FLOAT, ok[:2])], 3, "column 0: 2 values for 3 rows")
    _bad([(e.CSV_BOOL, np.ones(4, np.uint8))], 3, "column 0: 4 values for 3 rows")
    _bad([(e.CSV_CODES, ints, (b"a", b"b"))], 3, r"code 2 is not allowed; allowed: -1 … 1")
    _bad([(e.CSV_CODES, ints - 2, (b"a",) * 3)], 3, r"code -2 is not allowed")
    _bad([(e.CSV_CODES, ints, ("a", "b", "c"))], 3, "column 0: text 0: a str is not", TypeError)
    data = np.frombuffer(b"abc", dtype=np.uint8)
    valid = np.ones(3, np.uint8)
    _bad([(e.CSV_STRING, ints, data, valid)], 3, "3 offsets and 3 flags for 3 rows")
    _bad(
        [(e.CSV_STRING, np.array([0, 2, 1, 3]), data, valid)],
        3,
        "row 1's text 2 … 1 is not within the 3 bytes",
    )
    _bad(
        [(e.CSV_STRING, np.array([0, 1, 2, 4]), data, valid)],
        3,
        "row 2's text 2 … 4 is not within the 3 bytes",
    )
    _bad(
        [(e.CSV_STRING, np.array([-1, 1, 2, 3]), data, valid)],
        3,
        "row 0's text -1 … 1 is not within",
    )
    _bad([(7, ints)], 3, "column 0: kind 7 is not allowed; allowed: 0 … 4")
    _bad([(e.CSV_INT, ints)], -1, "rows: -1 is not allowed")
    _bad([(e.CSV_INT, ints.astype(np.int32))], 3, "column 0: Buffer dtype mismatch")
    _bad([(e.CSV_FLOAT, ok), (e.CSV_INT, np.arange(6)[::2])], 3, "column 1: .*not C-contiguous")
    # tuples of the wrong length or kind are refused before anything is read from them
    _bad([(e.CSV_CODES, ints)], 3, "column 0: 2 items for kind 3; allowed: 3")
    _bad([(e.CSV_FLOAT, ok), ()], 3, "column 1: an empty tuple is not allowed")
    _bad([(e.CSV_STRING, ints, b"abc")], 3, "column 0: 3 items for kind 4; allowed: 4")
    _bad([[e.CSV_INT, ints]], 3, "column 0: a list is not allowed; allowed: a tuple", TypeError)
    _bad([(2**70, ints)], 3, "column 0: ")
    # the texts: a tuple of bytes (a sequence of another type could be freed while read)
    texts = np.array([b"a", b"b", b"c"], dtype="S")
    _bad([(e.CSV_CODES, ints, texts)], 3, "column 0: texts: a ndarray is not allowed", TypeError)
    _bad([(e.CSV_CODES, ints, tuple(texts))], 3, "column 0: text 0: a bytes_ is not", TypeError)


@needs_compiled
def test_empty_and_missing_texts() -> None:
    """No rows is no text; a null text, an empty one and code -1 are empty fields."""
    assert ENGINE is not None
    e = ENGINE
    assert e.csv_text([(e.CSV_INT, np.empty(0, np.int64))], 0) == b""
    offsets = np.array([0, 0, 0, 2], dtype=np.int64)
    data = np.frombuffer(b"ab", dtype=np.uint8)
    columns = [
        (e.CSV_STRING, offsets, data, np.array([1, 0, 1], np.uint8)),
        (e.CSV_CODES, np.array([-1, 0, -1], np.int64), (b"",)),
    ]
    assert e.csv_text(columns, 3) == b",\n,\nab,\n"


@needs_compiled
def test_the_model_case_log_is_written_the_same_by_both(classroom: Scenario) -> None:
    """A classroom year's case log, retired in blocks: the compiled writer and Arrow's give
    the same file, and it reads back as the log."""
    frames: list[pd.DataFrame] = []
    model = GovernanceModel(classroom.parameters, seed=3, case_sink=frames.append)
    model.run(365)
    model.output()
    assert sum(len(frame) for frame in frames) > 1_000
    for frame in frames:
        assert _text_columns(frame) is not None
        assert _csv_rows(frame) == _arrow_csv_rows(frame)


def test_without_the_compiled_writer_arrow_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure-Python engine (no compiled module) writes through Arrow, the same text."""
    frame = pd.DataFrame({"x": [0.1, 1e-7, math.nan], "s": ["a", None, "b"]})
    compiled = _csv_rows(frame)
    monkeypatch.setattr(case_sinks, "_ENGINE", None)
    assert _csv_rows(frame) == compiled == "0.1,a\n1e-7,\n,b\n"


@needs_compiled
def test_shortest_digits_are_the_fewest_that_read_back() -> None:
    """Independently of Arrow: each float's text reads back as it, and its digits rounded to
    one fewer would not (random doubles of every exponent)."""
    rng = np.random.default_rng(5)
    values = rng.integers(0, 2**63, size=2_000, dtype=np.uint64).view(np.float64)
    values = values[np.isfinite(values) & (values != 0)]
    for value, text in zip(values.tolist(), _floats(values).splitlines(), strict=True):
        assert float(text) == value
        mantissa = text.split("e")[0].replace(".", "").replace("-", "").lstrip("0")
        digits = len(mantissa.rstrip("0"))  # an integral value's zeros are padding
        if digits > 1:
            shorter = float(f"{value:.{digits - 2}e}")
            assert shorter != value, (value, text)
        assert struct.pack("<d", float(text)) == struct.pack("<d", value)


class _Lent:
    """An object whose buffer is a fresh array each time it is asked (Python 3.12's
    ``__buffer__``): only the memoryview made of it keeps that array alive."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(np.arange(self.n, dtype=np.int64))

    def __release_buffer__(self, view: memoryview) -> None:
        view.release()


@needs_compiled
def test_what_the_writer_reads_is_held_until_it_returns() -> None:
    """Arrays lent for the call only, and many columns of texts each its own tuple: every
    value is read from memory still held (the review's reproductions crashed or spelled
    another column's texts)."""
    assert ENGINE is not None
    e = ENGINE
    n = 200_000
    text = e.csv_text([(e.CSV_INT, _Lent(n)), (e.CSV_INT, np.arange(n))], n)
    assert text == "".join(f"{i},{i}\n" for i in range(n)).encode()
    codes = np.array([0, 1, 2, 3, 0, 1], np.int64)
    columns = [
        (e.CSV_CODES, codes, tuple(f"t{k}-{i:02d}".encode() for i in range(4))) for k in range(6)
    ]
    rows = [",".join(f"t{k}-{c:02d}" for k in range(6)) for c in codes.tolist()]
    assert e.csv_text(columns, 6) == ("\n".join(rows) + "\n").encode()


def test_a_required_engine_writes_the_case_log() -> None:
    """Where the compiled engine is required (CI), its writer must be there too: a build
    whose C++ library has no std::to_chars for doubles would quietly write through Arrow."""
    if os.environ.get("MICROGOV_REQUIRE_COMPILED") != "1":
        pytest.skip("MICROGOV_REQUIRE_COMPILED is not set")
    assert ENGINE is not None and ENGINE.CSV_TEXT
