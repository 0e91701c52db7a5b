"""Instructions a span of simulated days takes, counted by callgrind (issue 11).

Times on a shared machine move by ±10–15 % from one run to the next, more than most
single changes to the model gain or lose. Instruction counts do not: this script runs
``benchmarks/district_digest.py`` under ``valgrind --tool=callgrind`` twice per source
tree, for ``--from-days`` and for ``--to-days`` days, and reports the difference — the
instructions of the days in between, without the interpreter's start-up, the imports
and the build, which both runs share. (It also holds the part of the digest's hashing
that grows with the cases created, a few thousand instructions per case against the
hundreds of thousands a case costs, and the same in every tree.) With several
``--root`` trees it gives each one's change against the first, and whether their
results were the same bit for bit (the digest line of the longer run: events, mean
trust, cases, case-table digest).

Instructions are not time (cache misses and memory traffic cost time without
instructions), so a change that moves them by less than a few per cent is judged by
time as well; but a change that adds instructions is not faster. Usage::

    python benchmarks/instructions.py                            # the street, days 40–100
    python benchmarks/instructions.py --root /path/to/main --root .   # main, then this tree
    python benchmarks/instructions.py --scenario yongchuan --from-days 2 --to-days 6
    python benchmarks/instructions.py --case-log     # with the case log streamed, as a year's

``--case-log`` has the runs stream their case logs to files (``district_digest.py
--case-log``), so that the span holds the retirement of finished cases and the writing of
their rows, as the year benchmark's run does; the results then hold the logs' digests.

Each callgrind run is about 50× slower than the run itself; the two runs of a tree go in
parallel. Needs ``valgrind`` on the PATH (Debian: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIGEST = HERE / "district_digest.py"
RESULT_WORDS = ("events", "trust", "cases", "digest")
LOG_WORDS = ("retired", "log")  # with --case-log


@dataclass(frozen=True)
class Count:
    """One callgrind run: the instructions of the whole process and its digest line."""

    instructions: int
    line: str

    def word(self, name: str) -> str:
        words = self.line.split()
        if name not in words[:-1]:
            raise ValueError(f"no {name!r} in district_digest.py's line: {self.line!r}")
        return words[words.index(name) + 1]


@dataclass(frozen=True)
class Span:
    """The instructions of days ``from_days`` to ``to_days`` of one tree's run."""

    root: str
    from_days: int
    to_days: int
    instructions: int
    cases: int
    result: str  # events, trust, cases and digest after ``to_days`` days

    @property
    def per_day(self) -> float:
        return self.instructions / (self.to_days - self.from_days)

    @property
    def per_case(self) -> float:
        return self.instructions / self.cases if self.cases else float("nan")


