"""benchmarks/native_profile.py: perf samples only the days asked for, and its report is read
into tables (a stand-in perf here; the real one where it is installed and allowed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "native_profile.py"

FAKE_PERF = """#!/usr/bin/env python3
# stands in for perf: `record` runs the command after `--`, answers each line the run writes
# to the control FIFO with "ack", and writes the commands it was given as the "data"; `report`
# prints rows naming them, in perf report's layout
import json, subprocess, sys, threading
MODE = "RUN"
args = sys.argv[1:]
if args[0] == "record":
    if MODE == "FAIL":
        sys.exit("fake perf: made to fail")
    control, ack = args[args.index("--control") + 1].split(":", 1)[1].split(",")
    data = args[args.index("-o") + 1]
    heard = []
    def answer():
        with open(control) as lines, open(ack, "w") as answers:
            for line in lines:
                heard.append(line.strip())
                answers.write("ack\\n")
                answers.flush()
    listener = threading.Thread(target=answer, daemon=True)
    listener.start()
    code = subprocess.run(args[args.index("--") + 1 :]).returncode
    listener.join(5)
    json.dump(heard, open(data, "w"))
    sys.exit(code)
heard = json.load(open(args[args.index("-i") + 1]))
if args[args.index("--sort") + 1] == "dso":
    print("# comment 99.00%\\n\\n    70.00%  python3.12\\n    30.00%  _engine.so")
else:
    print(f"    70.00%  python3.12  [.] heard_{'_'.join(heard)}\\n    30.00%  _engine.so  [.] pop")
"""


def _fake_perf(folder: Path, mode: str) -> Path:
    script = folder / "perf"
    script.write_text(FAKE_PERF.replace('MODE = "RUN"', f"MODE = {mode!r}"), encoding="utf-8")
    script.chmod(0o755)
    return script


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_sampling_is_switched_on_after_the_warm_days_and_off_after_the_span(
    tmp_path: Path,
) -> None:
    """The run tells perf "enable" once warmed up and "disable" after the days sampled (each
    acknowledged before it goes on), prints its CPU a day, and both reports are tabled."""
    out = tmp_path / "native.json"
    done = _run(
        "--scenario", "classroom", "--warm-days", "2", "--days", "3", "--case-log",
        "--perf", str(_fake_perf(tmp_path, "RUN")), "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["run_ms_per_day"] > 0, result
    assert result["libraries"] == [
        {"share": 70.0, "library": "python3.12"},
        {"share": 30.0, "library": "_engine.so"},
    ]
    assert result["functions"][0]["function"] == "heard_enable_disable", result
    assert "| by library |" in done.stdout and "`heard_enable_disable (python3.12)`" in done.stdout
    assert "days 2–5" in done.stdout, done.stdout


def test_a_failed_run_a_missing_perf_and_an_unknown_scenario_are_named(tmp_path: Path) -> None:
    """Each is a one-line error (exit 1 for the run, 2 for the arguments), not a traceback."""
    failed = _run("--scenario", "classroom", "--perf", str(_fake_perf(tmp_path, "FAIL")))
    assert failed.returncode == 1 and "made to fail" in failed.stderr, failed.stderr
    missing = _run("--scenario", "classroom", "--perf", str(tmp_path / "no-perf"))
    assert missing.returncode == 2 and "is not on the PATH" in missing.stderr, missing.stderr
    unknown = _run("--scenario", "no_such_scenario", "--perf", str(_fake_perf(tmp_path, "RUN")))
    assert unknown.returncode == 2 and "no_such_scenario" in unknown.stderr, unknown.stderr
    for done in (failed, missing, unknown):
        assert "Traceback" not in done.stderr, done.stderr


def _perf_usable() -> bool:
    if shutil.which("perf") is None:
        return False
    try:
        level = int(Path("/proc/sys/kernel/perf_event_paranoid").read_text())
    except (OSError, ValueError):
        return False
    return level <= 2 and os.environ.get("CI") is None


@pytest.mark.skipif(
    not _perf_usable(),
    reason="needs perf with user-space sampling allowed (not tried in CI, whose container may refuse it)",
)
def test_real_perf_samples_the_engine_in_a_classroom_run(tmp_path: Path) -> None:
    """With perf itself: the samples fall in the interpreter and the compiled engine."""
    out = tmp_path / "native.json"
    done = _run(
        "--scenario", "classroom", "--warm-days", "5", "--days", "40", "--out", str(out)
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    libraries = {row["library"] for row in result["libraries"]}
    assert any(name.startswith("python3") for name in libraries), libraries
    assert 99.0 < sum(row["share"] for row in result["libraries"]) < 101.0, result
