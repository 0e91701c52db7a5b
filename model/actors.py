"""Volunteers beside the party members (多元主体): building heads (楼栋长) and social
organisations (社会组织). Neither occurs in the seed's practice: building heads are
practice elsewhere, social organisations the essay's outlook (seed §三(三)); both are
assumptions.

Each is a Mesa agent that owns its decisions: whether it takes a small task offered in
its grid or community (:meth:`BuildingHeads.claims`, :meth:`SocialOrganisation.claims`),
and whom it invites to a meeting (:meth:`BuildingHeads.invite`,
:meth:`SocialOrganisation.invite`). Their capacity is their people: each group works
its tasks on a :class:`model.stations.Station` of as many desks, on volunteered time.
The party organisation (:mod:`model.party`) offers them tasks after its own members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

if TYPE_CHECKING:
    import mesa

    from model.stations import Station

# Volunteer hours one invitation to a meeting takes (a knock on a door or a call;
# assumption).
INVITATION_HOURS = 0.25


class VolunteerGroup(Agent):
    """A group of ``people`` volunteers of one grid or community who take small tasks.

    Attributes:
        level: the unit level their tasks are recorded at ('building', 'social', 'registered').
        index: the grid or community they serve.
        station: their shared station (None when the group is empty).
        claim_probability: chance that the member offered a task takes it.
        invitations_per_person: residents each member invites to a meeting.
    """

    level = "volunteer"

    def __init__(
        self,
        model: mesa.Model,
        index: int,
        people: float,
        station: Station | None,
        claim_probability: float,
        invitations_per_person: float,
    ) -> None:
        super().__init__(model)
        self.index = index
        self.people = people
        self.station = station
        self.claim_probability = claim_probability
        self.invitations_per_person = invitations_per_person
        self.invitation_hours = 0.0

    def claims(self, u: float) -> bool:
        """Whether the member offered a small task takes it (``u`` a uniform draw); an
        empty group takes nothing."""
        return self.station is not None and self.people > 0 and u < self.claim_probability

    def invite(self, residents: int, rng: np.random.Generator) -> np.ndarray:
        """Invitations to a meeting each of ``residents`` (the group's grid or community)
        receives: every member invites about ``invitations_per_person`` of them at random;
        the time it takes is volunteered (:data:`INVITATION_HOURS` each)."""
        counts = np.zeros(residents, dtype=np.int64)
        total = self.people * self.invitations_per_person
        if residents == 0 or total <= 0:
            return counts
        n = int(rng.poisson(total))
        np.add.at(counts, rng.integers(0, residents, n), 1)
        self.invitation_hours += n * INVITATION_HOURS
        return counts


class BuildingHeads(VolunteerGroup):
    """The building heads (楼栋长) of one grid: residents who look after their building,
    settle small matters there and bring neighbours to meetings (practice elsewhere;
    assumption)."""

    level = "building"


class SocialOrganisation(VolunteerGroup):
    """The staff of a social organisation (社会组织) serving one community: they take
    small tasks and bring residents to meetings (seed §三(三), the essay's outlook;
    assumption)."""

    level = "social"
