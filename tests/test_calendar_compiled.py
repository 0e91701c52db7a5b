"""The working calendar's compiled conversions (model/_engine.pyx) against the Python reference
(model.calendar.PYTHON_CONVERSIONS): the same results bit for bit, the same errors, the same
calendar state afterwards, for plain calendars, a subclass calendar and overriding classes."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import calendar as calendar_module
from model.calendar import CONVERSIONS, PYTHON_CONVERSIONS, WorkCalendar
from model.engine_backend import compiled_engine
from model.events import PythonEventCalendar
from model.mediation import ScheduleCalendar
from model.stations import PythonStation

ENGINE = compiled_engine()
pytestmark = pytest.mark.skipif(ENGINE is None, reason="the compiled engine is not built")
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True)
BEFORE_ZERO = "a moment must be a time ≥ 0 (days), got "
NOT_HOURS = "working hours elapsed must be a number ≥ 0, got "


def conversions(backend: str) -> dict[str, Any]:
    """The conversions of one backend, by name."""
    if backend == "python":
        return dict(PYTHON_CONVERSIONS)
    assert ENGINE is not None
    return {name: getattr(ENGINE, name) for name in CONVERSIONS}


def calendar_class(backend: str, kind: str) -> type[WorkCalendar]:
    """A calendar class whose conversions are ``backend``'s: WorkCalendar itself, the
    mediation's ScheduleCalendar (its own ``_works_beyond`` and lists), or a class that
    overrides ``working_hours_at`` and ``_moment`` (recording every call)."""
    if kind == "schedule":
        return type("Schedule", (ScheduleCalendar,), conversions(backend))
    plain = type("Plain", (WorkCalendar,), conversions(backend))
    if kind in ("plain", "other numbers"):
        return plain

    class Recorded(plain):  # type: ignore[valid-type, misc]
        asked: list[Any]

        def working_hours_at(self, t: float) -> float:
            self.__dict__.setdefault("asked", []).append(("hours at", float(t).hex()))
            return float(super().working_hours_at(t))

        def _moment(self, hours: float, first: int) -> float:
            self.__dict__.setdefault("asked", []).append(("moment", float(hours).hex(), first))
            return float(super()._moment(hours, first))

    return Recorded


def make(backend: str, kind: str, shape: tuple[float, int, int, int]) -> WorkCalendar:
    """A calendar of ``shape`` (hours per day, days per week, start weekday, horizon)."""
    cls = calendar_class(backend, kind)
    if kind == "schedule":
        return cls(WorkCalendar(*shape), 6, 3)  # type: ignore[call-arg]
    cal = cls(*shape)
    if kind == "other numbers":  # hours that are ints or numpy floats: converted, not read
        cal._cum = [int(h) if h.is_integer() else np.float64(h) for h in cal._cum]
    return cal


def outcome(function: Callable[..., float], *args: float) -> tuple[str, str]:
    """A call's result as its float's hex, or its error's type and message."""
    try:
        value = function(*args)
    except (ValueError, OverflowError, IndexError) as error:
        return (type(error).__name__, str(error))
    return ("value", float(value).hex())


def state(cal: WorkCalendar) -> tuple[Any, ...]:
    """The calendar's per-day lists and what it has been asked (an overriding class)."""
    return (
        cal._known,
        list(cal._cum),
        list(cal._working),
        list(cal._starts),
        list(cal._ends),
        cal.__dict__.get("asked"),
    )


def run(cal: WorkCalendar, operations: list[tuple[str, float, float]]) -> list[Any]:
    """Apply ``operations`` one after another (the calendar grows as they go): their outcomes."""
    trace: list[Any] = []
    for name, t, amount in operations:
        if name == "working_hours_at":
            trace.append(outcome(cal.working_hours_at, t))
        elif name == "moment_at":
            trace.append(outcome(cal.moment_at, amount))
        else:
            trace.append(outcome(getattr(cal, name), t, amount))
    return trace


shapes = st.tuples(
    st.one_of(st.sampled_from([8.0, 7.5, 24.0, 15.0, 16.0]), st.floats(0.5, 24.0)),
    st.integers(1, 7),
    st.integers(0, 6),
    st.integers(0, 40),
)


@st.composite
def moments(draw: st.DrawFn, shape: tuple[float, int, int, int]) -> float:
    """A moment: anywhere up to well past the horizon, inside a day's window, exactly on a
    day's or a window's edge (or a hair either side), or (rarely) before 0."""
    hours = shape[0]
    opening = min(9.0, 24.0 - hours) / 24.0
    day = draw(st.one_of(st.integers(0, 3), st.integers(0, 160)))
    edge = draw(
        st.sampled_from([0.0, opening, opening + hours / 24.0, opening + 0.5 * hours / 24.0])
    )
    nudge = draw(st.sampled_from([0.0, 0.0, 1e-12, -1e-12]))
    inside = day + opening + draw(st.integers(0, 10**6)) * 1e-6 * hours / 24.0
    return draw(
        st.one_of(
            st.floats(0.0, 170.0),
            st.just(inside),
            st.just(max(day + edge + nudge, 0.0)),
            st.floats(-3.0, -1e-9),
        )
    )


