"""Built-in consultation (协商 deliberation) policies.

A consultation policy says on which days meetings are held and, for one
community, who is likely to attend and what the meeting can decide; the model
samples attendance, turns decisions into projects and feeds implementation back
into trust (成果转化落实反馈, seed §二(四)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np
from pydantic import Field

from model.bounds import (
    MAX_PEOPLE,
    Day,
    Days,
    Hours,
    Integer,
    Logit,
    LogitWeight,
    People,
    Share,
)
from model.mechanisms import Mechanism
from model.policies.base import CommunityView, Meeting
from model.policies.participation import (
    AGE_LOGIT_SHIFT,
    PARTY_MOBILISATION,
    TRUST_DRIVES_ATTENDANCE,
    mobilised_attendance,
    on_cycle,
)
from model.policies.registry import register


@register("consultation", "none")
@dataclass(frozen=True)
class NoConsultation:
    """No deliberation: collective issues wait for top-down action (pre-reform baseline)."""

    def meets_on(self, day: int) -> bool:
        return False

    def convene(self, view: CommunityView, rng: np.random.Generator) -> Meeting | None:
        return None


@register("consultation", "council")
@dataclass(frozen=True)
class CouncilConsultation:
    """议事会 on a fixed cycle (季会制 quarterly, 年中会议制; seed §二(四)).

    A standing council meets every ``cycle_days`` on the community's open collective
    issues (parking, old-compound renovation, pocket parks). Attendance follows trust,
    age and party membership (F7.2) plus invitations by party members through social
    ties; base turnout is unknown (F7.5, assumption — put it in sensitivity analysis).

    Attributes:
        cycle_days: days between meetings (91 ≈ quarterly 季会制).
        first_meeting_day: day of the first meeting.
        base_logit: log-odds of attending for a 30-49 non-member of average trust.
        trust_weight: log-odds per unit of trust above 0.5.
        invitations_per_member: neighbours each party member invites (mobilisation).
        persuasiveness: log-odds added per invitation received.
        decision_quality: chance a decision is implementable and gets implemented.
        topics_per_meeting: collective issues one meeting can decide.
        quorum: fewest participants for a decision.
        staff_hours: community staff time per meeting.
        implementation_days: days from decision to implemented project.
    """

    cycle_days: Annotated[Integer, Field(ge=1, le=365)] = 91
    first_meeting_day: Day = 45
    base_logit: Logit = -4.5
    trust_weight: LogitWeight = 2.0
    invitations_per_member: People = 2.0
    persuasiveness: LogitWeight = 0.8
    decision_quality: Share = 0.7
    topics_per_meeting: Annotated[Integer, Field(ge=0, le=100)] = 2
    quorum: Annotated[Integer, Field(ge=1, le=MAX_PEOPLE)] = 5
    staff_hours: Hours = 8.0
    implementation_days: Days = 60.0

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        PARTY_MOBILISATION,
        TRUST_DRIVES_ATTENDANCE,
        Mechanism(
            "decisions",
            "topics_per_meeting",
            0,
            "the council decides open collective issues, which become projects",
            "seed §二(四)",
        ),
    )

    def meets_on(self, day: int) -> bool:
        return on_cycle(day, self.first_meeting_day, self.cycle_days)

    def convene(self, view: CommunityView, rng: np.random.Generator) -> Meeting | None:
        probability = mobilised_attendance(
            view,
            rng,
            base_logit=self.base_logit,
            trust_weight=self.trust_weight,
            age_shift=AGE_LOGIT_SHIFT,
            invitations_per_member=self.invitations_per_member,
            persuasiveness=self.persuasiveness,
        )
        return Meeting(
            attendance_probability=probability,
            decision_quality=self.decision_quality,
            topics=self.topics_per_meeting,
            quorum=self.quorum,
            staff_hours=self.staff_hours,
            implementation_days=self.implementation_days,
        )
