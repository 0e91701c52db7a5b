"""The working calendar: office hours, weekends and working-day time limits (F4.1, F4.2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.calendar import OPEN_HOUR, WorkCalendar

HOUR = 1.0 / 24.0
MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
NEXT_MONDAY = 7
TOLERANCE = 1e-9  # hours (floating-point round-off of the day/hour conversions)


def office() -> WorkCalendar:
    """The default calendar: 8 working hours from 9:00, Monday to Friday, day 0 a Monday."""
    return WorkCalendar(8.0, 5, 0, horizon_days=30)


def at(day: int, hour: float) -> float:
    """Model time (days) of ``hour`` o'clock on ``day``."""
    return day + hour * HOUR


calendars = st.builds(
    WorkCalendar,
    working_hours_per_day=st.floats(min_value=0.5, max_value=24.0),
    working_days_per_week=st.integers(min_value=1, max_value=7),
    start_weekday=st.integers(min_value=0, max_value=6),
    horizon_days=st.integers(min_value=1, max_value=60),
)
moments = st.floats(min_value=0.0, max_value=200.0)
hour_amounts = st.floats(min_value=0.0, max_value=1000.0)
CALENDAR_SETTINGS = settings(max_examples=100, deadline=None, derandomize=True)


def test_working_hours_count_only_office_time() -> None:
    """Working hours grow only between 9:00 and 17:00 on weekdays and stand still otherwise."""
    cal = office()
    assert cal.working_hours_at(at(MONDAY, 8.0)) == 0.0, "nothing is worked before opening"
    assert cal.working_hours_at(at(MONDAY, 12.0)) == pytest.approx(3.0), "9:00-12:00 is 3 hours"
    assert cal.working_hours_at(at(MONDAY, 20.0)) == pytest.approx(8.0), "a full day is 8 hours"
    friday_close = cal.working_hours_at(at(FRIDAY, 17.0))
    assert friday_close == pytest.approx(40.0), "Monday-Friday is 40 hours"
    for moment in (at(SATURDAY, 12.0), at(SUNDAY, 23.0), at(NEXT_MONDAY, 9.0)):
        assert cal.working_hours_at(moment) == pytest.approx(40.0), (
            f"weekend moment {moment} adds no hours"
        )


def test_add_working_hours_within_a_day() -> None:
    """Two hours of work started at 10:00 end at 12:00 the same day."""
    assert office().add_working_hours(at(TUESDAY, 10.0), 2.0) == pytest.approx(at(TUESDAY, 12.0)), (
        "expected 12:00 the same day"
    )


def test_add_working_hours_across_the_evening() -> None:
    """Two hours of work started at 16:30 end at 10:30 the next working morning."""
    assert office().add_working_hours(at(MONDAY, 16.5), 2.0) == pytest.approx(at(TUESDAY, 10.5)), (
        "expected Tuesday 10:30"
    )


def test_add_working_hours_across_the_weekend() -> None:
    """Work left on Friday afternoon, or started on Saturday, continues on Monday."""
    cal = office()
    assert cal.add_working_hours(at(FRIDAY, 16.0), 2.0) == pytest.approx(at(NEXT_MONDAY, 10.0)), (
        "Friday 16:00 + 2 h should end Monday 10:00"
    )
    assert cal.add_working_hours(at(SATURDAY, 12.0), 1.0) == pytest.approx(at(NEXT_MONDAY, 10.0)), (
        "Saturday + 1 h should end Monday 10:00"
    )


def test_zero_hours_means_next_working_moment() -> None:
    """Adding no work outside office hours gives the next opening (used for in-person intake)."""
    cal = office()
    assert cal.add_working_hours(at(MONDAY, 18.0), 0.0) == pytest.approx(at(TUESDAY, OPEN_HOUR)), (
        "Monday evening + 0 h should be Tuesday's opening"
    )
    assert cal.add_working_hours(at(SATURDAY, 3.0), 0.0) == pytest.approx(
        at(NEXT_MONDAY, OPEN_HOUR)
    ), "Saturday + 0 h should be Monday's opening"
    assert cal.add_working_hours(at(WEDNESDAY, 11.0), 0.0) == pytest.approx(at(WEDNESDAY, 11.0)), (
        "inside office hours + 0 h should be the same moment"
    )


def test_add_working_days_deadlines() -> None:
    """Time limits in working days skip weekends (F4.1: inquiry 3, help 7, complaint 15)."""
    cal = office()
    assert cal.add_working_days(at(MONDAY, 10.0), 3) == pytest.approx(at(THURSDAY, 10.0)), (
        "Monday + 3 working days should be Thursday"
    )
    assert cal.add_working_days(at(WEDNESDAY, 10.0), 3) == pytest.approx(at(NEXT_MONDAY, 10.0)), (
        "Wednesday + 3 working days should skip the weekend to Monday"
    )
    assert cal.add_working_days(at(MONDAY, 10.0), 15) == pytest.approx(at(21, 10.0)), (
        "15 working days are three calendar weeks"
    )
    saturday = at(SATURDAY, 12.0)
    deadline = cal.add_working_days(saturday, 1)
    assert cal.working_hours_between(saturday, deadline) == pytest.approx(8.0), (
        "one working day from Saturday is one day's hours"
    )
    assert at(NEXT_MONDAY, 17.0) - 1e-9 <= deadline <= at(8, OPEN_HOUR) + 1e-9, (
        f"one working day from Saturday should end Monday evening, got {deadline}"
    )


