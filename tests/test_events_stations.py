"""The internal event calendar and the multi-server stations: order, disciplines, nothing lost."""

from __future__ import annotations

import heapq

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.calendar import WorkCalendar
from model.events import EventCalendar
from model.stations import Station

pytestmark = pytest.mark.usefixtures("engine_backend")  # both engines (tests/conftest.py)

HOUR = 1.0 / 24.0
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def round_the_clock(days: int = 400) -> WorkCalendar:
    """A calendar in which working time equals calendar time (24 h, 7 days a week)."""
    return WorkCalendar(24.0, 7, 0, horizon_days=days)


# ---------------------------------------------------------------------------- events


def test_events_run_in_time_order() -> None:
    """Events scheduled out of order run in time order."""
    events = EventCalendar()
    fired: list[float] = []
    for t in (0.7, 0.1, 0.5, 0.3):
        events.schedule(t, lambda _, t=t: fired.append(t))
    events.run_until(1.0)
    assert fired == [0.1, 0.3, 0.5, 0.7], f"expected time order, got {fired}"


def test_same_time_events_keep_insertion_order() -> None:
    """Events at the same time run in the order they were scheduled."""
    events = EventCalendar()
    fired: list[int] = []
    for label in range(20):
        events.schedule(0.5, fired.append, label)
    events.run_until(1.0)
    assert fired == list(range(20)), f"same-time events reordered: {fired}"


def test_run_until_stops_before_end_and_sets_clock() -> None:
    """run_until runs events strictly before ``end``, keeps the rest, and then reads ``end``."""
    events = EventCalendar()
    fired: list[str] = []
    events.schedule(0.99, fired.append, "before")
    events.schedule(1.0, fired.append, "at end")
    events.run_until(1.0)
    assert fired == ["before"], f"only the event before the end should run, got {fired}"
    assert events.now == 1.0, f"clock should read 1.0, reads {events.now}"
    assert len(events) == 1, "the event at the end should wait for the next day"
    events.run_until(2.0)
    assert fired == ["before", "at end"], f"the kept event should run the next day, got {fired}"


def test_past_events_run_now_not_before() -> None:
    """An event scheduled in the past runs at the current time, after what is already due."""
    events = EventCalendar()
    events.run_until(2.0)
    seen: list[float] = []
    events.schedule(1.0, lambda _: seen.append(events.now))
    events.run_until(3.0)
    assert seen == [2.0], f"a past event should run at now = 2.0, ran at {seen}"


def test_events_scheduled_by_callbacks_run_the_same_day() -> None:
    """A callback may schedule follow-up events; those before the end run in the same call."""
    events = EventCalendar()
    fired: list[int] = []

    def chain(k: int) -> None:
        fired.append(k)
        if k < 5:
            events.schedule(events.now + 0.1, chain, k + 1)

    events.schedule(0.0, chain, 0)
    events.run_until(0.45)
    assert fired == [0, 1, 2, 3, 4], f"chain should reach 4 before 0.45, got {fired}"
    events.run_until(1.0)
    assert fired == [0, 1, 2, 3, 4, 5], f"the rest of the chain should run later, got {fired}"


@PROPERTY_SETTINGS
@given(
    times=st.lists(st.floats(min_value=0.0, max_value=10.0), min_size=1, max_size=200),
    ends=st.lists(st.floats(min_value=0.0, max_value=12.0), max_size=5),
)
def test_no_event_lost(times: list[float], ends: list[float]) -> None:
    """Every scheduled event runs exactly once, in (time, insertion) order, whatever the run_until steps."""
    events = EventCalendar()
    fired: list[int] = []
    for i, t in enumerate(times):
        events.schedule(t, fired.append, i)
    for end in sorted(ends):
        events.run_until(max(end, events.now))
    events.run_until(11.0)
    assert sorted(fired) == list(range(len(times))), "some events ran twice or never"
    assert events.processed == len(times), f"processed {events.processed} of {len(times)} events"
    expected = sorted(range(len(times)), key=lambda i: (times[i], i))
    assert fired == expected, "events should run in (time, insertion) order"


# -------------------------------------------------------------------------- stations


def run_jobs(
    station: Station, events: EventCalendar, jobs: list[tuple[float, float, float]], until: float
) -> list[tuple[int, float]]:
    """Feed (arrival day, work hours, key) jobs to ``station``; return (job, finish time) in finishing order."""
    finished: list[tuple[int, float]] = []
    peak = 0

    def done(i: int) -> None:
        finished.append((i, events.now))

    def arrive(i: int) -> None:
        nonlocal peak
        _, work, key = jobs[i]
        station.arrive(work, done, i, key)
        peak = max(peak, station.busy)

    for i, (arrival, _, _) in enumerate(jobs):
        events.schedule(arrival, arrive, i)
    events.run_until(until)
    assert peak <= station.servers, f"{peak} jobs in service at once with {station.servers} servers"
    return finished


