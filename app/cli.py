"""The ``microgov`` command line.

Subcommands come from command modules, each exposing ``register(subparsers)`` that
adds its parsers and sets ``func`` (called with the parsed arguments, returning the
exit status):

- :mod:`app.run_commands`: ``run``, ``validate``;
- :mod:`app.experiment_commands`: ``compare``, ``sweep``, ``sensitivity``, ``export``, ``status``;
- :mod:`app.report_commands`: ``report``;
- :mod:`app.explain_commands`: ``explain``, ``mechanisms``.
- :mod:`app.calibrate_commands`: ``calibrate``, ``fit-logs``.

The command modules import the model (Mesa, pandas) at module level, so every command,
``--help`` and ``--version`` included, takes about a second to start, and a wrong engine
switch is reported by them too. This module itself imports nothing heavy: ``main`` starts
a pool's preloaded fork server *before* it imports the command modules, so that the two
import at once (docs/design.md "Warm pool workers").

Bad input never shows a traceback: an :class:`~experiments.errors.InputError` (or an
OS error about a file) prints ``error: <message>`` on standard error and exits with
status 2; a :class:`~experiments.errors.ResourceError` (disk full, damaged results
database, no Dask worker left) prints ``error: <message>`` and exits with status 1.
An unexpected exception exits with status 1 and one line; ``--debug``
(anywhere on the command line) shows the traceback. A Ctrl-C while the command starts (its
imports, the pool's fork server) is held and delivered before any work: the same one line
"interrupted" (:mod:`app.start_interrupts`; dropped if the command ends first: ``--help``,
a usage error).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any

from app.error_line import print_error
from app.start_interrupts import CTRL_C_AT_START
from experiments.errors import InputError, ResourceError

# Nothing heavy at module level (no pydantic, Mesa, pandas or the model): ``main`` holds
# Ctrl-C and starts a pool's preloaded fork server before anything else, and it can only
# do so once this module is imported (issue 11; docs/design.md "Warm pool workers", "Ctrl-C
# in a command's first second"). ``app.console`` imports the model and pandas (≈ 1.3 s of
# CPU), so it is not imported here.

COMMAND_MODULES: tuple[str, ...] = (
    "app.run_commands",
    "app.experiment_commands",
    "app.report_commands",
    "app.view_commands",
    "app.explain_commands",
    "app.calibrate_commands",
)
EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command module's subcommands registered."""
    parser = argparse.ArgumentParser(
        prog="microgov",
        description="Agent-based simulation and policy evaluation of urban micro-governance "
        "(小微治理) under the 大综合一体化 reform.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks of errors (anywhere on the line)"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log messages (-vv for debug)"
    )
    parser.add_argument("--version", action="version", version=f"microgov {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command family is not installed yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``microgov`` command line; return the exit status.

    Args:
        argv: the arguments after the program name; None reads ``sys.argv[1:]``.
    """
    CTRL_C_AT_START.hold()  # until the command modules are imported (app/start_interrupts.py)
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    finally:
        CTRL_C_AT_START.restore()


def _run(args_list: list[str]) -> int:
    debug = "--debug" in args_list
    previous_sigterm = _stop_on_sigterm()
    try:
        _prestart_pool(args_list)
        _exit_quickly()
        args_list = [a for a in args_list if a != "--debug"]
        _import_mesa_first(args_list)
        parser = build_parser()
        try:
            args = parser.parse_args(args_list)
        except SystemExit as exc:  # --help, or argparse's own usage error (already printed)
            return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else 2)
        _configure_logging(args.verbose)
        from app.arguments import check_combinations  # imported by build_parser already

        check_combinations(args)
        if not hasattr(args, "func"):
            parser.print_help(sys.stderr)
            return EXIT_BAD_INPUT
        CTRL_C_AT_START.deliver()  # a Ctrl-C during the start stops here, before any work
        return int(args.func(args) or EXIT_OK)
    except InputError as exc:
        return _fail(exc, debug, EXIT_BAD_INPUT)
    except ResourceError as exc:  # stopped by the disk, the database or the cluster
        return _fail(exc, debug, EXIT_FAILURE)
    except BrokenPipeError:  # e.g. `microgov run … | head`: stop quietly, like other tools
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", debug, EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print_error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        # pydantic (≈ 0.1 s) and the engine's switches (read when the model is imported,
        # wherever that happens) are imported here, not above: the module stays light, so
        # that ``main`` holds Ctrl-C from its first moments (see the note at the top)
        from pydantic import ValidationError

        from model.engine_backend import EngineBuildError, EngineSettingError

        if isinstance(exc, ValidationError):  # a schema check that escaped conversion
            return _fail(exc, debug, EXIT_BAD_INPUT)
        if isinstance(exc, EngineSettingError):
            return _fail(exc, debug, EXIT_BAD_INPUT)
        if isinstance(exc, EngineBuildError):
            return _fail(exc, debug, EXIT_FAILURE)
        hint = "" if debug else " (rerun with --debug to see the traceback)"
        return _fail(f"unexpected {type(exc).__name__}: {exc}{hint}", debug, EXIT_FAILURE)
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


class Terminated(KeyboardInterrupt):
    """SIGTERM, stopping a command as Ctrl-C does (:func:`_stop_on_sigterm`)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(f"signal {signum}")


def _stop_on_sigterm() -> Any:
    """Make SIGTERM stop the command as Ctrl-C does: the runner closes its session, the
    finished runs stay stored, the folder's lock is released and the one-line
    "interrupted" is printed (a batch scheduler's time limit, ``timeout``, ``kill``).
    Before, the process died at once: a stale lock, the session left "running" and the
    resource tracker's warning of leaked semaphores. Only where SIGTERM has its default
    action and in the main thread; returns the handler to put back (None: unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


_freeze_at_exit_registered = False  # by :func:`_exit_quickly`, once per process

# Commands that run their runs on a local process pool unless --workers 1 or --cluster.
POOL_COMMANDS = frozenset({"compare", "sweep", "sensitivity", "explain", "calibrate"})


def _prestart_pool(args: list[str]) -> None:
    """Before our own imports, start the pool's fork server preloaded with the run path
    when the command will run a local pool, so that its imports overlap ours (issue 11;
    docs/design.md "Speed outside the hot path"). A guess from the raw arguments: a wrong
    guess costs one idle fork server, never a wrong result."""
    if _command(args) not in POOL_COMMANDS:
        return
    for i, arg in enumerate(args):
        if arg.startswith("--cluster") or arg == "--workers=1":
            return
        if arg == "--workers" and args[i + 1 : i + 2] == ["1"]:
            return
    from experiments.executors import prestart_workers

    prestart_workers()


# Commands that read files or stored results only: they import no Mesa
# (tests/test_executor_warm_workers.py).
READING_COMMANDS = frozenset({"validate", "status", "export", "report", "mechanisms"})


def _import_mesa_first(args: list[str]) -> None:
    """Import Mesa from the top of the import stack, before the command modules import it,
    unless the command reads files or stored results only (:data:`READING_COMMANDS`).

    ``mesa.model`` walks the whole import stack twice (``inspect.stack()``,
    ``inspect.getouterframes()``) when it is
    imported (Mesa's ``mesa_logging``): from deep inside the command modules' imports that
    cost ≈ 0.22 s of every command's start, from here ≈ 0.07 s (issue 11; docs/design.md
    "A quick start and a quick exit"). The fork server does the same
    (:mod:`experiments.worker_preload`). A reading command imports no Mesa (checking a
    scenario imports none, model/geography.py): importing it here would cost it ≈ 0.4 s.
    (Only ``validate`` of a calibration naming an outcome the registry does not know runs
    the model, for one day, to read its outcomes: Mesa is then imported deep, ≈ 0.15 s more.)
    A guess from the raw arguments, as :func:`_prestart_pool`'s: a wrong guess costs time,
    never a result."""
    if _command(args) not in READING_COMMANDS:
        importlib.import_module("mesa")


def _command(args: list[str]) -> str | None:
    """The command the raw arguments name: the first that is not an option (a guess made
    before the parser is built)."""
    return next((a for a in args if not a.startswith("-")), None)


def _exit_quickly() -> None:
    """Freeze the collector when the process exits (``gc.freeze`` at exit, registered once).

    The interpreter's last collections go over every object the imported modules and the
    runs left (≈ 0.2 s after imports alone, ≈ 0.4 s after a serial experiment): time every
    command spent after its work was done, which frees nothing the operating system does
    not free anyway. Every other exit handler (logging's flush, multiprocessing's joins)
    still runs, before or after it by the order of registration; none needs the collector.
    Reference counting still frees, closes and flushes everything it owns; objects in
    reference cycles, and what only they hold, are left to the operating system unfinalized.
    So every file the project writes is closed explicitly before ``main`` returns (a
    ``with`` block, ``Path.write_text``, pandas' writers), which
    tests/test_executor_warm_workers.py checks with ``ResourceWarning`` (issue 11;
    docs/design.md "A quick start and a quick exit")."""
    global _freeze_at_exit_registered
    if not _freeze_at_exit_registered:
        atexit.register(gc.freeze)
        _freeze_at_exit_registered = True


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("microgov")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "(version unknown: not installed)"


def _fail(message: object, debug: bool, status: int) -> int:
    if debug:
        traceback.print_exc()
    print_error(message)
    return status


def _silence_stdout() -> None:
    # Python would report the closed pipe again when it flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (e.g. captured in tests)
        pass


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    # No force=True: a host that already configured logging (pytest, a notebook) keeps it.
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbosity > 0:
        for package in ("model", "experiments", "analysis", "app"):
            logging.getLogger(package).setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
