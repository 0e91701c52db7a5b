"""Where a span of simulated days' time goes, sampled by py-spy (issue 11).

cProfile adds a fixed cost to every Python call, which inflates the many small calls of
the case lifecycle, and does not see into compiled code; callgrind counts C functions, not
Python ones. This script samples the running interpreter instead: a child process builds
the scenario (the case log streamed to a CSV file, as ``bench_scenarios.py`` does), runs
``--warm-days`` days, then waits while `py-spy <https://github.com/benfred/py-spy>`_
attaches; py-spy samples the ``--days`` that follow (``--rate`` samples a second, no
instrumentation) until the child exits. The samples are then summed by function: the
share of samples a function was on the stack (inclusive) and on top of it (its own
lines), the lines with the most samples, and the own samples by part of the model (the
trust step, the intake, the case lifecycle, the agents' decisions, …: ``PARTS``). Time
in compiled code (the engine, numpy) counts towards the Python line that called it. Usage::

    python benchmarks/sample_days.py --scenario yongchuan --warm-days 120 --days 60
    python benchmarks/sample_days.py --scenario baseline --warm-days 200 --days 400 --top 40

Needs ``py-spy`` (``pip install py-spy``; a dev dependency) and permission to attach to
the child (root, or ``kernel.yama.ptrace_scope`` 0). Figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# "function (path:line)" — py-spy's raw frame; a frame without a line has none
DAY = "GovernanceModel.step "  # the frame of a simulated day (the function, then its file)
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>.*?)(?::(?P<line>\d+))?\)$")


class SampleError(RuntimeError):
    """py-spy is missing or could not sample the run; the message says what to do."""


def _where(frame: str, root: str) -> tuple[str, str]:
    """A raw frame as (function with its file, the same with its line), paths relative to
    ``root`` where they are under it."""
    match = _FRAME.match(frame)
    if match is None:
        return frame, frame
    path = match["path"]
    if path.startswith(root):
        path = path[len(root) :].lstrip("/")
    function = f"{match['function']} ({path})"
    line = f"{match['function']} ({path}:{match['line']})" if match["line"] else function
    return function, line


# Parts of the model, for the "by part" table: a function's own samples go to the part of
# the first rule its file matches (paths relative to the root; a package by its folder),
# after two rules by function: a day's new cases (in model/casework.py and model/bundles.py)
# and the day's step, whose own lines are mostly the compiled event loop and stations and,
# where the engine is built, the compiled case lifecycle (model/_lifecycle.pxi). By
# file, not by caller: scipy.sparse's Python code counts as meetings even when another part
# called it, Mesa's as data collection (small shares in the rounds measured)
INTAKE_PART = "intake (demand, sorting, writing new cases)"
INTAKE = frozenset({
    "Casework.receive", "Casework._sort_needs", "Casework._sort_compiled", "Casework._create",
    "Casework._items",
    "Casework._write_cases", "Casework._write_compiled", "PythonLifecycle._register",
    "Casework._contact_again", "_NeedRows.__init__", "OneThing.draw", "OneThing.is_linked",
    "OneThing.separate_uniforms",
})  # fmt: skip
STEP_PART = "the day's step: the compiled event loop, stations and lifecycle"
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("trust step", ("model/trust_diffusion.py", "model/sparse_product.py")),
    (INTAKE_PART, ("model/demand.py", "model/sensors.py")),
    ("case lifecycle (casework, routes, calendar)", (
        "model/casework.py", "model/lifecycle.py", "model/route_memo.py", "model/units.py",
        "model/geography.py", "model/bundles.py",
        "model/calendar.py", "model/policies/routing.py", "model/policies/mediation.py",
    )),
    ("agents' decisions", ("model/agents.py", "model/residents.py", "model/party.py", "model/mediation.py")),
    ("retiring cases and the case log", (
        "model/case_retirement.py", "model/case_tallies.py", "model/outcomes.py",
        "experiments/case_sinks.py", "pandas/", "pyarrow/",
    )),
    ("meetings, projects, consultation", (
        "model/meetings.py", "model/projects.py", "model/policies/", "scipy/sparse/",
    )),
    ("data collection", ("model/collector.py", "model/daily_collector.py", "mesa/")),
)  # fmt: skip


def part_of(where: str) -> str:
    """The part of the model a function's own samples count towards, from its summary name
    ``function (path)`` (:data:`INTAKE`, :data:`PARTS`); "other" when no rule matches."""
    function, _, path = where.rpartition(" (")
    path = path.removesuffix(")")
    if function in INTAKE:
        return INTAKE_PART
    if function == "GovernanceModel.step" and path.endswith("model/governance.py"):
        return STEP_PART
    for part, rules in PARTS:
        if any(path.startswith(rule) or f"/{rule}" in path for rule in rules):
            return part
    return "other"


def summarise(
    raw: str, root: str = str(ROOT), top: int = 30, within: str = DAY
) -> dict[str, object]:
    """py-spy's raw output (``frame;frame;… count`` per line, outermost frame first) summed
    over the samples taken inside the function ``within`` (a day's step; its callers'
    frames left out): the ``top`` functions by inclusive share, by own share and the lines
    with the most own samples, in per cent of those samples; and the samples outside it
    (the run waiting on its markers)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    total = outside = 0
    for text in raw.splitlines():
        if not text.strip():
            continue
        stack, _, count = text.rpartition(" ")
        n = int(count)
        frames = [_where(f, root) for f in stack.split(";") if f]
        start = next((k for k, (f, _) in enumerate(frames) if f.startswith(within)), None)
        if start is None:
            outside += n
            continue
        frames = frames[start:]
        total += n
        for function in dict.fromkeys(f for f, _ in frames):  # once per stack (recursion)
            inclusive[function] += n
        own[frames[-1][0]] += n
        lines[frames[-1][1]] += n

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(k, 100.0 * v / total) for k, v in counter.most_common(top)] if total else []

    parts: Counter[str] = Counter()
    for function, n in own.items():
        parts[part_of(function)] += n
    return {
        "samples": total,
        "outside": outside,
        "parts": [(k, 100.0 * v / total) for k, v in parts.most_common()] if total else [],
        "inclusive": shares(inclusive),
        "own": shares(own),
        "lines": shares(lines),
    }


