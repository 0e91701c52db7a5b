"""Staff hours within the measured period: a job's hours cut at the period's edges
(model/busy_time.py; docs/design.md "Busy hours within the measured period")."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.scenario_files import apply_overrides, load_scenario
from model.busy_time import unfinished_hours
from model.calendar import WorkCalendar
from model.events import EventCalendar
from model.governance import GovernanceModel
from model.stations import Station

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _office() -> WorkCalendar:
    """Eight working hours a day, Monday to Friday, day 0 a Monday."""
    return WorkCalendar(8.0, 5, 0, horizon_days=30)


def test_a_job_in_service_leaves_its_hours_still_to_work(engine_backend: str) -> None:
    """2.5 FTE (3 desks, each staffed 2.5/3 of the time): a 10-hour job needs 12 hours at
    its desk. Two working hours in, 10 of those 12 desk hours remain: 10 × 2.5/3 staff
    hours a job. A 60-hour job of one FTE started on Monday has 20 hours left on Friday
    evening, and still 20 on Sunday (nothing is worked at the weekend); at its end none.
    A queued job (the desks all busy), an idle station and an event that is not a job's end
    count nothing."""
    calendar, events = _office(), EventCalendar()
    station = Station("s", 2.5, calendar, events)
    long = Station("t", 1.0, calendar, events)
    idle = Station("u", 1.0, calendar, events)
    start = calendar.add_working_hours(0.0, 0.0)  # Monday's opening
    events.run_until(start)
    for _ in range(4):  # the fourth waits for a desk
        station.arrive(10.0, lambda _: None, None)
    long.arrive(60.0, lambda _: None, None)
    events.schedule(start + 1.0, lambda _: None, None)  # not a job's end
    assert station.busy_hours == pytest.approx(30.0), "counted at their start: three jobs"
    events.run_until(calendar.add_working_hours(start, 2.0))
    left = unfinished_hours(events, calendar)
    assert set(left) == {id(station), id(long)}, "the idle station has no job in service"
    assert left[id(station)] == pytest.approx(3 * 10.0 * 2.5 / 3)
    assert left[id(long)] == pytest.approx(58.0)
    friday = calendar.add_working_hours(start, 4 * 8.0)  # Friday's opening
    events.run_until(friday + 0.5)  # Friday evening, after closing
    assert unfinished_hours(events, calendar) == {id(long): pytest.approx(20.0)}
    events.run_until(friday + 2.5)  # Sunday
    assert unfinished_hours(events, calendar) == {id(long): pytest.approx(20.0)}
    events.run_until(friday + 30.0)
    assert unfinished_hours(events, calendar) == {}, "every job done"
    assert idle.busy_hours == 0.0


def test_a_starved_department_is_busy_its_staffs_whole_time() -> None:
    """A department with far too few staff keeps every desk busy through the measured
    period: its staff hours within the period are its staff's whole working time, to the
    float's precision. Counted whole at each job's start, as before this measure, they were
    off by up to the jobs in service at the edges (1.062 of the time, seed 0)."""
    scenario = load_scenario(SCENARIOS / "classroom.toml")
    parameters = apply_overrides(
        scenario, {"departments.transport.staff_per_100k_residents": 4.0}
    ).parameters
    model = GovernanceModel(parameters, seed=0)
    model.run(days=90)
    transport = model.department_stations[model.department_names.index("transport")]
    calendar = model.calendar
    hours = calendar.total_working_hours(model.day) - calendar.total_working_hours(
        model.warmup_days
    )
    busy = model.measured_busy()
    assert transport.queue_length > 0, "still starved at the end"
    assert busy(transport) == pytest.approx(hours * transport.staff, rel=1e-12)
    summary = model.output().summary
    assert summary["department_utilisation_transport"] == pytest.approx(1.0, rel=1e-12)
    for station in model.units.all_stations():
        assert busy(station) <= hours * station.staff * (1 + 1e-12), station.name
        assert busy(station) >= -1e-9, station.name


def test_measured_hours_are_the_started_ones_less_what_is_left_over_the_edges() -> None:
    """The measure is the hours started since the warm-up's end, plus the hours still to be
    worked then, less those still to be worked now; with no warm-up, only the last edge."""
    scenario = load_scenario(SCENARIOS / "classroom.toml")
    for warmup in (0, 20):
        parameters = apply_overrides(scenario, {"simulation.warmup_days": warmup}).parameters
        model = GovernanceModel(parameters, seed=2)
        model.run(days=15)
        at_mark = dict(model._unfinished_at_mark)
        assert bool(at_mark) == (warmup > 0), "jobs in service at the warm-up's end"
        now = unfinished_hours(model.events, model.calendar)
        assert now, "jobs in service at the end"
        busy = model.measured_busy()
        for station in model.units.all_stations():
            key = id(station)
            expected = station.busy_hours_since_mark + at_mark.get(key, 0.0) - now.get(key, 0.0)
            assert busy(station) == expected, station.name
