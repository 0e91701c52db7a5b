"""Warm pool workers (issue 11): preloaded fork server, next task handed out before results.

The process pool's workers are forked from a fork server that has imported the run
path once (``experiments.executors.prestart_workers``), and a freed worker gets its next
task before the caller stores the previous result (docs/design.md "Warm pool workers").
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import cli
from experiments import executors
from experiments.executors import WORKER_PRELOAD, ProcessExecutor

ROOT = Path(__file__).resolve().parents[1]


def mark_third(item: tuple[int, str]) -> int:
    """Task ``index``: the third one leaves a marker file when it starts."""
    index, marker = item
    if index == 2:
        Path(marker).write_text("started", encoding="utf-8")
    return index


def test_pool_workers_start_with_the_run_path_imported() -> None:
    """A fresh runner's first pool worker already holds Mesa and the run path (imported by the fork server)."""
    probe = " and ".join(
        f"{name!r} in __import__('sys').modules" for name in (*WORKER_PRELOAD, "mesa")
    )
    code = (
        "from experiments.executors import ProcessExecutor\n"
        "with ProcessExecutor(2) as pool:\n"
        f"    print(pool.pool.submit(eval, {probe!r}).result(timeout=120))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True", f"worker lacked the run path: {done.stdout!r}"


def test_spawn_pool_is_not_preloaded_and_still_runs() -> None:
    """Under ``spawn`` nothing is preloaded, and the pool runs tasks as before."""
    with ProcessExecutor(2, start_method="spawn") as pool:
        results = sorted(r for _, r in pool.map_unordered(abs, [-1, -2, -3]))
    assert results == [1, 2, 3]


def test_next_task_is_submitted_before_a_result_is_handed_out(tmp_path: Path) -> None:
    """While the caller holds the first result, the third task already runs on the freed worker."""
    marker = tmp_path / "third-started"
    tasks = [(i, str(marker)) for i in range(3)]
    with ProcessExecutor(2) as pool:
        results = pool.map_unordered(mark_third, tasks)
        first = next(results)
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the caller "stores" its result; the pool must not wait for it
        started = marker.exists()
        rest = list(results)
    assert started, "the third task was not handed out before the first result was consumed"
    assert sorted(task[0] for task, _ in [first, *rest]) == [0, 1, 2]


@pytest.mark.parametrize(
    ("args", "started"),
    [
        (["compare", "x.toml"], True),
        (["-v", "sweep", "x.toml", "--workers", "2"], True),
        (["sensitivity", "x.toml", "--workers", "1"], False),
        (["compare", "x.toml", "--workers=1"], False),
        (["compare", "x.toml", "--cluster", "local"], False),
        (["run", "classroom"], False),
        (["report", "results/x"], False),
        ([], False),
    ],
)
def test_cli_prestarts_the_pool_only_for_pool_commands(
    monkeypatch: pytest.MonkeyPatch, args: list[str], started: bool
) -> None:
    """The command line starts the fork server early only for a command that will run a local pool."""
    calls: list[None] = []
    monkeypatch.setattr(executors, "prestart_workers", lambda: calls.append(None))
    cli._prestart_pool(args)
    assert bool(calls) is started


def test_cli_module_imports_nothing_heavy_before_the_pool_starts() -> None:
    """``app.cli`` itself imports no Mesa, pandas, NumPy or model code: ``main`` starts the
    pool's fork server first, and those imports would delay it by over a second."""
    heavy = ("mesa", "pandas", "numpy", "scipy", "model", "analysis")
    code = f"import sys, app.cli\nprint(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"app.cli imported {done.stdout.strip()}"


def test_prestart_path_imports_nothing_heavy() -> None:
    """What ``_prestart_pool`` runs before the pool starts (``experiments.executors`` and the
    engine check of ``prestart_workers``) loads no Mesa, pandas, NumPy, SciPy or analysis
    code, and of the model only its engine switch: otherwise the fork server would start
    a second later, after the very imports it is meant to overlap."""
    heavy = ("mesa", "pandas", "numpy", "scipy", "analysis")
    code = (
        "import sys, experiments.executors as e\n"
        "e.compiled_engine()\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
        "print(sorted(m for m in sys.modules if m.startswith('model.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded_heavy, loaded_model = done.stdout.strip().splitlines()
    assert loaded_heavy == "[]", f"the prestart path imported {loaded_heavy}"
    # the engine (model._engine, and the plain module it imports) but no agent or lifecycle
    loaded = set(ast.literal_eval(loaded_model))
    assert loaded & {"model.engine_backend", "model._engine"}, loaded
    assert not loaded & {"model.governance", "model.agents", "model.casework"}, loaded
