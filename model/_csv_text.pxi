# The case log's rows as CSV text (included by model/_engine.pyx; issue 11, twenty-fifth round).
#
# The twin of experiments/case_sinks.py's Arrow writer (``_arrow_csv_rows``), byte for byte:
# integers in decimal; booleans ``True``/``False`` as pandas spells them; a float by the
# fewest significant digits that read back as it (C++17's std::to_chars, model/_shortest.cpp)
# laid out as Arrow lays them out (double-conversion's shortest form with a decimal point for
# decimal exponents -6 … 9 and an exponent otherwise, ``1e+20``, ``1.5e-7``; no ``.0`` on an
# integral value; ``inf``, ``-inf``, ``-0``), a missing value (NaN, a null string, a category
# code -1) as an empty field; texts as they are. A text holding a comma, a quote or a line
# break would need quoting: then ``csv_text`` returns None and the caller writes the frame as
# before. docs/design.md "The case log's text written in C".

from libc.string cimport memcpy

cdef extern from "_shortest.h":
    int microgov_shortest(double value, char *out) noexcept nogil

cdef enum:
    TEXT_INT = 0  # int64 values
    TEXT_FLOAT = 1  # float64 values, NaN empty
    TEXT_BOOL = 2  # uint8 values: 0 False, else True
    TEXT_CODES = 3  # int64 codes into a tuple of texts (bytes), -1 empty
    TEXT_STRING = 4  # int64 offsets (rows + 1) into UTF-8 data, uint8 valid (0: empty)

CSV_INT = TEXT_INT
CSV_FLOAT = TEXT_FLOAT
CSV_BOOL = TEXT_BOOL
CSV_CODES = TEXT_CODES
CSV_STRING = TEXT_STRING

cdef struct _TextColumn:
    int kind
    const int64_t *ints  # TEXT_INT values, TEXT_CODES codes, TEXT_STRING offsets
    const double *floats
    const unsigned char *flags  # TEXT_BOOL values, TEXT_STRING valid
    const char *data  # TEXT_STRING's UTF-8 bytes
    Py_ssize_t data_length
    const char **texts  # TEXT_CODES
    Py_ssize_t *text_lengths
    Py_ssize_t n_texts
    Py_ssize_t width  # the widest field (TEXT_STRING: 0, reserved field by field)


cdef char _probe[32]
CSV_TEXT = microgov_shortest(1.0, _probe) > 0
"""Whether ``csv_text`` can run: the C++ library has std::to_chars for doubles."""

cdef char *_text = NULL  # the text being written, kept between calls (fresh pages cost)
cdef Py_ssize_t _text_capacity = 0


cdef int _reserve(Py_ssize_t needed) except -1:
    """Room for ``needed`` bytes in the text buffer, growing it (at least doubling)."""
    global _text, _text_capacity
    cdef Py_ssize_t capacity
    cdef char *grown
    if needed <= _text_capacity:
        return 0
    capacity = max(needed, 2 * _text_capacity, 1 << 16)
    grown = <char *> realloc(_text, <size_t> capacity)
    if grown == NULL:
        raise MemoryError("the case log's text")
    _text = grown
    _text_capacity = capacity
    return 0


@cython.cdivision(True)
cdef inline Py_ssize_t _int_text(int64_t value, char *out) noexcept:
    """``value`` in decimal at ``out``; its length (at most 20)."""
    cdef char digits[20]
    cdef uint64_t u
    cdef Py_ssize_t n = 0, k = 0
    if value < 0:
        out[0] = b'-'
        k = 1
        u = (<uint64_t> (-(value + 1))) + 1  # INT64_MIN too
    else:
        u = <uint64_t> value
    while True:
        digits[n] = <char> (48 + u % 10)
        n += 1
        u = u // 10
        if u == 0:
            break
    while n > 0:
        n -= 1
        out[k] = digits[n]
        k += 1
    return k


