"""The cyclic garbage collector during a run (docs/design.md "Issue 11: hot path").

A built district holds millions of references (the residents' grids, the party
members' agents, the case ledger) that live as long as the model, and a run creates
few reference cycles. CPython's collector still traverses everything it tracks at
each full collection, and at district scale those collections took about a third of
the run's time. Inside :func:`quiet_collector` the objects that exist on entry are
left out of collections (``gc.freeze``), and young collections run less often; both
are undone on exit. Reference counting frees everything as before: only the
collection of cycles is delayed, never skipped.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 20_000  # allocations between young collections inside a run (default 700)


_lock = threading.Lock()
_depth = 0  # blocks open now, in any thread: only the first in switches, the last out restores
_saved: tuple[int, ...] = ()


@contextmanager
def quiet_collector(young_threshold: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Inside: existing objects are frozen and young collections are rarer; restored after.

    A collector disabled by a threshold of 0 stays disabled. Blocks may nest or overlap
    (a model built inside a run, builds in several threads): the first block in switches,
    the last one out restores the thresholds it found and unfreezes every frozen object,
    including any frozen before entry (``gc`` cannot tell them apart; the interpreter
    starts with a few hundred).
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            if _saved[0] > 0:
                gc.set_threshold(max(_saved[0], young_threshold), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()
