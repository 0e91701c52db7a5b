"""The time limits kept by day (model/deadline_days.py) give the cases due in the order, and
at the moments, a heap of (deadline, case) tuples gave them (issue 11, thirty-second round)."""

from __future__ import annotations

import heapq
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.scenario_files import load_scenario
from model.deadline_days import DeadlineDays
from model.governance import GovernanceModel

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

# deadlines on a few days, often equal (ties broken by the case), checks at whole days and
# within a day
_DEADLINE = st.one_of(
    st.floats(min_value=0.0, max_value=6.0, allow_nan=False),
    st.sampled_from([0.0, 1.0, 1.5, 2.0, 2.25, 3.999999999999999]),
)
_STEP = st.one_of(
    st.tuples(st.just("add"), _DEADLINE, st.integers(min_value=0, max_value=20)),
    st.tuples(st.just("due"), st.floats(min_value=0.0, max_value=7.0, allow_nan=False)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_STEP, max_size=60))
def test_cases_come_due_as_from_a_heap(steps: list[tuple]) -> None:
    days = DeadlineDays()
    heap: list[tuple[float, int]] = []
    for step in steps:
        if step[0] == "add":
            _, deadline, case = step
            days.add(deadline, case)
            heapq.heappush(heap, (deadline, case))
        else:
            now = step[1]
            expected = []
            while heap and heap[0][0] < now:
                expected.append(heapq.heappop(heap)[1])
            assert days.pop_due(now) == expected
        assert days.entries() == sorted(heap)
        assert len(days) == len(heap)


def test_a_day_checked_within_it_keeps_its_later_cases() -> None:
    days = DeadlineDays()
    for deadline, case in [(2.75, 1), (2.25, 2), (2.5, 3), (1.9, 4), (2.25, 0)]:
        days.add(deadline, case)
    assert days.pop_due(2.5) == [4, 0, 2]
    assert days.entries() == [(2.5, 3), (2.75, 1)]
    assert days.pop_due(2.5) == []
    assert days.pop_due(3.0) == [3, 1]
    assert days.days == {}


@pytest.mark.parametrize("deadline", [math.inf, -math.inf, math.nan])
def test_a_deadline_that_is_not_a_number_is_never_due(deadline: float) -> None:
    days = DeadlineDays()
    days.add(deadline, 7)
    days.add(1.0, 8)
    assert days.pop_due(math.inf) == [8]
    assert len(days) == 0


def test_the_compiled_lifecycle_notes_deadlines_by_the_same_rule() -> None:
    """The compiled lifecycle appends to the lists by :meth:`DeadlineDays.add`'s rule (its
    steps are compared with the pure-Python ones' in tests/test_lifecycle_twins.py)."""
    model = GovernanceModel(load_scenario(SCENARIOS / "classroom.toml").parameters, seed=3)
    for _ in range(12):
        model.step()
    days = model.casework.deadlines.days
    assert days, "a classroom run's first days register cases with a time limit"
    for day, entries in days.items():
        assert type(day) is int
        assert all(math.floor(deadline) == day for deadline, _ in entries)
        assert all(type(case) is int for _, case in entries)
