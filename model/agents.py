"""Mesa agents of the governance system, and the decisions each one owns.

Residents are many, so their changing state lives in the model's arrays
(:class:`model.population.Population`); a ``Resident`` reads and writes its own
row and acts when something happens to it (an outcome of its case). Units that
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

from collections.abc import Collection
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from mesa.discrete_space import CellAgent

from model.stations import Station

if TYPE_CHECKING:
    import mesa

    from model.population import Population

RATING_MEMORY = 0.05  # weight of the latest case in a street's rating of a department (assumption)


class Resident(CellAgent):
    """A resident in their grid's cell; state is row ``row`` of the population arrays."""

    def __init__(
        self, model: mesa.Model, row: int, population: Population, learning_rate: float
    ) -> None:
        super().__init__(model)
        self.row = row
        self.population = population
        self.learning_rate = learning_rate

    @property
    def trust(self) -> float:
        return float(self.population.trust[self.row])

    @trust.setter
    def trust(self, value: float) -> None:
        self.population.trust[self.row] = min(1.0, max(0.0, value))

    def learn_from(self, satisfied: bool) -> None:
        """Move trust toward one's own experience of a case (需求—处置—反馈—评价 loop, seed §二(二))."""
        self.trust = self.trust + self.learning_rate * ((1.0 if satisfied else 0.0) - self.trust)


class PartyMember(Resident):
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
        super().__init__(model, row, population, learning_rate)
        self.volunteer = volunteer
        self.claim_probability = claim_probability

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
        self, model: mesa.Model, grid: int, station: Station, verification_hours: float
    ) -> None:
        super().__init__(model)
        self.grid = grid
        self.station = station
        self._verification_hours = verification_hours

    def verification_hours(self, settled_by_team: bool) -> float:
        """Staff hours to verify a closure on site: none for a case the team settled itself
        (it saw the result), else the on-site check of F9.5."""
        return 0.0 if settled_by_team else self._verification_hours


class Department(CellAgent):
    """A functional department (职能部门) with limited staff and office hours.

    Attributes:
        rating: the street's running rating of the department's timeliness, in [0, 1]
            (吹哨报到: the summoning unit rates the departments, F4.3).
    """

    def __init__(
        self,
        model: mesa.Model,
        index: int,
        name: str,
        station: Station,
        enforcement: bool,
        return_check_hours: float,
        ratings: np.ndarray,
    ) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.station = station
        self.enforcement = enforcement
        self.return_check_hours = return_check_hours
        self._ratings = ratings  # shared with the read-only system view policies see

    @property
    def rating(self) -> float:
        return float(self._ratings[self.index])

    @rating.setter
    def rating(self, value: float) -> None:
        self._ratings[self.index] = value

    def accepts(self, departments_needed: Collection[int]) -> bool:
        """Whether a case that needs ``departments_needed`` is this department's job;
        if not, it inspects the case and returns it with the legal basis (退件, F4.5, F9.2)."""
        return self.index in departments_needed

    def work_hours(self, work_content: float, lead: bool, coordination_hours: float) -> float:
        """Staff hours this department puts into a case: its exogenous work content, plus
        the coordination its route charges to the lead (首接负责, F4.7)."""
        return work_content + (coordination_hours if lead else 0.0)

    def queue_key(self, deadline: float, priority: float) -> float:
        """Order in a deadline-first queue (smaller first): the deadline, moved earlier by
        the route's priority (summons, repeat complaints)."""
        return deadline + priority

    def rate(self, on_time: bool) -> None:
        """The street rates the department after each case it handled (F4.3)."""
        self.rating += RATING_MEMORY * ((1.0 if on_time else 0.0) - self.rating)


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
        wrong = [
            d
            for d in range(self.n_departments)
            if d not in departments_needed and d not in returned_by
        ]
        if not wrong:
            return lead
        return wrong[int(rng.integers(len(wrong)))]


class DistrictCentre(Office):
    """The district operation and governance centre (区级中心, 一网统管; F6.5)."""

    level = "centre"


class StreetOffice(Office):
    """A street/town governance centre (街镇中心, F6.5); blows the whistle (F4.3)."""

    level = "street"


class CommunityOffice(Office):
    """A community (社区) office: few staff, many tasks pushed down (小马拉大车)."""

    level = "community"
