"""The community party organisation (党建引领) and other volunteers (多元主体): the agents'
decisions, and the practice on vs off on common random numbers."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import mesa
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.errors import InputError
from experiments.runs import run_single
from experiments.scenario_files import apply_overrides, load_scenario
from model.actors import INVITATION_HOURS, BuildingHeads, SocialOrganisation
from model.calendar import WorkCalendar
from model.events import EventCalendar
from model.mechanisms import scenario_mechanisms
from model.outcomes import OUTCOME_NAMES, RunOutput
from model.party import ACTORS, PartyOrganisation, RegisteredUnit
from model.policies.base import Unit
from model.policies.organisation import PartyBuilding
from model.stations import Station

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SMALL = {"population.communities_per_street": 4, "simulation.warmup_days": 60}
DAYS = 365
SEED = 5


def _station(staff: float = 2.0) -> Station:
    calendar = WorkCalendar(8.0, 5, 0, horizon_days=400)
    return Station("test", staff, calendar, EventCalendar())


# ------------------------------------------------------------------ the agents' decisions
@settings(max_examples=60, deadline=None)
@given(
    days=st.floats(min_value=0.5, max_value=30.0),
    units=st.integers(min_value=1, max_value=8),
    unit=st.integers(min_value=0, max_value=7),
)
def test_registered_units_serve_their_report_days(days: float, units: int, unit: int) -> None:
    """A registered unit is on duty about ``report_days_per_month`` days in every 30."""
    policy = PartyBuilding(registered_units=units, report_days_per_month=days)
    served = sum(policy.on_duty(day, unit % units) for day in range(3000))
    assert abs(served - days * 100) <= 100 / (30 / days) + 2, (served, days)


def test_registered_units_are_staggered() -> None:
    """The units of a community do not all report on the same days."""
    policy = PartyBuilding(registered_units=4, report_days_per_month=2.0)
    first_days = [next(d for d in range(30) if policy.on_duty(d, k)) for k in range(4)]
    assert len(set(first_days)) == 4, first_days


def test_no_report_days_means_never_on_duty() -> None:
    """With no report days a registered unit never serves."""
    policy = PartyBuilding(report_days_per_month=0.0)
    assert not any(policy.on_duty(day, 0) for day in range(60))


def test_follow_up_is_limited_by_the_secretary_s_time() -> None:
    """The organisation follows up only as many stalled decisions as its monthly time
    allows, and its time is renewed each month."""
    model = mesa.Model(rng=1)
    policy = PartyBuilding(follow_up_hours=2.0, follow_up_hours_per_month=7.0)
    party = PartyOrganisation(model, 0, policy)
    taken = [party.follows_up() for _ in range(5)]
    assert taken == [True, True, True, False, False], taken
    party.new_month()
    assert party.follows_up(), "the time is renewed every month"


def test_no_follow_up_at_neutral_success() -> None:
    """With follow-up success at its neutral value (0) nothing is followed up."""
    party = PartyOrganisation(mesa.Model(rng=1), 0, PartyBuilding(follow_up_success=0.0))
    assert not party.follows_up()


def test_routing_and_assignment_follow_their_shares() -> None:
    """Issues routed and members assigned follow the organisation's shares; none at 0."""
    model = mesa.Model(rng=1)
    rng = np.random.default_rng(0)
    half = PartyOrganisation(model, 0, PartyBuilding(issue_routing_share=0.5))
    routed = sum(half.routes(10, rng) for _ in range(200)) / 2000
    assert 0.45 < routed < 0.55, routed
    none = PartyOrganisation(model, 0, PartyBuilding(issue_routing_share=0.0))
    assert none.routes(10, rng) == 0
    assigned = half.assigns(rng.random(10_000)).mean()
    assert 0.47 < assigned < 0.53, assigned


def test_volunteer_groups_claim_and_invite() -> None:
    """A group takes tasks with its claim probability, an empty group none; its
    invitations add up to people × invitations each, and cost volunteered time."""
    model = mesa.Model(rng=1)
    heads = BuildingHeads(model, 0, 8.0, _station(8.0), 0.3, 5.0)
    assert heads.claims(0.29) and not heads.claims(0.31)
    empty = SocialOrganisation(model, 0, 0.0, None, 1.0, 10.0)
    assert not empty.claims(0.0), "an empty group takes nothing"
    rng = np.random.default_rng(2)
    total = sum(int(heads.invite(500, rng).sum()) for _ in range(100))
    assert 3_600 < total < 4_400, total  # ≈ 100 meetings × 8 heads × 5 invitations
    assert heads.invitation_hours == pytest.approx(total * INVITATION_HOURS)
    assert empty.invite(500, rng).sum() == 0


def test_a_registered_unit_reads_its_roster() -> None:
    """A registered unit is on duty exactly on its policy's report days."""
    policy = PartyBuilding(registered_units=2, report_days_per_month=3.0)
    unit = RegisteredUnit(mesa.Model(rng=1), 0, 1, 3.0, _station(3.0), 0.5, policy)
    assert [unit.on_duty(d) for d in range(60)] == [policy.on_duty(d, 1) for d in range(60)]


