"""The case lifecycle's cheaper bookkeeping (issue 11, sixth round) gives the same numbers as
the plain code it replaced: the league table's counts kept in Python lists, and the
department ratings, residents' trust and dispositions read once, as Python floats."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import mesa
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.scenario_files import load_scenario
from model.agents import Department, Resident
from model.calendar import WorkCalendar
from model.events import EventCalendar
from model.governance import GovernanceModel
from model.parameters import HandlingParameters
from model.stations import Station

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
unit_floats = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _plain_rate(ratings: np.ndarray, index: int, memory: float, on_time: bool) -> None:
    """Department.rate as it was: the property read twice, through numpy's element."""
    ratings[index] = float(ratings[index]) + memory * (
        (1.0 if on_time else 0.0) - float(ratings[index])
    )


def _plain_learn(
    trust: np.ndarray, disposition: np.ndarray, row: int, rate: float, ok: bool
) -> None:
    """Resident.learn_from as it was: numpy elements read twice, numpy scalar arithmetic."""
    outcome = 1.0 if ok else 0.0
    value = float(trust[row]) + rate * (outcome - float(trust[row]))
    trust[row] = min(1.0, max(0.0, value))
    disposition[row] += rate * (outcome - disposition[row])


@settings(max_examples=60, deadline=None)
@given(
    start=unit_floats,
    memory=unit_floats,
    outcomes=st.lists(st.booleans(), min_size=1, max_size=30),
)
def test_department_rate_matches_the_plain_update(
    start: float, memory: float, outcomes: list[bool]
) -> None:
    """Department.rate leaves the shared ratings bit for bit where the plain update does."""
    ratings = np.array([0.3, start, 0.9])
    expected = ratings.copy()
    calendar = WorkCalendar(8.0, 5, 0, horizon_days=10)
    station = Station("d", 1.0, calendar, EventCalendar())
    handling = HandlingParameters(rating_memory=memory)
    department = Department(mesa.Model(rng=0), 1, "d", station, False, handling, 1.0, ratings)
    for on_time in outcomes:
        department.rate(on_time)
        _plain_rate(expected, 1, memory, on_time)
        assert type(department.rating) is float, "the rating reads as a Python float"
    assert ratings.tobytes() == expected.tobytes(), "same bits, and other rows untouched"


@settings(max_examples=60, deadline=None)
@given(
    trust=unit_floats,
    disposition=unit_floats,
    rate=unit_floats,
    outcomes=st.lists(st.booleans(), min_size=1, max_size=30),
)
def test_resident_learning_matches_the_plain_update(
    trust: float, disposition: float, rate: float, outcomes: list[bool]
) -> None:
    """Resident.learn_from moves trust and disposition bit for bit as the plain update does."""
    population = SimpleNamespace(
        trust=np.array([0.1, trust]), disposition=np.array([0.7, disposition])
    )
    expected = SimpleNamespace(
        trust=population.trust.copy(), disposition=population.disposition.copy()
    )
    resident = Resident(mesa.Model(rng=0), 1, population, rate)  # type: ignore[arg-type]
    for ok in outcomes:
        resident.learn_from(ok)
        _plain_learn(expected.trust, expected.disposition, 1, rate, ok)
    assert population.trust.tobytes() == expected.trust.tobytes()
    assert population.disposition.tobytes() == expected.disposition.tobytes()
    assert type(resident.trust) is float, "trust reads as a Python float"


def test_league_counts_agree_with_the_case_ledger() -> None:
    """The league's counts since the last table are the cases closed since then, by owner."""
    parameters = load_scenario(SCENARIOS / "reform_immediate.toml").parameters
    model = GovernanceModel(parameters, seed=3)
    casework = model.casework
    resets: list[float] = []
    reset = casework.reset_league

    def recording_reset() -> None:
        resets.append(casework.events.now)
        reset()

    casework.reset_league = recording_reset  # type: ignore[method-assign]
    days = model.accountability.period_days + 12
    for _ in range(days):
        model.step()
    assert resets, "a league table was held and reset during the run"
    league = casework.league_table(days)
    cases = casework.cases
    closed, owner = cases.column("closed"), cases.column("owner")
    since = (closed >= resets[-1]) & (owner >= 0)
    n = casework.n_departments

    def by_owner(mask: np.ndarray) -> list[int]:
        return np.bincount(owner[since & mask], minlength=n).tolist()

    every = np.ones_like(since)
    assert league.handled.dtype == np.int64
    assert league.handled.tolist() == by_owner(every), "handled"
    assert sum(league.handled.tolist()) > 0, "some owned case was closed since the reset"
    assert casework.league["resolved"] == by_owner(cases.column("resolved") == 1)
    assert casework.league["on_time"] == by_owner(closed <= cases.column("deadline"))
    assert casework.league["rated"] == by_owner(cases.column("resident") >= 0)
    assert casework.league["satisfied"] == by_owner(cases.column("satisfied") == 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        resolution = np.array(casework.league["resolved"]) / np.array(casework.league["handled"])
    np.testing.assert_array_equal(league.rates["resolution"], resolution)
    casework.reset_league()
    assert all(counts == [0] * n for counts in casework.league.values()), "reset zeroes all"
