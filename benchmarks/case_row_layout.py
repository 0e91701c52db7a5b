"""What the case table's column layout costs a district day, by a probe in C (issue 11).

docs/design.md "Issue 11: what the targets need" once named the case table's layout as
the likeliest remaining cost at district scale: ≈ 46 ``array.array`` columns, a case's
step reading and writing several of them at one row, each read a cache miss when the
rows are far apart — which a record per case (all of a case's fields side by side) would
turn into one or two misses. This probe measures what that layout difference can be worth
on this machine before anyone rewrites the table for it.

A compiled loop (``cc -O2``, written to a temporary folder) emulates a district day's
case-row traffic: ``--events`` events a day, each at a random row of ``--rows`` (the
district table's capacity, so the worst case of rows scattered over all of it), reading
``K`` of the table's columns and writing two of them back; between the layouts' turns it
reads ``--sweep-mib`` MiB, as the day's trust step sweeps the caches. Three layouts, the
columns' item sizes those of ``model.casework.CaseTable`` (its ``_SPEC``):

- ``columns``: one array per column, as the table is (SoA);
- ``record``: one packed record per row (249 bytes, padded to 256), the K fields at their
  own places in it;
- ``hot``: one record per row with the K fields first, side by side (the best a layout
  could do: one or two cache lines an event).

Every figure is milliseconds a simulated day (median of ``--days`` days); each event's
own arithmetic is a few instructions, so the figures are the loads' and stores' cost.

Usage (from the repository root)::

    python benchmarks/case_row_layout.py                     # K = 6, 10, 16 columns an event
    python benchmarks/case_row_layout.py --columns 10 --days 60 --out /tmp/layout.json

Needs a C compiler (``cc``, or ``$CC``): the one the compiled engine is built with.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the district table's capacity at day 60 (yongchuan, seed 1) and a district year's
# events a day (≈ 4.5 M a year, docs/performance.md)
DISTRICT_ROWS = 94_208
DISTRICT_EVENTS_A_DAY = 12_300

_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9;
}
static uint64_t state = 88172645463325252ULL;
static inline uint64_t next(void) {
    state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state;
}
static int by_double(const void* a, const void* b) {
    double x = *(const double*) a, y = *(const double*) b; return (x > y) - (x < y);
}
static inline double load(const char* p, int size) {
    switch (size) {
    case 1: return (double) *(const int8_t*) p;
    case 2: { int16_t v; memcpy(&v, p, 2); return (double) v; }
    case 4: { int32_t v; memcpy(&v, p, 4); return (double) v; }
    default: { double v; memcpy(&v, p, 8); return v; }
    }
}
static inline void store(char* p, int size, double v) {
    switch (size) {
    case 1: *(int8_t*) p = (int8_t) v; break;
    case 2: { int16_t w = (int16_t) v; memcpy(p, &w, 2); break; }
    case 4: { int32_t w = (int32_t) v; memcpy(p, &w, 4); break; }
    default: memcpy(p, &v, 8);
    }
}

/* argv: rows events days sweep_mib k size_0 ... size_{n-1} */
int main(int argc, char** argv) {
    long rows = atol(argv[1]); int events = atoi(argv[2]); int days = atoi(argv[3]);
    long sweep = atol(argv[4]) << 20; int k = atoi(argv[5]); int n = argc - 6;
    int size[256], offset[256], hot[256], picked[256];
    int record = 0;
    for (int c = 0; c < n; c++) { size[c] = atoi(argv[6 + c]); offset[c] = record; record += size[c]; }
    int stride = (record + 63) / 64 * 64;
    for (int j = 0; j < k; j++) picked[j] = (int) ((long) j * n / k);  /* spread over the table */
    int at = 0;
    for (int j = 0; j < k; j++) { hot[j] = at; at += size[picked[j]]; }
    char* column[256];
    for (int c = 0; c < n; c++) {
        column[c] = aligned_alloc(64, (rows * size[c] + 63) / 64 * 64);
        memset(column[c], 0, rows * size[c]);
    }
    char* records = aligned_alloc(64, rows * stride); memset(records, 0, rows * stride);
    char* hots = aligned_alloc(64, rows * stride); memset(hots, 0, rows * stride);
    char* trash = malloc(sweep > 0 ? sweep : 1); memset(trash, 1, sweep > 0 ? sweep : 1);
    uint32_t* row = malloc(sizeof(uint32_t) * events);
    double* ms[3]; for (int l = 0; l < 3; l++) ms[l] = malloc(sizeof(double) * days);
    volatile long sink = 0; double acc = 0.0;
    for (int d = 0; d < days; d++) {
        for (int e = 0; e < events; e++) row[e] = (uint32_t) (next() % rows);
        for (int l = 0; l < 3; l++) {
            for (long i = 0; i < sweep; i += 64) sink += trash[i];
            double t = now();
            for (int e = 0; e < events; e++) {
                long r = row[e]; double sum = 0.0;
                for (int j = 0; j < k; j++) {
                    int c = picked[j];
                    const char* p = l == 0 ? column[c] + r * size[c]
                                  : l == 1 ? records + r * stride + offset[c]
                                           : hots + r * stride + hot[j];
                    sum += load(p, size[c]);
                }
                for (int j = 0; j < 2 && j < k; j++) {
                    int c = picked[j];
                    char* p = l == 0 ? column[c] + r * size[c]
                            : l == 1 ? records + r * stride + offset[c]
                                     : hots + r * stride + hot[j];
                    store(p, size[c], sum * 0.5);
                }
                acc += sum;
            }
            ms[l][d] = (now() - t) * 1e3;
        }
    }
    for (int l = 0; l < 3; l++) qsort(ms[l], days, sizeof(double), by_double);
    printf("%.6f %.6f %.6f %d %g\n", ms[0][days / 2], ms[1][days / 2], ms[2][days / 2], stride,
           acc == 12345.0 ? 1.0 : 0.0);
    return 0;
}
"""

