"""The community party organisation (党建引领) and the volunteers it coordinates.

One :class:`PartyOrganisation` agent per community (党建扎桩·治理结网, 一统领三融入双互动,
seed §二(二)) decides whom it assigns to the grids' responsibility areas
(:meth:`PartyOrganisation.assigns`), how many collective issues it routes to
deliberation (:meth:`PartyOrganisation.routes`) and whether it follows up a stalled
decision (:meth:`PartyOrganisation.follows_up`). The units registered to the community
(:class:`RegisteredUnit`; the seed's 社区+城管蓝 党建共建 generalised to 双报到, practice
elsewhere, assumption) report on their days; building heads and social organisations
(:mod:`model.actors`; practice elsewhere and the essay's outlook, assumption) add
volunteer capacity.

:class:`Organisations` is the directory the case lifecycle and the deliberation ask:
who takes a small task offered in a grid (:meth:`Organisations.offer`), extra
invitations to a meeting (:meth:`Organisations.turnout`), issues routed
(:meth:`Organisations.route_issues`) and follow-ups (:meth:`Organisations.follow_up`).
With the ``none`` organisation it reproduces the pre-reform behaviour exactly: one
party-member volunteer of the grid is offered the task (docs/design.md "Party
organisation and other actors").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from mesa import Agent

from model.actors import BuildingHeads, SocialOrganisation, VolunteerGroup
from model.policies.base import Unit, Visit
from model.policies.consultation import NoConsultation
from model.policies.organisation import NoOrganisation, PartyBuilding
from model.policies.participation import logistic
from model.scalar_draws import integer_below, uniform
from model.stations import Station

if TYPE_CHECKING:
    import mesa

    from model.agents import PartyMember, Resident
    from model.calendar import WorkCalendar
    from model.events import EventCalendar
    from model.geography import Geography
    from model.meetings import Deliberation
    from model.parameters import ModelParameters
    from model.population import Population
    from model.units import Units

# Days of the party organisation's follow-up budget period (a month).
BUDGET_DAYS = 30
# Invitations counted per resident, as for party members' invitations (participation.py).
MAX_INVITATIONS = 3
# The organisation's random processes, one child stream each (in this order).
PROCESSES: tuple[str, ...] = (
    "assignment",
    "area_offers",
    "building_head_offers",
    "registered_unit_offers",
    "social_offers",
    "issue_routing",
    "building_head_invitations",
    "social_invitations",
    "follow_up",
)
ACTORS: tuple[str, ...] = (
    "party_members",
    "registered_units",
    "building_heads",
    "social_organisations",
)


class RegisteredUnit(VolunteerGroup):
    """A unit registered to the community (社区+城管蓝 共建, seed §二(二); as 双报到 on a
    roster, practice elsewhere, assumption): on its report days its members serve in the
    community and take small tasks."""

    level = "registered"

    def __init__(
        self,
        model: mesa.Model,
        community: int,
        number: int,
        people: float,
        station: Station | None,
        claim_probability: float,
        policy: PartyBuilding,
    ) -> None:
        super().__init__(model, community, people, station, claim_probability, 0.0)
        self.number = number
        self.policy = policy

    def on_duty(self, day: int) -> bool:
        """Whether the unit's members serve in the community on ``day`` (its schedule)."""
        return self.policy.on_duty(day, self.number)