def test_weekly_pattern_continues_beyond_the_horizon() -> None:
    """Asking beyond the horizon keeps the weekly pattern instead of failing."""
    cal = WorkCalendar(8.0, 5, 0, horizon_days=3)
    assert cal.working_hours_at(at(14, 12.0)) == pytest.approx(10 * 8.0 + 3.0), (
        "two full weeks plus 3 hours expected"
    )
    assert cal.moment_at(10 * 8.0 + 3.0) == pytest.approx(at(14, 12.0)), (
        "the inverse beyond the horizon"
    )
    assert cal.total_working_hours(28) == pytest.approx(20 * 8.0), "four weeks of 5 days"


def test_start_weekday_shifts_the_weekend() -> None:
    """A run that starts on Saturday has its first working hour on day 2 (Monday)."""
    cal = WorkCalendar(8.0, 5, SATURDAY, horizon_days=10)
    assert cal.working_hours_at(at(1, 23.0)) == 0.0, "Saturday and Sunday add nothing"
    assert cal.moment_at(0.0) == pytest.approx(at(2, OPEN_HOUR)), "work starts on Monday = day 2"


def test_round_the_clock_calendar_is_calendar_time() -> None:
    """With 24 working hours on 7 days a week, working time equals calendar time."""
    cal = WorkCalendar(24.0, 7, 0, horizon_days=10)
    for t in (0.0, 0.2, 0.5, 0.99, 1.0, 3.7, 25.25):
        assert cal.working_hours_at(t) == pytest.approx(24.0 * t), (
            f"working hours at {t} should be 24 t"
        )
        assert cal.moment_at(24.0 * t) == pytest.approx(t), f"moment of {24 * t} h should be {t}"
    assert cal.add_working_hours(0.5, 20.0) == pytest.approx(0.5 + 20.0 * HOUR), "no closed hours"


@CALENDAR_SETTINGS
@given(cal=calendars, hours=hour_amounts)
def test_round_trip_hours(cal: WorkCalendar, hours: float) -> None:
    """working_hours_at(moment_at(h)) == h for any calendar and any h >= 0."""
    moment = cal.moment_at(hours)
    assert cal.working_hours_at(moment) == pytest.approx(hours, abs=TOLERANCE), (
        f"round trip of {hours} h gave {cal.working_hours_at(moment)} h at moment {moment}"
    )


@CALENDAR_SETTINGS
@given(cal=calendars, hours=hour_amounts)
def test_moment_is_in_working_time(cal: WorkCalendar, hours: float) -> None:
    """moment_at always returns a moment inside (or at the edge of) a working day's hours."""
    moment = cal.moment_at(hours)
    day = int(moment)
    cal.working_hours_at(moment)  # extends the pattern up to that day
    assert cal._working[day], f"moment {moment} falls on a non-working day"
    into = (moment - day) * 24.0
    opening = cal.open * 24.0
    assert opening - TOLERANCE <= into <= opening + cal.hours_per_day + TOLERANCE, (
        f"moment {moment} is at {into:.4f} h, outside {opening}-{opening + cal.hours_per_day} h"
    )


@CALENDAR_SETTINGS
@given(cal=calendars, a=moments, b=moments)
def test_working_hours_monotone(cal: WorkCalendar, a: float, b: float) -> None:
    """Later moments never have fewer working hours behind them."""
    early, late = min(a, b), max(a, b)
    assert cal.working_hours_at(early) <= cal.working_hours_at(late) + TOLERANCE, (
        f"working hours decrease between {early} and {late}"
    )


@CALENDAR_SETTINGS
@given(cal=calendars, a=hour_amounts, b=hour_amounts)
def test_moment_at_monotone(cal: WorkCalendar, a: float, b: float) -> None:
    """More working hours never map to an earlier moment."""
    low, high = min(a, b), max(a, b)
    assert cal.moment_at(low) <= cal.moment_at(high) + TOLERANCE, (
        f"moment_at decreases between {low} h and {high} h"
    )


@CALENDAR_SETTINGS
@given(cal=calendars, t=moments, hours=st.floats(min_value=0.0, max_value=200.0))
def test_add_working_hours_adds_exactly(cal: WorkCalendar, t: float, hours: float) -> None:
    """add_working_hours never goes back in time and adds exactly the requested working hours."""
    end = cal.add_working_hours(t, hours)
    assert end >= t - TOLERANCE, f"work started at {t} ends earlier, at {end}"
    assert cal.working_hours_between(t, end) == pytest.approx(hours, abs=1e-7), (
        f"{hours} h of work from {t} span {cal.working_hours_between(t, end)} working hours"
    )


@CALENDAR_SETTINGS
@given(cal=calendars, t=moments, days=st.integers(min_value=0, max_value=30))
def test_add_working_days_is_days_of_hours(cal: WorkCalendar, t: float, days: int) -> None:
    """A deadline d working days ahead spans d × working_hours_per_day working hours."""
    deadline = cal.add_working_days(t, days)
    assert deadline >= t - TOLERANCE, f"deadline {deadline} precedes its start {t}"
    assert cal.working_hours_between(t, deadline) == pytest.approx(
        days * cal.hours_per_day, abs=1e-7
    ), f"{days} working days from {t} span {cal.working_hours_between(t, deadline)} h"
