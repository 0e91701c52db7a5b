"""The units that handle cases, by level: the directory the case lifecycle is given.

:class:`Units` holds the agents that own stations (district centre, street and
community offices, grid-worker teams, departments), the party-member volunteers of
each grid with their shared station, and the department staff moved down to each
community with their tasks (下沉, seed §三(二)). The lifecycle looks units up here
instead of reaching into the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from model.agents import (
    CommunityOffice,
    Department,
    DistrictCentre,
    GridWorker,
    Office,
    PartyMember,
    StreetOffice,
)
from model.policies.base import Unit
from model.stations import Station


@dataclass
class Units:
    """Every unit of one run, by level.

    Attributes:
        party: per grid, the station of its party-member volunteers (their time is
            volunteered, so it is reported apart from staff hours).
        volunteers: per grid, its volunteering party members.
        embedded: per community, the station of department staff moved down to it with
            their tasks (下沉 as practised), or None where nothing was moved with tasks.
        volunteer_groups: other volunteers' stations by level ('building' per grid,
            'social' and 'registered' per community; None where the group is empty), set
            by the party organisation (model.party); their time is volunteered.
        platforms: the sessions of each street's joint mediation platform, street by street
            (model.mediation.platform_stations); empty without a platform.
    """

    centre: DistrictCentre
    streets: list[StreetOffice]
    communities: list[CommunityOffice]
    grid_workers: list[GridWorker]
    departments: list[Department]
    party: list[Station]
    volunteers: list[list[PartyMember]]
    embedded: list[Station | None]
    volunteer_groups: dict[str, list[Station | None]] = field(default_factory=dict)
    platforms: list[Station | None] = field(default_factory=list)

    def station(self, unit: Unit) -> Station:
        """The station serving ``unit``."""
        level, i = unit.level, unit.index
        if level == "department":
            return self.departments[i].station
        if level == "grid":
            return self.grid_workers[i].station
        if level == "party":
            return self.party[i]
        if level == "community":
            return self.communities[i].station
        if level == "street":
            return self.streets[i].station
        if level == "centre":
            return self.centre.station
        if level == "embedded":
            station = self.embedded[i]
            if station is None:
                raise ValueError(f"community {i} has no department staff moved down with tasks")
            return station
        group = self.volunteer_groups.get(level)
        if group is not None:
            station = group[i] if 0 <= i < len(group) else None
            if station is None:
                raise ValueError(f"no such {level!r} group in grid/community {i}")
            return station
        if level == "mediation":
            session = self.platforms[i] if i < len(self.platforms) else None
            if session is None:
                raise ValueError(f"mediation session {i} does not sit (no platform or schedule)")
            return session
        raise ValueError(f"unknown unit level {level!r}")

    def dispatcher(self, unit: Unit) -> Office:
        """The office that classifies a case held by ``unit`` (a grid's cases are
        classified by its community office; a department's by its street office)."""
        level, i = unit.level, unit.index
        if level == "centre":
            return self.centre
        if level == "street":
            return self.streets[i]
        if level == "community":
            return self.communities[i]
        raise ValueError(f"a case held by {level} {i} is classified by its office")

    @property
    def department_stations(self) -> list[Station]:
        return [d.station for d in self.departments]

    @property
    def grid_stations(self) -> list[Station]:
        return [g.station for g in self.grid_workers]

    @property
    def community_stations(self) -> list[Station]:
        return [c.station for c in self.communities]

    def embedded_stations(self) -> Iterator[Station]:
        return (s for s in self.embedded if s is not None)

    def staff_stations(self) -> Iterator[Station]:
        """Stations of paid staff (not party volunteers)."""
        yield self.centre.station
        yield from (s.station for s in self.streets)
        yield from (c.station for c in self.communities)
        yield from (g.station for g in self.grid_workers)
        yield from (d.station for d in self.departments)
        yield from self.embedded_stations()
        yield from (s for s in self.platforms if s is not None)

    def all_stations(self) -> Iterator[Station]:
        """Every station, volunteers' included."""
        yield from self.staff_stations()
        yield from self.party
        for group in self.volunteer_groups.values():
            yield from (s for s in group if s is not None)