def test_fifo_serves_in_arrival_order() -> None:
    """A FIFO station serves waiting jobs in arrival order, whatever their keys."""
    events = EventCalendar()
    station = Station("fifo", 1, round_the_clock(), events, deadline_first=False)
    jobs = [
        (0.0, 1.0, 10.0 - i) for i in range(6)
    ]  # keys decreasing: would reverse a deadline queue
    finished = run_jobs(station, events, jobs, until=2.0)
    assert [i for i, _ in finished] == list(range(6)), f"FIFO order expected, got {finished}"


def test_deadline_first_serves_earliest_key_first() -> None:
    """A deadline-first station serves waiting jobs by key, equal keys in arrival order."""
    events = EventCalendar()
    station = Station("deadline", 1, round_the_clock(), events, deadline_first=True)
    keys = [5.0, 9.0, 3.0, 7.0, 3.0, 1.0]
    jobs = [(0.0, 1.0, k) for k in keys]
    finished = run_jobs(station, events, jobs, until=2.0)
    # job 0 finds the server free and starts at once; the rest wait and go by key
    assert [i for i, _ in finished] == [0, 5, 2, 4, 3, 1], (
        f"deadline order expected, got {finished}"
    )


def test_service_runs_in_office_hours_only() -> None:
    """A job started at 16:30 needing two hours ends at 10:30 the next working morning."""
    events = EventCalendar()
    office = WorkCalendar(8.0, 5, 0, horizon_days=10)
    station = Station("office", 1, office, events)
    finished = run_jobs(station, events, [(16.5 * HOUR, 2.0, 0.0)], until=3.0)
    assert finished[0][1] == pytest.approx(1 + 10.5 * HOUR), (
        f"expected Tuesday 10:30, got {finished}"
    )
    assert station.busy_hours == pytest.approx(2.0), "busy hours count working hours, not the night"


def test_work_factor_stretches_service() -> None:
    """A station whose staff spend half their time elsewhere needs twice the hours per job."""
    events = EventCalendar()
    station = Station("stretched", 1, round_the_clock(), events, work_factor=2.0)
    finished = run_jobs(station, events, [(0.0, 3.0, 0.0)], until=1.0)
    assert finished[0][1] == pytest.approx(6.0 * HOUR), (
        f"3 h × 2 should end at 6:00, got {finished}"
    )


def test_station_needs_a_server() -> None:
    """A station without staff is refused with a clear message."""
    with pytest.raises(ValueError, match="positive, finite staff"):
        Station("empty", 0, round_the_clock(), EventCalendar())


def reference_fifo(jobs: list[tuple[float, float, float]], servers: int) -> list[float]:
    """Finish times of FIFO c-server service in calendar time (plain heap of free times)."""
    free = [0.0] * servers
    order = sorted(range(len(jobs)), key=lambda i: (jobs[i][0], i))
    finish = [0.0] * len(jobs)
    for i in order:
        arrival, work, _ = jobs[i]
        start = max(arrival, heapq.heappop(free))
        finish[i] = start + work * HOUR
        heapq.heappush(free, finish[i])
    return finish


job_lists = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=5.0),
        st.floats(min_value=0.0, max_value=12.0),
        st.floats(min_value=0.0, max_value=30.0),
    ),
    min_size=1,
    max_size=80,
)


@PROPERTY_SETTINGS
@given(jobs=job_lists, servers=st.integers(min_value=1, max_value=4))
def test_fifo_matches_reference_queue(jobs: list[tuple[float, float, float]], servers: int) -> None:
    """In calendar time, a FIFO station finishes each job when a plain c-server FIFO queue does."""
    events = EventCalendar()
    station = Station("fifo", servers, round_the_clock(), events)
    finished = dict(run_jobs(station, events, jobs, until=400.0))
    expected = reference_fifo(jobs, servers)
    for i, t in enumerate(expected):
        assert finished[i] == pytest.approx(t, abs=1e-9), (
            f"job {i} finished at {finished[i]}, expected {t}"
        )