class PartyOrganisation(Agent):
    """The party organisation of one community (社区党组织).

    Attributes:
        community: the community it leads.
        policy: its configuration and assumed strengths.
        follow_up_hours_left: the secretary's follow-up time left this month.
    """

    def __init__(self, model: mesa.Model, community: int, policy: PartyBuilding) -> None:
        super().__init__(model)
        self.community = community
        self.policy = policy
        self.follow_up_hours_left = policy.follow_up_hours_per_month

    def assigns(self, u: np.ndarray) -> np.ndarray:
        """党员编组入网: which of the members who do not volunteer yet (``u`` a uniform draw
        each) it assigns to their grid's responsibility area (红岩党员责任区)."""
        return u < self.policy.assigned_member_share

    def routes(self, settled: int, rng: np.random.Generator) -> int:
        """How many of ``settled`` collective issues, about to be settled top-down, it
        routes to the community's deliberation instead."""
        share = self.policy.issue_routing_share
        return int(rng.binomial(settled, share)) if settled > 0 and share > 0 else 0

    def new_month(self) -> None:
        """The secretary's follow-up time is renewed every month."""
        self.follow_up_hours_left = self.policy.follow_up_hours_per_month

    def follows_up(self) -> bool:
        """Whether it follows up a stalled decision: when the secretary has the time left
        this month (it then spends it)."""
        p = self.policy
        if p.follow_up_success <= 0 or self.follow_up_hours_left < p.follow_up_hours:
            return False
        self.follow_up_hours_left -= p.follow_up_hours
        return True

    def follow_up_succeeds(self, u: float) -> bool:
        """Whether the followed-up action gets done (``u`` a uniform draw)."""
        return u < self.policy.follow_up_success


