"""Mesa agents of the governance system.

Residents are many, so their changing state lives in the model's arrays
(:class:`model.population.Population`); a ``Resident`` reads and writes its own
row and acts when something happens to it (a need, an outcome, an invitation).
Units that handle cases (grid teams, offices, departments) each own a
:class:`model.stations.Station`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa.discrete_space import CellAgent

from model.stations import Station

if TYPE_CHECKING:
    from model.governance import GovernanceModel


class Resident(CellAgent):
    """A resident in their grid's cell; state is row ``row`` of the population arrays."""

    model: GovernanceModel

    def __init__(self, model: GovernanceModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def trust(self) -> float:
        return float(self.model.population.trust[self.row])

    @trust.setter
    def trust(self, value: float) -> None:
        self.model.population.trust[self.row] = min(1.0, max(0.0, value))

    def learn_from(self, satisfied: bool) -> None:
        """Move trust toward one's own experience of a case (需求—处置—反馈—评价 loop, seed §二(二))."""
        rate = self.model.parameters.feedback.trust_learning_rate
        self.trust = self.trust + rate * ((1.0 if satisfied else 0.0) - self.trust)


class PartyMember(Resident):
    """A resident who is a party member (F7.1); volunteers are organised into their grid
    (党员编组入网), take reports, claim small tasks and invite neighbours to meetings (seed §二(二))."""

    def __init__(self, model: GovernanceModel, row: int, volunteer: bool) -> None:
        super().__init__(model, row)
        self.volunteer = volunteer


class GridWorker(CellAgent):
    """Staff of one grid (网格员, F6.3): takes reports, settles minor cases, verifies closure."""

    def __init__(self, model: GovernanceModel, grid: int, team: Station) -> None:
        super().__init__(model)
        self.grid = grid
        self.team = team


class Department(CellAgent):
    """A functional department (职能部门) with limited staff and office hours."""

    def __init__(self, model: GovernanceModel, index: int, name: str, station: Station) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.station = station


class Office(CellAgent):
    """An office that receives, reviews and dispatches cases."""

    level = "office"

    def __init__(self, model: GovernanceModel, index: int, station: Station) -> None:
        super().__init__(model)
        self.index = index
        self.station = station


class DistrictCentre(Office):
    """The district operation and governance centre (区级中心, 一网统管; F6.5)."""

    level = "centre"


class StreetOffice(Office):
    """A street/town governance centre (街镇中心, F6.5); blows the whistle (F4.3)."""

    level = "street"


class CommunityOffice(Office):
    """A community (社区) office: few staff, many tasks pushed down (小马拉大车)."""

    level = "community"
