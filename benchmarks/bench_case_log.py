"""Writing the case log: ``CsvCaseSink`` against Arrow's writer and ``DataFrame.to_csv``.

``CsvCaseSink`` writes with the compiled engine's ``csv_text`` where it is built (issue 11,
twenty-fifth round), and the same sink with the compiled writer switched off writes with
Arrow's, the reference whose bytes it must give (checked: ``same_bytes_as_arrow``). All
three write the same case-log frames — the street baseline's cases, repeated until there
are ``--rows`` of them, in blocks of ``model.case_retirement.RETIRE_BLOCK`` as a run's
retirement hands them over — to an in-memory text file, interleaved ``--repeats`` times;
medians of wall and CPU time, and the ratio within the run (issue 11: writing a district
year's case log took ≈22 s of CPU with ``to_csv``). The two files are read back and
compared, so a faster writer that wrote something else would show.

Usage (from the repository root)::

    python benchmarks/bench_case_log.py                       # 1.2 M rows, 3 repeats
    python benchmarks/bench_case_log.py --rows 20000 --repeats 1 --out /tmp/log.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments import case_sinks  # noqa: E402
from experiments.case_sinks import CsvCaseSink  # noqa: E402
from experiments.runs import run_single  # noqa: E402
from experiments.scenario_files import load_scenario  # noqa: E402
from model.case_retirement import RETIRE_BLOCK  # noqa: E402


def blocks(rows: int, days: int) -> list[pd.DataFrame]:
    """The street baseline's case log, repeated to ``rows`` rows, in retirement blocks."""
    cases = run_single(load_scenario(ROOT / "scenarios" / "baseline.toml"), 1, days=days).cases
    copies = -(-rows // len(cases))
    log = pd.concat([cases] * copies, ignore_index=True).iloc[:rows]
    return [log.iloc[i : i + RETIRE_BLOCK] for i in range(0, len(log), RETIRE_BLOCK)]


def write_pandas(frames: list[pd.DataFrame]) -> str:
    handle = io.StringIO()
    for k, frame in enumerate(frames):
        frame.to_csv(handle, index=False, header=k == 0)
    return handle.getvalue()


def write_sink(frames: list[pd.DataFrame]) -> str:
    handle = io.StringIO()
    sink = CsvCaseSink(handle)
    for frame in frames:
        sink(frame)
    return handle.getvalue()


def write_arrow(frames: list[pd.DataFrame]) -> str:
    """The sink with the compiled writer off: Arrow's writer, as the pure-Python engine runs."""
    engine = case_sinks._ENGINE
    case_sinks._ENGINE = None
    try:
        return write_sink(frames)
    finally:
        case_sinks._ENGINE = engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--days", type=int, default=60, help="measured days of the source run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/case_log.json")
    args = parser.parse_args(argv)
    frames = blocks(args.rows, args.days)
    write_arrow(frames[:1])  # import Arrow before timing
    times: dict[str, list[tuple[float, float]]] = {"pandas": [], "arrow": [], "sink": []}
    texts: dict[str, str] = {}
    writers = (("pandas", write_pandas), ("arrow", write_arrow), ("sink", write_sink))
    for _ in range(args.repeats):
        for name, writer in writers:
            wall, cpu = time.perf_counter(), time.process_time()
            texts[name] = writer(frames)
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    same = pd.read_csv(io.StringIO(texts["pandas"])).equals(pd.read_csv(io.StringIO(texts["sink"])))
    result = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": args.rows,
        "repeats": args.repeats,
        "load_1min": os.getloadavg()[0],
        "reads_back_equal": same,
        "compiled_writer": bool(case_sinks._ENGINE is not None and case_sinks._ENGINE.CSV_TEXT),
        "same_bytes_as_arrow": texts["sink"] == texts["arrow"],
    }
    for name, pairs in times.items():
        result[f"{name}_wall_s"] = statistics.median(w for w, _ in pairs)
        result[f"{name}_cpu_s"] = statistics.median(c for _, c in pairs)
    result["ratio_cpu"] = result["pandas_cpu_s"] / result["sink_cpu_s"]
    result["ratio_wall"] = result["pandas_wall_s"] / result["sink_wall_s"]
    result["arrow_ratio_cpu"] = result["arrow_cpu_s"] / result["sink_cpu_s"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        "| rows | to_csv CPU s | Arrow CPU s | CsvCaseSink CPU s | to_csv / sink CPU (wall) "
        "| Arrow / sink CPU | compiled | same bytes as Arrow | read back equal | load |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|---|---|---:|")
    print(
        f"| {args.rows:,} | {result['pandas_cpu_s']:.2f} | {result['arrow_cpu_s']:.2f} | "
        f"{result['sink_cpu_s']:.2f} | {result['ratio_cpu']:.1f} ({result['ratio_wall']:.1f}) | "
        f"{result['arrow_ratio_cpu']:.1f} | {result['compiled_writer']} | "
        f"{result['same_bytes_as_arrow']} | {same} | {result['load_1min']:.1f} |"
    )
    return 0 if same and result["same_bytes_as_arrow"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
