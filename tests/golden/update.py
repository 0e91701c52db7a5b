"""Regenerate (or check) the golden summaries: ``python tests/golden/update.py``.

Run it after an intentional change of the model's behaviour, commit the JSON files it
writes, and explain in the commit message which outcomes moved and why
(``--check`` prints the differences without writing). See tests/golden_summaries.py.

Usage (from the repository root, venv active)::

    python tests/golden/update.py                      # rewrite every golden
    python tests/golden/update.py --check              # compare only; exit 1 on a change
    python tests/golden/update.py --cases baseline_60d # some cases only
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS.parent), str(TESTS)]  # the project and tests/golden_summaries.py

import golden_summaries as golden  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Compute every (chosen) case; write its golden, or with --check compare with it."""
    names = [case.name for case in golden.CASES]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--cases", nargs="+", choices=names, default=names)
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the runs' own warnings are not news here
    status = 0
    for case in golden.CASES:
        if case.name not in args.cases:
            continue
        started = time.perf_counter()
        summary = golden.compute(case)
        took = time.perf_counter() - started
        old = golden.read(case) if case.path.is_file() else None
        differences = None if old is None else golden.compare(old, summary)
        if differences is not None and (differences.behaviour_changed or differences.added):
            print(f"{case.name}: differs from its golden\n{differences.describe()}")
        else:
            print(f"{case.name}: {'same as its golden' if old else 'no golden yet'}")
        if args.check:
            if differences is None or differences.behaviour_changed:
                status = 1
        else:
            print(f"  wrote {golden.write(case, summary)} ({took:.1f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
