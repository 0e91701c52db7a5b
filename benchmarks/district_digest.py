"""A district run's CPU time and a digest of its case table (issue 11, third round).

Builds a scenario (default ``yongchuan``, seed 1) from the tree at ``--root``, runs it for
``--days`` days inside :func:`model.collector.quiet_collector` (as a real run does), and
prints one line: the build and run CPU seconds (``time.process_time``), the events
processed, the residents' mean trust, the cases created and the first 16 hex digits of a
SHA-256 over every column of the case table, its departments and its work content.

Two trees whose lines agree on ``events``, ``trust``, ``cases`` and ``digest`` gave the
same run, bit for bit; compare their ``run`` CPU seconds, interleaved and repeated, on a
shared machine::

    python benchmarks/district_digest.py --root /path/to/main 60
    python benchmarks/district_digest.py --root . 60

The same line as the ad-hoc script the figures in docs/performance.md were measured with.

With ``--case-log`` the run streams its case log to a temporary ``cases.csv`` as
``microgov run --out`` and ``benchmarks/bench_scenarios.py`` do — finished cases retire
from the table in blocks, into the tallies and the file — and the line adds the cases
retired and the first 16 hex digits of the file's SHA-256 (``retired``, ``log``): the
retirement's work is then in the run, as it is in the year the targets are measured on.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import sys
import tempfile
import time
from pathlib import Path


def count_calls(profiler: cProfile.Profile) -> int:
    """Every function call ``profiler`` saw, one entry per code object.

    Not ``pstats.Stats(profiler).total_calls``: pstats keys functions by file, line and
    name, so functions that share them (every dataclass's generated ``__init__`` is
    ``<string>:2``) overwrite one another, and which one is kept follows the profiler's
    table order, i.e. memory addresses: the same run counted 2,966 or 2,968 calls.
    """
    return sum(entry.callcount for entry in profiler.getstats())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("days", nargs="?", type=int, default=60, help="days to run (60)")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the source tree to import and read the scenario from (this repository)",
    )
    parser.add_argument("--scenario", default="yongchuan", help="scenario file name (yongchuan)")
    parser.add_argument("--seed", type=int, default=1, help="the run's seed (1)")
    parser.add_argument(
        "--count-calls",
        action="store_true",
        help="run under cProfile and add the Python function calls per case created "
        "(deterministic, unlike the times; the run's CPU is then not comparable)",
    )
    parser.add_argument(
        "--case-log",
        action="store_true",
        help="stream the case log to a temporary cases.csv (cases retire as they finish) "
        "and add the cases retired and the file's digest to the line",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    from experiments.case_sinks import CsvCaseSink
    from experiments.scenario_files import load_scenario
    from model.collector import quiet_collector
    from model.governance import GovernanceModel

    parameters = load_scenario(root / "scenarios" / f"{args.scenario}.toml").parameters
    log = tempfile.TemporaryFile("w+", encoding="utf-8", newline="") if args.case_log else None
    start = time.process_time()
    model = GovernanceModel(
        parameters, seed=args.seed, case_sink=None if log is None else CsvCaseSink(log)
    )
    build = time.process_time() - start
    profiler = cProfile.Profile() if args.count_calls else None
    start = time.process_time()
    with quiet_collector():
        if profiler is not None:
            profiler.enable()
        for _ in range(args.days):
            model.step()
        if profiler is not None:
            profiler.disable()
    run = time.process_time() - start
    cases = model.casework.cases
    digest = hashlib.sha256()
    for name in sorted(cases._SPEC):
        digest.update(cases.column(name).tobytes())
    digest.update(repr(cases.departments).encode())
    digest.update(repr(cases.work).encode())
    trust = float(model.population.trust.mean())
    line = (
        f"{args.scenario} build {build:.2f} run {run:.2f} events {model.events.processed} "
        f"trust {trust!r} cases {cases.added} digest {digest.hexdigest()[:16]}"
    )
    if log is not None:
        assert model.retirement is not None
        log.seek(0)
        written = hashlib.sha256()
        for chunk in iter(lambda: log.read(1 << 20), ""):  # a district's log is 100s of MB
            written.update(chunk.encode("utf-8"))
        line += f" retired {model.retirement.retired} log {written.hexdigest()[:16]}"
        log.close()
    if profiler is not None:
        calls = count_calls(profiler)
        line += f" calls_per_case {calls / cases.added:.1f}"
    print(line)


if __name__ == "__main__":
    main()
