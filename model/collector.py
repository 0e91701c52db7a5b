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
from collections.abc import Iterator
from contextlib import contextmanager

from model.process_switch import SharedSwitch

# allocations between young collections inside a run (default 700). A young collection
# visits every object allocated since the last one that is still alive — a district's
# cases in progress hold many (their records, events, visits) — so its cost grows with the
# allocations between collections and the number of collections falls in proportion:
# 150 district days spent 0.57 s in collections at 20,000 (37 young and 3 middle ones),
# 0.33 s at 100,000 and 0.22 s at 200,000 or 500,000 (issue 11, eleventh round).
YOUNG_THRESHOLD = 200_000


_COLLECTOR = SharedSwitch()


@contextmanager
def quiet_collector(young_threshold: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Inside: existing objects are frozen and young collections are rarer; restored after.

    A collector disabled by a threshold of 0 stays disabled. Blocks may nest or overlap
    (a model built inside a run, builds in several threads: :class:`model.process_switch.
    SharedSwitch`): the first block in switches, the last one out restores the thresholds it
    found and unfreezes every frozen object, including any frozen before entry (``gc``
    cannot tell them apart; the interpreter starts with a few hundred).
    """

    def quiet() -> tuple[int, ...]:
        thresholds = gc.get_threshold()
        gc.freeze()
        if thresholds[0] > 0:
            gc.set_threshold(max(thresholds[0], young_threshold), *thresholds[1:])
        return thresholds

    def restore(thresholds: tuple[int, ...]) -> None:
        gc.set_threshold(*thresholds)
        gc.unfreeze()

    with _COLLECTOR.held(quiet, restore):
        yield
