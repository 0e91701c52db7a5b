"""One working calendar: office hours, weekends and working-day time limits (F4.1, F4.2).

Model time is in days since the start (fractions allowed). Working time is
measured in working hours: :meth:`WorkCalendar.working_hours_at` maps a moment to
the working hours elapsed since time 0, and :meth:`moment_at` inverts it (to the
earliest moment). Service that needs ``h`` working hours and starts at ``t`` ends
at ``moment_at(working_hours_at(t) + h)``: staff work only in office hours, so
nights and weekends stretch calendar time without events.

The calendar is held as per-day lists (docs/design.md "The working calendar as
arrays"): whether each day is a working day, the working hours before it, and its
working window's start and end, so that every conversion is a few index look-ups
and one bisection. Days past the horizon are added on demand by the weekly pattern.

The scalar conversions written here are the reference; with the compiled engine
(model/_engine.pyx) ``WorkCalendar``'s methods of those names are its compiled functions,
which give the same results bit for bit (docs/design.md "Issue 11, ninth round: the
working calendar in C").
"""

from __future__ import annotations

from bisect import bisect_right
from math import floor

import numpy as np

from model.engine_backend import compiled_engine

OPEN_HOUR = 9.0  # offices open at 9:00 (assumption)
NEVER = float("inf")  # the window start of a day off: no moment is inside it

_ENGINE = compiled_engine()
# with the compiled engine, the lists and numbers the conversions read are fields of its
# CalendarState (a C struct: no dictionary look-up per read; docs/design.md "The calendar's
# state, the lifecycle's parameters and a resident's learning read in C"); the same
# attributes to Python either way
_State: type = object if _ENGINE is None else _ENGINE.CalendarState