class Organisations:
    """Every community's organisation and volunteer groups, and the counts they report.

    Args:
        model: the model the agents belong to.
        parameters: the run's parameters (``organisation`` is the policy).
        population: the residents (party members are assigned from it).
        geography: which community each grid belongs to (community types change the
            grids per community, model.places).
        residents: the resident agents by row.
        units: the units of the run; the party stations of grids with newly assigned
            members are replaced, and the new groups' stations are added.
        calendar, events: for the volunteers' stations and follow-ups.
        n_communities: communities of the run.
        rng: the 'organisation' stream (the 'claims' stream keeps the party members' draws);
            each process draws from its own child stream (:data:`PROCESSES`), so switching
            one mechanism on does not shift the draws of the others.
    """

    def __init__(
        self,
        model: mesa.Model,
        parameters: ModelParameters,
        population: Population,
        geography: Geography,
        residents: Sequence[Resident],
        units: Units,
        calendar: WorkCalendar,
        events: EventCalendar,
        n_communities: int,
        rng: np.random.Generator,
    ) -> None:
        self.p = parameters
        self.policy: PartyBuilding | NoOrganisation = parameters.organisation
        self.units = units
        self.events = events
        self.rng = dict(zip(PROCESSES, rng.spawn(len(PROCESSES)), strict=True))
        self.day = 0
        self.grid_community = list(geography.grid_community)
        self.community_grids = [
            [g for g, c in enumerate(self.grid_community) if c == community]
            for community in range(n_communities)
        ]
        self.grid_bounds = np.searchsorted(population.grid, np.arange(len(units.party) + 1))
        # 红岩党员责任区: per grid, the members assigned to it and the share of its
        # households they answer for
        self.area_members: list[list[PartyMember]] = [[] for _ in units.party]
        self.coverage = np.zeros(len(units.party))
        self.taken = dict.fromkeys(ACTORS, 0)
        self.issues_routed = 0
        self.followed_up = 0
        self.followed_up_done = 0
        self._following: set[int] = set()
        self.deliberation: Deliberation | None = None
        self.parties: list[PartyOrganisation] = []
        self.registered: list[list[RegisteredUnit]] = [[] for _ in range(n_communities)]
        self.building_heads: list[BuildingHeads | None] = [None] * len(units.party)
        self.social: list[SocialOrganisation | None] = [None] * n_communities
        policy = self.policy
        if not isinstance(policy, PartyBuilding):
            return
        deadline_first = units.party[0].deadline_first if units.party else False
        self.parties = [PartyOrganisation(model, c, policy) for c in range(n_communities)]
        self._assign_members(population, residents, calendar, events, deadline_first)
        groups: dict[str, list[Station]] = {"building": [], "social": [], "registered": []}

        def station(level: str, index: int, people: float) -> Station | None:
            if people <= 0:
                return None
            made = Station(f"{level}:{index}", people, calendar, events, deadline_first)
            groups[level].append(made)
            return made

        for g in range(len(units.party)):
            heads = float(policy.building_heads_per_grid)
            self.building_heads[g] = BuildingHeads(
                model,
                g,
                heads,
                station("building", g, heads),
                policy.building_head_claim_probability,
                policy.invitations_per_building_head,
            )
        for c in range(n_communities):
            workers = float(policy.social_workers_per_community)
            self.social[c] = SocialOrganisation(
                model,
                c,
                workers,
                station("social", c, workers),
                policy.social_worker_claim_probability,
                policy.invitations_per_social_worker,
            )
            shared = (
                station("registered", c, policy.members_per_report)
                if policy.registered_units > 0
                else None
            )
            self.registered[c] = [
                RegisteredUnit(
                    model,
                    c,
                    k,
                    policy.members_per_report,
                    shared,
                    policy.unit_member_claim_probability,
                    policy,
                )
                for k in range(policy.registered_units)
            ]
        # stations are looked up by level and index: one per grid or community, or none
        units.volunteer_groups.update(
            {
                "building": [h.station if h else None for h in self.building_heads],
                "social": [s.station if s else None for s in self.social],
                "registered": [units_[0].station if units_ else None for units_ in self.registered],
            }
        )

    def _assign_members(
        self,
        population: Population,
        residents: Sequence[Resident],
        calendar: WorkCalendar,
        events: EventCalendar,
        deadline_first: bool,
    ) -> None:
        """党员编组入网: each organisation assigns members of its community who do not
        volunteer yet to their grid's responsibility area; grids that gained members get a
        party station of their new size."""
        candidates = np.flatnonzero(population.party_member & ~population.volunteer)
        if candidates.size == 0:
            return
        u = self.rng["assignment"].random(candidates.size)
        communities = np.asarray(self.grid_community)[population.grid[candidates]]
        grown: set[int] = set()
        area = self.area_members
        for c, party in enumerate(self.parties):
            mine = communities == c
            chosen = candidates[mine][party.assigns(u[mine])]
            for row in chosen.tolist():
                member = cast("PartyMember", residents[row])
                member.volunteer = True
                population.volunteer[row] = True
                grid = int(population.grid[row])
                self.units.volunteers[grid].append(member)
                area[grid].append(member)
                grown.add(grid)
        policy = self.policy
        assert isinstance(policy, PartyBuilding)
        households = np.diff(self.grid_bounds) / self.p.population.household_size
        for g in sorted(grown):
            self.units.party[g] = Station(
                f"party:{g}",
                max(1, len(self.units.volunteers[g])),
                calendar,
                events,
                deadline_first,
            )
            covered = len(area[g]) * policy.households_per_member
            self.coverage[g] = min(1.0, covered / max(float(households[g]), 1.0))

    # ------------------------------------------------------------------ time
    def step(self, day: int) -> None:
        """A new day: registered units' rosters follow it; follow-up time renews monthly."""
        self.day = day
        if day % BUDGET_DAYS == 0:
            for party in self.parties:
                party.new_month()

    def mark(self) -> None:
        """Start the measured period: counts and invitation hours count from now."""
        self.taken = dict.fromkeys(ACTORS, 0)
        self.issues_routed = 0
        self.followed_up = 0
        self.followed_up_done = 0
        for group in self._groups():
            group.invitation_hours = 0.0

    def _groups(self) -> list[VolunteerGroup]:
        found: list[VolunteerGroup] = [h for h in self.building_heads if h is not None]
        found.extend(s for s in self.social if s is not None)
        return found

    # ------------------------------------------------------------- casework
    def offer(
        self,
        grid: int,
        reported_to_member: bool,
        work_hours: float | None,
        logging_hours: float,
        claims_rng: np.random.Generator,
    ) -> tuple[Visit, ...] | None:
        """Who takes a small task offered in ``grid`` (任务快速认领): one volunteering party
        member of the grid first (as before the reform, on the 'claims' stream); then,
        where an assigned member answers for the household (红岩党员责任区), that member;
        then the grid's building heads, a registered unit's members on duty in the
        community, and the community's social organisation. The one who takes it
        settles it on volunteered time and the grid worker only logs it; None: nobody
        took it, the grid's own workers settle it."""
        volunteers = self.units.volunteers[grid]
        declined: PartyMember | None = None
        if volunteers:
            member = volunteers[integer_below(claims_rng, len(volunteers))]
            if member.claims(reported_to_member, uniform(claims_rng)):
                self.taken["party_members"] += 1
                return self._settled_by(Unit("party", grid), grid, work_hours, logging_hours)
            declined = member
        if not self.parties:
            return None
        rng = self.rng
        responsible = self._responsible(grid, declined, rng["area_offers"])
        if responsible is not None and responsible.claims(
            reported_to_member, float(rng["area_offers"].random())
        ):
            self.taken["party_members"] += 1
            return self._settled_by(Unit("party", grid), grid, work_hours, logging_hours)
        community = self.grid_community[grid]
        heads = self.building_heads[grid]
        if heads is not None and heads.claims(float(rng["building_head_offers"].random())):
            self.taken["building_heads"] += 1
            return self._settled_by(Unit("building", grid), grid, work_hours, logging_hours)
        for unit in self.registered[community]:
            if unit.on_duty(self.day):
                if unit.claims(float(rng["registered_unit_offers"].random())):
                    self.taken["registered_units"] += 1
                    return self._settled_by(
                        Unit("registered", community), grid, work_hours, logging_hours
                    )
                break  # the members on duty today were asked
        social = self.social[community]
        if social is not None and social.claims(float(rng["social_offers"].random())):
            self.taken["social_organisations"] += 1
            return self._settled_by(Unit("social", community), grid, work_hours, logging_hours)
        return None

    def _responsible(
        self, grid: int, declined: PartyMember | None, rng: np.random.Generator
    ) -> PartyMember | None:
        """The assigned member who answers for the household of a task in ``grid``
        (红岩党员责任区), if a member does (``coverage``), other than the member who was
        just offered it and declined (no second chance for the same member)."""
        area = self.area_members[grid]
        if not area or rng.random() >= self.coverage[grid]:
            return None
        others = len(area)
        skip = -1
        if declined is not None:
            skip = next((k for k, m in enumerate(area) if m is declined), -1)
            others -= skip >= 0
        if others <= 0:
            return None
        k = integer_below(rng, others)
        return area[k + (0 <= skip <= k)]

    @staticmethod
    def _settled_by(
        unit: Unit, grid: int, work_hours: float | None, logging_hours: float
    ) -> tuple[Visit, ...]:
        return (
            Visit(unit, work_hours=work_hours),
            Visit(Unit("grid", grid), work_hours=logging_hours),
        )

    # ----------------------------------------------------------- deliberation
    def route_issues(self, settled: np.ndarray) -> np.ndarray:
        """Per community, the collective issues its organisation routes to deliberation out
        of those about to be settled top-down (none where no meetings are held)."""
        routed = np.zeros(settled.shape, settled.dtype)  # ``zeros_like`` of a 1-D array
        deliberation = self.deliberation
        if (
            not self.parties
            or deliberation is None
            or isinstance(deliberation.policy, NoConsultation)
        ):
            return routed
        for c in settled.nonzero()[0].tolist():  # few communities settle one on a day
            routed[c] = self.parties[c].routes(int(settled[c]), self.rng["issue_routing"])
        self.issues_routed += int(np.add.reduce(routed))
        return routed

    def turnout(self, community: int, start: int, probability: np.ndarray) -> np.ndarray:
        """Attendance probabilities of a community's residents (rows from ``start``) after
        building heads' and social workers' invitations: log-odds + the consultation
        policy's ``persuasiveness`` per invitation, capped as party members' are."""
        persuasiveness = float(
            getattr(self.deliberation and self.deliberation.policy, "persuasiveness", 0.0)
        )
        if not self.parties or persuasiveness <= 0:
            return probability
        n = probability.shape[0]
        invitations = np.zeros(n, dtype=np.int64)
        social = self.social[community]
        if social is not None:
            invitations += social.invite(n, self.rng["social_invitations"])
        for g in self.community_grids[community]:
            heads = self.building_heads[g]
            # residents are stored grid by grid (model.population)
            a, b = int(self.grid_bounds[g]) - start, int(self.grid_bounds[g + 1]) - start
            if heads is not None and b > a:
                invitations[a:b] += heads.invite(b - a, self.rng["building_head_invitations"])
        if not invitations.any():
            return probability
        p = np.clip(probability, 1e-12, 1 - 1e-12)
        logit = np.log(p / (1.0 - p)) + persuasiveness * np.minimum(invitations, MAX_INVITATIONS)
        return logistic(logit)

    def follow_up(self, item: Any) -> bool:
        """A decided action stalled: the community's organisation follows it up when it
        has the time (True: it is followed up, the issue stays in progress)."""
        key = id(item)
        if key in self._following:
            self._following.discard(key)
            return False
        if not self.parties or self.deliberation is None:
            return False
        community = int(item[0])
        party = self.parties[community]
        if not party.follows_up():
            return False
        self.followed_up += 1
        self._following.add(key)
        # the secretary's follow-up is a job at the community office: it waits behind the
        # office's casework and its hours count as the office's (staff_hours_total)
        policy = party.policy
        station = self.units.communities[community].station
        now = self.events.now
        station.arrive(policy.follow_up_hours, self._chased, item, now + policy.follow_up_days)
        return True

    def _chased(self, item: Any) -> None:
        """The secretary has followed it up: the responsible unit tries again within
        ``follow_up_days``."""
        policy = self.parties[int(item[0])].policy
        self.events.schedule(self.events.now + policy.follow_up_days, self._followed_up, item)

    def _followed_up(self, item: Any) -> None:
        deliberation = self.deliberation
        assert deliberation is not None
        party = self.parties[item[0]]
        if party.follow_up_succeeds(float(self.rng["follow_up"].random())):
            self._following.discard(id(item))
            self.followed_up_done += 1
            deliberation._implement(item)
        else:
            deliberation._fail(item)  # followed up once: the issue is open again

    # ---------------------------------------------------------------- outcomes
    def volunteer_hours(self, busy: Callable[[Station], float]) -> dict[str, float]:
        """Volunteer hours of the measured period by actor: tasks worked (``busy``: a
        station's hours within the period, ``GovernanceModel.measured_busy``), plus
        invitations."""
        units = self.units

        def worked(stations: list[Station | None]) -> float:
            return float(sum(busy(s) for s in stations if s is not None))

        groups = units.volunteer_groups
        heads = sum(h.invitation_hours for h in self.building_heads if h is not None)
        social = sum(s.invitation_hours for s in self.social if s is not None)
        return {
            "party_members": worked(list(units.party)),
            "registered_units": worked(groups.get("registered", [])),
            "building_heads": worked(groups.get("building", [])) + heads,
            "social_organisations": worked(groups.get("social", [])) + social,
        }

    def summary(self, busy: Callable[[Station], float]) -> dict[str, float]:
        """The organisation's outcomes (model.outcomes registry); ``busy`` as for
        :meth:`volunteer_hours`."""
        out: dict[str, float] = {}
        hours = self.volunteer_hours(busy)
        for actor in ACTORS:
            out[f"volunteer_hours_{actor}"] = hours[actor]
            out[f"cases_taken_{actor}"] = float(self.taken[actor])
        out["volunteer_hours_total"] = float(sum(hours.values()))
        out["collective_issues_routed"] = float(self.issues_routed)
        out["decisions_followed_up"] = float(self.followed_up)
        out["follow_ups_implemented"] = float(self.followed_up_done)
        return out
