"""Micro-space projects (微改造、精提升) and 每月一题: proposed, funded, built, kept up, used.

A decision of a community's deliberation (:mod:`model.meetings`) becomes a typed
micro-space (:mod:`model.project_types`) in one of its grids, chosen by the projects
policy (:mod:`model.policies.micro_renewal`). Its life, one (grid, type) slot at a time:

- *funding*: the community pays the cost from its budget (accrued daily; assumption),
  less what firms of the grid add (:func:`firm_contribution`); it waits while money is short;
- *building*: community staff plan and supervise it (a job at the community office, so
  it takes staff time from casework), then a contractor builds it for ``build_days``;
- *in use*: each month the community keeps it up (money and a staff job) and the
  condition is restored; unkept, the condition wears and below ``worn_out_condition``
  the space is given up (the slot is free again). Condition scales both effects:
  a share of its problem's needs in the grid no longer arise (a rate factor on the
  demand, :class:`model.demand.DemandGenerator`), and residents who use it have a good
  experience with probability = condition (their trust moves as after a case, weighted).

With the policy's ``monthly_topic`` (每月一题, F9.7) each street picks, from the cases it
saw in the month, its most frequent problem a micro-space can address and puts it to the
community where it concentrates as a collective issue for its next meeting: the
residents are consulted before the space is built.

Money and staff are finite, spaces wear and are given up, and every grid holds at most
one space of each type, so a run with projects settles (docs/design.md "Micro-space
projects").
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from model.cases import CASE_TYPES
from model.geography import Geography
from model.project_types import PROJECT_TYPES
from model.units import Units

if TYPE_CHECKING:
    from model.casework import Casework
    from model.demand import DemandGenerator, NeedBatch
    from model.events import EventCalendar
    from model.meetings import Deliberation
    from model.parameters import ModelParameters
    from model.population import Population

IDLE, FUNDING, BUILDING, IN_USE = 0, 1, 2, 3
# the problems a place's condition gives rise to (not inquiries, help, suggestions, disputes)
PROBLEM_TYPES = np.array([CASE_TYPES.index(t) for t in ("complaint", "report", "patrol", "sensor")])
MONTH_DAYS = 30
# case counts that guide a community's choice fade by a twelfth a month (a year's memory)
RECENT_DECAY_PER_MONTH = 11.0 / 12.0
# a project job waits behind the cases of a deadline-first office (days added to now)
PROJECT_JOB_SLACK_DAYS = 30.0
# a proposal that finds no money within a budget year lapses (assumption)
FUNDING_PATIENCE_DAYS = 365.0


def firm_contribution(
    firms: int, probability: float, share: float, cost: float, rng: np.random.Generator
) -> float:
    """Money a grid's ``firms`` add to its micro-space costing ``cost`` (多元主体投资, seed
    §三(三)): each co-funds with ``probability`` and pays ``share`` of the cost; together at
    most the whole cost."""
    cofunders = int(rng.binomial(firms, probability)) if firms > 0 else 0
    return min(cost, cofunders * share * cost)


class MicroSpaces:
    """Every grid's micro-space slots (one per project type) and the communities' budgets.

    Args:
        parameters: the run's parameters (``projects`` holds the policy).
        population: the residents (trust and disposition move when they use a space).
        geography: grids, communities and streets.
        units: offices whose staff plan, keep up and study projects.
        events: the event calendar (construction takes time).
        casework: the case ledger (the problems the grids saw).
        deliberation: decisions of the communities' meetings become projects.
        demand: the rate hook through which spaces remove needs at their source.
        rng: the 'projects' stream.
    """

    def __init__(
        self,
        parameters: ModelParameters,
        population: Population,
        geography: Geography,
        units: Units,
        events: EventCalendar,
        casework: Casework,
        deliberation: Deliberation,
        demand: DemandGenerator,
        rng: np.random.Generator,
    ) -> None:
        self.policy: Any = parameters.projects
        self.active = bool(self.policy.active)
        self.learning_rate = parameters.feedback.trust_learning_rate
        self.population = population
        self.geography = geography
        self.units = units
        self.events = events
        self.casework = casework
        self.deliberation = deliberation
        departments = list(parameters.departments)
        self.types = [t for t in PROJECT_TYPES if t.problem in departments]
        self.type_problem = np.array([departments.index(t.problem) for t in self.types], int)
        self.sources_removed = np.array([t.sources_removed for t in self.types])
        self.visits_per_day = np.array([t.visits_per_resident_per_year for t in self.types]) / 365
        self.addressable = np.unique(self.type_problem)
        n_grids, n_types = geography.n_grids, len(self.types)
        self.n_grids = n_grids
        self.grid_community = np.array(geography.grid_community, dtype=np.int64)
        self.community_street = np.array(geography.community_street, dtype=np.int64)
        self.grid_street = self.community_street[self.grid_community]
        n_communities = len(geography.community_street)
        self.community_grids = [
            np.flatnonzero(self.grid_community == c) for c in range(n_communities)
        ]
        self.street_grids = [
            np.flatnonzero(self.grid_street == s)
            for s in range(int(self.community_street.max()) + 1)
        ]
        self.resident_grid = np.array(geography.resident_grid, dtype=np.int64)
        # residents are stored grid by grid: each grid is a contiguous block of rows
        self.grid_start = np.searchsorted(population.grid, np.arange(n_grids + 1))
        self.grid_size = np.diff(self.grid_start)
        self.status = np.zeros((n_grids, n_types), dtype=np.int8)
        self.condition = np.zeros((n_grids, n_types))
        self.rate_factor = np.ones((n_grids, len(departments)))
        self.recent = np.zeros((n_grids, len(departments)))  # fading case counts
        self.month = np.zeros((n_grids, len(departments)))  # this month's case counts
        self.counted = 0  # cases tallied so far (by case number: rows are reused)
        annual = float(getattr(self.policy, "budget_yuan_per_community_per_year", 0.0))
        self.budget = np.full(n_communities, annual)  # a year's allocation at the start
        # the most a community can hold; it proposes only types it could pay for alone
        carry = float(getattr(self.policy, "budget_carry_over_years", 0.0))
        self.budget_cap = annual * (1.0 + carry)
        self.affordable = np.array([t.cost_yuan <= self.budget_cap for t in self.types], bool)
        # per community: proposals waiting for money (grid, type, firms' pledge, proposed at)
        self.waiting: list[list[tuple[int, int, float, float]]] = [[] for _ in range(n_communities)]
        self.topics: list[list[tuple[int, int]]] = [[] for _ in range(n_communities)]
        self.queued: set[tuple[int, int]] = set()
        firm_rng, use_rng, thinning = rng.spawn(3)
        self.firm_rng, self.use_rng = firm_rng, use_rng
        self._zero_counters()
        self.prevented_mark = 0
        self.under_factors_mark = 0
        self.demand = demand
        if self.active:
            deliberation.on_implemented = self.on_decision
            demand.rate_factors.append(self.rate_factor)
            demand.need_grid = self.need_grid
            demand.thinning = thinning

    def _zero_counters(self) -> None:
        self.proposed = 0
        self.built = 0
        self.given_up = 0
        self.lapsed = 0
        self.community_yuan = 0.0
        self.firm_yuan = 0.0
        self.staff_hours = 0.0
        self.topics_chosen = 0
        self.topics_tackled = 0

    def mark(self) -> None:
        """Start the measured period: counters count from now (spaces and budgets carry over)."""
        self._zero_counters()
        self.prevented_mark = self.casework.needs_prevented
        self.under_factors_mark = self.demand.needs_under_factors

    # ------------------------------------------------------------ the rate hook
    def need_grid(self, batch: NeedBatch) -> np.ndarray:
        """The grid of each problem of today's batch, −1 for a need a space cannot remove.

        Only problems arise from a place's condition: complaints, reports and the public
        problems patrols and sensors find; an inquiry, a request for help or a suggestion
        does not. A public problem's grid is the one casework gives it
        (:meth:`model.geography.Geography.public_grids` of its number among the non-dispute
        needs; disputes are received after the day's needs)."""
        casework = self.casework
        numbers = (
            casework.need_offset - casework.dispute_needs + np.arange(len(batch), dtype=np.int64)
        )
        grid = np.where(
            batch.resident >= 0,
            self.resident_grid[np.maximum(batch.resident, 0)],
            self.geography.public_grids(numbers),
        )
        return np.where(np.isin(batch.case_type, PROBLEM_TYPES), grid, -1)

    def _update_factor(self) -> None:
        """Rate factor per (grid, department): each space in use removes ``sources_removed``
        × strength × condition of its problem's needs in its grid (composed by product)."""
        strength = float(self.policy.source_fix_strength)
        self.rate_factor[:] = 1.0
        in_use = self.status == IN_USE
        if strength <= 0 or not in_use.any():
            return
        removed = np.clip(strength * self.sources_removed * self.condition * in_use, 0.0, 1.0)
        for t, d in enumerate(self.type_problem.tolist()):
            self.rate_factor[:, d] *= 1.0 - removed[:, t]

    # ------------------------------------------------------------------- a day
    def step(self, day: int) -> None:
        """One day: budgets accrue, spaces wear and are used; monthly, the month's cases
        are tallied, spaces kept up and (每月一题) each street's topic chosen."""
        if not self.active:
            return
        policy = self.policy
        annual = policy.budget_yuan_per_community_per_year
        np.minimum(self.budget + annual / 365.0, self.budget_cap, out=self.budget)
        in_use = self.status == IN_USE
        if in_use.any():
            self.condition[in_use] *= math.exp(-policy.wear_per_year / 365.0)
            worn = in_use & (self.condition < policy.worn_out_condition)
            if worn.any():
                self.status[worn] = IDLE
                self.condition[worn] = 0.0
                self.given_up += int(worn.sum())
            self._use(in_use & ~worn)
        if (day + 1) % MONTH_DAYS == 0:
            self.tally()
            self._maintain()
            if policy.monthly_topic:
                self._monthly_topics()
            self.recent = self.recent * RECENT_DECAY_PER_MONTH + self.month
            self.month[:] = 0.0
        for c in range(len(self.waiting)):
            if self.waiting[c]:
                self._fund(c)
        self._update_factor()

    def _use(self, in_use: np.ndarray) -> None:
        """Residents of a grid visit its spaces; a visit is a good experience with probability
        = the space's condition, and moves trust like a case's, weighted (assumption)."""
        grids, kinds = np.nonzero(in_use)
        if grids.size == 0:
            return
        sizes = self.grid_size[grids]
        visitors = self.use_rng.binomial(sizes, np.minimum(self.visits_per_day[kinds], 1.0))
        total = int(visitors.sum())
        if total == 0:
            return
        offsets = (self.use_rng.random(total) * np.repeat(sizes, visitors)).astype(np.int64)
        rows = np.repeat(self.grid_start[grids], visitors) + offsets
        good = self.use_rng.random(total) < np.repeat(self.condition[grids, kinds], visitors)
        rate = self.policy.use_experience_weight * self.learning_rate
        if rate <= 0:
            return
        pop = self.population
        outcome = good.astype(float)
        pop.trust[rows] += rate * (outcome - pop.trust[rows])
        pop.disposition[rows] += rate * (outcome - pop.disposition[rows])

    def tally(self) -> None:
        """Add the problems registered since the last tally to this month's counts per (grid,
        lead department). A problem counts once, at its first contact: complaints, reports,
        patrol and sensor finds that are no repeat contact and no second or later separate
        request of a linked need (not inquiries, help, suggestions or disputes). Also called
        before finished cases leave the case table (model.case_retirement), which frees
        their rows for reuse."""
        if not self.active:
            return
        cases = self.casework.cases
        start, end = self.counted, cases.added
        if end > start:
            if cases.added == cases.size:  # no row reused: row = case number
                rows = np.arange(start, end)
            else:
                rows = np.flatnonzero(cases.column("number") >= start)
            rows = rows[
                np.isin(cases.column("case_type")[rows], PROBLEM_TYPES)
                & (cases.column("repeat")[rows] == 0)
            ]
            split = cases.column("split")[rows] == 1
            if split.any():  # the separate requests of one need: its first (lowest number)
                parts = rows[split]
                parts = parts[np.argsort(cases.column("number")[parts], kind="stable")]
                _, first = np.unique(cases.column("need")[parts], return_index=True)
                rows = np.concatenate([rows[~split], parts[first]])
            grid = cases.column("grid")[rows]
            lead = np.fromiter(
                (cases.departments[r][0] for r in rows.tolist()), np.int64, rows.size
            )
            np.add.at(self.month, (grid, lead), 1.0)
        self.counted = end

    # --------------------------------------------------------- a project's life
    def on_decision(self, community: int) -> None:
        """A decision of the community's meeting is implemented: a 每月一题 topic put to this
        community becomes its project; otherwise the policy picks the (grid, type) whose
        problem its recent cases show most, weighted by what the space would remove."""
        choice = None
        while self.topics[community]:
            grid, kind = self.topics[community].pop(0)
            self.queued.discard((grid, kind))
            if self.status[grid, kind] == IDLE:
                choice = (grid, kind)
                self.topics_tackled += 1
                break
        if choice is None:
            grids = self.community_grids[community]
            expected = self.recent[grids][:, self.type_problem] * self.sources_removed
            free = (self.status[grids] == IDLE) & self.affordable
            picked = self.policy.propose(expected, free)
            if picked is None:
                return
            choice = (int(grids[picked[0]]), picked[1])
        self.propose(community, *choice)

    def propose(self, community: int, grid: int, kind: int) -> None:
        """A project of type ``kind`` in ``grid`` is proposed; firms pledge; it waits for money."""
        policy = self.policy
        self.proposed += 1
        self.status[grid, kind] = FUNDING
        cost = self.types[kind].cost_yuan
        firms = firm_contribution(
            policy.firms_per_grid,
            policy.firm_cofunding_probability,
            policy.firm_cofunding_share,
            cost,
            self.firm_rng,
        )
        self.waiting[community].append((grid, kind, firms, self.events.now))
        self._fund(community)

    def _fund(self, community: int) -> None:
        """Start the waiting projects the community can now pay for, in order; a proposal
        that found no money within ``FUNDING_PATIENCE_DAYS`` lapses (its slot is free again)."""
        queue = self.waiting[community]
        while queue:
            grid, kind, firms, proposed = queue[0]
            if self.events.now - proposed > FUNDING_PATIENCE_DAYS:
                queue.pop(0)
                self.status[grid, kind] = IDLE
                self.lapsed += 1
                continue
            own = self.types[kind].cost_yuan - firms
            if self.budget[community] < own:
                return
            queue.pop(0)
            self.budget[community] -= own
            self.community_yuan += own
            self.firm_yuan += firms
            self.status[grid, kind] = BUILDING
            self._staff_job(
                self.units.communities[community].station,
                self.types[kind].planning_staff_hours,
                self._planned,
                (grid, kind),
            )

    def _staff_job(self, station: Any, hours: float, done: Any, token: Any) -> None:
        self.staff_hours += hours
        station.arrive(hours, done, token, self.events.now + PROJECT_JOB_SLACK_DAYS)

    def _planned(self, item: tuple[int, int]) -> None:
        """Planned and consulted on: the contractor builds it."""
        kind = item[1]
        self.events.schedule(self.events.now + self.types[kind].build_days, self._opened, item)

    def _opened(self, item: tuple[int, int]) -> None:
        grid, kind = item
        self.status[grid, kind] = IN_USE
        self.condition[grid, kind] = 1.0
        self.built += 1

    def _maintain(self) -> None:
        """Monthly upkeep of every space in use whose community has the money."""
        for grid, kind in zip(*np.nonzero(self.status == IN_USE), strict=True):
            g, t = int(grid), int(kind)
            community = int(self.grid_community[g])
            cost = self.types[t].maintenance_yuan_per_year / 12.0
            if self.budget[community] < cost:
                continue
            self.budget[community] -= cost
            self.community_yuan += cost
            self._staff_job(
                self.units.communities[community].station,
                self.types[t].maintenance_staff_hours,
                self._kept_up,
                (g, t),
            )

    def _kept_up(self, item: tuple[int, int]) -> None:
        grid, kind = item
        if self.status[grid, kind] == IN_USE:
            self.condition[grid, kind] = 1.0

    def _monthly_topics(self) -> None:
        """每月一题 (F9.7): each street's most frequent problem this month for which a space
        can still be built goes to the community where it concentrates, as a collective issue
        for its meeting."""
        for street, grids in enumerate(self.street_grids):
            free_slots = (self.status[grids] == IDLE) & self.affordable
            for i, g in enumerate(grids.tolist()):
                for t in range(len(self.types)):
                    free_slots[i, t] &= (g, t) not in self.queued
            counts = self.month[grids][:, self.addressable].sum(axis=0)
            open_ = np.array(
                [free_slots[:, self.type_problem == d].any() for d in self.addressable]
            )
            pick = self.policy.topic(counts, open_)
            if pick is None:
                continue
            problem = int(self.addressable[pick])
            kinds = np.flatnonzero(self.type_problem == problem)
            expected = self.month[grids][:, [problem]] * self.sources_removed[kinds]
            cell = self.policy.propose(expected, free_slots[:, kinds])
            if cell is None:
                continue
            grid, kind = int(grids[cell[0]]), int(kinds[cell[1]])
            community = int(self.grid_community[grid])
            self.topics[community].append((grid, kind))
            self.queued.add((grid, kind))
            self.deliberation.open_issues[community] += 1
            self.deliberation.issues_raised += 1
            self.topics_chosen += 1
            self._staff_job(
                self.units.streets[street].station, self.policy.topic_staff_hours, _noted, None
            )

    # ---------------------------------------------------------------- outcomes
    @property
    def in_use(self) -> int:
        """Micro-spaces in use now."""
        return int(np.count_nonzero(self.status == IN_USE))  # without ``sum``'s Python frames

    def summary(self) -> dict[str, float]:
        """The measured period's project outcomes (docs/design.md "Micro-space projects")."""
        prevented = self.casework.needs_prevented - self.prevented_mark
        under = self.demand.needs_under_factors - self.under_factors_mark
        money = self.community_yuan + self.firm_yuan
        return {
            "projects_proposed": float(self.proposed),
            "projects_built": float(self.built),
            "projects_in_use": float(self.in_use),
            "projects_given_up": float(self.given_up),
            "projects_lapsed": float(self.lapsed),
            "project_cost_yuan": float(money),
            "project_firm_funding_share": float(self.firm_yuan / money) if money > 0 else math.nan,
            "project_staff_hours": float(self.staff_hours),
            "needs_prevented": float(prevented),
            "targeted_needs_prevented_share": float(prevented / under) if under > 0 else math.nan,
            "monthly_topics_chosen": float(self.topics_chosen),
            "monthly_topics_tackled": float(self.topics_tackled),
        }


def _noted(_: Any) -> None:
    """A street office's study of a monthly topic is done (its time is the cost)."""
