"""The compiled event calendar and stations against the pure-Python reference: same traces."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import events as events_module
from model.calendar import WorkCalendar
from model.engine_backend import REQUIRE_COMPILED_VARIABLE, compiled_engine, flag
from model.events import PythonEventCalendar
from model.stations import PythonStation

ROOT = Path(__file__).resolve().parents[1]
ENGINE = compiled_engine()
needs_compiled = pytest.mark.skipif(ENGINE is None, reason="the compiled engine is not built")
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True)
MAX_EVENTS = 400


def plain(argument: Any) -> Any:
    """A pending event's argument without the run's own functions: a job's (done, token)
    as ("job", token)."""
    if isinstance(argument, tuple) and len(argument) == 2 and callable(argument[0]):
        return ("job", argument[1])
    return argument


class Boom(Exception):
    """The failure a callback raises on purpose."""


def drive(engine: Any, plan: dict[str, Any]) -> list[Any]:
    """Run ``plan`` on the classes of ``engine`` (a module-like object with ``EventCalendar``
    and ``Station``); the trace of every callback (what, clock as hex) and, after each
    ``run_until``, the calendar's and the stations' state."""
    calendar = WorkCalendar(*plan["calendar"])
    events = engine.EventCalendar()
    stations = [
        engine.Station(f"s{k}", staff, calendar, events, deadline_first, work_factor)
        for k, (staff, deadline_first, work_factor) in enumerate(plan["stations"])
    ]
    log: list[Any] = []
    made = [0]

    def done(token: Any) -> None:
        log.append(("done", token, events.now.hex()))
        if isinstance(token, int) and token % 4 == 0 and made[0] < MAX_EVENTS:
            made[0] += 1  # a follow-up job to another station, its key from the clock
            stations[token % len(stations)].arrive(1.25, done, ("again", token), events.now + 0.5)

    def fire(op: tuple[Any, ...]) -> None:
        log.append(("ran", op, events.now.hex()))
        kind = op[0]
        if kind == "arrive":
            _, k, hours, key, token = op
            stations[k % len(stations)].arrive(hours, done, token, key)
        elif kind == "later" and made[0] < MAX_EVENTS:
            made[0] += 1  # nested: now + offset (0: the same time; < 0: before now)
            events.schedule(events.now + op[1], fire, op[2])
        elif kind == "raise":
            raise Boom(op)

    for ops, end in plan["rounds"]:
        for time, op in ops:
            events.schedule(time, fire, op)
        try:
            events.run_until(max(end, events.now))
        except Boom as error:
            log.append(("raised", error.args, events.now.hex(), events.processed, len(events)))
        pending = [(time.hex(), plain(argument)) for time, _, argument in events.pending()]
        log.append(("ended", events.now.hex(), len(events), events.processed, pending))
        for station in stations:
            log.append(
                (
                    station.busy,
                    station.busy_hours.hex(),
                    station.busy_hours_since_mark.hex(),
                    station.jobs_done,
                    station.queue_length,
                    station.queued_tokens(),
                    [token for _, token in station.queued_jobs()],
                    station.queued_work(),
                )
            )
            station.mark()
    return log


times = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0, 1.375, 2.0, 7.0]),  # ties
    st.floats(min_value=0.0, max_value=40.0),
)
operation = st.one_of(
    st.tuples(
        st.just("arrive"),
        st.integers(0, 5),
        st.one_of(st.just(0.0), st.floats(0.0, 30.0)),  # work hours (over a day, too)
        st.sampled_from([0.0, 1.0, 2.5]) | st.floats(0.0, 50.0),  # deadline key (ties)
        st.integers(0, 1000),
    ),
    st.tuples(
        st.just("later"),
        st.sampled_from([0.0, -1.0, 0.25, 3.0]),
        st.tuples(st.just("arrive"), st.integers(0, 5), st.just(2.0), st.just(1.0), st.just(8)),
    ),
    st.tuples(st.just("raise")),
)
plans = st.fixed_dictionaries(
    {
        # hours a day, working days a week (weekends), the first weekday, a short horizon:
        # most runs go past it and the calendar learns days on demand
        "calendar": st.tuples(
            st.sampled_from([8.0, 24.0]), st.sampled_from([5, 7]), st.integers(0, 6), st.just(5)
        ),
        "stations": st.lists(
            st.tuples(
                st.one_of(st.integers(1, 3).map(float), st.floats(0.3, 3.5)),  # fractional staff
                st.booleans(),  # deadline first
                st.sampled_from([1.0, 1.25, 1.0 / 0.7]),
            ),
            min_size=1,
            max_size=3,
        ),
        "rounds": st.lists(
            st.tuples(st.lists(st.tuples(times, operation), max_size=25), times),
            min_size=1,
            max_size=5,
        ),
    }
)


class _Python:
    EventCalendar = PythonEventCalendar
    Station = PythonStation


@needs_compiled
@SETTINGS
@given(plan=plans)
def test_compiled_engine_traces_are_the_reference_traces(plan: dict[str, Any]) -> None:
    """Random workloads (ties, times before now, nested scheduling, FIFO and deadline-first
    stations with several desks and fractional staff, weekends, days past the horizon, a
    callback that raises) give the same trace, bit for bit, on both backends."""
    plan["rounds"].append(([], 400.0))  # and everything ends
    assert drive(ENGINE, plan) == drive(_Python, plan)


@needs_compiled
def test_compiled_station_asks_an_overriding_calendar_every_time() -> None:
    """A calendar whose class has its own add_working_hours is asked for every start (the
    in-window shortcut is only WorkCalendar's own)."""
    asked: list[tuple[float, float]] = []

    class Clock(WorkCalendar):
        def add_working_hours(self, t: float, hours: float) -> float:
            asked.append((t, hours))
            return t + 2.0 * hours / 24.0

    assert ENGINE is not None
    events = ENGINE.EventCalendar()
    station = ENGINE.Station("s", 1.0, Clock(24.0, 7, 0, 10), events)
    ended: list[float] = []
    for at in (0.5, 0.6):
        events.schedule(at, lambda _: station.arrive(3.0, lambda _: ended.append(events.now), 0))
    events.run_until(5.0)
    assert asked == [(0.5, 3.0), (0.75, 3.0)], "every start asks the overriding calendar"
    assert ended == [0.75, 1.0], "the ends are the overriding calendar's"


@needs_compiled
def test_compiled_station_works_with_the_python_calendar() -> None:
    """A compiled station on a Python event calendar schedules its finishes as callbacks."""
    assert ENGINE is not None
    events = PythonEventCalendar()
    station = ENGINE.Station("s", 1.0, WorkCalendar(24.0, 7, 0, 10), events)
    ended: list[float] = []
    station.arrive(6.0, lambda token: ended.append(token), "a")
    station.arrive(6.0, lambda token: ended.append(token), "b")
    assert [callback for _, callback, _ in events.pending()] == [station._finished]
    events.run_until(2.0)
    assert ended == ["a", "b"] and events.now == 2.0 and station.jobs_done == 2


@pytest.mark.parametrize("engine", ["compiled", "python"])
def test_nan_time_is_refused_with_the_reference_message(engine: str) -> None:
    """A NaN event time is refused by name, in the same words on both backends."""
    if engine == "compiled" and ENGINE is None:
        pytest.skip("the compiled engine is not built")
    events = ENGINE.EventCalendar() if engine == "compiled" else PythonEventCalendar()
    with pytest.raises(ValueError, match=r"^event time must be a number, got nan \(callback "):
        events.schedule(float("nan"), print)
    assert len(events) == 0, "nothing was scheduled"


@needs_compiled
def test_compiled_pending_shows_station_finishes_as_the_reference_does() -> None:
    """A station's pending finish reads (end, the station's finish callback, (done, token))."""
    assert ENGINE is not None
    events = ENGINE.EventCalendar()
    station = ENGINE.Station("s", 1.0, WorkCalendar(24.0, 7, 0, 10), events)
    station.arrive(12.0, print, "token")
    ((time, callback, argument),) = list(events.pending())
    assert time == 0.5 and callback == station._finished and argument == (print, "token")


@needs_compiled
def test_compiled_calendar_cycles_are_collected() -> None:
    """A model that holds the calendar whose pending events hold the model is garbage once
    dropped (the calendar's objects are visible to the cyclic collector)."""
    assert ENGINE is not None

    class Owner:
        def __init__(self) -> None:
            self.events = ENGINE.EventCalendar()
            self.station = ENGINE.Station("s", 1.0, WorkCalendar(8.0, 5, 0, 10), self.events)
            self.events.schedule(3.0, self.tick, None)
            self.station.arrive(2.0, self.tick, None)

        def tick(self, _: object) -> None:
            """A callback bound to the owner."""

    owner = Owner()
    alive = weakref.ref(owner)
    del owner
    gc.collect()
    assert alive() is None, "the owner, its calendar and station should be collected"


def test_backend_is_compiled_where_required() -> None:
    """With MICROGOV_REQUIRE_COMPILED=1 (CI sets it) the compiled engine must be the one in use."""
    if not flag(REQUIRE_COMPILED_VARIABLE):
        assert events_module.BACKEND in ("compiled", "python")
        pytest.skip("MICROGOV_REQUIRE_COMPILED is not set")
    assert events_module.BACKEND == "compiled", "the compiled engine did not build or import"


def test_pure_python_variable_picks_the_reference_classes() -> None:
    """MICROGOV_PURE_PYTHON=1 makes model.events and model.stations export the Python classes."""
    code = (
        "import model.events as e, model.stations as s;"
        "print(e.BACKEND, e.EventCalendar.__name__, s.Station.__name__)"
    )
    env = {**os.environ, "MICROGOV_PURE_PYTHON": "1", "PYTHONPATH": str(ROOT)}
    shown = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert shown == ["python", "PythonEventCalendar", "PythonStation"]


def test_machine_record_names_the_engine() -> None:
    """The benchmarks' machine record names the engine that runs: "python" when
    MICROGOV_PURE_PYTHON=1 picks it, this process's backend otherwise."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MICROGOV_REQUIRE_COMPILED": ""}
    script = [sys.executable, str(ROOT / "benchmarks" / "machine.py")]
    for pure, expected in (("1", "python"), ("0", events_module.BACKEND)):
        shown = subprocess.run(
            script, env={**env, "MICROGOV_PURE_PYTHON": pure}, capture_output=True, text=True
        )
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["engine_backend"] == expected, pure
