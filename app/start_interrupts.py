"""Ctrl-C while the ``microgov`` command starts: held, then delivered where it can stop
cleanly (docs/design.md "Ctrl-C in a command's first second").

A command spends its first second importing (pydantic, Mesa, pandas, the model) and
starting a pool's fork server. A Ctrl-C there used to raise ``KeyboardInterrupt`` in the
middle of an import, outside the ``try`` that turns it into the one line
``error: interrupted``: Python printed a traceback of the imports instead. And when it
landed in one of the import system's weak-reference callbacks, Python printed "Exception
ignored in …" with a traceback, dropped the interrupt, and the command ran on.

So ``app.cli.main`` holds SIGINT with :data:`CTRL_C_AT_START` from its first line — its
module imports only the standard library and three small modules of ours before that — and
delivers a held Ctrl-C as ``KeyboardInterrupt`` inside its ``try`` once the command modules
are imported and the arguments parsed, before the command does any work: the one line
"interrupted", exit status 130, nothing written. A second Ctrl-C while held is raised at
once (an import stuck on a slow file system can still be stopped). Only the interpreter's
start and ``app.cli``'s own light imports (≈ 50–80 ms) remain unheld.

After the start a Ctrl-C raises ``KeyboardInterrupt`` as usual. One that lands in a
``__del__`` or a weak-reference callback is still only reported and lost (Python cannot
raise it there; re-raising it from ``sys.unraisablehook`` raises inside the hook, and is
lost the same way): rare outside imports, and a second Ctrl-C stops the command.
"""

from __future__ import annotations

import signal

TYPE_CHECKING = False  # ``typing`` takes milliseconds to import: not at run time
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any


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
        if not self.came:
            self.came = True
            return
        self.restore()  # a second Ctrl-C: stop now
        raise KeyboardInterrupt

    def restore(self) -> None:
        """Put the handler before :meth:`hold` back; a held Ctrl-C is dropped (the command
        has finished: ``--help``, a usage error)."""
        self._release()

    def deliver(self) -> None:
        """Put the previous handler back and raise ``KeyboardInterrupt`` if a Ctrl-C came
        while held."""
        if self._release():
            raise KeyboardInterrupt

    def _release(self) -> bool:
        """End the hold; whether a Ctrl-C came while held. The handler is put back before
        ``came`` is read: a Ctrl-C arriving in between goes to the previous handler, never
        to a hold that is being dropped."""
        if not self._holding:
            return False
        signal.signal(signal.SIGINT, self._previous)
        came = self.came
        self._previous, self._holding, self.came = None, False, False
        return came


CTRL_C_AT_START = HeldCtrlC()