cdef inline Py_ssize_t _float_text(double value, char *out) except -2:
    """``value`` as Arrow's CSV writer spells it at ``out`` (module comment); its length (at
    most 25; 0 for NaN)."""
    cdef char shortest[32]
    cdef char digits[20]
    cdef Py_ssize_t length, i = 0, k = 0, nd = 0, z
    cdef int exponent = 0
    cdef bint negative_exponent
    if value != value:
        return 0
    if value == 0.0:
        if signbit(value):
            out[0] = b'-'
            out[1] = b'0'
            return 2
        out[0] = b'0'
        return 1
    if not isfinite(value):
        if value < 0:
            memcpy(out, b"-inf", 4)
            return 4
        memcpy(out, b"inf", 3)
        return 3
    length = microgov_shortest(value, shortest)
    if length <= 0:
        raise RuntimeError("std::to_chars is not available: the case log's text cannot be written")
    if shortest[0] == b'-':
        out[0] = b'-'
        k = 1
        i = 1
    digits[0] = shortest[i]  # d[.ddd]e±x
    nd = 1
    i += 1
    if shortest[i] == b'.':
        i += 1
        while shortest[i] != b'e':
            digits[nd] = shortest[i]
            nd += 1
            i += 1
    i += 1  # 'e'
    negative_exponent = shortest[i] == b'-'
    i += 1
    while i < length:
        exponent = 10 * exponent + (shortest[i] - 48)
        i += 1
    if negative_exponent:
        exponent = -exponent
    if -6 <= exponent <= 9:  # decimal: 0.000ddd, ddd000 or dd.ddd
        if exponent < 0:
            out[k] = b'0'
            out[k + 1] = b'.'
            k += 2
            for z in range(-exponent - 1):
                out[k] = b'0'
                k += 1
            memcpy(out + k, digits, nd)
            k += nd
        elif exponent + 1 >= nd:
            memcpy(out + k, digits, nd)
            k += nd
            for z in range(exponent + 1 - nd):
                out[k] = b'0'
                k += 1
        else:
            memcpy(out + k, digits, exponent + 1)
            k += exponent + 1
            out[k] = b'.'
            k += 1
            memcpy(out + k, digits + exponent + 1, nd - exponent - 1)
            k += nd - exponent - 1
        return k
    out[k] = digits[0]  # d.ddde±x, the exponent unpadded
    k += 1
    if nd > 1:
        out[k] = b'.'
        k += 1
        memcpy(out + k, digits + 1, nd - 1)
        k += nd - 1
    out[k] = b'e'
    out[k + 1] = b'-' if exponent < 0 else b'+'
    k += 2
    return k + _int_text(-exponent if exponent < 0 else exponent, out + k)


cdef inline bint _needs_quoting(const char *text, Py_ssize_t length) noexcept:
    cdef Py_ssize_t i
    cdef char c
    for i in range(length):
        c = text[i]
        if c == b',' or c == b'"' or c == b'\n' or c == b'\r':
            return True
    return False


cdef int _set_column(_TextColumn *col, object spec, Py_ssize_t rows, list keep) except -1:
    """Fill ``col`` from ``spec`` (``csv_text``'s docstring), checked; 1 if a text would
    need quoting, else 0. What the C pointers read (memoryviews, the texts' tuple) goes to
    ``keep``, alive until ``csv_text`` returns."""
    cdef const int64_t[::1] ints
    cdef const double[::1] floats
    cdef const unsigned char[::1] flags
    cdef const unsigned char[::1] data
    cdef Py_ssize_t i, r, start, stop, items
    cdef int64_t code
    cdef object texts, text
    if type(spec) is not tuple:
        raise TypeError(f"a {type(spec).__name__} is not allowed; allowed: a tuple")
    if len(spec) == 0:
        raise ValueError("an empty tuple is not allowed; allowed: (kind, arrays …)")
    col.kind = spec[0]
    if col.kind < TEXT_INT or col.kind > TEXT_STRING:
        raise ValueError(f"kind {col.kind} is not allowed; allowed: 0 … 4")
    items = 4 if col.kind == TEXT_STRING else (3 if col.kind == TEXT_CODES else 2)
    if len(spec) != items:
        raise ValueError(f"{len(spec)} items for kind {col.kind}; allowed: {items}")
    if col.kind == TEXT_INT or col.kind == TEXT_CODES:
        ints = spec[1]
        keep.append(ints)
        if ints.shape[0] != rows:
            raise ValueError(f"{ints.shape[0]} values for {rows} rows")
        col.ints = &ints[0]
        col.width = 20  # TEXT_INT's widest; TEXT_CODES: its widest text, below
        if col.kind == TEXT_CODES:
            texts = spec[2]
            if type(texts) is not tuple:
                raise TypeError(f"texts: a {type(texts).__name__} is not allowed; allowed: a tuple of bytes")
            keep.append(texts)
            col.n_texts = len(texts)
            col.texts = <const char **> calloc(col.n_texts + 1, sizeof(char *))
            col.text_lengths = <Py_ssize_t *> calloc(col.n_texts + 1, sizeof(Py_ssize_t))
            if col.texts == NULL or col.text_lengths == NULL:
                raise MemoryError("the case log's columns")
            col.width = 0
            for i in range(col.n_texts):
                text = texts[i]
                if type(text) is not bytes:
                    raise TypeError(f"text {i}: a {type(text).__name__} is not allowed; allowed: bytes")
                col.texts[i] = PyBytes_AsString(text)
                col.text_lengths[i] = PyBytes_GET_SIZE(text)
                if _needs_quoting(col.texts[i], col.text_lengths[i]):
                    return 1
                col.width = max(col.width, col.text_lengths[i])
            for r in range(rows):
                code = col.ints[r]
                if code < -1 or code >= col.n_texts:
                    raise ValueError(
                        f"code {code} is not allowed; allowed: -1 … {col.n_texts - 1}"
                    )
    elif col.kind == TEXT_FLOAT:
        floats = spec[1]
        keep.append(floats)
        if floats.shape[0] != rows:
            raise ValueError(f"{floats.shape[0]} values for {rows} rows")
        col.floats = &floats[0]
        col.width = 25
    elif col.kind == TEXT_BOOL:
        flags = spec[1]
        keep.append(flags)
        if flags.shape[0] != rows:
            raise ValueError(f"{flags.shape[0]} values for {rows} rows")
        col.flags = &flags[0]
        col.width = 5
    else:  # TEXT_STRING
        ints = spec[1]
        keep.append(ints)
        data = spec[2]
        keep.append(data)
        flags = spec[3]
        keep.append(flags)
        if ints.shape[0] != rows + 1 or flags.shape[0] != rows:
            raise ValueError(f"{ints.shape[0]} offsets and {flags.shape[0]} flags for {rows} rows")
        col.ints = &ints[0]
        col.flags = &flags[0]
        col.data = <const char *> &data[0] if data.shape[0] > 0 else NULL
        col.data_length = data.shape[0]
        for r in range(rows):
            start = col.ints[r]
            stop = col.ints[r + 1]
            if start < 0 or stop < start or stop > col.data_length:
                raise ValueError(
                    f"row {r}'s text {start} … {stop} is not within the {col.data_length} "
                    "bytes of data"
                )
            if col.flags[r] and _needs_quoting(col.data + start, stop - start):
                return 1
    return 0


