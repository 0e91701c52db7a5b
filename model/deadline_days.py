"""The time limits of residents' open cases, kept by day for the daily urging check (催办, F9.4).

Every case a resident reported has its time limit noted when it is registered
(:mod:`model.lifecycle`); at the end of each day :meth:`model.casework.Casework.urge_overdue`
takes the cases whose limit has passed and asks the residents of those still open whether
they call to urge them. The cases come out in the order of (limit, case row), the order a
heap of ``(deadline, case)`` tuples pops them in.

Kept by day rather than as that heap (issue 11, thirty-second round): a heap's pop compares
tuples made days before, one pair per level, each a read of memory long out of the cache —
≈ 1.7 µs a pop at district scale, 0.65 ms of a district day for its ≈ 370 cases due. A day's
list is appended to as cases are registered and sorted once when it falls due.
"""

from __future__ import annotations

import math


class DeadlineDays:
    """``(deadline, case)`` of residents' open cases, in lists by the deadline's day.

    ``days[d]`` holds the entries whose deadline is in ``[d, d + 1)``, in the order they were
    added; the compiled lifecycle appends to it with :meth:`add`'s rule. A deadline that is not
    a finite number is never due (no urging check reaches it) and is not kept.
    """

    __slots__ = ("days",)

    def __init__(self) -> None:
        self.days: dict[int, list[tuple[float, int]]] = {}

    def add(self, deadline: float, case: int) -> None:
        """Note that ``case``'s time limit is ``deadline``."""
        if not math.isfinite(deadline):
            return
        day = math.floor(deadline)
        entries = self.days.get(day)
        if entries is None:
            self.days[day] = [(deadline, case)]
        else:
            entries.append((deadline, case))

    def pop_due(self, now: float) -> list[int]:
        """The cases whose deadline is before ``now``, in (deadline, case) order; forgotten."""
        days = self.days
        due: list[int] = []
        for day in sorted(day for day in days if day < now):
            entries = days.pop(day)
            if day + 1 > now:  # the day ``now`` falls in: only its entries before ``now``
                later = [entry for entry in entries if not entry[0] < now]
                if later:
                    days[day] = later
                    entries = [entry for entry in entries if entry[0] < now]
            entries.sort()
            due += [case for _, case in entries]
        return due

    def entries(self) -> list[tuple[float, int]]:
        """Every ``(deadline, case)`` kept, in order."""
        return sorted(entry for entries in self.days.values() for entry in entries)

    def __len__(self) -> int:
        return sum(len(entries) for entries in self.days.values())
