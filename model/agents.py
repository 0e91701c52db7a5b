"""Mesa agents of the governance system, and the decisions each one owns.

Residents are many, so their changing state lives in the model's arrays
(:class:`model.population.Population`); a ``Resident`` is a light view (not a Mesa
agent) that reads and writes its own row and acts when something happens to it (an
outcome of its case); party members, who decide, are full Mesa agents. Units that
handle cases (grid teams, offices, departments) each own a
:class:`model.stations.Station`, and the decisions a reader looks for are methods
here: which department an office dispatches a case to (:meth:`Office.classify`),
whether a department accepts a case or returns it (:meth:`Department.accepts`),
how much work it puts in (:meth:`Department.work_hours`), which case it takes next
(:meth:`Department.queue_key`), whether a party member claims a small task
(:meth:`PartyMember.claims`), and how a grid worker verifies a closure
(:meth:`GridWorker.verification_hours`). The case lifecycle (:mod:`model.casework`)
keeps the ledger and the event calendar and asks the agents.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from mesa.discrete_space import CellAgent

from model.scalar_draws import integer_below
from model.stations import Station

if TYPE_CHECKING:
    import mesa

    from model.parameters import HandlingParameters
    from model.population import Population


def resolves(handling: HandlingParameters, effort: float, u: float) -> bool:
    """Whether handling with ``effort`` (share of the work content) resolves a problem:
    with probability ``1 − (1 − q) ** effort``, ``q`` the full-effort probability
    (``u`` a uniform draw). Full effort gives ``q``; a premature closure much less."""
    miss = 1.0 - handling.resolution_probability_full_effort
    return u < 1.0 - miss**effort


def learn(population: Population, row: int, rate: float, satisfied: bool) -> None:
    """Resident ``row`` moves trust, and their settled disposition, toward their own
    experience of a case (需求—处置—反馈—评价 loop, seed §二(二)) at learning ``rate``;
    neighbours' influence fades back to the disposition, one's own experience stays.
    :meth:`Resident.learn_from`, and :meth:`model.residents.Residents.learn_from` for a row
    without a view made for it (issue 11)."""
    outcome = 1.0 if satisfied else 0.0
    # what the ``trust`` property reads and writes, without its two calls (issue 11)
    t = population.trust
    trust = t.item(row)  # a Python float: the same float64 arithmetic, cheaper
    t[row] = min(1.0, max(0.0, trust + rate * (outcome - trust)))
    d = population.disposition
    settled = d.item(row)
    d[row] = settled + rate * (outcome - settled)


def contacts_again(contacts_so_far: int, probability: float, limit: int, u: float) -> bool:
    """Whether a resident contacts the system again about a problem that was not resolved
    (a repeat contact, M12, M14), until they give up after ``limit`` contacts (``u`` a
    uniform draw). :meth:`Resident.contacts_again`, and
    :meth:`model.residents.Residents.contacts_again` for a row without a view made for it
    (issue 11)."""
    return contacts_so_far < limit and u < probability


def urges(probability: float, u: float) -> bool:
    """Whether a resident calls to urge a case past its time limit (催办, F9.4).
    :meth:`Resident.urges`, and :meth:`model.residents.Residents.urges` for a row without
    a view made for it (issue 11)."""
    return u < probability


class Resident:
    """A resident: a light view of row ``row`` of the population arrays, not a Mesa agent
    (a district has a million residents who do nothing between cases; docs/design.md
    "Issue 11: hot path"). Made on access by :class:`model.residents.Residents`."""

    __slots__ = ("learning_rate", "model", "population", "row")

    def __init__(
        self, model: mesa.Model, row: int, population: Population, learning_rate: float
    ) -> None:
        self.model = model
        self.row = row
        self.population = population
        self.learning_rate = learning_rate

    @property
    def trust(self) -> float:
        return self.population.trust.item(self.row)  # a Python float, as float() of the element

    @trust.setter
    def trust(self, value: float) -> None:
        self.population.trust[self.row] = min(1.0, max(0.0, value))

    def learn_from(self, satisfied: bool) -> None:
        """Move trust, and one's settled disposition, toward one's own experience of a case
        (需求—处置—反馈—评价 loop, seed §二(二)): :func:`learn`."""
        learn(self.population, self.row, self.learning_rate, satisfied)

    def contacts_again(
        self, contacts_so_far: int, probability: float, limit: int, u: float
    ) -> bool:
        """Whether the resident contacts the system again about a problem that was not
        resolved (a repeat contact, M12, M14): :func:`contacts_again`."""
        return contacts_again(contacts_so_far, probability, limit, u)

    def urges(self, probability: float, u: float) -> bool:
        """Whether the resident calls to urge a case past its time limit (催办, F9.4):
        :func:`urges`."""
        return urges(probability, u)


class PartyMember(Resident, CellAgent):
    """A resident who is a party member (F7.1); volunteers are organised into their grid
    (党员编组入网) and claim small tasks in their responsibility zone (任务快速认领, seed §二(二))."""

    def __init__(
        self,
        model: mesa.Model,
        row: int,
        population: Population,
        learning_rate: float,
        volunteer: bool,
        claim_probability: float,
    ) -> None:
        Resident.__init__(self, model, row, population, learning_rate)
        CellAgent.__init__(self, model)
        self.volunteer = volunteer
        self.claim_probability = claim_probability

    @staticmethod
    def invitation_probability(
        invitations_per_member: float, degree: np.ndarray | int
    ) -> np.ndarray | float:
        """Mobilisation: the chance that a party member invites each of their ``degree`` ties
        to a meeting, so that they invite about ``invitations_per_member`` in all
        (党员编组入网, seed §二(二)). The consultation helper applies it to every member of
        a community at once (``model.policies.participation.invitations_through_ties``)."""
        return np.minimum(1.0, invitations_per_member / np.maximum(degree, 1))

    def claims(self, reported_to_me: bool, u: float) -> bool:
        """Whether this member takes on a small task offered in the grid.

        A volunteer always takes a task that was reported to them; otherwise with
        ``claim_probability`` (``u`` is a uniform draw). A member who does not volunteer
        claims nothing.
        """
        if not self.volunteer:
            return False
        return reported_to_me or u < self.claim_probability


class GridWorker(CellAgent):
    """The grid-worker team of one grid (网格员, F6.3), ``station.staff`` FTE: takes reports,
    settles minor cases on the spot and verifies closure on site (F4.5, F9.5)."""

    def __init__(
        self,
        model: mesa.Model,
        grid: int,
        station: Station,
        verification_hours: float,
        catch_probability: float,
    ) -> None:
        super().__init__(model)
        self.grid = grid
        self.station = station
        self._verification_hours = verification_hours
        self.catch_probability = catch_probability

    def verification_hours(self, settled_by_team: bool) -> float:
        """Staff hours to verify a closure on site: none for a case the team settled itself
        (it saw the result), else the on-site check of F9.5."""
        return 0.0 if settled_by_team else self._verification_hours

    def catches(self, resolved: bool, settled_by_team: bool, u: float) -> bool:
        """Whether the on-site check finds that a closed case is not actually resolved
        (F9.5; a superficial or premature closure), so it is reopened."""
        return not resolved and not settled_by_team and u < self.catch_probability


class Department(CellAgent):
    """A functional department (职能部门) with limited staff and office hours.

    It decides whether a case is its job (:meth:`accepts`), how much of the case's work
    it puts in (:meth:`effort`), which case it takes next (:meth:`queue_key`) and, through
    its effort, whether the case is resolved (:meth:`resolves`). Under an accountability
    regime its ``pressure`` (0 = top of the league table, 1 = bottom, set each period) and
    the regime's ``weights`` (what is ranked) drive those decisions (docs/design.md
    "Accountability").

    Attributes:
        rating: the street's running rating of the department's timeliness, in [0, 1]
            (吹哨报到: the summoning unit rates the departments, F4.3).
        pressure: how far behind the department stands in the last league table, in [0, 1].
        quality_focus: share of the ranking on resolution and satisfaction, in [0, 1].
        timeliness_focus: share of the ranking on on-time rates and street ratings.
    """

    def __init__(
        self,
        model: mesa.Model,
        index: int,
        name: str,
        station: Station,
        enforcement: bool,
        handling: HandlingParameters,
        return_check_hours: float,
        ratings: np.ndarray,
    ) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.station = station
        self.enforcement = enforcement
        self.handling = handling
        self.return_check_hours = return_check_hours
        self._ratings = ratings  # shared with the read-only system view policies see
        self.pressure = 0.0
        self.quality_focus = 0.0
        self.timeliness_focus = 0.0

    @property
    def rating(self) -> float:
        return self._ratings.item(self.index)  # a Python float, as float() of the element

    @rating.setter
    def rating(self, value: float) -> None:
        self._ratings[self.index] = value

    @staticmethod
    def works_to_deadlines(weights: Mapping[str, float], stakes: float) -> bool:
        """Whether departments work deadline-first: when timeliness (on-time rates or the
        street's rating) is ranked with some stakes (F9.1, F4.1 time limits); the response
        rate (cases taken on / received) does not depend on the order of work."""
        timeliness = sum(weights.get(m, 0.0) for m in ("on_time", "street_rating"))
        return stakes > 0 and timeliness > 0

    def respond_to(self, pressure: float, weights: Mapping[str, float]) -> None:
        """Take in this period's league table: the pressure and what is ranked."""
        total = sum(weights.values())
        quality = weights.get("resolution", 0.0) + weights.get("satisfaction", 0.0)
        timeliness = sum(weights.get(m, 0.0) for m in ("on_time", "street_rating"))
        self.pressure = pressure
        self.quality_focus = quality / total if total > 0 else 0.0
        self.timeliness_focus = timeliness / total if total > 0 else 0.0

    def accepts(
        self, departments_needed: Collection[int], disputed: bool, must_lead: bool, u: float
    ) -> bool:
        """Whether the department takes the case on.

        A case that is not its job is returned with the legal basis (退件, F4.5, F9.2). A case
        whose ownership is disputed (职责交叉, 无主, F9.5) is returned as "not ours" with
        ``dispute_probability``, more often under pressure when gaming, unless the
        department must lead it as the first unit to receive it (首接负责, F4.7).
        """
        if self.index not in departments_needed:
            return False
        if not disputed or must_lead:
            return True
        h = self.handling
        p_dispute = min(1.0, h.dispute_probability * (1.0 + h.gaming_propensity * self.pressure))
        return u >= p_dispute

    def effort(self, u: float) -> tuple[float, bool]:
        """The share of a case's work content the department puts in, and whether it closes
        the case prematurely (gaming, M5, M9; ``u`` a uniform draw).

        Without pressure it does the work (1.0). Under pressure it takes more care where
        resolution and satisfaction are ranked (``care_gain``), and with
        ``gaming_propensity`` it sometimes cuts the case short to clear its queue.
        """
        h = self.handling
        if u < h.gaming_propensity * self.pressure:
            return h.premature_effort_share, True
        return 1.0 + h.care_gain * self.pressure * self.quality_focus, False

    def reclassifies(self, u: float) -> bool:
        """Whether the department, ranked on timeliness and under pressure, re-files a case
        under a longer time limit so that it counts as on time (gaming by reclassification,
        M10; ``u`` a uniform draw). The resident still judges by the limit first promised."""
        return u < self.handling.gaming_propensity * self.pressure * self.timeliness_focus

    def resolves(self, effort: float, u: float) -> bool:
        """Whether handling with ``effort`` (share of the work content) resolves the case."""
        return resolves(self.handling, effort, u)

    def work_hours(self, work_content: float, lead: bool, coordination_hours: float) -> float:
        """Staff hours of full effort on a case: its exogenous work content, plus the
        coordination its route charges to the lead (首接负责, F4.7)."""
        return work_content + (coordination_hours if lead else 0.0)

    def queue_key(self, deadline: float, priority: float) -> float:
        """Order in a deadline-first queue (smaller first): the deadline, moved earlier by
        the route's priority (summons, repeat complaints)."""
        return deadline + priority

    def rate(self, on_time: bool) -> None:
        """The street rates the department after each case it handled (F4.3)."""
        memory = self.handling.rating_memory
        # what the ``rating`` property reads and writes, without its two calls (issue 11,
        # eighteenth round; as Resident.learn_from)
        ratings, index = self._ratings, self.index
        rating = ratings.item(index)  # a Python float, as float() of the element
        ratings[index] = rating + memory * ((1.0 if on_time else 0.0) - rating)


class Office(CellAgent):
    """An office that receives, reviews and dispatches cases.

    Attributes:
        accuracy: chance of naming a case's owning department correctly with the office's
            own list (F3.6 at the centre; assumption elsewhere).
        catalogue: departments covered by the single dispatch catalogue (一组库), named
            with ``catalogue_accuracy`` instead.
        review_hours: staff hours to review one case passed on by the office.
    """

    level: ClassVar[str] = "office"

    def __init__(
        self,
        model: mesa.Model,
        index: int,
        station: Station,
        accuracy: float,
        catalogue: frozenset[int],
        catalogue_accuracy: float,
        n_departments: int,
        review_hours: float,
    ) -> None:
        super().__init__(model)
        self.index = index
        self.station = station
        self.review_hours = review_hours
        self.accuracy = accuracy
        self.catalogue = catalogue
        self.catalogue_accuracy = catalogue_accuracy
        self.n_departments = n_departments
        # per departments needed, the wrong ones while none has returned the case: the list
        # ``classify`` draws from, made once (issue 11, seventeenth round: ≈ 2 % of a street)
        self._wrong_for: dict[tuple[int, ...], list[int]] = {}

    def accuracy_for(self, department: int) -> float:
        """Chance of classifying a case of ``department`` correctly."""
        return self.catalogue_accuracy if department in self.catalogue else self.accuracy

    def classify(
        self,
        departments_needed: tuple[int, ...],
        returned_by: Collection[int],
        u: float,
        rng: np.random.Generator,
    ) -> int:
        """The department this office sends a case to: the lead owner with its accuracy
        (``u`` a uniform draw), else one of the departments that have not returned the
        case yet (the office learns from each return, F9.2)."""
        lead = departments_needed[0]
        if u < self.accuracy_for(lead):
            return lead
        # kept per departments needed while no one has returned the case (``n_departments``
        # is fixed for the office's life)
        fresh = len(returned_by) == 0
        key = tuple(departments_needed)
        wrong = self._wrong_for.get(key) if fresh else None
        if wrong is None:
            wrong = [
                d
                for d in range(self.n_departments)
                if d not in departments_needed and d not in returned_by
            ]
            if fresh:
                self._wrong_for[key] = wrong
        if not wrong:
            return lead
        return wrong[integer_below(rng, len(wrong))]  # int(rng.integers(n)), cheaper


class DistrictCentre(Office):
    """The district operation and governance centre (区级中心, 一网统管; F6.5)."""

    level = "centre"


class StreetOffice(Office):
    """A street/town governance centre (街镇中心, F6.5); blows the whistle (F4.3)."""

    level = "street"


class CommunityOffice(Office):
    """A community (社区) office: few staff, many tasks pushed down (小马拉大车)."""

    level = "community"
