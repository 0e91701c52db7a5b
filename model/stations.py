"""Multi-server queues that work in office hours: departments, offices, grid teams.

A station has ``servers`` staff. A job needs some working hours of one staff
member; it waits in a FIFO or deadline-first queue when all are busy. Service
runs only in working time (see :mod:`model.calendar`), so a job started at
16:30 that needs two hours ends the next working morning.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import Any

from model.calendar import WorkCalendar
from model.events import EventCalendar

Done = Callable[[Any], None]


class Station:
    """A queue with ``servers`` identical staff, served in working hours.

    Attributes:
        busy_hours: staff working hours spent on jobs (for utilisation and cost).
        jobs_done: completed jobs.
        work_factor: working hours actually needed per hour of nominal work
            (>1 when part of the staff's time goes to other duties, e.g. 小马拉大车).
    """

    __slots__ = (
        "_fifo",
        "_heap",
        "_sequence",
        "busy",
        "busy_hours",
        "calendar",
        "deadline_first",
        "events",
        "jobs_done",
        "name",
        "servers",
        "work_factor",
    )

    def __init__(
        self,
        name: str,
        servers: int,
        calendar: WorkCalendar,
        events: EventCalendar,
        deadline_first: bool = False,
        work_factor: float = 1.0,
    ) -> None:
        if servers < 1:
            raise ValueError(f"station {name} needs at least one server, got {servers}")
        self.name = name
        self.servers = servers
        self.calendar = calendar
        self.events = events
        self.deadline_first = deadline_first
        self.work_factor = work_factor
        self.busy = 0
        self.busy_hours = 0.0
        self.jobs_done = 0
        self._fifo: deque[tuple[float, Done, Any]] = deque()
        self._heap: list[tuple[float, int, float, Done, Any]] = []
        self._sequence = 0

    @property
    def queue_length(self) -> int:
        return len(self._heap) if self.deadline_first else len(self._fifo)

    def arrive(self, work_hours: float, done: Done, token: Any, key: float = 0.0) -> None:
        """A job needing ``work_hours`` arrives now; ``done(token)`` runs when it ends.

        ``key`` orders a deadline-first queue (smaller first); FIFO ignores it.
        """
        if self.busy < self.servers:
            self._start(work_hours, done, token)
        elif self.deadline_first:
            self._sequence += 1
            heapq.heappush(self._heap, (key, self._sequence, work_hours, done, token))
        else:
            self._fifo.append((work_hours, done, token))

    def _start(self, work_hours: float, done: Done, token: Any) -> None:
        self.busy += 1
        hours = work_hours * self.work_factor
        self.busy_hours += hours
        end = self.calendar.add_working_hours(self.events.now, hours)
        self.events.schedule(end, self._finish, (done, token))

    def _finish(self, item: tuple[Done, Any]) -> None:
        self.busy -= 1
        self.jobs_done += 1
        if self.deadline_first:
            if self._heap:
                _, _, work, done, token = heapq.heappop(self._heap)
                self._start(work, done, token)
        elif self._fifo:
            work, done, token = self._fifo.popleft()
            self._start(work, done, token)
        done_callback, token = item
        done_callback(token)

    def queued_tokens(self) -> list[Any]:
        """Tokens of the jobs waiting (not in service)."""
        if self.deadline_first:
            return [entry[4] for entry in self._heap]
        return [entry[2] for entry in self._fifo]
