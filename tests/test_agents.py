"""Each agent decision, tested on the agent alone (no governance model)."""

from __future__ import annotations

from types import SimpleNamespace

import mesa
import numpy as np
import pytest

from model.agents import (
    CommunityOffice,
    Department,
    DistrictCentre,
    GridWorker,
    PartyMember,
    Resident,
)
from model.calendar import WorkCalendar
from model.events import EventCalendar
from model.stations import Station


@pytest.fixture
def world() -> SimpleNamespace:
    model = mesa.Model(rng=0)
    calendar = WorkCalendar(8.0, 5, 0, horizon_days=30)
    station = Station("unit", 2.0, calendar, EventCalendar())
    population = SimpleNamespace(trust=np.array([0.5, 0.2]))
    return SimpleNamespace(model=model, station=station, population=population)


def _office(world: SimpleNamespace, cls: type = DistrictCentre, **kwargs: object) -> DistrictCentre:
    settings: dict[str, object] = {
        "accuracy": 0.7,
        "catalogue": frozenset({1}),
        "catalogue_accuracy": 0.95,
        "n_departments": 4,
        "review_hours": 0.3,
    }
    settings.update(kwargs)
    return cls(world.model, 0, world.station, **settings)


def test_office_names_the_lead_when_its_draw_is_below_its_accuracy(world) -> None:
    """Office.classify: u below the office's accuracy names the lead department."""
    office = _office(world)
    rng = np.random.default_rng(0)
    assert office.classify((2, 3), set(), 0.69, rng) == 2, "0.69 < 0.7: the lead"
    assert office.classify((2, 3), set(), 0.71, rng) in (0, 1), "0.71 ≥ 0.7: a wrong one"


def test_office_uses_the_catalogue_accuracy_for_catalogue_departments(world) -> None:
    """Office.classify: a department in the single catalogue (一组库) is named with its accuracy."""
    office = _office(world)
    rng = np.random.default_rng(0)
    assert office.accuracy_for(1) == 0.95 and office.accuracy_for(2) == 0.7
    assert office.classify((1,), set(), 0.9, rng) == 1, "0.9 < 0.95 for a catalogue department"
    assert office.classify((2,), set(), 0.9, rng) != 2, "0.9 ≥ 0.7 outside the catalogue"


def test_office_never_sends_a_case_back_to_a_department_that_returned_it(world) -> None:
    """Office.classify: a wrong pick is never a needed department nor one that returned the case."""
    office = _office(world, accuracy=0.0)
    rng = np.random.default_rng(1)
    picks = {office.classify((0,), {1, 2}, 0.5, rng) for _ in range(50)}
    assert picks == {3}, f"only department 3 is neither needed nor returned before, got {picks}"
    assert office.classify((0,), {1, 2, 3}, 0.5, rng) == 0, "no wrong department left: the lead"


def test_community_office_is_an_office_with_its_own_accuracy(world) -> None:
    """CommunityOffice.classify uses the accuracy it was given (its own, shorter list)."""
    office = _office(world, CommunityOffice, accuracy=0.6)
    assert office.level == "community" and office.accuracy_for(2) == 0.6


def test_department_accepts_only_cases_in_its_remit(world) -> None:
    """Department.accepts: its own cases yes; others are returned (退件)."""
    ratings = np.full(3, 0.8)
    dept = Department(world.model, 1, "transport", world.station, False, 1.0, ratings)
    assert dept.accepts((1,)) and dept.accepts((0, 1)), "needed: accepted"
    assert not dept.accepts((0, 2)), "not needed: returned"


def test_department_work_adds_coordination_to_the_lead_only(world) -> None:
    """Department.work_hours: work content, plus coordination hours when it leads."""
    dept = Department(world.model, 0, "d", world.station, False, 1.0, np.full(1, 0.8))
    assert dept.work_hours(3.0, lead=True, coordination_hours=0.5) == 3.5
    assert dept.work_hours(3.0, lead=False, coordination_hours=0.5) == 3.0


def test_department_queue_key_moves_priority_cases_earlier(world) -> None:
    """Department.queue_key: a negative priority serves the case earlier in deadline order."""
    dept = Department(world.model, 0, "d", world.station, False, 1.0, np.full(1, 0.8))
    assert dept.queue_key(10.0, -2.0) < dept.queue_key(10.0, 0.0) < dept.queue_key(11.0, 0.0)


def test_department_rating_follows_timeliness_and_is_shared(world) -> None:
    """Department.rate: on-time cases raise the rating, late ones lower it; the array is shared."""
    ratings = np.full(2, 0.8)
    dept = Department(world.model, 1, "d", world.station, False, 1.0, ratings)
    dept.rate(True)
    assert ratings[1] > 0.8 and ratings[0] == 0.8, "the department's own entry rises"
    before = dept.rating
    dept.rate(False)
    assert dept.rating < before, "a late case lowers the rating"


def test_party_member_claims(world) -> None:
    """PartyMember.claims: volunteers take tasks reported to them, others by chance; others never."""
    volunteer = PartyMember(world.model, 0, world.population, 0.25, True, 0.3)
    bystander = PartyMember(world.model, 1, world.population, 0.25, False, 0.3)
    assert volunteer.claims(reported_to_me=True, u=0.99), "reported to them: always"
    assert volunteer.claims(reported_to_me=False, u=0.29), "u < claim probability"
    assert not volunteer.claims(reported_to_me=False, u=0.31), "u ≥ claim probability"
    assert not bystander.claims(reported_to_me=True, u=0.0), "non-volunteers claim nothing"


def test_grid_worker_verifies_what_others_settled(world) -> None:
    """GridWorker.verification_hours: an on-site check unless the team settled the case itself."""
    worker = GridWorker(world.model, 0, world.station, 0.5)
    assert worker.verification_hours(settled_by_team=False) == 0.5
    assert worker.verification_hours(settled_by_team=True) == 0.0


def test_resident_learns_from_the_outcome_of_its_case(world) -> None:
    """Resident.learn_from: trust moves toward 1 after a satisfying case, toward 0 otherwise."""
    resident = Resident(world.model, 0, world.population, 0.25)
    resident.learn_from(True)
    assert world.population.trust[0] == pytest.approx(0.625), "0.5 + 0.25·(1 − 0.5)"
    resident.learn_from(False)
    assert world.population.trust[0] == pytest.approx(0.46875), "0.625 + 0.25·(0 − 0.625)"
    assert world.population.trust[1] == 0.2, "another resident's row is untouched"
