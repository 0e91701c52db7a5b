"""The working calendar's vector forms give, bit for bit, what its scalar forms give moment by
moment (docs/design.md "The intake in batches"), and a day's batch of new cases is registered
with exactly the times the one-by-one registration computes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.casework as casework_module
from experiments.scenario_files import Scenario, apply_overrides
from model.calendar import WorkCalendar
from model.casework import HOTLINE, MINUTE
from model.governance import GovernanceModel
from model.mediation import ScheduleCalendar

VECTOR_SETTINGS = settings(max_examples=120, deadline=None, derandomize=True)


@st.composite
def calendars(draw: st.DrawFn) -> tuple[WorkCalendar, WorkCalendar]:
    """The same calendar twice (one for the vector forms, one for the scalar forms): short
    horizons, whole and fractional days, the opening moved, or a profession's schedule."""
    hours = draw(st.one_of(st.sampled_from([8.0, 7.5, 24.0, 7.3, 0.5]), st.floats(0.5, 24.0)))
    days = draw(st.integers(1, 7))
    weekday = draw(st.integers(0, 6))
    horizon = draw(st.integers(1, 40))
    pair = [WorkCalendar(hours, days, weekday, horizon) for _ in range(2)]
    if draw(st.booleans()):  # an opening moved after construction, as long as the day fits
        opening = draw(st.sampled_from([0.0, 2.0, 6.5])) * (hours < 17.5) / 24.0
        for cal in pair:
            cal.open = opening
    if draw(st.booleans()):  # a mediation profession's sitting days (ScheduleCalendar)
        sitting, offset = draw(st.integers(1, 12)), draw(st.integers(0, 6))
        return ScheduleCalendar(pair[0], sitting, offset), ScheduleCalendar(
            pair[1], sitting, offset
        )
    return pair[0], pair[1]


@st.composite
def moments(draw: st.DrawFn, cal: WorkCalendar) -> np.ndarray:
    """Moments anywhere, on a window's opening or closing edge, at midnight, inside a window,
    on days off, and far past the horizon."""
    values = []
    for _ in range(draw(st.integers(0, 25))):
        day = draw(st.one_of(st.integers(0, 60), st.integers(0, 400)))
        edge = draw(st.sampled_from(["any", "open", "close", "midnight", "inside"]))
        if edge == "open":
            values.append(day + cal.open)
        elif edge == "close":
            values.append(day + cal.open + cal.length)
        elif edge == "midnight":
            values.append(float(day))
        elif edge == "inside":
            values.append(day + cal.open + draw(st.floats(0.0, 1.0)) * cal.length)
        else:
            values.append(day + draw(st.floats(0.0, 1.0, exclude_max=True)))
    return np.array(values, dtype=np.float64)


hour_amounts = st.one_of(
    st.just(0.0), st.floats(0.0, 2.0), st.floats(0.0, 40.0), st.floats(0.0, 500.0)
)
day_amounts = st.one_of(st.integers(0, 60).map(float), st.floats(0.0, 30.0), st.just(0.5))


def same(got: np.ndarray, want: list[float]) -> bool:
    """Bit-for-bit equal floats, element by element."""
    return len(got) == len(want) and all(
        a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
        for a, b in zip(got.tolist(), want, strict=True)
    )


@VECTOR_SETTINGS
@given(data=st.data(), pair=calendars())
def test_add_working_hours_array_as_the_scalar_form(
    data: st.DataObject, pair: tuple[WorkCalendar, WorkCalendar]
) -> None:
    """add_working_hours_array equals add_working_hours at every moment, one amount or many."""
    vector, scalar = pair
    t = data.draw(moments(scalar))
    hours = data.draw(hour_amounts)
    want = [scalar.add_working_hours(x, hours) for x in t.tolist()]
    assert same(vector.add_working_hours_array(t, hours), want), f"{hours} h from {t}"
    each = np.array([data.draw(hour_amounts) for _ in t])
    want = [scalar.add_working_hours(x, h) for x, h in zip(t.tolist(), each.tolist(), strict=True)]
    assert same(vector.add_working_hours_array(t, each), want), f"{each} h from {t}"


@VECTOR_SETTINGS
@given(data=st.data(), pair=calendars())
def test_add_working_days_array_as_the_scalar_form(
    data: st.DataObject, pair: tuple[WorkCalendar, WorkCalendar]
) -> None:
    """add_working_days_array equals add_working_days at every moment, past the horizon too."""
    vector, scalar = pair
    t = data.draw(moments(scalar))
    days = np.array([data.draw(day_amounts) for _ in t])
    want = [scalar.add_working_days(x, d) for x, d in zip(t.tolist(), days.tolist(), strict=True)]
    assert same(vector.add_working_days_array(t, days), want), f"{days} working days from {t}"
    want = [scalar.add_working_days(x, 3.0) for x in t.tolist()]
    assert same(vector.add_working_days_array(t, 3.0), want), f"3 working days from {t}"


