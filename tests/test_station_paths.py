"""A Station starts every job in ``arrive`` (a queued job arrives again at the desk just
freed): the same finish times, order, busy hours and counts, bit for bit, as the plain
station that had a separate start step for new and queued jobs."""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.calendar import WorkCalendar
from model.events import EventCalendar
from model.stations import Done, Station

pytestmark = pytest.mark.usefixtures("engine_backend")  # both engines (tests/conftest.py)

PATH_SETTINGS = settings(max_examples=80, deadline=None, derandomize=True)


class PlainStation:
    """The reference: FIFO or deadline-first, ``ceil(staff)`` desks, a start step shared by
    arrivals and the queue, the finish run as one event per job."""

    def __init__(
        self,
        staff: float,
        calendar: WorkCalendar,
        events: EventCalendar,
        deadline_first: bool,
        work_factor: float,
    ) -> None:
        self.servers = math.ceil(staff - 1e-9)
        self.slowdown = self.servers / float(staff)
        self.calendar, self.events = calendar, events
        self.deadline_first, self.work_factor = deadline_first, work_factor
        self.busy, self.busy_hours, self.jobs_done, self.sequence = 0, 0.0, 0, 0
        self.fifo: deque[tuple[float, Done, Any]] = deque()
        self.heap: list[tuple[float, int, float, Done, Any]] = []

    def arrive(self, work_hours: float, done: Done, token: Any, key: float = 0.0) -> None:
        if self.busy < self.servers:
            self.start(work_hours, done, token)
        elif self.deadline_first:
            self.sequence += 1
            heapq.heappush(self.heap, (key, self.sequence, work_hours, done, token))
        else:
            self.fifo.append((work_hours, done, token))

    def start(self, work_hours: float, done: Done, token: Any) -> None:
        self.busy += 1
        hours = work_hours * self.work_factor
        self.busy_hours += hours
        end = self.calendar.add_working_hours(self.events.now, hours * self.slowdown)
        self.events.schedule(end, self.finish, (done, token))

    def finish(self, item: tuple[Done, Any]) -> None:
        self.busy -= 1
        self.jobs_done += 1
        if self.deadline_first and self.heap:
            _, _, work, done, token = heapq.heappop(self.heap)
            self.start(work, done, token)
        elif not self.deadline_first and self.fifo:
            self.start(*self.fifo.popleft())
        item[0](item[1])


jobs = st.lists(
    st.tuples(
        st.floats(0.0, 6.0),  # arrival (days)
        st.one_of(st.floats(0.0, 12.0), st.just(0.0)),  # work hours
        st.floats(0.0, 20.0),  # deadline key
    ),
    min_size=1,
    max_size=60,
)


def run(station: Any, events: EventCalendar, work: list[tuple[float, float, float]]) -> list:
    """Feed ``work`` to ``station``; log (token, moment) per finish, and chained work: every
    third job, when done, hands a follow-up job to the same station (a queue pulled at a
    finish that also takes an arrival)."""
    log: list[tuple[Any, float]] = []

    def done(token: Any) -> None:
        log.append((token, events.now))
        if isinstance(token, int) and token % 3 == 0:
            station.arrive(1.5, done, ("again", token), events.now + 1.0)

    for i, (at, hours, key) in enumerate(work):
        events.schedule(at, lambda i, hours=hours, key=key: station.arrive(hours, done, i, key), i)
    for day in range(1, 200):
        events.run_until(float(day))
    return log


@PATH_SETTINGS
@given(
    work=jobs,
    staff=st.one_of(st.integers(1, 4).map(float), st.floats(0.3, 4.0)),
    deadline_first=st.booleans(),
    office_hours=st.booleans(),
    work_factor=st.sampled_from([1.0, 1.25, 1.0 / 0.7]),
)
def test_station_as_the_plain_station(
    work: list[tuple[float, float, float]],
    staff: float,
    deadline_first: bool,
    office_hours: bool,
    work_factor: float,
) -> None:
    """Finishes, busy hours and jobs done equal the plain station's, in every queue and staffing."""

    def calendar() -> WorkCalendar:
        return WorkCalendar(8.0, 5, 0, 30) if office_hours else WorkCalendar(24.0, 7, 0, 30)

    events, plain_events = EventCalendar(), EventCalendar()
    station = Station("s", staff, calendar(), events, deadline_first, work_factor)
    plain = PlainStation(staff, calendar(), plain_events, deadline_first, work_factor)
    got, want = run(station, events, work), run(plain, plain_events, work)
    assert got == want, "finishes differ from the plain station's"
    assert station.busy_hours == plain.busy_hours, "busy hours differ"
    assert station.jobs_done == plain.jobs_done == len(want), "jobs done differ"
    assert station.busy == 0 and station.queue_length == 0, "the station should end idle"
