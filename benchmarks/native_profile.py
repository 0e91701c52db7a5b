"""Where a span of simulated days' time goes in native code, sampled by Linux perf (issue 11).

``benchmarks/sample_days.py`` samples the Python stacks (py-spy): the compiled engine's own
time shows there as one line of ``GovernanceModel.step``, ≈ 40 % of a district day. This
script samples the process's native functions — the engine's C functions, the
interpreter's, numpy's, the C library's — for the simulated days asked for only: ``perf
record`` starts with its sampling off (``--delay=-1``), the run switches it on through
perf's control FIFO once the warm-up days are run and off after the days sampled, and the
run then ends at once (``os._exit``: the interpreter's collection of a built model at exit
is not sampled). Prints two tables — by library and by function, each a share of the
samples — and the run's CPU milliseconds a day (perf's sampling adds a few per cent)::

    python benchmarks/native_profile.py --scenario yongchuan --warm-days 30 --days 90
    python benchmarks/native_profile.py --case-log      # the case log streamed, as a year's

Needs ``perf`` on the PATH (Debian: ``apt-get install linux-perf``) and user-space
sampling allowed (``/proc/sys/kernel/perf_event_paranoid`` ≤ 2, the default).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# a line of ``perf report --stdio``: "  12.34%  library  [.] function"
_ROW = re.compile(r"^\s*(\d+\.\d+)%\s+(\S+)(?:\s+\[\.\]\s+(.+?))?\s*$")


def _child(args: argparse.Namespace) -> None:
    """The run perf samples: build, warm up, sampling on, the days, sampling off, exit."""
    sys.path.insert(0, str(ROOT))
    from experiments.case_sinks import CsvCaseSink
    from experiments.scenario_files import load_scenario, resolve_scenario_path
    from model.collector import quiet_collector
    from model.governance import GovernanceModel

    parameters = load_scenario(resolve_scenario_path(args.scenario)).parameters
    log = tempfile.TemporaryFile("w", encoding="utf-8", newline="") if args.case_log else None
    model = GovernanceModel(
        parameters, seed=args.seed, case_sink=None if log is None else CsvCaseSink(log)
    )
    with (
        quiet_collector(),
        open(args.control, "w", encoding="ascii") as control,
        open(args.ack, encoding="ascii") as ack,
    ):
        for _ in range(args.warm_days):
            model.step()

        def tell(command: str) -> None:
            control.write(command + "\n")
            control.flush()
            ack.readline()  # perf has done it

        tell("enable")
        start = time.process_time()
        for _ in range(args.days):
            model.step()
        spent = time.process_time() - start
        tell("disable")
    print(f"run_ms_per_day {1000 * spent / max(args.days, 1):.2f}", flush=True)
    os._exit(0)


def _rows(report: str) -> list[tuple[float, str, str | None]]:
    """(share %, library, function or None) of each row of a ``perf report --stdio``."""
    rows = []
    for text in report.splitlines():
        found = _ROW.match(text)
        if found and not text.lstrip().startswith("#"):
            rows.append((float(found[1]), found[2], found[3]))
    return rows


def _report(perf: str, data: Path, sort: str) -> list[tuple[float, str, str | None]]:
    done = subprocess.run(
        [perf, "report", "-i", str(data), "--no-children", "--sort", sort, "--stdio"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"perf report failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return _rows(done.stdout)


def profile(args: argparse.Namespace) -> dict[str, object]:
    """Run the child under ``perf record`` and read its report."""
    with tempfile.TemporaryDirectory(prefix="microgov-native-") as name:
        folder = Path(name)
        control, ack, data = folder / "control", folder / "ack", folder / "perf.data"
        os.mkfifo(control)
        os.mkfifo(ack)
        command = [
            args.perf,
            "record",
            "-e",
            "cpu-clock:u",
            "-F",
            str(args.rate),
            "--delay=-1",
            "--control",
            f"fifo:{control},{ack}",
            "-o",
            str(data),
            "--",
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            *("--control-fifo", str(control), "--ack-fifo", str(ack)),
            *("--scenario", args.scenario, "--seed", str(args.seed)),
            *("--warm-days", str(args.warm_days), "--days", str(args.days)),
            *(["--case-log"] if args.case_log else []),
        ]
        environment = os.environ | {"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=environment)
        found = re.search(r"run_ms_per_day (\S+)", done.stdout)
        if done.returncode != 0 or found is None:
            raise RuntimeError(
                f"{args.scenario}: the run under perf record failed "
                f"(exit {done.returncode}):\n{done.stderr[-2000:]}"
            )
        libraries = _report(args.perf, data, "dso")
        functions = _report(args.perf, data, "dso,sym")
    return {
        "scenario": args.scenario,
        "seed": args.seed,
        "warm_days": args.warm_days,
        "days": args.days,
        "case_log": args.case_log,
        "run_ms_per_day": float(found[1]),
        "libraries": [{"share": s, "library": lib} for s, lib, _ in libraries],
        "functions": [{"share": s, "library": lib, "function": f} for s, lib, f in functions if f],
    }


def _table(title: str, rows: list[tuple[float, str]]) -> str:
    lines = [f"| {title} | |", "|---:|---|"]
    lines += [f"| {share:6.2f} % | `{text}` |" for share, text in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--scenario", default="yongchuan", help="a shipped scenario's name, or a scenario file"
    )
    parser.add_argument("--seed", type=int, default=1, help="the run's seed (1)")
    parser.add_argument("--warm-days", type=int, default=30, help="days run before (30)")
    parser.add_argument("--days", type=int, default=60, help="days sampled (60)")
    parser.add_argument("--rate", type=int, default=2000, help="samples a second (2000)")
    parser.add_argument("--top", type=int, default=40, help="rows of the functions' table")
    parser.add_argument("--case-log", action="store_true", help="stream the case log")
    parser.add_argument("--perf", default="perf", help="the perf executable (on the PATH)")
    parser.add_argument("--out", type=Path, help="also write the figures here (JSON)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--control-fifo", dest="control", help=argparse.SUPPRESS)
    parser.add_argument("--ack-fifo", dest="ack", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
    if args.warm_days < 0 or args.days < 1:
        parser.error(f"--warm-days must be ≥ 0 and --days ≥ 1 (got {args.warm_days}, {args.days})")
    sys.path.insert(0, str(ROOT))
    from experiments.errors import InputError
    from experiments.scenario_files import load_scenario, resolve_scenario_path

    try:  # (a scenario that does not load is named here, not in the child's traceback)
        load_scenario(resolve_scenario_path(args.scenario))
    except InputError as error:
        parser.error(f"--scenario {args.scenario}: {error}")
    if shutil.which(args.perf) is None:
        parser.error(f"{args.perf} is not on the PATH (Debian: apt-get install linux-perf)")
    try:
        result = profile(args)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"{args.scenario}, seed {args.seed}: native samples of days {args.warm_days}–"
        f"{args.warm_days + args.days}; the run's CPU {result['run_ms_per_day']} ms a day\n"
    )
    libraries = result["libraries"]
    functions = result["functions"]
    assert isinstance(libraries, list) and isinstance(functions, list)
    print(_table("by library", [(r["share"], r["library"]) for r in libraries]))
    print()
    print(
        _table(
            "by function",
            [(r["share"], f"{r['function']} ({r['library']})") for r in functions[: args.top]],
        )
    )
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
