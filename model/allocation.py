"""How numpy asks the kernel for memory while a district is built (issue 11, seventh round).

numpy advises the kernel to back every array of 4 MiB or more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``). Building a district's ties allocates and frees a few hundred
MB of such arrays once; where the kernel compacts memory to find 2 MiB pages on the fault
(``/sys/kernel/mm/transparent_hugepage/defrag`` = ``madvise``, the default), those faults
cost more than the work itself: on the benchmark machine, 1.9–2.5 s of system time of a
``yongchuan`` build against 0.36 s with the advice off (docs/performance.md "Issue 11,
seventh round: district build and fixed daily work"). The advice changes where memory
comes from, never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from model.process_switch import SharedSwitch


def _madvise_switch() -> Callable[[bool], bool] | None:
    """numpy's switch of the huge-page advice (private: ``_core`` from numpy 2, ``core``
    before), or None where this numpy has none."""
    for name in ("_core", "core"):
        multiarray = getattr(getattr(np, name, None), "multiarray", None)
        switch = getattr(multiarray, "_set_madvise_hugepage", None)
        if switch is not None:
            return switch
    return None


_ADVICE = SharedSwitch()


@contextmanager
def without_hugepage_advice() -> Iterator[None]:
    """Allocate arrays without numpy's huge-page advice inside the block, then restore it
    as it was. The switch is process-wide, so blocks that nest or overlap in several
    threads share it (:class:`model.process_switch.SharedSwitch`; another thread's arrays
    meanwhile go without the advice too, which only changes where their memory comes
    from)."""
    switch = _madvise_switch()
    if switch is None:
        yield
        return
    with _ADVICE.held(lambda: switch(False), switch):
        yield