class WorkCalendar(_State):
    """Working days and hours over a horizon of days."""

    def __init__(
        self,
        working_hours_per_day: float,
        working_days_per_week: int,
        start_weekday: int,
        horizon_days: int,
    ) -> None:
        self.hours_per_day = float(working_hours_per_day)
        # a working day longer than 24 − 9 hours opens earlier so that it ends by midnight
        self._open = min(OPEN_HOUR, 24.0 - self.hours_per_day) / 24.0
        self._length = self.hours_per_day / 24.0
        days = np.arange(max(horizon_days, 7) + 1)  # a full week: _works_beyond repeats it
        self.is_working = ((start_weekday + days) % 7) < working_days_per_week
        hours = np.where(self.is_working, self.hours_per_day, 0.0)
        # cumulative working hours at the start of each day
        self._cum = np.concatenate(([0.0], np.cumsum(hours))).tolist()
        self._working = self.is_working.tolist()
        self.horizon = horizon_days
        self._known = len(self._working) - 1  # the last day known (see _extend)
        self._windows_of: list[bool] | None = None  # the _working list the windows are for
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._windows()

    @property
    def open(self) -> float:
        """The moment in the day (days) working time starts."""
        return self._open

    @open.setter
    def open(self, value: float) -> None:
        self._open = value
        self._windows_of = None  # the windows move with the opening
        self._windows()

    @property
    def length(self) -> float:
        """The working day's length (days)."""
        return self._length

    @length.setter
    def length(self, value: float) -> None:
        self._length = value
        self._windows_of = None
        self._windows()

    def _windows(self) -> None:
        """Bring the per-day working windows ``[_starts[d], _ends[d])`` up to the days known:
        ``d + open`` to ``d + open + length`` on a working day, empty (never entered) on a day
        off. A subclass may replace ``_working`` and ``_cum`` wholesale (then, or after the
        opening hour changed, they are computed afresh)."""
        starts, ends, working = self._starts, self._ends, self._working
        if self._windows_of is not working:
            starts.clear()
            ends.clear()
            self._windows_of = working
        open_, length = self._open, self._length
        for day in range(len(starts), len(working)):
            if working[day]:
                starts.append(day + open_)
                ends.append(day + open_ + length)
            else:
                starts.append(NEVER)
                ends.append(-NEVER)
        self._vector_lists = None  # the lists changed (or may have): made again when asked

    def _extend(self, day: int) -> None:
        """Know every day up to ``day`` (whether it is a working day, the working hours
        before it, its window)."""
        while day >= len(self._working):
            working = self._works_beyond(len(self._working))
            self._working.append(working)
            self._cum.append(self._cum[-1] + (self.hours_per_day if working else 0.0))
        self._known = len(self._working) - 1
        self._windows()

    def _works_beyond(self, day: int) -> bool:
        """Whether ``day``, past the days known, is a working day: the weekly pattern."""
        return self._working[day - 7]

    def works_on(self, day: int) -> bool:
        """Whether ``day`` is a working day (beyond the horizon too)."""
        self._extend(day + 1)
        return bool(self._working[day])

    def working_hours_at(self, t: float) -> float:
        """Working hours elapsed between time 0 and moment ``t`` (days, ≥ 0)."""
        # ``floor``, not ``int``: the same day for t ≥ 0 at a third of the cost (a builtin
        # function, where ``int(t)`` is a call of the type; issue 11, eighth round)
        day = floor(t)
        # the next day must be known too; checked here, not by a call (several per case)
        if day >= self._known:
            self._extend(day + 1)
        elif day < 0:
            raise ValueError(f"a moment must be a time ≥ 0 (days), got {t}")
        base = self._cum[day]
        if not self._working[day]:
            return base
        into = (t - day - self._open) * 24.0
        if into <= 0.0:
            return base
        hours = self.hours_per_day
        return base + (into if into < hours else hours)

    def moment_at(self, hours: float) -> float:
        """The earliest moment at which ``hours`` working hours have elapsed."""
        if not hours >= 0.0:
            raise ValueError(f"working hours elapsed must be a number ≥ 0, got {hours}")
        return self._moment(hours, 0)

    def _moment(self, hours: float, first: int) -> float:
        """:meth:`moment_at`, knowing that day ``first`` starts with at most ``hours`` behind it."""
        cum = self._cum
        while hours >= cum[-1]:
            self._extend(len(self._working) + 7)
        # day is the last day starting with cum <= hours; the next day starts with more
        # hours behind it, so day has working hours: a working day, whose window starts at
        # day + open
        day = bisect_right(cum, hours, first) - 1
        return self._starts[day] + (hours - cum[day]) / 24.0

    def add_working_hours(self, t: float, hours: float) -> float:
        """Moment at which ``hours`` of work starting at ``t`` (≥ 0) end (office hours only)."""
        day = floor(t)  # a moment before 0 (day −1) is refused by working_hours_at below
        try:
            start = self._starts[day]
        except IndexError:
            if day < 0:  # far enough before 0 that the lists' end does not reach it
                raise ValueError(f"a moment must be a time ≥ 0 (days), got {t}") from None
            self._extend(day + 1)
            start = self._starts[day]
        finish = t + hours / 24.0
        # the work ends inside the working window that ``t`` is in (most jobs)
        if start <= t and finish < self._ends[day]:
            return finish
        if hours >= 0.0:
            return self._moment(self.working_hours_at(t) + hours, day)
        return self.moment_at(self.working_hours_at(t) + hours)

    def add_working_days(self, t: float, days: float) -> float:
        """Deadline ``days`` working days after ``t`` (F4.1 time limits)."""
        hours = self.working_hours_at(t) + days * self.hours_per_day
        return self._moment(hours, floor(t) if days >= 0.0 else 0)

    def working_hours_between(self, start: float, end: float) -> float:
        return self.working_hours_at(end) - self.working_hours_at(start)

    def total_working_hours(self, days: int) -> float:
        """Working hours in days [0, days)."""
        self._extend(days)
        return self._cum[days]

    # ---------------------------------------------------- vector forms (issue 11, step 2)
    # The conversions above for a whole array of moments at once, for a day's new cases
    # (Casework._create): the same float operations in the same order, element by element,
    # so that every result is the scalar form's bit for bit (tests/test_calendar_vector.py).
    # the per-day lists as numpy arrays; None once _windows changed the lists
    _vector_lists: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def _vectors(self, last_day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The per-day lists (cumulative hours, working, window starts and ends) as numpy
        arrays, knowing every day up to ``last_day + 1``; made again only after the lists
        grew, were replaced (a subclass's) or the window moved (every one of which goes
        through :meth:`_windows`)."""
        if last_day >= self._known:
            self._extend(last_day + 1)
        if self._vector_lists is None:
            self._vector_lists = (
                np.array(self._cum, dtype=np.float64),
                np.array(self._working, dtype=bool),
                np.array(self._starts, dtype=np.float64),
                np.array(self._ends, dtype=np.float64),
            )
        return self._vector_lists

    def working_hours_at_array(self, t: np.ndarray) -> np.ndarray:
        """:meth:`working_hours_at` of every moment of ``t`` (days ≥ 0)."""
        _refuse_before_zero(t)
        day = t.astype(np.intp)  # truncation: the floor, for moments ≥ 0
        cum, working, _, _ = self._vectors(int(day.max()) if day.size else 0)
        base = cum[day]
        into = (t - day - self._open) * 24.0
        # base + the hours into the window (at most a day's), where the day works and the
        # moment is past the opening; base + 0.0 is base
        return base + np.where(
            working[day] & (into > 0.0), np.minimum(into, self.hours_per_day), 0.0
        )

    def _moment_array(self, hours: np.ndarray) -> np.ndarray:
        """:meth:`_moment` of every element of ``hours`` (each ≥ the hours before its
        starting day, as the scalar form's callers ensure, so the bisection needs no lower
        bound)."""
        while hours.size and hours.max() >= self._cum[-1]:
            self._extend(len(self._working) + 7)
        cum, _, starts, _ = self._vectors(0)
        day = np.searchsorted(cum, hours, side="right") - 1
        return starts[day] + (hours - cum[day]) / 24.0

    def add_working_hours_array(self, t: np.ndarray, hours: float | np.ndarray) -> np.ndarray:
        """:meth:`add_working_hours` of every moment of ``t`` (days ≥ 0), for ``hours`` ≥ 0
        (one number or one per moment)."""
        if _negative(hours):
            raise ValueError(f"add_working_hours_array takes working hours ≥ 0, got {hours}")
        _refuse_before_zero(t)
        day = t.astype(np.intp)  # truncation: the floor, for moments ≥ 0
        _, _, starts, ends = self._vectors(int(day.max()) if day.size else 0)
        finish = t + hours / 24.0
        # inside the working window that t is in, the work ends at t + hours; else the
        # moment the working hours at t plus these have elapsed
        inside = (starts[day] <= t) & (finish < ends[day])
        if inside.all():
            return finish
        later = self._moment_array(self.working_hours_at_array(t) + hours)
        return np.where(inside, finish, later)

    def add_working_days_array(self, t: np.ndarray, days: float | np.ndarray) -> np.ndarray:
        """:meth:`add_working_days` of every moment of ``t`` (days ≥ 0), for ``days`` ≥ 0 (one
        number or one per moment)."""
        if _negative(days):
            raise ValueError(f"add_working_days_array takes working days ≥ 0, got {days}")
        return self._moment_array(self.working_hours_at_array(t) + days * self.hours_per_day)


CONVERSIONS = ("working_hours_at", "moment_at", "_moment", "add_working_hours", "add_working_days")
"""WorkCalendar's scalar conversions that model/_engine.pyx compiles."""
PYTHON_CONVERSIONS = {name: WorkCalendar.__dict__[name] for name in CONVERSIONS}
"""The conversions as written above: the reference, and what runs without the compiled engine."""


def _use_compiled_conversions() -> str:
    """Make the compiled conversions WorkCalendar's methods when the compiled engine is in use;
    which ones run: ``"compiled"`` or ``"python"``. A subclass's own methods stay its own, and
    the compiled ones call them where the reference would (``_extend``, ``_works_beyond``, an
    overriding ``working_hours_at`` or ``_moment``)."""
    if _ENGINE is None:
        return "python"
    for name in CONVERSIONS:
        setattr(WorkCalendar, name, getattr(_ENGINE, name))
    return "compiled"


BACKEND = _use_compiled_conversions()
"""Which conversions WorkCalendar's methods are: ``"compiled"`` (model/_engine.pyx) or ``"python"``."""


def _negative(value: float | np.ndarray) -> bool:
    """Whether a number, or any element of an array, is below 0 or NaN (not ≥ 0)."""
    if isinstance(value, np.ndarray):
        return not bool((value >= 0.0).all())
    return not value >= 0.0


def _refuse_before_zero(t: np.ndarray) -> None:
    """A moment before 0 or NaN would read the per-day lists from their end (or fail on the
    index): refused by name, as the scalar forms refuse it."""
    if t.size and not t.min() >= 0.0:
        raise ValueError(f"a moment must be a time ≥ 0 (days), got {t[~(t >= 0.0)][0]}")