def csv_text(list columns, Py_ssize_t rows):
    """The rows of ``columns`` as CSV text (bytes, UTF-8, each row ending in a newline, no
    header), or None if a text would need quoting.

    ``columns``: one tuple per column, ``(CSV_INT, int64 values)``, ``(CSV_FLOAT, float64
    values)``, ``(CSV_BOOL, uint8 values)``, ``(CSV_CODES, int64 codes, tuple of bytes)`` or
    ``(CSV_STRING, int64 offsets, uint8 data, uint8 valid)`` — Arrow's layout of a large
    string array: row ``r`` is ``data[offsets[r]:offsets[r + 1]]``, empty where not valid.
    Each array is 1-D and contiguous, with ``rows`` values (offsets: ``rows + 1``, rising,
    within the data). A column otherwise is refused by its position (``column 2: …``)."""
    cdef Py_ssize_t ncols = len(columns), c, r, length = 0, row_width = 1, start, stop
    cdef _TextColumn *cols
    cdef _TextColumn *col
    cdef int64_t code
    cdef list keep = []  # what the columns' C pointers read, alive until the return
    if rows < 0:
        raise ValueError(f"rows: {rows} is not allowed; allowed: 0 or more")
    if not CSV_TEXT:
        raise RuntimeError("std::to_chars is not available: the case log's text cannot be written")
    if rows == 0 or ncols == 0:
        return b""  # as Arrow writes a frame without rows or without columns
    columns = list(columns)  # the caller's list may change under a callback; this one does not
    cols = <_TextColumn *> calloc(ncols, sizeof(_TextColumn))
    if cols == NULL:
        raise MemoryError("the case log's columns")
    try:
        for c in range(ncols):
            col = &cols[c]
            try:
                if _set_column(col, columns[c], rows, keep):
                    return None
            except (TypeError, ValueError, OverflowError, BufferError) as error:
                kind = TypeError if isinstance(error, TypeError) else ValueError
                raise kind(f"column {c}: {error}") from error
            row_width += col.width + 1
        for r in range(rows):
            _reserve(length + row_width)
            for c in range(ncols):
                col = &cols[c]
                if c:
                    _text[length] = b','
                    length += 1
                if col.kind == TEXT_FLOAT:
                    length += _float_text(col.floats[r], _text + length)
                elif col.kind == TEXT_INT:
                    length += _int_text(col.ints[r], _text + length)
                elif col.kind == TEXT_BOOL:
                    if col.flags[r]:
                        memcpy(_text + length, b"True", 4)
                        length += 4
                    else:
                        memcpy(_text + length, b"False", 5)
                        length += 5
                elif col.kind == TEXT_CODES:
                    code = col.ints[r]
                    if code >= 0:
                        memcpy(_text + length, col.texts[code], col.text_lengths[code])
                        length += col.text_lengths[code]
                elif col.flags[r]:  # TEXT_STRING
                    start = col.ints[r]
                    stop = col.ints[r + 1]
                    _reserve(length + stop - start + row_width)
                    memcpy(_text + length, col.data + start, stop - start)
                    length += stop - start
            _text[length] = b'\n'
            length += 1
        return PyBytes_FromStringAndSize(_text, length)
    finally:
        for c in range(ncols):
            free(cols[c].texts)
            free(cols[c].text_lengths)
        free(cols)
