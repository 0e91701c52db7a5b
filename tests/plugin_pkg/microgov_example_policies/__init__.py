"""Example third-party policies for microgov (a test fixture and a template).

Each policy is a frozen dataclass whose fields are its parameters (validated by
pydantic from the ``Annotated`` bounds) and implements one family's protocol from
``model.policies.base``. Registered under the entry-point groups ``microgov.routing``
and ``microgov.consultation`` in this package's ``pyproject.toml``; usable without
installing as ``kind = "microgov_example_policies:DirectRouting"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from model.policies.base import (
    CaseView,
    CommunityView,
    Meeting,
    Route,
    Stage,
    SystemView,
    Unit,
    Visit,
)
from model.policies.participation import invitations_through_ties


@dataclass(frozen=True)
class DirectRouting:
    """Every case goes straight to its departments, jointly, with no office review.

    An idealised bound for dispatch reforms (assumption): nobody reviews; the office
    that took the case in still names its lead department, so returns remain.

    Attributes:
        coordination_hours: staff hours the lead department spends coordinating the others.
    """

    coordination_hours: Annotated[float, Field(ge=0.0, le=8.0)] = 0.0

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        visits = tuple(Visit(Unit("department", d)) for d in case.departments)
        return Route(stages=(Stage(visits, "handle"),), overhead_hours=self.coordination_hours)


@dataclass(frozen=True)
class LotteryConsultation:
    """A mini-public drawn by lot (sortition): every resident has the same chance to sit.

    Party mobilisation is still a lever (STYLE: every consultation policy has it):
    invited residents accept more often.

    Attributes:
        cycle_days: days between sittings.
        seat_share: share of residents drawn for a sitting.
        acceptance_probability: chance a drawn resident takes part.
        invitations_per_member: neighbours each party member encourages.
        acceptance_gain_per_invitation: extra acceptance per invitation (capped at 1).
    """

    cycle_days: Annotated[int, Field(ge=1, le=365)] = 60
    seat_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02
    acceptance_probability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6
    invitations_per_member: Annotated[float, Field(ge=0.0)] = 1.0
    acceptance_gain_per_invitation: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1

    def meets_on(self, day: int) -> bool:
        return day > 0 and day % self.cycle_days == 0

    def convene(self, view: CommunityView, rng: np.random.Generator) -> Meeting | None:
        invitations = invitations_through_ties(view, self.invitations_per_member, rng)
        accept = np.minimum(
            1.0, self.acceptance_probability + self.acceptance_gain_per_invitation * invitations
        )
        return Meeting(
            attendance_probability=self.seat_share * accept,
            decision_quality=0.7,
            topics=min(view.open_collective_issues, 2),
            quorum=3,
            staff_hours=6.0,
            implementation_days=60.0,
        )
