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
    population = SimpleNamespace(trust=np.array([0.5, 0.2]), disposition=np.array([0.5, 0.2]))
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


def _classify_by_definition(
    n_departments: int, needed: tuple[int, ...], returned: set[int], rng: np.random.Generator
) -> int:
    """A wrong pick as first written (a fresh list every time; before issue 11, seventeenth round)."""
    wrong = [d for d in range(n_departments) if d not in needed and d not in returned]
    return wrong[int(rng.integers(len(wrong)))] if wrong else needed[0]


def test_office_wrong_picks_are_the_definitions_whatever_was_asked_before(world) -> None:
    """Office.classify keeps the wrong departments of a case no one returned, per departments
    needed: the picks and the generator's draws are the fresh list's, and a return seen in
    between (a shorter list) is neither kept nor lets a kept list leak into it."""
    office = _office(world, accuracy=0.0, n_departments=9)
    ours, theirs = np.random.default_rng(5), np.random.default_rng(5)
    asks = [((0,), set()), ((0, 4), set()), ((0,), {1, 2}), ((0,), set()), ((3,), {0})]
    for needed, returned in asks * 40:
        expected = _classify_by_definition(9, needed, returned, theirs)
        assert office.classify(needed, returned, 0.5, ours) == expected, (needed, returned)
    assert ours.random() == theirs.random(), "the same draws were taken"
    listed = office.classify([0], np.array([], dtype=np.int64), 0.5, ours)
    assert listed == _classify_by_definition(9, (0,), set(), theirs), "a list and an array too"
    assert office.classify((0,), {1, 2, 3, 4, 5, 6, 7, 8}, 0.5, ours) == 0, "none left: the lead"


def test_community_office_is_an_office_with_its_own_accuracy(world) -> None:
    """CommunityOffice.classify uses the accuracy it was given (its own, shorter list)."""
    office = _office(world, CommunityOffice, accuracy=0.6)
    assert office.level == "community" and office.accuracy_for(2) == 0.6


def test_department_accepts_only_cases_in_its_remit(world) -> None:
    """Department.accepts: its own cases yes; others are returned (退件)."""
    dept = _department(world)
    assert dept.accepts((1,), False, False, 0.0) and dept.accepts((0, 1), False, False, 0.0)
    assert not dept.accepts((0, 2), False, False, 0.99), "not needed: returned"


def test_department_work_adds_coordination_to_the_lead_only(world) -> None:
    """Department.work_hours: work content, plus coordination hours when it leads."""
    dept = _department(world)
    assert dept.work_hours(3.0, lead=True, coordination_hours=0.5) == 3.5
    assert dept.work_hours(3.0, lead=False, coordination_hours=0.5) == 3.0


def test_department_queue_key_moves_priority_cases_earlier(world) -> None:
    """Department.queue_key: a negative priority serves the case earlier in deadline order."""
    dept = _department(world)
    assert dept.queue_key(10.0, -2.0) < dept.queue_key(10.0, 0.0) < dept.queue_key(11.0, 0.0)


def test_department_rating_follows_timeliness_and_is_shared(world) -> None:
    """Department.rate: on-time cases raise the rating, late ones lower it; the array is shared."""
    from model.parameters import HandlingParameters

    ratings = np.full(2, 0.8)
    dept = Department(world.model, 1, "d", world.station, False, HandlingParameters(), 1.0, ratings)
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
    worker = GridWorker(world.model, 0, world.station, 0.5, 0.5)
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
    assert world.population.disposition[0] == pytest.approx(0.46875), "own experience stays"


# ------------------------------------------------- decisions under accountability (考核)
def _department(world: SimpleNamespace, **handling: float) -> Department:
    from model.parameters import HandlingParameters

    h = HandlingParameters(**handling)
    return Department(world.model, 1, "d", world.station, False, h, 1.0, np.full(3, 0.8))


def test_department_disputes_unclear_ownership_unless_it_must_lead(world) -> None:
    """Department.accepts: a disputed case is returned with dispute_probability; never when it
    must lead (首接负责), and never a clear case of its own."""
    dept = _department(world, dispute_probability=0.5, gaming_propensity=0.0)
    assert not dept.accepts((1,), disputed=True, must_lead=False, u=0.49), "u < 0.5: disputed"
    assert dept.accepts((1,), disputed=True, must_lead=False, u=0.51), "u ≥ 0.5: taken on"
    assert dept.accepts((1,), disputed=True, must_lead=True, u=0.0), "the lead cannot dispute"
    assert dept.accepts((1,), disputed=False, must_lead=False, u=0.0), "a clear case is taken"
    assert not dept.accepts((0,), disputed=False, must_lead=True, u=0.99), "not its job: returned"


