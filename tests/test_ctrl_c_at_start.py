"""Ctrl-C while the command starts (app/start_interrupts.py): held through the imports and
the pool's start, then delivered as the one line "interrupted" before any work.

Before, a Ctrl-C in a pool command's first second raised inside an import, outside
``main``'s ``try``, and Python printed a traceback of the imports; one that landed in the
import system's weak-reference callback was printed as "Exception ignored" and dropped
(tests/test_executor_warm_workers.py's real Ctrl-C failed one CI run of three that way).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app import start_interrupts
from app.console import interrupted_line, run_with_progress
from app.start_interrupts import HeldCtrlC

ROOT = Path(__file__).resolve().parents[1]


def test_importing_the_command_module_in_a_test_leaves_ctrl_c_alone() -> None:
    """This process (pytest) imported ``app.cli``: its SIGINT handler is Python's own."""
    import app.cli  # noqa: F401

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_held_ctrl_c_is_raised_when_delivered_and_the_handler_put_back() -> None:
    held = HeldCtrlC()
    held.hold()
    held.hold()  # a second hold keeps the first
    signal.raise_signal(signal.SIGINT)  # noted, not raised
    assert held.came and held.holding
    with pytest.raises(KeyboardInterrupt):
        held.deliver()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not held.holding and not held.came
    held.deliver()  # nothing held any more: nothing raised


def test_a_second_ctrl_c_while_held_stops_at_once() -> None:
    """An import stuck on a slow file system can still be stopped: the second Ctrl-C is
    raised where it lands, and the previous handler is back."""
    held = HeldCtrlC()
    held.hold()
    signal.raise_signal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
        for _ in range(1000):  # the handler runs at the next check
            pass
    assert not held.holding
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_arriving_as_the_hold_is_dropped_is_not_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Ctrl-C that comes while ``deliver`` puts the previous handler back (here: just
    before the swap, still noted by the hold) is raised: ``deliver`` reads what was noted
    only after the swap, so nothing was held before and it raises all the same."""
    real = signal.signal

    def ctrl_c_then_swap(signum: int, handler: object) -> object:
        if handler is signal.default_int_handler:
            signal.raise_signal(signal.SIGINT)  # the hold's handler notes it
        return real(signum, handler)  # type: ignore[arg-type]

    held = HeldCtrlC()
    held.hold()
    monkeypatch.setattr(start_interrupts.signal, "signal", ctrl_c_then_swap)
    with pytest.raises(KeyboardInterrupt):
        held.deliver()
        for _ in range(1000):
            pass
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_a_ctrl_c_delivery_raises_nothing_and_restore_drops_one() -> None:
    held = HeldCtrlC()
    held.hold()
    held.deliver()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    held.hold()
    signal.raise_signal(signal.SIGINT)
    held.restore()  # the command finished (``--help``): the Ctrl-C is dropped
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    held.deliver()


def test_an_ignored_ctrl_c_stays_ignored_and_threads_hold_nothing() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        held = HeldCtrlC()
        held.hold()
        assert not held.holding and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    in_thread = HeldCtrlC()
    worker = threading.Thread(target=in_thread.hold)
    worker.start()
    worker.join()
    assert not in_thread.holding
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# A child that sends itself Ctrl-C from inside the import of ``module`` (an import-system
# hook: the interrupt arrives in the middle of the import machinery, as a real Ctrl-C in
# the first second does), then runs the command as ``python -m app.cli`` does.
_CHILD = """
import importlib.abc, os, runpy, signal, sys
class CtrlCOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == {module!r}:
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, CtrlCOnImport())
sys.argv = ["app.cli", *{args!r}]
runpy.run_module("app.cli", run_name="__main__")
"""


def _compare(folder: Path) -> Path:
    """A two-run classroom ``compare`` of ten days."""
    experiment = folder / "early.toml"
    experiment.write_text(
        'name = "early"\nkind = "compare"\nreplications = 2\ndays = 10\n'
        f'[[scenarios]]\npath = "{ROOT / "scenarios" / "classroom.toml"}"\n',
        encoding="utf-8",
    )
    return experiment


@pytest.mark.parametrize(
    ("module", "workers"),
    [
        ("pydantic", "1"),  # the command modules' first import of it
        ("experiments.executors", "2"),  # main starting the pool's fork server
        ("app.run_commands", "2"),  # main importing the command modules
        ("mesa", "1"),  # main importing Mesa first
    ],
)
def test_ctrl_c_during_the_start_says_one_line_and_writes_nothing(
    tmp_path: Path, module: str, workers: str
) -> None:
    experiment = _compare(tmp_path)
    out = tmp_path / "out"
    args = ["compare", str(experiment), "--workers", workers, "--out", str(out)]
    child = subprocess.run(
        [sys.executable, "-c", _CHILD.format(module=module, args=args)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert child.returncode == 130, child.stderr
    assert child.stderr == "error: interrupted\n", child.stderr
    assert not out.exists()


def test_without_ctrl_c_the_same_child_runs_the_command(tmp_path: Path) -> None:
    """The hook above only interrupts: with a module never imported the command completes."""
    experiment = _compare(tmp_path)
    out = tmp_path / "out"
    args = ["compare", str(experiment), "--workers", "1", "--out", str(out), "--no-progress"]
    child = subprocess.run(
        [sys.executable, "-c", _CHILD.format(module="no.such.module", args=args)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    assert (out / "results.sqlite").exists()


def test_the_interrupted_line_offers_resume_only_when_something_was_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "results"

    def interrupted(_: object) -> None:
        raise KeyboardInterrupt

    assert run_with_progress(None, interrupted, interrupted_line(folder)) is None
    assert capsys.readouterr().err == f"error: interrupted; nothing was stored in {folder} yet\n"
    folder.mkdir()
    assert interrupted_line(folder)() == f"interrupted; nothing was stored in {folder} yet"
    (folder / "results.sqlite").write_bytes(b"")
    run_with_progress(None, interrupted, interrupted_line(folder, "evaluated candidates"))
    assert capsys.readouterr().err == (
        f"error: interrupted; evaluated candidates are stored in {folder}; continue with --resume\n"
    )


def test_an_unreadable_folder_still_gets_the_interrupted_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder the interrupt cannot look into (here its listing refused) gives the line
    that names it, not an error of its own in place of "interrupted"."""
    folder = tmp_path / "results"
    folder.mkdir()

    def refused(self: Path) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refused)
    assert interrupted_line(folder)() == (
        f"interrupted; finished runs are stored in {folder}; continue with --resume"
    )
