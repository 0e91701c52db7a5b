"""Case sinks: where a run's case log goes while the run goes on.

A model given a case sink (``GovernanceModel(..., case_sink=sink)``, ``run_single(...,
case_sink=sink)``) retires finished cases from its case table in blocks and calls the sink
with each block as a case-log frame, then with the remaining cases when its output is
made: every case exactly once, so memory stays flat in the number of simulated days
(docs/design.md "A case log that does not grow"). The model does no file I/O; the sinks
that write or summarise live here.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from typing import Any, TextIO

import numpy as np
import pandas as pd

from model.engine_backend import compiled_engine

_ENGINE = compiled_engine()  # None: the pure-Python engine asked for, or not built


class CsvCaseSink:
    """Appends each frame to an open text file as CSV (the header once, before the first).

    The file reads (``pandas.read_csv``) as ``RunOutput.cases.to_csv(index=False)`` of a
    run without a sink would, with the rows in the order the cases were retired (each
    block in case-number order); sort by ``case_id`` for the order of creation.

    The rows are written by the compiled engine's ``csv_text`` where it is built, else by
    Arrow's CSV writer — the same bytes (``_csv_rows``); Arrow's is ≈9× faster than
    ``DataFrame.to_csv`` (issue 11: writing a district year's 1.2 M cases took ≈22 s of its
    run), the compiled one 1.8–2.7× faster again (benchmarks/bench_case_log.py). The text
    differs from pandas' only in how some floats are spelled — an integral value without
    its ``.0`` (``1`` for ``1.0``), exponents without padding (``1e-9`` for ``1e-09``) — and
    they read back equal; booleans are written ``True``/``False`` as pandas does, missing
    values as empty fields.
    """

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.rows = 0
        self._header = True

    def __call__(self, frame: pd.DataFrame) -> None:
        if frame.empty and not self._header:
            return
        if self._header:  # the column names are identifiers: no quoting needed
            self.handle.write(",".join(map(str, frame.columns)) + "\n")
            self._header = False
        if frame.empty:
            return
        self.handle.write(_csv_rows(frame))
        self.rows += len(frame)


def _csv_rows(frame: pd.DataFrame) -> str:
    """The frame's rows as CSV text (no header).

    Written by the compiled engine's ``csv_text`` from the columns' arrays where it is built
    and every column is one it writes (integers, float64, booleans, categories of texts,
    texts) with no text needing quoting — the same bytes as Arrow's writer (``_arrow_csv_rows``,
    the reference and the fallback) at about a quarter of its time (issue 11, twenty-fifth
    round: docs/design.md "The case log's text written in C")."""
    if not frame.columns.is_unique:  # ``frame[name]`` would be a frame: pandas writes it
        return frame.to_csv(index=False, header=False)
    if _ENGINE is not None and _ENGINE.CSV_TEXT:
        columns = _text_columns(frame)
        if columns is not None:
            text = _ENGINE.csv_text(columns, len(frame))
            if text is not None:
                return text.decode("utf-8")
    return _arrow_csv_rows(frame)


def _column_arrays(frame: pd.DataFrame) -> Iterator[Any]:
    """Each column's values as pandas holds them (a numpy array, or pandas' extension array
    of categories or texts), read for writing only: by ``DataFrame._iter_column_arrays``
    where pandas has it (private, in pandas 2 and 3), without the Series ``frame[name]``
    makes per column — ≈ half of this function's time on a retired block of 37 columns
    (issue 11, thirty-second round); else from each column's Series."""
    arrays = getattr(frame, "_iter_column_arrays", None)
    if arrays is not None:
        yield from arrays()
        return
    for _, column in frame.items():
        yield column.array