amounts = st.one_of(
    st.floats(-60.0, 120.0),
    st.integers(1, 10**9).map(lambda k: k * 1e-8),  # up to 10 hours, rarely a round number
    st.sampled_from([0.0, -0.0, 8.0, 24.0, 40.0, -8.0, math.nan]),
    st.integers(0, 20).map(float),
)


@st.composite
def plans(draw: st.DrawFn) -> tuple[tuple[float, int, int, int], list[tuple[str, float, float]]]:
    """A calendar's shape and a list of conversions to apply to it."""
    shape = draw(shapes)
    operations = draw(
        st.lists(
            st.tuples(st.sampled_from(CONVERSIONS[:2] + CONVERSIONS[3:]), moments(shape), amounts),
            min_size=4,
            max_size=30,
        )
    )
    return shape, operations


@pytest.mark.parametrize("kind", ["plain", "schedule", "recorded", "other numbers"])
@SETTINGS
@given(plan=plans())
def test_compiled_conversions_are_the_reference(kind: str, plan: Any) -> None:
    """Every conversion on random moments and amounts (weekends, days past the horizon, window
    edges, negative and NaN amounts, moments before 0) gives the reference's result or error, bit for
    bit, and leaves the calendar as the reference leaves it; a subclass's _works_beyond and an
    overriding working_hours_at and _moment are asked as the reference asks them, and
    cumulative hours that are ints or numpy floats (converted, not read in place) give the
    same."""
    shape, operations = plan
    compiled, reference = make("compiled", kind, shape), make("python", kind, shape)
    assert run(compiled, operations) == run(reference, operations)
    assert state(compiled) == state(reference)


@SETTINGS
@given(shape=shapes, first=st.integers(0, 60), hours=st.floats(0.0, 2000.0))
def test_compiled_moment_from_a_first_day_is_the_reference(
    shape: tuple[float, int, int, int], first: int, hours: float
) -> None:
    """_moment with a lower bound for its bisection (even one past the answer) gives the
    reference's result or error."""
    compiled, reference = make("compiled", "plain", shape), make("python", "plain", shape)
    assert outcome(compiled._moment, hours, first) == outcome(reference._moment, hours, first)
    assert state(compiled) == state(reference)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda cal: cal.working_hours_at(-0.5), ValueError, f"{BEFORE_ZERO}-0.5"),
        (lambda cal: cal.add_working_hours(-2, 1.0), ValueError, f"{BEFORE_ZERO}-2"),
        (lambda cal: cal.add_working_hours(-1e6, 1.0), ValueError, f"{BEFORE_ZERO}-1000000.0"),
        (lambda cal: cal.add_working_days(-0.25, 1.0), ValueError, f"{BEFORE_ZERO}-0.25"),
        (lambda cal: cal.moment_at(math.nan), ValueError, f"{NOT_HOURS}nan"),
        (lambda cal: cal.moment_at(-1.0), ValueError, f"{NOT_HOURS}-1.0"),
        (lambda cal: cal.add_working_hours(1.5, math.nan), ValueError, f"{NOT_HOURS}nan"),
        (lambda cal: cal.add_working_hours(0.2, -100.0), ValueError, f"{NOT_HOURS}-100.0"),
        (lambda cal: cal.working_hours_at(math.nan), ValueError, "cannot convert float NaN to integer"),
        (lambda cal: cal.add_working_hours(math.inf, 1.0), OverflowError, "cannot convert float infinity to integer"),
    ],
)  # fmt: skip
def test_compiled_conversions_refuse_as_the_reference(
    call: Callable[[WorkCalendar], float], error: type[Exception], message: str
) -> None:
    """Moments before 0, NaN or negative hours and infinite moments are refused with the
    reference's error and message."""
    for backend in ("compiled", "python"):
        with pytest.raises(error) as raised:
            call(make(backend, "plain", (8.0, 5, 0, 30)))
        assert str(raised.value) == message, f"{backend}: {raised.value}"


def test_work_calendar_runs_the_backend_conversions() -> None:
    """With the compiled engine in use WorkCalendar's conversions are the compiled functions;
    without it, the Python ones."""
    chosen = conversions(calendar_module.BACKEND)
    assert {name: WorkCalendar.__dict__[name] for name in CONVERSIONS} == chosen