def _table(title: str, rows: list[tuple[str, float]]) -> str:
    body = "\n".join(f"| {share:5.1f} % | `{name}` |" for name, share in rows)
    return f"| {title} | |\n|---:|---|\n{body}"


def _child(scenario: str, seed: int, warm: int, days: int, folder: Path) -> None:
    """Build and run the scenario: ``warm`` days, then (once sampling has started) ``days``
    days, each step marked by a file in ``folder``: ready, go, done and stop."""
    ready, go, done, stop = (folder / name for name in ("ready", "go", "done", "stop"))
    from experiments.case_sinks import CsvCaseSink
    from experiments.scenario_files import SCENARIOS_FOLDER, load_scenario
    from model.collector import quiet_collector
    from model.governance import GovernanceModel

    parameters = load_scenario(SCENARIOS_FOLDER / f"{scenario}.toml").parameters
    with tempfile.TemporaryFile("w+") as log, quiet_collector():
        model = GovernanceModel(parameters, seed=seed, case_sink=CsvCaseSink(log))
        for _ in range(warm):
            model.step()
        ready.write_text("ready", encoding="utf-8")
        while not go.exists():
            time.sleep(0.02)
        for _ in range(days):
            model.step()
        done.write_text("done", encoding="utf-8")
        while not stop.exists():  # idle (py-spy leaves idle threads out) until it stops
            time.sleep(0.02)


def _check_scenario(scenario: str) -> None:
    """The scenario loads, or a SampleError saying why (before any run starts)."""
    from experiments.errors import InputError
    from experiments.scenario_files import SCENARIOS_FOLDER, load_scenario

    try:
        load_scenario(SCENARIOS_FOLDER / f"{scenario}.toml")
    except InputError as error:
        raise SampleError(f"--scenario {scenario}: {error}") from None


