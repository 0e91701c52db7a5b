"""The working calendar held as per-day lists gives, bit for bit, what a plain day-by-day
calendar computes (docs/design.md "The working calendar as arrays")."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.calendar import OPEN_HOUR, WorkCalendar
from model.mediation import SCHEDULE_PERIOD_DAYS, ScheduleCalendar

EQUIVALENCE_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)


class PlainCalendar:
    """The reference: every conversion walks the days one by one, with the float operations
    the calendar has always used (working hours summed day after day; a job that ends in the
    window it starts in ends at ``t + hours / 24``; otherwise at the earliest moment its
    working hours have elapsed)."""

    def __init__(self, hours_per_day: float, days_per_week: int, start_weekday: int) -> None:
        self.hours_per_day = float(hours_per_day)
        self.days_per_week = days_per_week
        self.start_weekday = start_weekday
        self.open = min(OPEN_HOUR, 24.0 - self.hours_per_day) / 24.0
        self.length = self.hours_per_day / 24.0
        self._cum = [0.0]  # working hours before each day, summed one day after another

    def works_on(self, day: int) -> bool:
        return (self.start_weekday + day) % 7 < self.days_per_week

    def cum(self, day: int) -> float:
        while len(self._cum) <= day:
            last = len(self._cum) - 1
            self._cum.append(self._cum[-1] + (self.hours_per_day if self.works_on(last) else 0.0))
        return self._cum[day]

    def working_hours_at(self, t: float) -> float:
        day = int(t)
        base = self.cum(day)
        if not self.works_on(day):
            return base
        into = (t - day - self.open) * 24.0
        if into <= 0.0:
            return base
        return base + min(into, self.hours_per_day)

    def moment_at(self, hours: float) -> float:
        day = 0
        while self.cum(day + 1) <= hours:  # the last day that starts with at most ``hours``
            day += 1
        return day + self.open + (hours - self.cum(day)) / 24.0

    def add_working_hours(self, t: float, hours: float) -> float:
        day = int(t)
        finish = t + hours / 24.0
        start = day + self.open
        if self.works_on(day) and start <= t and finish < start + self.length:
            return finish
        return self.moment_at(self.working_hours_at(t) + hours)

    def add_working_days(self, t: float, days: float) -> float:
        return self.moment_at(self.working_hours_at(t) + days * self.hours_per_day)


@st.composite
def calendar_pairs(draw: st.DrawFn) -> tuple[WorkCalendar, PlainCalendar]:
    """The same calendar twice: short horizons, whole and fractional days, opening moved."""
    hours = draw(st.one_of(st.sampled_from([8.0, 7.5, 24.0, 7.3, 0.5]), st.floats(0.5, 24.0)))
    days = draw(st.integers(1, 7))
    weekday = draw(st.integers(0, 6))
    horizon = draw(st.integers(1, 40))
    fast, plain = WorkCalendar(hours, days, weekday, horizon), PlainCalendar(hours, days, weekday)
    if draw(st.booleans()):  # an opening moved after construction, as long as the day fits
        fast.open = plain.open = draw(st.sampled_from([0.0, 2.0, 6.5])) * (hours < 17.5) / 24.0
    return fast, plain


@st.composite
def moments(draw: st.DrawFn, cal: PlainCalendar) -> float:
    """A moment: anywhere, or exactly on a window's opening or closing edge, or midnight."""
    day = draw(st.integers(0, 120))
    edge = draw(st.sampled_from(["any", "open", "close", "midnight", "inside"]))
    if edge == "open":
        return day + cal.open
    if edge == "close":
        return day + cal.open + cal.length
    if edge == "midnight":
        return float(day)
    if edge == "inside":
        return day + cal.open + draw(st.floats(0.0, 1.0)) * cal.length
    return day + draw(st.floats(0.0, 1.0, exclude_max=True))


hour_amounts = st.one_of(
    st.just(0.0),
    st.floats(0.0, 2.0),
    st.floats(0.0, 40.0),
    st.floats(0.0, 500.0),
    st.integers(0, 10).map(float),
)


def same(a: float, b: float) -> bool:
    """Bit-for-bit equal floats."""
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


@EQUIVALENCE_SETTINGS
@given(data=st.data(), pair=calendar_pairs(), hours=hour_amounts)
def test_add_working_hours_as_the_plain_calendar(
    data: st.DataObject, pair: tuple[WorkCalendar, PlainCalendar], hours: float
) -> None:
    """add_working_hours equals the plain calendar's moment to the bit, edges and horizon too."""
    fast, plain = pair
    for _ in range(5):
        t = data.draw(moments(plain))
        got, want = fast.add_working_hours(t, hours), plain.add_working_hours(t, hours)
        assert same(got, want), f"{hours} h from {t}: {got!r}, plain {want!r}"


