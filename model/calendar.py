"""One working calendar: office hours, weekends and working-day time limits (F4.1, F4.2).

Model time is in days since the start (fractions allowed). Working time is
measured in working hours: :meth:`WorkCalendar.working_hours_at` maps a moment to
the working hours elapsed since time 0, and :meth:`moment_at` inverts it (to the
earliest moment). Service that needs ``h`` working hours and starts at ``t`` ends
at ``moment_at(working_hours_at(t) + h)``: staff work only in office hours, so
nights and weekends stretch calendar time without events.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

OPEN_HOUR = 9.0  # offices open at 9:00 (assumption)


class WorkCalendar:
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
        self.open = min(OPEN_HOUR, 24.0 - self.hours_per_day) / 24.0
        self.length = self.hours_per_day / 24.0
        days = np.arange(max(horizon_days, 7) + 1)  # a full week: _works_beyond repeats it
        self.is_working = ((start_weekday + days) % 7) < working_days_per_week
        hours = np.where(self.is_working, self.hours_per_day, 0.0)
        # cumulative working hours at the start of each day
        self._cum = np.concatenate(([0.0], np.cumsum(hours))).tolist()
        self._working = self.is_working.tolist()
        self.horizon = horizon_days
        self._known = len(self._working) - 1  # the last day known (see _extend)
        self._window_day = -1
        self._window = (1.0, 0.0)

    def _extend(self, day: int) -> None:
        """Know every day up to ``day`` (whether it is a working day, and the working hours
        before it)."""
        while day >= len(self._working):
            working = self._works_beyond(len(self._working))
            self._working.append(working)
            self._cum.append(self._cum[-1] + (self.hours_per_day if working else 0.0))
        self._known = len(self._working) - 1

    def _works_beyond(self, day: int) -> bool:
        """Whether ``day``, past the days known, is a working day: the weekly pattern."""
        return self._working[day - 7]

    def works_on(self, day: int) -> bool:
        """Whether ``day`` is a working day (beyond the horizon too)."""
        self._extend(day + 1)
        return bool(self._working[day])

    def working_hours_at(self, t: float) -> float:
        """Working hours elapsed between time 0 and moment ``t`` (days)."""
        day = int(t)
        # the next day must be known too; checked here, not by a call (several per case)
        if day >= self._known:
            self._extend(day + 1)
        base = self._cum[day]
        if not self._working[day]:
            return base
        into = (t - day - self.open) * 24.0
        if into <= 0.0:
            return base
        hours = self.hours_per_day
        return base + (into if into < hours else hours)

    def moment_at(self, hours: float) -> float:
        """The earliest moment at which ``hours`` working hours have elapsed."""
        while hours >= self._cum[-1]:
            self._extend(len(self._working) + 7)
        day = bisect_right(self._cum, hours) - 1
        # day is the last day starting with cum <= hours; it may be a non-working day
        # only when hours == cum[day], which then means "the start of the next working time"
        while not self._working[day]:
            day += 1
        return day + self.open + (hours - self._cum[day]) / 24.0

    def add_working_hours(self, t: float, hours: float) -> float:
        """Moment at which ``hours`` of work starting at ``t`` end (office hours only)."""
        # Fast path: the work ends inside the working window that ``t`` is in (most jobs);
        # the window of the last day asked about is cached.
        day = int(t)
        if day != self._window_day:
            self._window_day = day
            self._extend(day + 1)
            if self._working[day]:
                self._window = (day + self.open, day + self.open + self.length)
            else:
                self._window = (1.0, 0.0)  # empty: never taken
        start, end = self._window
        finish = t + hours / 24.0
        if start <= t and finish < end:
            return finish
        return self.moment_at(self.working_hours_at(t) + hours)

    def add_working_days(self, t: float, days: float) -> float:
        """Deadline ``days`` working days after ``t`` (F4.1 time limits)."""
        return self.moment_at(self.working_hours_at(t) + days * self.hours_per_day)

    def working_hours_between(self, start: float, end: float) -> float:
        return self.working_hours_at(end) - self.working_hours_at(start)

    def total_working_hours(self, days: int) -> float:
        """Working hours in days [0, days)."""
        self._extend(days)
        return self._cum[days]