# ---------------------------------------------------------------- configuration errors
def test_a_bad_organisation_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    """An unknown organisation kind or an out-of-range field is a clean error."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'extends = "{SCENARIOS / "baseline.toml"}"\n'
        '[organisation]\nkind = "party_building"\nassigned_member_share = 1.5\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="assigned_member_share"):
        load_scenario(bad)
    bad.write_text('[organisation]\nkind = "party_buliding"\n', encoding="utf-8")
    with pytest.raises(InputError, match="party_building"):
        load_scenario(bad)


# ---------------------------------------------------------------- the practice on vs off
@cache
def _run(name: str, neutral: bool = False) -> RunOutput:
    scenario = apply_overrides(load_scenario(SCENARIOS / f"{name}.toml"), SMALL)
    if neutral:
        strengths = {
            m.path: m.mechanism.neutral
            for m in scenario_mechanisms(scenario.parameters)
            if m.family == "organisation" and not m.mechanism.structural
        }
        scenario = apply_overrides(scenario, strengths)
    return run_single(scenario, SEED, days=DAYS)


def test_the_new_outcomes_are_registered_and_reported() -> None:
    """Every organisation outcome is in the registry and in a run's summary."""
    names = [f"volunteer_hours_{a}" for a in ACTORS] + [f"cases_taken_{a}" for a in ACTORS]
    names += ["collective_issues_routed", "decisions_followed_up", "follow_ups_implemented"]
    summary = _run("reform_party_building").summary
    for name in names:
        assert name in OUTCOME_NAMES, name
        assert math.isfinite(summary[name]), name


def test_party_building_adds_volunteers_who_take_small_tasks() -> None:
    """With the party organisation, members assigned to responsibility areas and the
    registered units' members take more small tasks on volunteered time, so grid workers
    settle fewer themselves and the party follows decisions up (CRN, same seed)."""
    off = _run("reform_grid_first_integrated_council").summary
    on = _run("reform_party_building").summary
    assert on["cases_taken_party_members"] > off["cases_taken_party_members"]
    assert off["cases_taken_registered_units"] == 0 < on["cases_taken_registered_units"]
    assert on["volunteer_hours_total"] > off["volunteer_hours_total"]
    assert on["volunteer_hours_registered_units"] > 0
    assert on["grid_worker_utilisation"] < off["grid_worker_utilisation"]
    assert off["decisions_followed_up"] == 0 < on["decisions_followed_up"]


def test_other_actors_take_tasks_and_bring_residents_to_meetings() -> None:
    """Building heads and social organisations take small tasks and their invitations
    raise participation in the councils (CRN, same seed)."""
    party = _run("reform_party_building").summary
    many = _run("reform_multi_actor").summary
    assert party["cases_taken_building_heads"] == 0 < many["cases_taken_building_heads"]
    assert party["cases_taken_social_organisations"] == 0 < many["cases_taken_social_organisations"]
    assert many["volunteer_hours_building_heads"] > 0
    assert many["volunteer_hours_social_organisations"] > 0
    assert many["participation_share"] > party["participation_share"]
    assert many["grid_worker_utilisation"] < party["grid_worker_utilisation"]


@pytest.mark.parametrize("name", ["reform_party_building", "reform_multi_actor"])
def test_at_neutral_strengths_the_organisation_does_nothing(name: str) -> None:
    """With every organisation mechanism at its neutral value the run equals the 141
    package without an organisation, outcome for outcome (CRN, same seed)."""
    off = _run("reform_grid_first_integrated_council").summary
    neutral = _run(name, neutral=True).summary
    for key, value in off.items():
        other = neutral[key]
        same = (math.isnan(value) and math.isnan(other)) or value == other
        assert same, f"{key}: {value} vs {other}"


def test_the_accounting_stays_whole_with_every_actor() -> None:
    """With every actor on, the closed, parked and open counts reported are those of the
    case table: what casework counted closed or parked, and the cases still in it."""
    from model.governance import GovernanceModel

    scenario = apply_overrides(
        load_scenario(SCENARIOS / "reform_multi_actor.toml"), {**SMALL, "simulation.days": 200}
    )
    model = GovernanceModel(scenario.parameters, seed=SEED)
    model.run()
    summary = model.output().summary
    status = model.casework.status()
    assert summary["cases_taken_building_heads"] > 0, "the volunteers took tasks"
    assert summary["cases_generated"] == status.shape[0]
    assert summary["cases_closed"] == model.casework.closed_total == (status == "closed").sum()
    assert summary["cases_parked"] == model.casework.parked_total == (status == "parked").sum()
    assert summary["cases_open"] == np.isin(status, ("open", "queued")).sum()