@EQUIVALENCE_SETTINGS
@given(
    data=st.data(),
    pair=calendar_pairs(),
    days=st.one_of(st.integers(0, 30).map(float), st.floats(0.0, 30.0), st.just(0.5)),
)
def test_add_working_days_as_the_plain_calendar(
    data: st.DataObject, pair: tuple[WorkCalendar, PlainCalendar], days: float
) -> None:
    """add_working_days (whole and fractional days) equals the plain calendar's deadline."""
    fast, plain = pair
    for _ in range(5):
        t = data.draw(moments(plain))
        got, want = fast.add_working_days(t, days), plain.add_working_days(t, days)
        assert same(got, want), f"{days} working days from {t}: {got!r}, plain {want!r}"


@EQUIVALENCE_SETTINGS
@given(data=st.data(), pair=calendar_pairs(), hours=hour_amounts)
def test_conversions_as_the_plain_calendar(
    data: st.DataObject, pair: tuple[WorkCalendar, PlainCalendar], hours: float
) -> None:
    """The other conversions equal the plain calendar's to the bit, days off and horizon too."""
    fast, plain = pair
    t = data.draw(moments(plain))
    assert same(fast.working_hours_at(t), plain.working_hours_at(t)), f"working hours at {t}"
    assert same(fast.moment_at(hours), plain.moment_at(hours)), f"moment of {hours} h"
    day = data.draw(st.integers(0, 150))
    assert fast.works_on(day) == plain.works_on(day), f"whether day {day} is a working day"
    assert same(fast.total_working_hours(day), plain.cum(day)), f"working hours before {day}"


def test_moving_the_opening_moves_the_windows() -> None:
    """Setting ``open`` after construction moves every day's window, known and later days."""
    cal = WorkCalendar(8.0, 7, 0, horizon_days=3)
    assert cal.add_working_hours(2.0, 1.0) == 2.0 + OPEN_HOUR / 24.0 + 1.0 / 24.0, "9:00 opening"
    cal.open = 0.0
    assert cal.add_working_hours(2.0, 1.0) == 2.0 + 1.0 / 24.0, "known day, window from 0:00"
    assert cal.add_working_hours(50.0, 1.0) == 50.0 + 1.0 / 24.0, "day past the horizon"
    assert cal.add_working_hours(2.0 + 9.0 / 24.0, 1.0) == 3.0 + 1.0 / 24.0, "after 8:00, tomorrow"


def test_a_negative_or_missing_amount_of_working_hours_is_refused() -> None:
    """``moment_at`` of a negative or NaN total names the value instead of a wrong moment."""
    cal = WorkCalendar(8.0, 5, 0, horizon_days=10)
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="≥ 0"):
            cal.moment_at(bad)


class PlainSchedule(PlainCalendar):
    """The reference of a profession's sitting days: ``days`` of the base calendar's working
    days in every four-week month, spread evenly and shifted by ``offset``."""

    def __init__(self, base: PlainCalendar, days: int, offset: int) -> None:
        super().__init__(base.hours_per_day, 7, 0)
        self.open, self.length = base.open, base.length
        self.base, self.days, self.offset = base, days, offset

    def works_on(self, day: int) -> bool:
        start = day - day % SCHEDULE_PERIOD_DAYS
        month = [d for d in range(start, start + SCHEDULE_PERIOD_DAYS) if self.base.works_on(d)]
        if day not in month:
            return False
        k = (month.index(day) + self.offset) % len(month)
        return (k * self.days) % len(month) < self.days


@EQUIVALENCE_SETTINGS
@given(
    data=st.data(),
    pair=calendar_pairs(),
    days=st.integers(1, 12),
    offset=st.integers(0, 6),
    hours=hour_amounts,
)
def test_a_schedule_calendar_as_the_plain_schedule(
    data: st.DataObject,
    pair: tuple[WorkCalendar, PlainCalendar],
    days: int,
    offset: int,
    hours: float,
) -> None:
    """ScheduleCalendar's conversions equal the plain schedule's to the bit, past the horizon."""
    base, plain_base = pair
    fast, plain = ScheduleCalendar(base, days, offset), PlainSchedule(plain_base, days, offset)
    for _ in range(4):
        t = data.draw(moments(plain))
        assert same(fast.add_working_hours(t, hours), plain.add_working_hours(t, hours)), (
            f"{hours} h from {t}"
        )
        assert same(fast.add_working_days(t, 1.5), plain.add_working_days(t, 1.5)), (
            f"1.5 working days from {t}"
        )
        assert same(fast.working_hours_at(t), plain.working_hours_at(t)), f"hours at {t}"


def test_a_moment_before_time_zero_is_refused() -> None:
    """A negative moment names itself (the day of the moment is its floor, so it would read
    the lists from their end) instead of giving a wrong moment."""
    cal = WorkCalendar(8.0, 5, 0, horizon_days=10)
    for call in (
        lambda: cal.working_hours_at(-0.25),
        lambda: cal.add_working_hours(-0.25, 2.0),
        lambda: cal.add_working_hours(-3.5, 0.0),
        lambda: cal.add_working_days(-0.25, 2.0),
        lambda: cal.add_working_hours(-1000.5, 2.0),
    ):
        with pytest.raises(ValueError, match="moment must be a time ≥ 0"):
            call()
