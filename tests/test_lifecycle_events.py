"""The case lifecycle's cheaper hops (issue 11, seventh round) keep its behaviour: units made
once are the same values, the hand-off test by a unit's fields agrees with Unit equality, and
the callbacks bound once are still recognised as the case jobs they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.scenario_files import load_scenario
from model.casework import Casework
from model.governance import GovernanceModel
from model.lifecycle import Progress
from model.policies.base import Route, Stage, Unit, Visit

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
OFFICES = ("centre", "street", "community")


def _classroom_after_12_days() -> GovernanceModel:
    """The classroom scenario after 12 days: cases in progress and in queues."""
    parameters = load_scenario(SCENARIOS / "classroom.toml").parameters
    built = GovernanceModel(parameters, seed=3)
    for _ in range(12):
        built.step()
    return built


@pytest.fixture(scope="module")
def model() -> GovernanceModel:
    """A classroom model that no test changes."""
    return _classroom_after_12_days()


@pytest.fixture(scope="module")
def handoff_model() -> GovernanceModel:
    """A classroom model of its own for the test that injects stages (its jobs stay)."""
    return _classroom_after_12_days()


def _office(casework: Casework, level: str) -> int:
    """How many offices of ``level`` the model has."""
    units = casework.units
    return {"centre": 1, "street": len(units.streets), "community": len(units.communities)}[level]


@settings(max_examples=40, deadline=None)
@given(
    keys=st.lists(st.tuples(st.sampled_from(("grid", "department", *OFFICES)), st.integers(0, 5)))
)
def test_units_made_once_are_the_same_values(model: GovernanceModel, keys) -> None:
    """Casework._unit gives the Unit of (level, index), the same object each time it is asked."""
    casework = model.casework
    for level, index in keys:
        unit = casework._unit(level, index)
        assert unit == Unit(level, index) and type(unit) is Unit, f"the Unit of {level} {index}"
        assert casework._unit(level, index) is unit, "made once"


@pytest.mark.parametrize("index", [0, 7, 65_535, 65_536, 10**30, -1, np.int64(3), True])
def test_units_are_made_again_when_the_units_made_change(index: object) -> None:
    """A unit is ``_units_made``'s entry, whatever was asked before: after the dictionary
    is cleared the unit is made (and kept) again, an entry put in by hand is the one
    given, and a dictionary put in its place is the one read — for indexes the compiled
    lifecycle reads from its lists by level (small ints) and for any other index."""
    casework = _classroom_after_12_days().casework
    first = casework._unit("grid", index)
    assert first == Unit("grid", index) and casework._unit("grid", index) is first
    casework._units_made.clear()
    again = casework._unit("grid", index)
    assert again == first and casework._units_made[("grid", index)] is again
    mine = Unit("grid", index)
    casework._units_made[("grid", index)] = mine
    assert casework._unit("grid", index) is mine
    other = Unit("grid", index)
    casework._units_made = {("grid", index): other}
    assert casework._unit("grid", index) is other
    assert casework._unit("department", index) == Unit("department", index)


@settings(max_examples=40, deadline=None)
@given(
    held=st.tuples(st.sampled_from(OFFICES), st.integers(0, 30)),
    to=st.tuples(st.sampled_from(OFFICES), st.integers(0, 30)),
)
def test_a_review_is_handed_off_exactly_when_it_is_another_unit(
    handoff_model: GovernanceModel, held: tuple[str, int], to: tuple[str, int]
) -> None:
    """A review at the holder's unit starts at once; at another unit it is one hand-off."""
    model = handoff_model
    casework = model.casework
    level, index = to[0], to[1] % _office(casework, to[0])
    holder = Unit(held[0], held[1] % _office(casework, held[0]))  # a fresh object: not identity
    target = Unit(level, index)  # type: ignore[arg-type]
    cid = next(iter(casework.progress))  # a case in progress lends its row
    saved = casework.progress[cid]
    handoffs = casework.cases.handoffs[cid]
    events = len(model.events)
    station = casework.units.station(target)
    jobs = (station.busy, station.queue_length)
    route = Route(stages=(Stage((Visit(target, work_hours=0.25),), "review"),))
    casework.progress[cid] = Progress(route=route, at=holder)
    try:
        casework._enter_stage(cid)
        moved = casework.cases.handoffs[cid] - handoffs
        new_events = len(model.events) - events
        arrived = (station.busy, station.queue_length) != jobs
    finally:
        casework.progress[cid] = saved
    if holder == target:
        assert (moved, arrived) == (0, True), "no transfer: it arrives now"
        started = station.busy != jobs[0]
        assert new_events == started, "only the review's end is scheduled, if it starts"
    else:
        assert (moved, arrived) == (1, False), "a transfer: it arrives later"
        assert new_events == 1, "only the arrival is scheduled"


def test_bound_callbacks_still_mark_queued_case_jobs(model: GovernanceModel) -> None:
    """Jobs queued through the bound callbacks are found by status() and name open cases."""
    casework = model.casework
    status = casework.status()
    waiting = [
        token
        for station in casework.units.all_stations()
        for done, token in station.queued_jobs()
        if getattr(done, "__self__", None) is casework
    ]
    assert waiting, "the scenario has case jobs waiting after 12 days"
    for token in waiting:
        cid = token[0] if isinstance(token, tuple) else token
        assert status[cid] == "queued"
        assert cid in casework.progress
