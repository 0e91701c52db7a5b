"""The internal event calendar for case events inside a day.

Events run in ``(time, insertion)`` order: by time, and events of the same time in the
order they were scheduled. The calendar keeps a heap of the distinct pending *times*
(bare floats, which the heap compares far more cheaply than ``(time, sequence, …)``
tuples) and, per time, one flat list ``[time, callback, argument, time, callback,
argument, …]`` of its events in insertion order, which makes a sequence number
unnecessary (docs/design.md "The event calendar's heap of times"). Callbacks are held
strongly (Mesa's ``schedule_event`` holds them weakly and can silently drop an event
whose owner is collected — docs/design.md "Notes on the libraries" — which would lose
cases). The daily Mesa step advances it with :meth:`run_until`.

The class here is the reference; ``EventCalendar`` is the compiled one of model/_engine.pyx
when it is built (same behaviour bit for bit; :data:`BACKEND` says which; see
:mod:`model.engine_backend`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

from model.engine_backend import compiled_engine


class PythonEventCalendar:
    """A minimal, strongly-referencing discrete-event calendar (the pure-Python reference)."""

    __slots__ = ("_ran", "_running", "_slots", "_times", "now", "processed")

    def __init__(self) -> None:
        self._times: list[float] = []  # a heap: each pending time once
        # time -> [time, callback, argument, …] in insertion order; a slot whose events
        # are being run stays here (so same-time events scheduled meanwhile join it)
        # while its time is already off the heap
        self._slots: dict[float, list[Any]] = {}
        self.now = 0.0
        self.processed = 0
        # the time whose slot of several events is running, and the list positions of
        # its events already run (not pending any more; read by ``pending`` and ``len``)
        self._running: float | None = None
        self._ran = 0

    def schedule(self, time: float, callback: Callable[[Any], None], argument: Any = None) -> None:
        """Run ``callback(argument)`` at ``time`` (never before the current time)."""
        if not time >= self.now:
            if time != time:
                raise ValueError(f"event time must be a number, got {time} (callback {callback!r})")
            time = self.now
        event = [time, callback, argument]
        slot = self._slots.setdefault(time, event)  # one look-up of the time, found or not
        if slot is event:
            heappush(self._times, time)
        else:
            slot += event

    def run_until(self, end: float) -> None:
        """Run every event with time < ``end``, in time order; then the clock reads ``end``."""
        times = self._times
        slots = self._slots
        pop = heappop
        count = 0
        while times and times[0] < end:
            slot = slots.pop(pop(times))
            if len(slot) == 3:
                time, callback, argument = slot
                self.now = time
                callback(argument)
                count += 1
            else:
                count += self._run_slot(slot)
        self.processed += count
        self.now = end

    def _run_slot(self, slot: list[Any]) -> int:
        """Run a time's several events in order, and those its callbacks add to it; their number."""
        key = slot[0]
        self._slots[key] = slot  # same-time events scheduled by these callbacks join the slot
        self._running = key
        i = 0
        try:
            while i < len(slot):
                self.now = slot[i]
                self._ran = i + 3  # this event is no longer pending once it runs
                slot[i + 1](slot[i + 2])
                i += 3
        except BaseException:
            del slot[: i + 3]  # the failed event is spent, as a popped one would be
            if slot:
                heappush(self._times, key)
            else:
                del self._slots[key]
            raise
        finally:
            self._running = None
            self._ran = 0
        del self._slots[key]
        return i // 3

    def pending(self) -> Iterator[tuple[float, Callable[[Any], None], Any]]:
        """The pending events' ``(time, callback, argument)``, in the order they will run."""
        for key in sorted(self._slots):
            slot = self._slots[key]
            for i in range(self._ran if key == self._running else 0, len(slot), 3):
                yield slot[i], slot[i + 1], slot[i + 2]

    def __len__(self) -> int:
        return (sum(len(slot) for slot in self._slots.values()) - self._ran) // 3


_compiled = compiled_engine()
BACKEND = "python" if _compiled is None else "compiled"
"""Which event calendar (and station) runs: ``"compiled"`` (model/_engine.pyx) or ``"python"``."""
if TYPE_CHECKING:
    EventCalendar = PythonEventCalendar
else:
    EventCalendar = PythonEventCalendar if _compiled is None else _compiled.EventCalendar
