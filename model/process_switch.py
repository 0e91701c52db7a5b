"""A process-wide setting changed for the length of a block, shared by every block open.

The garbage collector's settings (:mod:`model.collector`) and numpy's huge-page advice
(:mod:`model.allocation`) belong to the process, not to a model: a model built inside a
run, or builds in several threads (Dask with ``processes=False``), open such blocks that
nest or overlap. Each block restoring what it saw on entry would leave the setting wrong
when they close out of order, so blocks are counted: the first one in changes the
setting, the last one out restores what the first one found (issue 11, seventh round).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class SharedSwitch:
    """Counts the open blocks of one process-wide setting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0  # blocks open now, in any thread
        self._saved: Any = None

    @contextmanager
    def held(self, switch: Callable[[], Any], restore: Callable[[Any], object]) -> Iterator[None]:
        """Inside: ``switch()`` has run once for all open blocks (it returns what to restore);
        after the last block: ``restore`` of that."""
        with self._lock:
            if self._depth == 0:
                self._saved = switch()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    restore(self._saved)
