"""Multi-server queues that work in office hours: departments, offices, grid teams.

A station has ``staff`` full-time equivalents (FTE), possibly fractional. A job
needs some working hours of one staff member; it waits in a FIFO or
deadline-first queue when every desk is busy. Service runs only in working time
(see :mod:`model.calendar`), so a job started at 16:30 that needs two hours ends
the next working morning.

Fractional staff are *shared staff*: ``staff = 2.5`` FTE man ``ceil(2.5) = 3``
desks, each staffed ``2.5 / 3`` of the time, so a job takes ``3 / 2.5`` times its
working hours at its desk. Utilisation (staff hours worked over staff hours
available) therefore scales exactly with ``1 / staff``, and whole staff behave as
ordinary servers (docs/design.md "Fractional staff").

The class here is the reference; ``Station`` is the compiled one of model/_engine.pyx when it
is built (same behaviour bit for bit; ``model.events.BACKEND`` says which).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from model.calendar import WorkCalendar
from model.desks import desks
from model.engine_backend import compiled_engine
from model.events import EventCalendar

Done = Callable[[Any], None]


class PythonStation:
    """A queue with ``staff`` FTE (``servers`` desks), served in working hours (the reference).

    Attributes:
        staff: full-time equivalents (> 0; fractional staff share the desks).
        servers: desks, ``ceil(staff)``: how many jobs run at once.
        busy_hours: staff working hours spent on jobs (for utilisation and cost).
        jobs_done: completed jobs.
        work_factor: working hours actually needed per hour of nominal work
            (>1 when part of the staff's time goes to other duties, e.g. 小马拉大车).
    """

    __slots__ = (
        "_fifo",
        "_finished",
        "_heap",
        "_sequence",
        "busy",
        "busy_hours",
        "busy_hours_mark",
        "calendar",
        "deadline_first",
        "events",
        "jobs_done",
        "name",
        "servers",
        "slowdown",
        "staff",
        "work_factor",
    )

    def __init__(
        self,
        name: str,
        staff: float,
        calendar: WorkCalendar,
        events: EventCalendar,
        deadline_first: bool = False,
        work_factor: float = 1.0,
    ) -> None:
        self.name = name
        self.staff, self.servers, self.slowdown = desks(name, staff)  # model/desks.py
        self.calendar = calendar
        self.events = events
        self.deadline_first = deadline_first
        self.work_factor = work_factor
        self.busy = 0
        self.busy_hours = 0.0
        self.busy_hours_mark = 0.0
        self.jobs_done = 0
        self._fifo: deque[tuple[float, Done, Any]] = deque()
        self._heap: list[tuple[float, int, float, Done, Any]] = []
        self._sequence = 0
        self._finished = self._finish  # bound once: one fewer object per job (issue 11)

    def mark(self) -> None:
        """Start a measured period: :attr:`busy_hours_since_mark` counts from now."""
        self.busy_hours_mark = self.busy_hours

    @property
    def busy_hours_since_mark(self) -> float:
        """Staff hours spent on jobs started since :meth:`mark` (the measured period)."""
        return self.busy_hours - self.busy_hours_mark

    @property
    def queue_length(self) -> int:
        return len(self._heap) if self.deadline_first else len(self._fifo)

    def arrive(self, work_hours: float, done: Done, token: Any, key: float = 0.0) -> None:
        """A job needing ``work_hours`` arrives now; ``done(token)`` runs when it ends.

        ``key`` orders a deadline-first queue (smaller first); FIFO ignores it. A free desk
        starts the job here (the one place a job starts: a job leaving the queue arrives
        again, at a desk just freed).
        """
        if self.busy < self.servers:
            self.busy += 1
            hours = work_hours * self.work_factor
            self.busy_hours += hours
            events = self.events
            end = self.calendar.add_working_hours(events.now, hours * self.slowdown)
            events.schedule(end, self._finished, (done, token))
        elif self.deadline_first:
            self._sequence += 1
            heapq.heappush(self._heap, (key, self._sequence, work_hours, done, token))
        else:
            self._fifo.append((work_hours, done, token))

    def _finish(self, item: tuple[Done, Any]) -> None:
        self.busy -= 1
        self.jobs_done += 1
        # a desk is free now (``servers`` never changes after __init__), so ``arrive``
        # starts the next queued job at once rather than queueing it again
        if self.deadline_first:
            heap = self._heap
            if heap:
                key, _, work, done, token = heapq.heappop(heap)
                self.arrive(work, done, token, key)
        elif self._fifo:
            work, done, token = self._fifo.popleft()
            self.arrive(work, done, token)
        done_callback, token = item
        done_callback(token)

    def queued_tokens(self) -> list[Any]:
        """Tokens of the jobs waiting (not in service)."""
        if self.deadline_first:
            return [entry[4] for entry in self._heap]
        return [entry[2] for entry in self._fifo]

    def queued_work(self) -> list[tuple[float | None, float]]:
        """The ``(key, work hours)`` of the jobs waiting, as floats, in the order
        ``queued_tokens`` names them (a deadline-first queue's heap order; key None in a
        first-come queue)."""
        if self.deadline_first:
            return [(float(entry[0]), float(entry[2])) for entry in self._heap]
        return [(None, float(entry[0])) for entry in self._fifo]

    def queued_jobs(self) -> list[tuple[Done, Any]]:
        """The ``(done, token)`` of the jobs waiting (not in service): whose job it is."""
        if self.deadline_first:
            return [(entry[3], entry[4]) for entry in self._heap]
        return [(entry[1], entry[2]) for entry in self._fifo]


_compiled = compiled_engine()
if TYPE_CHECKING:
    Station = PythonStation
else:
    Station = PythonStation if _compiled is None else _compiled.Station
