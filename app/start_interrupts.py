"""Ctrl-C while the ``microgov`` command starts: held, then delivered where it can stop
cleanly (docs/design.md "Ctrl-C in a command's first second").

A command spends its first second importing (pydantic, Mesa, pandas, the model) and
starting a pool's fork server. A Ctrl-C there used to raise ``KeyboardInterrupt`` in the
middle of an import, outside the ``try`` that turns it into the one line
``error: interrupted``: Python printed a traceback of the imports instead. And when it
landed in one of the import system's weak-reference callbacks, Python printed "Exception
ignored in …" with a traceback, dropped the interrupt, and the command ran on.

So :data:`CTRL_C_AT_START` holds SIGINT from the moment this module is imported by the
command (``python -m app.cli`` or the ``microgov`` script: :func:`started_as_command`) —
the first thing ``app.cli`` imports — and ``app.cli.main`` holds it from its own first line
when called otherwise. ``main`` delivers a held Ctrl-C as ``KeyboardInterrupt`` once its
imports are done, inside its ``try``, before the command does any work: the one line
"interrupted", exit status 130, nothing written. Only the interpreter's own start and the
import of this module (standard library only, a few milliseconds) remain unheld.

After the start a Ctrl-C raises ``KeyboardInterrupt`` as usual. One that lands in a
``__del__`` or a weak-reference callback is still only reported and lost (Python cannot
raise it there; re-raising it from ``sys.unraisablehook`` raises inside the hook, and is
lost the same way): rare outside imports, and a second Ctrl-C stops the command.

Only the standard library is imported here: this module must load before anything slow.
"""

from __future__ import annotations

import os
import signal
import sys

TYPE_CHECKING = False  # ``typing`` itself takes milliseconds to import: not at run time
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

COMMAND_MODULE = "app.cli"
COMMAND_SCRIPT = "microgov"


def started_as_command(orig_argv: list[str] | None = None, argv0: str | None = None) -> bool:
    """Whether this process was started as the command: ``python [options] -m app.cli …``
    (read from ``sys.orig_argv``, since ``sys.argv[0]`` is still ``-m`` while the package
    imports) or the installed ``microgov`` script (its path in ``sys.argv[0]``). A process
    that only imports ``app.cli`` (a test, a notebook, a script given ``-m app.cli`` as its
    own arguments) is not: its Ctrl-C is left alone."""
    first = sys.argv[0] if argv0 is None else argv0
    if os.path.basename(first) == COMMAND_SCRIPT:
        return True
    args = iter(list(sys.orig_argv if orig_argv is None else orig_argv)[1:])
    for arg in args:  # the interpreter's options, up to what it runs
        if arg.startswith("-m"):  # ``-m app.cli``, ``-mapp.cli``
            return (arg[2:] or next(args, None)) == COMMAND_MODULE
        if arg.startswith("-") and not arg.startswith("--") and arg.endswith("m"):
            return next(args, None) == COMMAND_MODULE  # flags joined: ``-Im app.cli``
        if arg in ("-W", "-X"):  # options whose value is the next argument
            next(args, None)
        elif arg == "-" or not arg.startswith("-") or arg.startswith("-c"):
            return False  # a script, standard input or ``-c``
    return False


class HeldCtrlC:
    """SIGINT noted instead of raised, until :meth:`deliver` or :meth:`restore`.

    Only in the main thread (where Python runs signal handlers and lets them be set:
    elsewhere ``signal.signal`` refuses and :meth:`hold` does nothing). Holding twice keeps
    the first hold.
    """

    def __init__(self) -> None:
        self.came = False
        self._previous: Any = None
        self._holding = False

    @property
    def holding(self) -> bool:
        """Whether SIGINT is held now."""
        return self._holding

    def hold(self) -> None:
        """Note SIGINT from now on instead of raising ``KeyboardInterrupt``. A Ctrl-C that
        the process was started ignoring (a background job) stays ignored."""
        if self._holding or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            return
        try:
            self._previous = signal.signal(signal.SIGINT, self._note)
        except ValueError:  # not the main thread
            return
        self._holding = True

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.came = True

    def restore(self) -> None:
        """Put the handler before :meth:`hold` back; a held Ctrl-C is dropped (the command
        has finished: ``--help``, a usage error)."""
        if not self._holding:
            return
        signal.signal(signal.SIGINT, self._previous)
        self._previous, self._holding, self.came = None, False, False

    def deliver(self) -> None:
        """Put the previous handler back and raise ``KeyboardInterrupt`` if a Ctrl-C came
        while held."""
        came = self.came
        self.restore()
        if came:
            raise KeyboardInterrupt


CTRL_C_AT_START = HeldCtrlC()


if started_as_command():
    CTRL_C_AT_START.hold()
