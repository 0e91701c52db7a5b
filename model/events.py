"""The internal event calendar for case events inside a day.

A heap of ``(time, sequence, callback, argument)``: the sequence number keeps
same-time events in insertion order, and callbacks are held strongly (Mesa's
``schedule_event`` holds them weakly and can silently drop an event whose owner
is collected — docs/design.md "Notes on the libraries" — which would lose cases). The daily Mesa step
advances it with :meth:`run_until`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from heapq import heappush
from typing import Any


class EventCalendar:
    """A minimal, strongly-referencing discrete-event calendar."""

    __slots__ = ("_heap", "_sequence", "now", "processed")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._sequence = 0
        self.now = 0.0
        self.processed = 0

    def schedule(self, time: float, callback: Callable[[Any], None], argument: Any = None) -> None:
        """Run ``callback(argument)`` at ``time`` (never before the current time)."""
        now = self.now
        sequence = self._sequence + 1
        self._sequence = sequence
        heappush(self._heap, (now if time < now else time, sequence, callback, argument))

    def run_until(self, end: float) -> None:
        """Run every event with time < ``end``, in time order; then the clock reads ``end``."""
        heap = self._heap
        pop = heapq.heappop
        count = 0
        while heap and heap[0][0] < end:
            time, _, callback, argument = pop(heap)
            self.now = time
            callback(argument)
            count += 1
        self.processed += count
        self.now = end

    def __len__(self) -> int:
        return len(self._heap)