def _text_columns(frame: pd.DataFrame) -> list[tuple[Any, ...]] | None:
    """The frame's columns as ``csv_text`` takes them, or None if one is of another kind
    (float32, nullable or unsigned 64-bit integers, dates, objects other than texts …)."""
    import pyarrow as pa

    engine = _ENGINE
    assert engine is not None
    columns: list[tuple[Any, ...]] = []
    for values in _column_arrays(frame):
        if isinstance(values, pd.arrays.NumpyExtensionArray):  # (a Series' ``array``)
            values = values.to_numpy()
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            categories = dtype.categories
            if not all(isinstance(text, str) for text in categories):
                return None
            texts = tuple(text.encode("utf-8") for text in categories)
            codes = np.ascontiguousarray(values.codes, dtype=np.int64)
            columns.append((engine.CSV_CODES, codes, texts))
        elif isinstance(dtype, pd.StringDtype) or dtype == np.object_:
            try:
                strings = _string_buffers(pa.array(values, from_pandas=True))
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                return None  # objects Arrow cannot take (a mixed column, a huge int)
            if strings is None:
                return None
            columns.append((engine.CSV_STRING, *strings))
        elif not isinstance(dtype, np.dtype):  # nullable numbers, dates with a zone …
            return None
        elif dtype == np.float64:
            columns.append((engine.CSV_FLOAT, np.ascontiguousarray(values)))
        elif dtype == np.bool_:
            columns.append((engine.CSV_BOOL, np.ascontiguousarray(values).view(np.uint8)))
        elif dtype.kind == "i" or (dtype.kind == "u" and dtype.itemsize < 8):
            columns.append((engine.CSV_INT, np.ascontiguousarray(values, dtype=np.int64)))
        else:
            return None
    return columns


def _string_buffers(array: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A (chunked) Arrow array of texts as its offsets (int64, rows + 1), UTF-8 data and
    valid flags (uint8); None if it holds anything else (an object column of numbers)."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type  # texts, or only missing values (null)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
        return None
    array = array.cast(pa.large_string())
    _, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    valid = array.is_valid().to_numpy(zero_copy_only=False).view(np.uint8)
    return np.ascontiguousarray(offsets), data, np.ascontiguousarray(valid)


def _arrow_csv_rows(frame: pd.DataFrame) -> str:
    """The frame's rows as CSV text (no header), written by Arrow: the reference of
    ``csv_text``, and what writes a frame it does not take.

    Each column goes to Arrow on its own (``pa.Array.from_pandas``), without
    ``Table.from_pandas``'s schema inference and metadata; a boolean column as a dictionary
    of pandas' two spellings indexed by the values, not as a column of strings made first
    (together ≈ 40 % less CPU per block than through ``Table.from_pandas``, the same text;
    issue 11, eleventh round). A frame Arrow cannot write — a text needing quotes, a column
    of mixed objects — is written by pandas (as is one naming a column twice, by
    ``_csv_rows``)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        arrays = []
        for name in frame.columns:
            column = frame[name]
            if column.dtype == bool:  # pandas' spelling, not Arrow's true/false
                indices = pa.array(column.to_numpy().astype(np.int8))
                arrays.append(pa.DictionaryArray.from_arrays(indices, _bool_text()))
            else:
                arrays.append(pa.Array.from_pandas(column))
        table = pa.Table.from_arrays(arrays, names=[str(name) for name in frame.columns])
        # one chunk a column: pyarrow 26's writer writes garbage for a column whose first
        # chunk is empty (a ``pd.concat`` of an empty frame and another)
        table = table.combine_chunks()
        out = io.BytesIO()
        # batches of 8,192 rows rather than Arrow's 1,024: ≈ 12 % less CPU for the same text
        options = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=8192)
        pacsv.write_csv(table, out, options)
    except (pa.ArrowException, OverflowError):  # a text needing quotes, a column Arrow cannot take
        return frame.to_csv(index=False, header=False)
    return out.getvalue().decode("utf-8")


@functools.cache
def _bool_text() -> Any:
    """pandas' two spellings of a boolean, as an Arrow array (made once; pyarrow imports late)."""
    import pyarrow as pa

    return pa.array(["False", "True"])


class HistogramCaseSink:
    """Keeps only the histogram of closed cases' resolution times (the results store's
    ``distributions`` table, ``experiments.runner.distribution_rows``), frame by frame: of
    the cases reported on or after run day ``measured_from`` (the warm-up's length)."""

    def __init__(self, measured_from: float) -> None:
        self.measured_from = measured_from
        self.cases = 0
        self._counts: dict[tuple[str, float], int] = {}

    def __call__(self, frame: pd.DataFrame) -> None:
        from experiments.runner import distribution_rows  # the runner imports this module

        self.cases += len(frame)
        for variable, upper, n in distribution_rows(frame, self.measured_from):
            key = (variable, upper)
            self._counts[key] = self._counts.get(key, 0) + n

    def rows(self) -> list[tuple[str, float, int]]:
        """The histogram as ``distribution_rows`` of every case sunk would give it."""
        ordered = sorted(self._counts, key=lambda k: (k[0] != "resolution_time_days", k[0]))
        return [(variable, upper, self._counts[(variable, upper)]) for variable, upper in ordered]