@PROPERTY_SETTINGS
@given(
    jobs=job_lists,
    servers=st.integers(min_value=1, max_value=4),
    deadline_first=st.booleans(),
    office_hours=st.booleans(),
)
def test_every_arrival_finishes(
    jobs: list[tuple[float, float, float]], servers: int, deadline_first: bool, office_hours: bool
) -> None:
    """Every job that arrives finishes exactly once and the station ends idle with an empty queue."""
    events = EventCalendar()
    calendar = WorkCalendar(8.0, 5, 0, horizon_days=60) if office_hours else round_the_clock()
    station = Station("any", servers, calendar, events, deadline_first=deadline_first)
    finished = run_jobs(station, events, jobs, until=400.0)
    done = sorted(i for i, _ in finished)
    assert done == list(range(len(jobs))), (
        f"jobs finished {done}, expected each of {len(jobs)} once"
    )
    for i, t in finished:
        assert t >= jobs[i][0], f"job {i} finished at {t} before arriving at {jobs[i][0]}"
    assert station.jobs_done == len(jobs), f"jobs_done {station.jobs_done}, expected {len(jobs)}"
    assert station.busy == 0 and station.queue_length == 0, "station should end idle and empty"
    assert station.queued_tokens() == [], "no token should remain queued"
    assert station.busy_hours == pytest.approx(sum(w for _, w, _ in jobs)), (
        "busy hours = total work"
    )


def test_queued_tokens_lists_waiting_jobs_only() -> None:
    """queued_tokens names the jobs waiting for a server, not those in service."""
    events = EventCalendar()
    for deadline_first in (False, True):
        station = Station("q", 2, round_the_clock(), events, deadline_first=deadline_first)
        for token in range(5):
            station.arrive(1.0, lambda _: None, token, key=float(-token))
        waiting = sorted(station.queued_tokens())
        assert waiting == [2, 3, 4], (
            f"tokens 2-4 should wait (deadline_first={deadline_first}), got {waiting}"
        )
        assert station.busy == 2, "two jobs should be in service"


def test_queued_jobs_name_whose_job_waits() -> None:
    """queued_jobs pairs each waiting token with its callback, so a case's job is told from
    another's with the same token (a project's (grid, type) is no case row)."""
    events = EventCalendar()

    def case_done(_: object) -> None:
        return None

    def project_done(_: object) -> None:
        return None

    for deadline_first in (False, True):
        station = Station("q", 1, round_the_clock(), events, deadline_first=deadline_first)
        station.arrive(1.0, case_done, 0)  # in service
        station.arrive(1.0, case_done, (3, "visit"), key=1.0)
        station.arrive(1.0, project_done, (3, 1), key=2.0)
        jobs = station.queued_jobs()
        assert sorted((done.__name__, token[1]) for done, token in jobs) == [
            ("case_done", "visit"),
            ("project_done", 1),
        ], jobs
        assert [token for _, token in jobs] == station.queued_tokens()


def test_queued_work_gives_each_waiting_job_s_key_and_hours() -> None:
    """queued_work lists the waiting jobs' keys and work hours (as floats, before the
    station's work factor) in the order queued_tokens names them; a first-come queue has
    no keys."""
    events = EventCalendar()
    for deadline_first in (False, True):
        station = Station("q", 1, round_the_clock(), events, deadline_first=deadline_first)
        station.work_factor = 2.0
        for token, (hours, key) in enumerate([(9.0, 0.0), (1.5, 3.0), (2.5, 1.0), (4.0, 2.0)]):
            station.arrive(hours, lambda _: None, token, key=key)
        work = station.queued_work()
        tokens = station.queued_tokens()
        given = {1: (3.0, 1.5), 2: (1.0, 2.5), 3: (2.0, 4.0)}
        if deadline_first:
            assert work == [given[t] for t in tokens], work
            assert min(work)[0] == 1.0 == work[0][0], "the heap's first is the smallest key"
        else:
            assert tokens == [1, 2, 3]
            assert work == [(None, 1.5), (None, 2.5), (None, 4.0)], work


def test_pending_and_len_inside_a_callback_leave_out_the_events_run() -> None:
    """Inside the callbacks of three same-time events, ``len`` and ``pending`` count only the
    events still to run (the running one and those before it are spent), on both engines."""
    calendar = EventCalendar()
    seen: list[tuple[int, list[str]]] = []

    def look(name: str) -> None:
        seen.append((len(calendar), [event[2] for event in calendar.pending()]))

    for name in ("a", "b", "c"):
        calendar.schedule(1.0, look, name)
    calendar.schedule(2.0, look, "later")
    calendar.run_until(1.5)
    assert seen == [(3, ["b", "c", "later"]), (2, ["c", "later"]), (1, ["later"])]
    assert len(calendar) == 1 and [event[2] for event in calendar.pending()] == ["later"]