def test_department_disputes_more_under_pressure_when_gaming(world) -> None:
    """Department.accepts: pressure with a gaming propensity raises the dispute rate."""
    dept = _department(world, dispute_probability=0.4, gaming_propensity=0.5)
    assert dept.accepts((1,), disputed=True, must_lead=False, u=0.45), "no pressure: 0.4"
    dept.respond_to(1.0, {"resolution": 1.0})
    assert not dept.accepts((1,), disputed=True, must_lead=False, u=0.45), "0.4 × 1.5 = 0.6"


def test_department_effort_follows_pressure_and_what_is_ranked(world) -> None:
    """Department.effort: full effort without pressure; more care when quality is ranked;
    premature closures only with pressure and a gaming propensity."""
    dept = _department(world, care_gain=0.5, gaming_propensity=0.2, premature_effort_share=0.3)
    assert dept.effort(0.0) == (1.0, False), "no pressure: the work content, no gaming"
    dept.respond_to(1.0, {"satisfaction": 1.0, "response": 1.0})
    assert dept.effort(0.5) == (pytest.approx(1.25), False), "1 + 0.5 × 1.0 × (1/2)"
    assert dept.effort(0.1) == (0.3, True), "u < 0.2 × 1.0: a premature closure"
    dept.respond_to(1.0, {"response": 1.0})
    assert dept.effort(0.5) == (1.0, False), "only response ranked: no extra care"


def test_department_resolves_more_with_more_effort(world) -> None:
    """Department.resolves: 1 − (1 − q)^effort, so full effort gives q and a premature one less."""
    dept = _department(world, resolution_probability_full_effort=0.9)
    assert dept.resolves(1.0, 0.89) and not dept.resolves(1.0, 0.91), "q = 0.9 at full effort"
    assert not dept.resolves(0.3, 0.6), "0.3 effort: 1 − 0.1^0.3 ≈ 0.50"
    assert dept.resolves(2.0, 0.98), "double effort: 0.99"


def test_departments_work_to_deadlines_when_timeliness_is_ranked() -> None:
    """Department.works_to_deadlines: only when response or on-time rates count, with stakes."""
    assert Department.works_to_deadlines({"on_time": 1.0}, 1.0)
    assert not Department.works_to_deadlines({"response": 1.0}, 1.0), "order does not matter"
    assert not Department.works_to_deadlines({"satisfaction": 1.0}, 1.0)
    assert not Department.works_to_deadlines({"on_time": 1.0}, 0.0), "no stakes"


def test_grid_worker_catches_only_unresolved_cases_others_settled(world) -> None:
    """GridWorker.catches: an unresolved case is found with the catch probability."""
    worker = GridWorker(world.model, 0, world.station, 0.5, 0.5)
    assert worker.catches(resolved=False, settled_by_team=False, u=0.4)
    assert not worker.catches(resolved=False, settled_by_team=False, u=0.6)
    assert not worker.catches(resolved=True, settled_by_team=False, u=0.0), "resolved: nothing"
    assert not worker.catches(resolved=False, settled_by_team=True, u=0.0), "its own work"


def test_resident_contacts_again_and_urges(world) -> None:
    """Resident.contacts_again until the contact limit; Resident.urges with its probability."""
    resident = Resident(world.model, 0, world.population, 0.25)
    assert resident.contacts_again(1, probability=0.5, limit=3, u=0.4)
    assert not resident.contacts_again(3, probability=0.5, limit=3, u=0.0), "gave up"
    assert not resident.contacts_again(1, probability=0.5, limit=3, u=0.6)
    assert resident.urges(0.5, 0.1) and not resident.urges(0.5, 0.9)


def test_department_reclassifies_only_under_timeliness_pressure_with_gaming(world) -> None:
    """Department.reclassifies: gaming × pressure × the share of timeliness in the ranking."""
    dept = _department(world, gaming_propensity=0.4)
    assert not dept.reclassifies(0.0 + 1e-9), "no pressure: never"
    dept.respond_to(1.0, {"on_time": 1.0, "satisfaction": 1.0})
    assert dept.reclassifies(0.19) and not dept.reclassifies(0.21), "0.4 × 1 × 1/2 = 0.2"
    dept.respond_to(1.0, {"satisfaction": 1.0})
    assert not dept.reclassifies(0.0 + 1e-9), "timeliness not ranked: never"


def test_party_member_mobilises_about_the_invitations_asked(world) -> None:
    """PartyMember.invitation_probability: each tie with k/degree, all of them when degree ≤ k."""
    chance = PartyMember.invitation_probability(2.0, np.array([1, 2, 4, 8]))
    assert chance.tolist() == [1.0, 1.0, 0.5, 0.25], chance
    assert PartyMember.invitation_probability(0.0, 5) == 0.0, "no mobilisation: nobody invited"