LAYOUTS = ("columns", "record", "hot")


def item_sizes() -> list[int]:
    """The case table's columns' item sizes in bytes, in the table's order (1, 2, 4 or 8:
    ``array.array``'s on every platform Python builds for; the probe reads no others)."""
    from model.casework import CaseTable

    sizes = [array(code).itemsize for code, _ in CaseTable._SPEC.values()]
    if not set(sizes) <= {1, 2, 4, 8}:
        raise SystemExit(f"error: the case table has item sizes {sorted(set(sizes))}")
    return sizes


def compile_probe(folder: Path, compiler: str) -> Path:
    source = folder / "case_row_layout.c"
    source.write_text(_SOURCE, encoding="utf-8")
    binary = folder / "case_row_layout"
    done = subprocess.run(
        [compiler, "-O2", "-o", str(binary), str(source)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"error: {compiler} could not compile the probe:\n{done.stderr}")
    return binary


def measure(
    binary: Path, sizes: list[int], *, rows: int, events: int, days: int, sweep_mib: int, k: int
) -> dict[str, float]:
    """Median milliseconds a day of each layout for ``k`` columns an event."""
    done = subprocess.run(
        [str(binary), str(rows), str(events), str(days), str(sweep_mib), str(k)]
        + [str(s) for s in sizes],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    columns, record, hot, stride, _ = done.stdout.split()
    return {
        "columns_ms": float(columns),
        "record_ms": float(record),
        "hot_ms": float(hot),
        "record_bytes": int(stride),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DISTRICT_ROWS, help="table rows (94,208)")
    parser.add_argument(
        "--events", type=int, default=DISTRICT_EVENTS_A_DAY, help="events a day (12,300)"
    )
    parser.add_argument(
        "--columns", type=int, nargs="+", default=[6, 10, 16], help="columns an event reads"
    )
    parser.add_argument("--days", type=int, default=30, help="simulated days (medians of them)")
    parser.add_argument("--sweep-mib", type=int, default=100, help="MiB read between turns")
    parser.add_argument("--out", type=Path, help="also write the figures here (JSON)")
    args = parser.parse_args(argv)
    compiler = os.environ.get("CC", "cc")
    if shutil.which(compiler) is None:
        print(f"error: no C compiler {compiler!r} on the PATH (set CC)", file=sys.stderr)
        return 2
    sizes = item_sizes()
    if not (1 <= min(args.columns) and max(args.columns) <= len(sizes)):
        print(f"error: --columns must be between 1 and {len(sizes)}", file=sys.stderr)
        return 2
    if args.rows < 1 or args.events < 1 or args.days < 1 or args.sweep_mib < 0:
        print("error: --rows, --events and --days must be ≥ 1, --sweep-mib ≥ 0", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="microgov-layout-") as folder:
        binary = compile_probe(Path(folder), compiler)
        results = {}
        for k in args.columns:
            results[k] = measure(
                binary, sizes, rows=args.rows, events=args.events, days=args.days,
                sweep_mib=args.sweep_mib, k=k,
            )  # fmt: skip
    print(
        f"case table: {len(sizes)} columns, {sum(sizes)} bytes a row; {args.rows:,} rows, "
        f"{args.events:,} events a day, {args.sweep_mib} MiB swept between turns; "
        f"median of {args.days} days\n"
    )
    print("| columns an event | columns ms a day | record ms a day | hot ms a day |")
    print("|---:|---:|---:|---:|")
    for k, r in results.items():
        print(f"| {k} | {r['columns_ms']:.2f} | {r['record_ms']:.2f} | {r['hot_ms']:.2f} |")
    if args.out is not None:
        figures = {
            "rows": args.rows,
            "events": args.events,
            "days": args.days,
            "sweep_mib": args.sweep_mib,
            "item_sizes": sizes,
            "by_columns": {str(k): r for k, r in results.items()},
        }
        args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
