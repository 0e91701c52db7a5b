"""Warm pool workers (issue 11): preloaded fork server, next task handed out before results.

The process pool's workers are forked from a fork server that has imported the run
path once (``experiments.executors.prestart_workers``), and a freed worker gets its next
task before the caller stores the previous result (docs/design.md "Warm pool workers").
"""

from __future__ import annotations

import ast
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import standins
from analysis_fixtures import write_compare

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


# Records the order in which modules are first imported (a finder that finds nothing).
_IMPORT_ORDER = (
    "import sys\n"
    "order = []\n"
    "class Recorder:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        order.append(name)\n"
    "        return None\n"
    "sys.meta_path.insert(0, Recorder())\n"
)


def _run_probe(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_fork_server_preload_imports_mesa_first_then_the_run_path_and_freezes() -> None:
    """The fork server's preload (``experiments.worker_preload``) imports Mesa before any
    run-path module (``mesa.model`` walks the import stack when imported, so it is cheapest
    from the top), then every module of ``WORKER_PRELOAD``, then freezes the collector."""
    code = _IMPORT_ORDER + (
        "import gc\n"
        "fresh = gc.get_freeze_count()\n"
        "import experiments.worker_preload\n"
        "from experiments.executors import WORKER_PRELOAD\n"
        "print(order.index('mesa.model'))\n"
        "print(min(order.index(m) for m in ('model.governance', *WORKER_PRELOAD)))\n"
        "print(all(m in sys.modules for m in WORKER_PRELOAD))\n"
        "print(fresh, gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    mesa_at, run_path_at, loaded, counts = _run_probe(code)
    assert int(mesa_at) < int(run_path_at)
    assert loaded == "True"
    fresh, frozen, unfrozen = map(int, counts.split())
    # everything imported is frozen: far more than the interpreter's own, and more than
    # the few objects made after the freeze
    assert frozen > 100 * fresh and frozen > 100 * unfrozen


def test_pool_workers_start_with_the_preload_frozen() -> None:
    """A worker forked from the preloaded fork server starts with the preload's objects frozen."""
    code = (
        "import gc\n"
        "from experiments.executors import ProcessExecutor\n"
        "print(gc.get_freeze_count())\n"
        "with ProcessExecutor(2) as pool:\n"
        "    print(pool.pool.submit(gc.get_freeze_count).result(timeout=120))\n"
    )
    parent, worker = map(int, _run_probe(code))
    assert worker > 100 * parent


@pytest.mark.parametrize("args", [["--version"], ["run", "--help"], ["-v", "compare", "--help"]])
def test_cli_imports_mesa_before_the_command_modules(args: list[str]) -> None:
    """``main`` imports Mesa itself before the command modules (which import the model and,
    deep inside, Mesa) for a command that may run the model: ``mesa.model`` costs ≈ 0.15 s
    less from the top of the stack."""
    code = _IMPORT_ORDER + (
        "from app.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(order.index('mesa.model'))\n"
        "print(min(order.index(m) for m in order if m.startswith('app.') and "
        "m.endswith('_commands')))\n"
    )
    mesa_at, command_modules = _run_probe(code)[-2:]  # after the version or help text
    assert int(mesa_at) < int(command_modules)


@pytest.mark.parametrize(
    "args",
    [
        [
            "validate",
            "scenarios/yongchuan.toml",
            "experiments/compare_reforms.toml",
            "experiments/calibrate_baseline.toml",
        ],
        ["--debug", "mechanisms"],
        ["status", "{folder}"],
        ["export", "{folder}", "--format", "csv"],
        ["report", "{folder}"],
    ],
)
def test_cli_reading_commands_import_no_mesa(args: list[str], tmp_path: Path) -> None:
    """A command that reads files or stored results only (``cli.READING_COMMANDS``) imports
    no Mesa, neither first nor through the command modules and what they do — a scenario's,
    an experiment's and a calibration's checks, a results folder's status, export and
    report: ≈ 0.4 s of its start (issue 11)."""
    assert any(a in cli.READING_COMMANDS for a in args)
    folder = tmp_path / "results"
    write_compare(folder, replications=2, days=5)
    args = [a.format(folder=folder) for a in args]
    code = (
        "import sys\n"
        "from app.cli import main\n"
        "try:\n"
        f"    code = main({args!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print(code in (0, None), 'mesa' in sys.modules, 'model.agents' in sys.modules)\n"
    )
    assert _run_probe(code)[-1] == "True False False"


def test_cli_freezes_the_collector_when_the_process_exits(tmp_path: Path) -> None:
    """After ``main`` the process exits with the collector frozen (the interpreter's last
    collections skipped); a handler registered before ``main`` (as logging's and
    multiprocessing's are) still runs, after the freeze."""
    out = tmp_path / "frozen.txt"
    code = (
        "import atexit, gc\n"
        f"atexit.register(lambda: open({str(out)!r}, 'w').write(str(gc.get_freeze_count())))\n"
        "from app.cli import main\n"
        "print(gc.get_freeze_count())\n"
        "assert main(['validate', 'scenarios/classroom.toml']) == 0\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    before = done.stdout.splitlines()[0]
    assert int(out.read_text(encoding="utf-8")) > 100 * int(before)


def test_cli_registers_the_exit_freeze_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """However often ``main`` runs in one process, the freeze is registered once."""
    registered: list[object] = []
    monkeypatch.setattr(cli, "_freeze_at_exit_registered", False)
    monkeypatch.setattr(cli.atexit, "register", registered.append)
    for _ in range(3):
        cli._exit_quickly()
    assert registered == [gc.freeze]


def test_commands_leave_no_file_to_the_collector(tmp_path: Path) -> None:
    """Since the exit skips the collector, no command may leave a file for it to close: run,
    compare, export and report, then the leftover cycles collected with ``ResourceWarning``
    shown, warn only of the file this probe leaves open on purpose (so the check can see)."""
    experiment = standins.write_experiment(
        tmp_path, "leaks", standins.compare_text(name="leaks", replications=2, days=10)
    )
    bait = tmp_path / "left-open-on-purpose.txt"
    code = (
        "import gc\n"
        "from app.cli import main\n"
        "class Cycle:\n"
        "    pass\n"
        "bait = Cycle()\n"
        "bait.me = bait\n"
        f"bait.file = open({str(bait)!r}, 'w')\n"
        "del bait\n"
        f"assert main(['run', 'scenarios/classroom.toml', '--days', '10', '--out', "
        f"{str(tmp_path / 'run')!r}, '--no-progress']) == 0\n"
        f"assert main(['compare', {str(experiment)!r}, '--workers', '1', '--out', "
        f"{str(tmp_path / 'out')!r}, '--no-progress']) == 0\n"
        f"assert main(['export', {str(tmp_path / 'out')!r}, '--format', 'both']) == 0\n"
        f"assert main(['report', {str(tmp_path / 'out')!r}]) == 0\n"
        "gc.collect()\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    unclosed = [line for line in done.stderr.splitlines() if "ResourceWarning: unclosed" in line]
    # the warning shortens the file's name: its end is enough
    assert len(unclosed) == 1 and "on-purpose.txt" in unclosed[0], unclosed


def worker_pid(_: object) -> int:
    """Task: the worker's process id."""
    return os.getpid()


def sleep_after_marking(marker: str) -> int:
    """Task: leave the worker's pid in ``marker``, then sleep far longer than any test waits."""
    Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(120)
    return os.getpid()


def test_an_idle_pool_worker_ignores_ctrl_c() -> None:
    """SIGINT to a worker between tasks (Ctrl-C signals every process of the command) does
    not kill it: a worker interrupted while reading its next task or writing a result could
    leave half a message in the pool's pipe, and the runner waited for the rest for ever."""
    with ProcessExecutor(1) as pool:
        [(_, first)] = list(pool.map_unordered(worker_pid, [0]))
        os.kill(first, signal.SIGINT)
        time.sleep(0.5)
        [(_, second)] = list(pool.map_unordered(worker_pid, [1]))
    assert second == first, "the worker died of a Ctrl-C outside any task"


def _interrupt_inside_a_task(
    pool: ProcessExecutor, task: Callable[[str], int], marker: Path
) -> tuple[object, float]:
    """Run ``task(marker)`` on ``pool`` beside the caller, send its worker SIGINT once the
    task has left its pid in ``marker``, and return its outcome and the seconds from the
    signal to the outcome."""
    finished: list[tuple[object, object]] = []
    # the generator submits when iterated: iterate it beside the caller
    waiter = threading.Thread(
        target=lambda: finished.extend(pool.map_unordered(task, [str(marker)]))
    )
    waiter.start()
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # the pid is written before the sleep starts
    started = time.monotonic()
    os.kill(int(marker.read_text(encoding="utf-8")), signal.SIGINT)
    waiter.join(timeout=60)
    [(_, outcome)] = finished
    return outcome, time.monotonic() - started


def test_ctrl_c_interrupts_a_running_task_at_once(tmp_path: Path) -> None:
    """SIGINT to a worker inside a task interrupts the run at once; it comes back as the
    task's exception, and the pool goes on."""
    with ProcessExecutor(1) as pool:
        outcome, waited = _interrupt_inside_a_task(pool, sleep_after_marking, tmp_path / "pid")
        [(_, after)] = list(pool.map_unordered(worker_pid, [0]))
    assert isinstance(outcome, KeyboardInterrupt), outcome
    assert waited < 60, "the task was not interrupted"
    assert after > 0


def _ignores_sigint(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGINT (Linux: its ``SigIgn`` mask)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGINT - 1) & 1)
    raise AssertionError(f"no SigIgn line for process {pid}")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_the_fork_server_ignores_ctrl_c_from_its_start() -> None:
    """The fork server starts with SIGINT ignored, before its preload: a Ctrl-C in a pool
    command's first second (the preload's imports) printed the fork server's own traceback
    under the runner's one-line "interrupted". The runner's own handler is put back."""
    code = (
        "import signal, sys, multiprocessing.forkserver as fs\n"
        "from experiments.executors import prestart_workers\n"
        "prestart_workers('forkserver')\n"
        "print(fs._forkserver._forkserver_pid)\n"
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
        "sys.stdout.flush()\n"
        "sys.stdin.read()\n"  # alive until the test has looked
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert runner.stdout is not None
        server = int(runner.stdout.readline())
        # at once: the preload (about a second) has not finished, after which the fork
        # server would ignore SIGINT anyway
        ignored = _ignores_sigint(server)
        restored = runner.stdout.readline().strip()
    finally:
        runner.communicate(input="", timeout=120)
    assert ignored, "the fork server took SIGINT while importing the run path"
    assert restored == "True", "the runner's Ctrl-C handler was not put back"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_an_interrupted_pool_command_says_one_line_however_early(tmp_path: Path) -> None:
    """Ctrl-C to a pool ``compare``'s whole process group in its first second (the fork
    server still importing) ends it with the one-line "interrupted" and no traceback."""
    experiment = tmp_path / "compare.toml"
    experiment.write_text(
        'name = "early"\nkind = "compare"\nreplications = 4\ndays = 30\n'
        f'[[scenarios]]\npath = "{ROOT / "scenarios" / "classroom.toml"}"\n',
        encoding="utf-8",
    )
    for delay in (0.3, 0.6):
        command = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "compare", str(experiment), "--workers", "2",
             "--out", str(tmp_path / f"out{delay}")],
            cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,
        )  # fmt: skip
        time.sleep(delay)
        os.killpg(command.pid, signal.SIGINT)
        _, stderr = command.communicate(timeout=120)
        assert "Traceback" not in stderr, f"interrupted after {delay} s:\n{stderr}"
        if command.returncode != 0:
            assert "interrupted" in stderr, stderr


def nap_after_marking(marker: str) -> int:
    """Task: leave the worker's pid in ``marker``, then sleep two seconds."""
    Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(2.0)
    return os.getpid()


def test_a_runner_that_ignores_ctrl_c_has_workers_that_ignore_it_in_a_task(
    tmp_path: Path,
) -> None:
    """A runner started with SIGINT ignored (a background job of a script) is not stopped
    by it, so its workers do not let it fail a run either: the task finishes."""
    marker = tmp_path / "pid"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with ProcessExecutor(1) as pool:
            outcome, _ = _interrupt_inside_a_task(pool, nap_after_marking, marker)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert outcome == int(marker.read_text(encoding="utf-8")), outcome


def test_closing_a_pool_interrupts_its_running_tasks(tmp_path: Path) -> None:
    """A runner stopped by a signal that reached it alone (SIGTERM from ``kill``; here an
    alarm raising in its main thread) closes the pool without waiting for the running
    task to finish: the worker is interrupted. Before, the shutdown waited the task out
    (two minutes here) and then dropped its result."""
    marker = tmp_path / "pid"

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, stop)
    started = time.monotonic()
    try:
        with ProcessExecutor(1) as pool:
            tasks = pool.map_unordered(sleep_after_marking, [str(marker)])
            signal.setitimer(signal.ITIMER_REAL, 3.0)
            with pytest.raises(KeyboardInterrupt):
                list(tasks)
            assert marker.exists(), "the task was running when the runner stopped"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 60, "the pool waited for the task to finish"
