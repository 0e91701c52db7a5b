"""docs/tutorial.md runs as written: its Python blocks in order in one namespace, its
console blocks through the `microgov` command line (docs/design.md "Conventions")."""

from __future__ import annotations

import multiprocessing
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
BUDGET_S = 30.0  # the whole tutorial must stay quick enough to run in class and in CI
# Measured in CPU time of this process: wall time also counts other jobs on a busy machine.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def blocks() -> list[tuple[str, str]]:
    """The fenced code blocks of the tutorial as (language, code), in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(TUTORIAL.read_text("utf-8"))]


def test_every_block_is_executable() -> None:
    """Every code block is Python or `microgov` console lines, so no block goes untested."""
    found = blocks()
    assert sum(1 for lang, _ in found if lang == "python") >= 10, "expected the Python blocks"
    for lang, code in found:
        assert lang in ("python", "console"), f"block of type {lang!r} would not be run:\n{code}"
        if lang == "console":
            for line in code.splitlines():
                assert line.startswith("microgov "), f"console lines must be microgov: {line!r}"


def run_view_command(line: str) -> None:
    """Start `microgov view` as the tutorial says (without a browser, on a free port), load
    the page it serves, then stop it with Ctrl+C."""
    argv = [*shlex.split(line)[1:], "--no-browser", "--port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.split(" at ", 1)[1].strip() if " at " in first else ""
        assert url.startswith("http://127.0.0.1:"), f"{line!r} printed no address: {first!r}"
        with OPENER.open(url + "?routing=integrated&days=180&autorun=1", timeout=30) as page:
            assert page.status == 200, f"{line!r} should serve the page"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, f"{line!r} should stop cleanly on Ctrl+C: {err}"


def test_tutorial_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The tutorial's blocks run in order, within the budget, with the results the text cites."""
    import matplotlib

    matplotlib.use("Agg")  # no window in tests; a notebook shows the figure itself
    import matplotlib.pyplot as plt

    monkeypatch.chdir(ROOT)  # the tutorial runs in the project folder
    namespace: dict[str, Any] = {"__name__": "tutorial"}
    start_method = multiprocessing.get_start_method(allow_none=True)  # batch_run forces spawn
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        for number, (lang, code) in enumerate(blocks(), start=1):
            if lang == "python":
                exec(compile(code, f"{TUTORIAL.name} block {number}", "exec"), namespace)
                continue
            for line in code.splitlines():
                if line.startswith("microgov view"):
                    run_view_command(line)
                else:
                    status = main(shlex.split(line)[1:])
                    assert status == 0, f"{line!r} exited with {status}: {capsys.readouterr()}"
    finally:
        plt.close("all")
        multiprocessing.set_start_method(start_method, force=True)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    out = capsys.readouterr().out
    assert "classroom" in out, "the tutorial should print the scenario and its outcomes"
    routing = namespace["mean_of"](namespace["routing_runs"], ["returns_share"])["returns_share"]
    assert routing["integrated"] < routing["hierarchical"], (
        "the text says integrated routing lowers the returns (misrouting) share"
    )
    profile = namespace["profile"]
    assert profile.notna().all().all() and (profile.to_numpy() >= 0).all(), (
        f"participation by group should be defined for policies with meetings:\n{profile}"
    )
    batch = namespace["batch_table"]
    assert len(batch) == 4 and batch["resolution_time_mean_days"].notna().all(), (
        f"batch_run: 2 routing kinds × 2 seeds, each with its outcomes:\n{batch}"
    )
    assert cpu < BUDGET_S, (
        f"the tutorial took {cpu:.1f} s of CPU ({elapsed:.1f} s wall; budget {BUDGET_S:.0f} s)"
    )