# ----------------------------------------------------------------- typed communities
def _typed(tmp_path: Path, name: str) -> Path:
    """A 2-street scenario whose community types change the grids per community."""
    path = tmp_path / f"typed_{name}.toml"
    path.write_text(
        f'extends = "{SCENARIOS / f"{name}.toml"}"\n'
        'name = "typed"\n'
        "[simulation]\ndays = 120\nwarmup_days = 0\n"
        "[population]\nstreets = 2\ncommunities_per_street = 2\ngrids_per_community = 3\n"
        "residents_per_grid = 40\nstreet_types = { town = 1, city = 1 }\n"
        "[community_types.city]\ngrids_per_community = 2\ncommunities_per_street = 2\n"
        "[community_types.town]\ngrids_per_community = 5\ncommunities_per_street = 3\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("name", ["reform_party_building", "reform_multi_actor"])
def test_the_organisation_follows_typed_communities(tmp_path: Path, name: str) -> None:
    """With community types changing grids per community, every grid belongs to the
    organisation of its own community (the geography's), invitations reach each
    community's own residents, and a run completes."""
    from model.governance import GovernanceModel

    scenario = load_scenario(_typed(tmp_path, name))
    model = GovernanceModel(scenario.parameters, seed=1)
    org = model.organisation
    assert list(org.grid_community) == list(model.geography.grid_community)
    bounds = model.deliberation.bounds
    for c in range(model.n_communities):
        a, b = int(bounds[c]), int(bounds[c + 1])
        assert org.turnout(c, a, np.full(b - a, 0.3)).shape == (b - a,)
    model.run()
    assert model.output().summary["cases_generated"] > 0


# ---------------------------------------------------------------- offers and follow-ups
@cache
def _model(name: str = "reform_party_building") -> mesa.Model:
    from model.governance import GovernanceModel

    scenario = apply_overrides(load_scenario(SCENARIOS / f"{name}.toml"), SMALL)
    return GovernanceModel(scenario.parameters, seed=SEED)


def test_a_member_who_declined_is_not_asked_again_as_responsible_member() -> None:
    """The responsibility-area offer never goes back to the member who just declined: with
    one assigned member nobody answers, with two the other always does."""
    org = _model().organisation
    grid = next(g for g, area in enumerate(org.area_members) if len(area) >= 2)
    area = org.area_members[grid]
    saved, org.coverage[grid] = org.coverage[grid], 1.0
    rng = np.random.default_rng(3)
    try:
        for declined in area:
            picks = {id(org._responsible(grid, declined, rng)) for _ in range(50)}
            assert id(declined) not in picks
        assert {id(org._responsible(grid, None, rng)) for _ in range(400)} == {id(m) for m in area}
        org.area_members[grid] = area[:1]
        assert org._responsible(grid, area[0], rng) is None
        assert org._responsible(grid, area[1], rng) is area[0]
    finally:
        org.area_members[grid] = area
        org.coverage[grid] = saved


def test_a_follow_up_is_a_job_at_the_community_office() -> None:
    """A follow-up queues the secretary's hours at the community office (where they compete
    with casework and count as its staff time); the second attempt is scheduled only when
    that job is done."""
    model = _model.__wrapped__()
    org, events = model.organisation, model.events
    station = model.units.communities[0].station
    busy = station.busy_hours

    def second_attempts() -> list[float]:
        return [time for time, callback, _ in events.pending() if callback == org._followed_up]

    assert org.follow_up((0, np.zeros(1, dtype=bool)))
    policy = org.parties[0].policy
    assert station.busy_hours == pytest.approx(busy + policy.follow_up_hours * station.work_factor)
    assert second_attempts() == [], "no second attempt before the secretary's job is done"
    start = events.now
    events.run_until(start + 3.0)
    assert len(second_attempts()) == 1
    assert second_attempts()[0] >= start + policy.follow_up_days


def test_a_missing_volunteer_group_is_named() -> None:
    """Asking for a volunteer group a grid or community does not have names the group and
    the index, not an unknown level."""
    units = _model().units
    assert units.volunteer_groups["building"][0] is None  # no building heads in this scenario
    with pytest.raises(ValueError, match="no such 'building' group in grid/community 0"):
        units.station(Unit("building", 0))
    with pytest.raises(ValueError, match="no such 'social' group in grid/community 999"):
        units.station(Unit("social", 999))


def test_each_process_draws_from_its_own_stream() -> None:
    """Offers made (or not) do not shift the organisation's issue routing: each process
    has its own child stream (CRN for ``microgov explain``)."""
    quiet, busy = _model.__wrapped__(), _model.__wrapped__()
    claims = np.random.default_rng(0)
    for _ in range(200):
        busy.organisation.offer(0, False, 1.0, 0.1, claims)
    settled = np.full(quiet.n_communities, 20)
    routed = [m.organisation.route_issues(settled) for m in (quiet, busy)]
    assert routed[0].sum() > 0
    assert routed[0].tolist() == routed[1].tolist()