def sample(scenario: str, seed: int, warm: int, days: int, rate: int, py_spy: str | None) -> str:
    """Run the child, sample its ``days`` with py-spy, and return py-spy's raw output."""
    beside = Path(sys.executable).parent / "py-spy"  # the environment's, not activated
    spy = py_spy or shutil.which("py-spy") or (str(beside) if beside.exists() else None)
    if spy is None:
        raise SampleError(
            "py-spy is not installed here: `pip install py-spy` (a dev dependency), or --py-spy PATH"
        )
    if shutil.which(spy) is None:
        raise SampleError(f"--py-spy {spy}: no such executable")
    _check_scenario(scenario)
    with tempfile.TemporaryDirectory() as folder:
        marker = Path(folder)
        ready, go, done, raw = marker / "ready", marker / "go", marker / "done", marker / "raw"
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", scenario, "--seed", str(seed),
             "--warm-days", str(warm), "--days", str(days), "--marker-folder", folder],
        )  # fmt: skip
        spying: subprocess.Popen[str] | None = None
        try:
            while not ready.exists():
                if child.poll() is not None:
                    raise SampleError(f"the run of {scenario} ended before its warm-up did")
                time.sleep(0.05)
            spying = subprocess.Popen(
                [spy, "record", "--pid", str(child.pid), "--rate", str(rate),
                 "--format", "raw", "--output", str(raw)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            time.sleep(1.0)  # attached before the sampled days start
            go.write_text("go", encoding="utf-8")
            while not done.exists():  # the sampled days, and nothing after them
                if child.poll() is not None:
                    raise SampleError(f"the run of {scenario} failed (exit {child.returncode})")
                if spying.poll() is not None:
                    break  # py-spy gave up: reported below
                time.sleep(0.05)
            spying.send_signal(signal.SIGINT)  # py-spy writes its samples and stops
            output, _ = spying.communicate(timeout=600)
            (marker / "stop").write_text("stop", encoding="utf-8")
            child.wait(timeout=600)
        finally:
            if child.poll() is None:
                child.kill()
            if spying is not None and spying.poll() is None:
                spying.kill()
        if not raw.exists():
            raise SampleError(
                f"py-spy could not sample the run: "
                f"{output.strip()[-400:]} — it needs permission to attach (root, or "
                "kernel.yama.ptrace_scope 0)"
            )
        return raw.read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="yongchuan", help="scenario file name")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (0)")
    parser.add_argument("--warm-days", type=int, default=120, help="days run before sampling")
    parser.add_argument("--days", type=int, default=60, help="days sampled")
    parser.add_argument("--rate", type=int, default=500, help="samples a second")
    parser.add_argument("--top", type=int, default=30, help="rows of each table")
    parser.add_argument("--py-spy", help="the py-spy executable (default: on the PATH)")
    parser.add_argument("--out", type=Path, help="also write the summary here (JSON)")
    parser.add_argument("--child", metavar="SCENARIO", help=argparse.SUPPRESS)
    parser.add_argument("--marker-folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the model of this script's tree
    if args.child:
        _child(args.child, args.seed, args.warm_days, args.days, args.marker_folder)
        return 0
    if args.warm_days < 0 or args.days < 1 or args.rate < 1 or args.top < 1:
        parser.error("--warm-days must be ≥ 0, and --days, --rate and --top ≥ 1")
    try:
        raw = sample(args.scenario, args.seed, args.warm_days, args.days, args.rate, args.py_spy)
    except SampleError as error:
        print(f"sample_days: {error}", file=sys.stderr)
        return 1
    summary = summarise(raw, top=args.top)
    summary.update(scenario=args.scenario, seed=args.seed, warm_days=args.warm_days,
                   days=args.days, rate=args.rate)  # fmt: skip
    print(f"{args.scenario}, seed {args.seed}: days {args.warm_days}–"
          f"{args.warm_days + args.days}, {summary['samples']} samples in a day's step "
          f"({summary['outside']} outside it)")  # fmt: skip
    for key, title in (
        ("parts", "by part (own lines)"), ("inclusive", "inclusive"), ("own", "own lines"),
        ("lines", "line"),
    ):  # fmt: skip
        print()
        print(_table(title, summary[key]))  # type: ignore[arg-type]
    if args.out is not None:
        try:
            args.out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        except OSError as error:  # the tables are printed above: nothing is lost
            print(f"sample_days: --out {args.out}: {error.strerror}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