@SETTINGS
@given(
    shape=shapes,
    jobs=st.lists(st.tuples(st.floats(0.0, 90.0), st.floats(0.0, 30.0)), min_size=1, max_size=30),
    staff=st.sampled_from([1.0, 1.5, 3.0]),
)
def test_compiled_station_converts_as_the_reference_calendar(
    shape: tuple[float, int, int, int], jobs: list[tuple[float, float]], staff: float
) -> None:
    """A compiled station on a WorkCalendar of the compiled conversions (its starts computed in
    C, in and out of the working window) ends every job when a Python station on the
    reference's calendar does."""
    assert ENGINE is not None

    def ends(events: Any, station_class: Any, cal: WorkCalendar) -> list[str]:
        station = station_class("s", staff, cal, events)
        ended: list[str] = []
        for at, hours in jobs:
            events.schedule(
                at, lambda h: station.arrive(h, lambda _: ended.append(events.now.hex()), 0), hours
            )
        events.run_until(400.0)
        return ended

    compiled = ends(ENGINE.EventCalendar(), ENGINE.Station, make("compiled", "plain", shape))
    reference = ends(PythonEventCalendar(), PythonStation, make("python", "plain", shape))
    assert compiled == reference


@pytest.mark.parametrize("changed", ["class", "base"])
def test_a_conversion_given_after_use_is_asked(changed: str) -> None:
    """The compiled conversions find a class's own ``working_hours_at`` once per state of the
    class (model/_engine.pyx ``CalendarState``), so one given to the class, or to its base,
    after the calendar was used is asked from the next call on; taken away, the compiled
    one runs again."""
    base = calendar_class("compiled", "plain")
    cls = type("Child", (base,), {})
    cal = cls(8.0, 5, 0, 30)
    late = 0.3 + 9.5 / 24.0  # day 0, past the window's end: the hours are converted
    plain = cal.add_working_hours(late, 3.0)
    asked: list[float] = []

    def hours_at(self: WorkCalendar, t: float) -> float:
        asked.append(t)
        return float(PYTHON_CONVERSIONS["working_hours_at"](self, t)) + 1.0

    target = cls if changed == "class" else base
    target.working_hours_at = hours_at
    try:
        shifted = cal.add_working_hours(late, 3.0)
    finally:
        if changed == "class":
            delattr(cls, "working_hours_at")
        else:
            base.working_hours_at = ENGINE.working_hours_at  # type: ignore[union-attr]
    assert asked == [late], "the class's own conversion was asked"
    assert shifted == PYTHON_CONVERSIONS["moment_at"](cal, hours_at(cal, late) + 3.0)
    assert shifted != plain
    assert cal.add_working_hours(late, 3.0) == plain, "without it, the compiled one again"
    assert len(asked) == 2  # only the call in the assertion above


def test_the_calendar_s_lists_and_numbers_are_attributes() -> None:
    """With the compiled engine, the lists and numbers the conversions read are fields of
    WorkCalendar's C base (no instance dictionary entry), read and written as attributes
    and seen by the next conversion; a day known that is not an integer is refused
    (TypeError)."""
    cal = WorkCalendar(8.0, 5, 0, 10)
    for name in ("_cum", "_working", "_starts", "_ends", "_known", "_open", "hours_per_day"):
        assert name not in cal.__dict__, name
    assert type(cal).__mro__[1] is ENGINE.CalendarState  # type: ignore[union-attr]
    assert cal.hours_per_day == 8.0 and cal._known == len(cal._working) - 1
    before, behind = cal.working_hours_at(1.5), cal._cum[1]  # day 1: 8 hours behind it
    cal._cum = [c * 2.0 for c in cal._cum]  # a subclass may replace the lists wholesale
    assert behind == 8.0 and cal.working_hours_at(1.5) == before + behind
    with pytest.raises(TypeError):
        cal._known = "many"  # type: ignore[assignment]


def test_a_calendar_pickles_as_its_attributes() -> None:
    """A calendar pickles as its attributes (the lists and numbers, and its own), without
    the look-up cache, whose version tags are this process's; the state loads into a fresh
    calendar, as a pure-Python calendar's instance dictionary does."""
    cal = WorkCalendar(8.0, 5, 0, 10)
    late = cal.add_working_hours(0.9, 3.0)
    state = cal.__getstate__()
    assert not any("flags" in name for name in state)
    assert state["_cum"] == cal._cum and state["hours_per_day"] == 8.0 and "_length" in state
    loaded = pickle.loads(pickle.dumps(cal))
    assert loaded.add_working_hours(0.9, 3.0) == late and loaded._cum == cal._cum
    fresh = WorkCalendar.__new__(WorkCalendar)
    fresh.__setstate__(dict(state))
    assert fresh.add_working_hours(0.9, 3.0) == late and fresh._known == cal._known
