"""Ctrl-C and SIGTERM held while a finished run is being stored (docs/design.md "Hardening
the runner and store").

A run's record takes tens of milliseconds to store, in one transaction. A Ctrl-C or a
SIGTERM (``kill``, a scheduler's time limit; ``app.cli`` raises it as an interrupt) that
lands inside it rolled the transaction back: a run that had finished was lost, though the
command then said "finished runs are stored". :func:`stops_held` notes such a signal
instead and, when the record is stored, hands it to the handler that was there before — so
the interrupt is raised between two runs' records, never inside one. A second signal while
held is handed on at once (a store stuck on a slow disk can still be stopped): the record
being stored is then rolled back, and :func:`forced` tells the caller not to store more.

Only in the main thread, where Python runs signal handlers and lets them be set; elsewhere
(a runner started from a thread) nothing is held.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stops_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the body; deliver the first that came, after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    previous: dict[int, Any] = {}

    def note(signum: int, frame: object) -> None:
        came.append(signum)
        if len(came) > 1:  # a second signal: stop now
            global _forced
            _forced = True
            _restore(previous)
            _deliver(signum)

    for signum in _SIGNALS:
        handler = signal.getsignal(signum)
        if handler is signal.SIG_IGN or handler is None:
            continue  # ignored (a background job), or set outside Python: left as it is
        previous[signum] = signal.signal(signum, note)
    try:
        yield
    finally:
        _restore(previous)
        if len(came) == 1:  # (a second one was delivered already)
            _deliver(came[0])


_forced = False


def forced() -> bool:
    """Whether the last interrupt was a second signal while held (the user insists): the
    caller stops at once instead of storing more on the way out. Reading it resets it."""
    global _forced
    was, _forced = _forced, False
    return was


def _restore(previous: dict[int, Any]) -> None:
    """Put the handlers back (once: the dictionary is emptied)."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    previous.clear()


def _deliver(signum: int) -> None:
    """The signal as the handler now in place takes it."""
    handler = signal.getsignal(signum)
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signum)  # e.g. SIGTERM's default: the process ends