@VECTOR_SETTINGS
@given(data=st.data(), pair=calendars())
def test_working_hours_at_array_as_the_scalar_form(
    data: st.DataObject, pair: tuple[WorkCalendar, WorkCalendar]
) -> None:
    """working_hours_at_array equals working_hours_at on working days, days off and edges."""
    vector, scalar = pair
    t = data.draw(moments(scalar))
    want = [scalar.working_hours_at(x) for x in t.tolist()]
    assert same(vector.working_hours_at_array(t), want), f"working hours at {t}"


def test_the_vector_forms_follow_a_moved_opening() -> None:
    """Arrays made before the opening moved are not reused after: the windows move with it."""
    cal = WorkCalendar(8.0, 7, 0, horizon_days=3)
    t = np.array([2.0, 50.0, 2.0 + 9.0 / 24.0])
    assert cal.add_working_hours_array(t, 1.0).tolist() == [
        cal.add_working_hours(x, 1.0) for x in t
    ]
    cal.open = 0.0
    moved = cal.add_working_hours_array(t, 1.0)
    assert moved.tolist() == [2.0 + 1.0 / 24.0, 50.0 + 1.0 / 24.0, 3.0 + 1.0 / 24.0]


def test_negative_amounts_are_refused() -> None:
    """The vector forms take amounts ≥ 0 and say so, naming the value."""
    cal = WorkCalendar(8.0, 5, 0, horizon_days=10)
    t = np.array([1.5, 2.5])
    with pytest.raises(ValueError, match="≥ 0"):
        cal.add_working_hours_array(t, -1.0)
    with pytest.raises(ValueError, match="≥ 0"):
        cal.add_working_days_array(t, np.array([1.0, -0.5]))
    for bad in (math.nan, np.array([1.0, math.nan])):
        with pytest.raises(ValueError, match="≥ 0"):
            cal.add_working_hours_array(t, bad)


@pytest.mark.parametrize("bad", [-0.25, -3.5, math.nan])
def test_moments_before_zero_are_refused(bad: float) -> None:
    """A moment before 0 or NaN among a batch's moments is refused by name, as the scalar
    forms refuse it (it would read the per-day lists from their end)."""
    cal = WorkCalendar(8.0, 5, 0, horizon_days=10)
    t = np.array([1.5, bad])
    for call in (
        lambda: cal.working_hours_at_array(t),
        lambda: cal.add_working_hours_array(t, 0.0),
        lambda: cal.add_working_days_array(t, 1.0),
    ):
        with pytest.raises(ValueError, match="moment must be a time ≥ 0"):
            call()


def test_empty_arrays_give_empty_arrays() -> None:
    """A batch with no moment gives no moment (and extends nothing)."""
    cal = WorkCalendar(8.0, 5, 0, horizon_days=10)
    known = cal._known
    empty = np.empty(0)
    assert cal.add_working_hours_array(empty, 0.0).size == 0
    assert cal.add_working_days_array(empty, empty).size == 0
    assert cal._known == known


@pytest.mark.parametrize("small_batch", [casework_module.SMALL_BATCH, 0])  # 0: all vector
@pytest.mark.parametrize("overrides", [{}, {"intake.one_thing_bundles": True}])
def test_a_batch_is_registered_as_one_by_one(
    classroom: Scenario, overrides: dict, small_batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every case's registration and promised deadline are what the scalar calendar gives for
    its report time, source and type (linked requests split or bundled alike), whichever
    form registered its batch."""
    monkeypatch.setattr(casework_module, "SMALL_BATCH", small_batch)
    scenario = apply_overrides(
        classroom, {"simulation.warmup_days": 10, "demand.linked_request_share": 0.5, **overrides}
    )
    model = GovernanceModel(scenario.parameters, seed=2, case_sink=lambda frame: None)
    model.run(days=40)
    cases, casework = model.casework.cases, model.casework
    calendar = casework.calendar  # its scalar forms (equal to the vector forms, above)
    minutes = scenario.parameters.intake.registration_minutes * MINUTE
    checked = 0
    for cid in range(cases.size):
        if cases.number[cid] < 0:
            continue  # a row freed by retirement
        now, source = cases.reported[cid], cases.source[cid]
        registered = (
            now + minutes if source == HOTLINE else calendar.add_working_hours(now, 0.0) + minutes
        )
        assert cases.registered[cid] == registered, f"case {cid} registered"
        limit = casework.limits[cases.case_type[cid]] if not cases.reclassified[cid] else None
        if limit is not None:
            assert cases.promised[cid] == calendar.add_working_days(registered, limit), cid
        checked += 1
    assert checked > 300
    assert any(cases.split.tolist()) or any(cases.bundle.tolist()), "no linked request"