def _callgrind(
    root: Path, days: int, scenario: str, seed: int, folder: Path, case_log: bool = False
) -> subprocess.Popen:
    out = folder / f"callgrind.{days}.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(DIGEST),
        str(days),
        "--root",
        str(root),
        "--scenario",
        scenario,
        "--seed",
        str(seed),
        *(["--case-log"] if case_log else []),
    ]
    # string hashing seeded the same way in every run, so dictionaries do the same work
    environment = os.environ | {"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )


def _instructions(out: Path) -> int:
    """The total of a callgrind output file (its ``summary:`` or ``totals:`` line)."""
    for text in out.read_text(encoding="utf-8", errors="replace").splitlines():
        if text.startswith(("summary:", "totals:")):
            return int(text.split()[1])
    raise ValueError(f"{out}: no 'summary:' or 'totals:' line; is it a callgrind output?")


def _finish(root: Path, days: int, process: subprocess.Popen, folder: Path) -> Count:
    """Wait for one callgrind run and read its count and digest line."""
    stdout, stderr = process.communicate()
    lines = stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        raise RuntimeError(
            f"{root}: district_digest.py {days} under callgrind failed "
            f"(exit {process.returncode}):\n{stderr[-2000:]}"
        )
    return Count(_instructions(folder / f"callgrind.{days}.out"), lines[-1])


def count_span(
    root: Path, from_days: int, to_days: int, scenario: str, seed: int, case_log: bool = False
) -> Span:
    """Run the tree at ``root`` for ``from_days`` and ``to_days`` days under callgrind (at
    once) and return the instructions of the days in between (with ``case_log``, the runs
    stream their case logs, and the result holds the logs' digest too)."""
    with tempfile.TemporaryDirectory(prefix="microgov-instructions-") as name:
        folder = Path(name)
        runs = {
            days: _callgrind(root, days, scenario, seed, folder, case_log)
            for days in (from_days, to_days)
        }
        try:
            counts = {days: _finish(root, days, process, folder) for days, process in runs.items()}
        finally:  # a failed run: the other is stopped before its folder goes
            for process in runs.values():
                if process.poll() is None:
                    process.kill()
                    process.communicate()
    first, last = counts[from_days], counts[to_days]
    return Span(
        root=str(root),
        from_days=from_days,
        to_days=to_days,
        instructions=last.instructions - first.instructions,
        cases=int(last.word("cases")) - int(first.word("cases")),
        result=" ".join(
            f"{name} {last.word(name)}" for name in RESULT_WORDS + (LOG_WORDS if case_log else ())
        ),
    )


def table(spans: list[Span]) -> str:
    """A markdown table: each tree's instructions, per day and per case, change and result."""
    reference = spans[0]
    rows = [
        "| tree | instructions (M) | per day (M) | per case (k) | vs first | same results |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for span in spans:
        change = 100.0 * (span.instructions / reference.instructions - 1.0)
        rows.append(
            f"| {span.root} | {span.instructions / 1e6:,.1f} | {span.per_day / 1e6:,.1f} "
            f"| {span.per_case / 1e3:,.1f} | {change:+.2f} % "
            f"| {'yes' if span.result == reference.result else 'NO: ' + span.result} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--root",
        type=Path,
        action="append",
        help="a source tree to measure (repeatable; the first is the reference; "
        "default: this repository)",
    )
    parser.add_argument("--scenario", default="baseline_calibrated", help="scenario file name")
    parser.add_argument("--seed", type=int, default=1, help="the run's seed (1)")
    parser.add_argument("--from-days", type=int, default=40, help="days run before the span")
    parser.add_argument("--to-days", type=int, default=100, help="days run at the span's end")
    parser.add_argument("--out", type=Path, help="also write the figures here (JSON)")
    parser.add_argument(
        "--case-log",
        action="store_true",
        help="the runs stream their case logs to files, as the year benchmark does "
        "(finished cases retire into the tallies and the log)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.from_days < args.to_days:
        parser.error(
            f"--from-days ({args.from_days}) must be ≥ 0 and below --to-days ({args.to_days})"
        )
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not on the PATH (Debian: apt-get install valgrind)")
    roots = [root.resolve() for root in (args.root or [HERE.parent])]
    for root in roots:
        if not (root / "scenarios" / f"{args.scenario}.toml").is_file():
            parser.error(f"--root {root}: no scenarios/{args.scenario}.toml there")
    if args.out is not None and not args.out.parent.is_dir():
        parser.error(f"--out {args.out}: the folder {args.out.parent} does not exist")
    try:
        spans = [
            count_span(root, args.from_days, args.to_days, args.scenario, args.seed, args.case_log)
            for root in roots
        ]
    except (RuntimeError, ValueError) as error:
        print(f"instructions.py: error: {error}", file=sys.stderr)
        return 1
    print(
        f"{args.scenario}, seed {args.seed}: instructions of days {args.from_days}–{args.to_days}"
    )
    print(table(spans))
    if args.out is not None:
        document = [
            asdict(span) | {"per_day": span.per_day, "per_case": span.per_case} for span in spans
        ]
        args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
