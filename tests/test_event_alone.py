"""``EventCalendar.alone()``: a step that would be scheduled at the current time as a
callback's last action may be called directly when nothing else is pending now, and the
run is the same as scheduling it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from model.events import EventCalendar

GRID = [k / 4.0 for k in range(0, 17)]  # coarse times: many events share one
MAX_EVENTS = 200


def drive(direct: bool, starts: list[float], plans: list[tuple[list[float], bool]]) -> list[Any]:
    """Run events that schedule children (``plans[n % …]``: offsets, and whether the event
    ends with a zero-delay step); the step is scheduled at ``now``, or, with ``direct``,
    called at once when :meth:`EventCalendar.alone` says nothing else is pending now.
    Returns the log of (what ran, clock)."""
    events = EventCalendar()
    log: list[Any] = []
    made = [0]

    def step(n: int) -> None:
        log.append(("step", n, events.now))
        if made[0] < MAX_EVENTS:  # a step may schedule more
            made[0] += 1
            events.schedule(events.now + 0.25, fire, made[0])

    def fire(n: int) -> None:
        log.append(("event", n, events.now))
        offsets, then_step = plans[n % len(plans)]
        for offset in offsets:
            if made[0] < MAX_EVENTS:
                made[0] += 1
                events.schedule(events.now + offset, fire, made[0])
        if then_step:  # the last action
            if direct and events.alone():
                step(n)
            else:
                events.schedule(events.now, step, n)

    for time in starts:
        made[0] += 1
        events.schedule(time, fire, made[0])
    day = 0
    while len(events):  # at most MAX_EVENTS events, each at most a day later
        day += 1
        events.run_until(float(day))
    return log


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    starts=st.lists(st.sampled_from(GRID), min_size=1, max_size=12),
    plans=st.lists(
        st.tuples(st.lists(st.sampled_from([0.0, 0.0, 0.25, 0.5, 1.0]), max_size=3), st.booleans()),
        min_size=1,
        max_size=6,
    ),
)
def test_a_step_called_when_alone_runs_as_if_scheduled(
    starts: list[float], plans: list[tuple[list[float], bool]]
) -> None:
    """Calling the step directly whenever alone() holds gives the scheduled run's log exactly."""
    assert drive(True, starts, plans) == drive(False, starts, plans)


def test_alone_sees_other_events_at_the_current_time() -> None:
    """alone() is false while another event is pending now (in a same-time group, or
    scheduled now by the running one), true for a group's last and for a lone event."""
    events = EventCalendar()
    seen: list[tuple[str, bool]] = []

    def look(label: str) -> None:
        seen.append((label, events.alone()))

    def look_then_add(label: str) -> None:
        look(label)
        events.schedule(events.now, look, "added now")
        seen.append(("after adding", events.alone()))

    assert events.alone(), "nothing pending: alone"
    events.schedule(0.5, look, "first of two")
    events.schedule(0.5, look, "second of two")
    events.schedule(0.7, look_then_add, "lone")
    events.schedule(0.9, look, "last")
    assert events.alone(), "nothing pending at the current time 0"
    events.run_until(1.0)
    assert seen == [
        ("first of two", False),
        ("second of two", True),
        ("lone", True),
        ("after adding", False),
        ("added now", True),
        ("last", True),
    ]
    events.schedule(1.0, look, "pending at now")
    assert not events.alone(), "an event pending at the current time 1.0"
