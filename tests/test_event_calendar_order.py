"""The event calendar's heap of times runs events exactly as a plain (time, sequence) heap would."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.events import EventCalendar

pytestmark = pytest.mark.usefixtures("engine_backend")  # both engines (tests/conftest.py)

# a coarse grid of times makes same-time events common; the offsets reach back before now
GRID = [k / 4.0 for k in range(0, 41)] + [0.1, 1.0 / 3.0, 2.7, 5.999]
OFFSETS = [-1.0, -0.25, 0.0, 0.0, 0.125, 0.25, 0.5, 1.0, 1.5, 3.0]
MAX_EVENTS = 300


class HeapCalendar:
    """The reference: a plain heap of (time, sequence, callback, argument), the calendar as it was."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self.sequence = 0
        self.now = 0.0
        self.processed = 0

    def schedule(self, time: float, callback: Callable[[Any], None], argument: Any = None) -> None:
        self.sequence += 1
        heapq.heappush(self.heap, (max(time, self.now), self.sequence, callback, argument))

    def run_until(self, end: float) -> None:
        while self.heap and self.heap[0][0] < end:
            time, _, callback, argument = heapq.heappop(self.heap)
            self.now = time
            callback(argument)
            self.processed += 1
        self.now = end

    def pending(self) -> list[tuple[float, Callable[[Any], None], Any]]:
        return [(time, callback, argument) for time, _, callback, argument in sorted(self.heap)]

    def __len__(self) -> int:
        return len(self.heap)


Op = tuple[str, float]


def drive(calendar: Any, ops: list[Op], children: list[list[float]]) -> list[Any]:
    """Run ``ops`` on ``calendar``; event n, when run, schedules now + each of ``children[n % …]``.

    Returns the log: every event's (id, clock) as it runs and, after each run_until, the
    clock, the pending count, the events processed and the pending events in run order.
    """
    log: list[Any] = []
    made = [0]

    def add(time: float) -> None:
        made[0] += 1
        calendar.schedule(time, fire, made[0])

    def fire(n: int) -> None:
        log.append(("ran", n, calendar.now))
        for offset in children[n % len(children)]:
            if made[0] < MAX_EVENTS:
                add(calendar.now + offset)

    for kind, value in ops:
        if kind == "schedule":
            add(value)
        else:
            calendar.run_until(max(value, calendar.now))
            pending = [(time, argument) for time, _, argument in calendar.pending()]
            log.append(("ended", calendar.now, len(calendar), calendar.processed, pending))
    return log


operations = st.lists(
    st.one_of(
        st.tuples(st.just("schedule"), st.sampled_from(GRID)),
        st.tuples(st.just("schedule"), st.floats(min_value=0.0, max_value=12.0)),
        st.tuples(st.just("run"), st.sampled_from(GRID)),
        st.tuples(st.just("run"), st.floats(min_value=0.0, max_value=12.0)),
    ),
    min_size=1,
    max_size=60,
)
child_lists = st.lists(st.lists(st.sampled_from(OFFSETS), max_size=3), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(ops=operations, children=child_lists)
def test_runs_as_a_plain_heap(ops: list[Op], children: list[list[float]]) -> None:
    """Random schedules (same times, from inside callbacks, before now; ends not whole days)
    run in the same order, at the same clock, with the same counts as a plain heap."""
    ops = [*ops, ("run", 20.0)]
    assert drive(EventCalendar(), ops, children) == drive(HeapCalendar(), ops, children)


def test_same_time_events_scheduled_while_their_time_runs_join_it() -> None:
    """An event scheduled for the current time by a callback of that time runs after the
    same-time events already pending, before any later one."""
    events = EventCalendar()
    fired: list[str] = []

    def first(_: object) -> None:
        fired.append("first")
        events.schedule(events.now, fired.append, "joined")
        events.schedule(events.now - 1.0, fired.append, "clamped")

    events.schedule(0.5, first)
    events.schedule(0.5, fired.append, "second")
    events.schedule(0.75, fired.append, "later")
    events.run_until(1.0)
    assert fired == ["first", "second", "joined", "clamped", "later"]
    assert events.processed == 5 and len(events) == 0


def test_pending_lists_events_in_run_order() -> None:
    """pending() gives (time, callback, argument) in the order the events will run; len counts them."""
    events = EventCalendar()
    for time, label in [(2.0, "c"), (1.0, "a"), (2.0, "d"), (1.5, "b")]:
        events.schedule(time, print, label)
    expected = [(1.0, "a"), (1.5, "b"), (2.0, "c"), (2.0, "d")]
    assert [(t, a) for t, _, a in events.pending()] == expected
    assert len(events) == 4
    events.run_until(1.2)
    assert [a for _, _, a in events.pending()] == ["b", "c", "d"] and len(events) == 3


def test_a_failing_callback_in_a_same_time_group_keeps_the_rest() -> None:
    """When a callback of a same-time group raises, its event is spent and the group's
    remaining events still run, in order, at the next run_until."""
    events = EventCalendar()
    fired: list[str] = []

    def fail(_: object) -> None:
        raise RuntimeError("boom")

    events.schedule(0.5, fired.append, "before")
    events.schedule(0.5, fail)
    events.schedule(0.5, fired.append, "after")
    with pytest.raises(RuntimeError, match="boom"):
        events.run_until(1.0)
    assert fired == ["before"] and len(events) == 1
    events.run_until(1.0)
    assert fired == ["before", "after"] and len(events) == 0


def test_a_time_that_is_not_a_number_is_refused() -> None:
    """Scheduling at NaN is an error naming the time, not an event lost in the heap."""
    with pytest.raises(ValueError, match="nan"):
        EventCalendar().schedule(float("nan"), print)


@pytest.mark.slow  # ≈ 8.4 M events and ≈ 0.4 GB
def test_the_compiled_calendar_refuses_an_event_past_its_pending_limit() -> None:
    """The compiled calendar numbers an event's slot in 23 bits of its heap entry's key: the
    8,388,609th pending event is refused with an error (the calendar unchanged), not
    written over another; the events pending still run in order."""
    from model.engine_backend import compiled_engine

    engine = compiled_engine()
    if engine is None or EventCalendar is not engine.EventCalendar:
        pytest.skip("the compiled calendar's limit")
    most = 1 << 23
    events = EventCalendar()
    ran: list[float] = []

    def note(_: object) -> None:
        ran.append(events.now)

    schedule = events.schedule
    for k in range(most):
        schedule(float(most - k), note)
    with pytest.raises(OverflowError, match="at most 8,388,608 pending events"):
        schedule(0.5, note)
    assert len(events) == most
    events.run_until(3.5)
    assert ran == [1.0, 2.0, 3.0] and len(events) == most - 3
