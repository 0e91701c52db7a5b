"""Reform consultation (协商 deliberation) policies: open deliberation and an online platform.

Both reuse the participation helpers (``model.policies.participation``): attendance
follows trust, age and party membership (F7.2), and party members invite neighbours
through social ties — party mobilisation (``invitations_per_member``,
``persuasiveness``) is a lever of every consultation policy.
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
    Multiplier,
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

CycleDays = Annotated[Integer, Field(ge=1, le=365)]

# Online reach by age, as log-odds shifts against the 30-49 group: the F7.2 gradient
# (older residents turn out more) is reversed because older residents are less often
# online. Assumption (digital divide; no stylized fact yet) — scaled by
# ``digital_divide_weight`` for sensitivity analysis.
ONLINE_AGE_LOGIT_SHIFT: dict[str, float] = {"18-29": 0.4, "30-49": 0.0, "50-69": -0.5, "70+": -1.5}


def collected_topics(view: CommunityView, max_topics: int) -> int:
    """议题征集: the open collective issues a meeting takes up (at most ``max_topics``)."""
    return max(0, min(int(view.open_collective_issues), max_topics))


@register("consultation", "open_deliberation")
@dataclass(frozen=True)
class OpenDeliberationConsultation:
    """议事协商 as the seed describes it (seed §二(四), §三(三)).

    Practice: 协商议题征集 (topics collected from residents), 阳光议事协商 (open
    meetings), 规范协商程序 (a fixed procedure to a decision), and 社情民意面对面
    协商成果转化落实反馈 (decisions turned into action and reported back).

    Model: on each cycle day, a community with open collective issues collects up to
    ``max_topics_per_meeting`` of them and holds an open meeting (none when nothing is
    open: no topic, no meeting). Everyone may attend, so base turnout is higher than a
    standing council's (``council`` uses −4.5; F7.5: no published figure, an assumption
    for sensitivity analysis); topics raised by residents themselves draw more people
    (``topic_salience`` per topic; assumption). Attendance also follows trust, age and
    party membership (F7.2) and party members' invitations (mobilisation lever). The
    fixed procedure and the feedback step make decisions better and faster implemented
    (``decision_quality``, ``implementation_days``; assumption) at a higher staff cost
    (topic collection and feedback, plus time per participant).

    Attributes:
        cycle_days: days between meetings (30 ≈ monthly; assumption).
        first_meeting_day: day of the first meeting.
        base_logit: log-odds of attending for a 30-49 non-member of average trust.
        trust_weight: log-odds per unit of trust above 0.5.
        topic_salience: log-odds added per collected topic (议题征集; assumption).
        invitations_per_member: neighbours each party member invites (mobilisation).
        persuasiveness: log-odds added per invitation received (capped at 3).
        decision_quality: chance a decision is implementable and gets implemented.
        max_topics_per_meeting: most collective issues one meeting decides.
        quorum: fewest participants for a decision.
        staff_hours: community staff time per meeting (collection, meeting, feedback).
        staff_hours_per_participant: extra staff time per expected participant.
        implementation_days: days from decision to implemented project.
    """

    cycle_days: CycleDays = 30
    first_meeting_day: Day = 15
    base_logit: Logit = -4.0
    trust_weight: LogitWeight = 2.0
    topic_salience: LogitWeight = 0.15
    invitations_per_member: People = 2.0
    persuasiveness: LogitWeight = 0.8
    decision_quality: Share = 0.85
    max_topics_per_meeting: Annotated[Integer, Field(ge=1, le=100)] = 3
    quorum: Annotated[Integer, Field(ge=1, le=MAX_PEOPLE)] = 10
    staff_hours: Hours = 12.0
    staff_hours_per_participant: Hours = 0.05
    implementation_days: Days = 45.0

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        PARTY_MOBILISATION,
        TRUST_DRIVES_ATTENDANCE,
        Mechanism(
            "topic_salience",
            "topic_salience",
            0.0,
            "residents come for collected topics that concern them (议题征集)",
            "seed §二(四)",
        ),
    )

    def meets_on(self, day: int) -> bool:
        return on_cycle(day, self.first_meeting_day, self.cycle_days)

    def convene(self, view: CommunityView, rng: np.random.Generator) -> Meeting | None:
        topics = collected_topics(view, self.max_topics_per_meeting)
        if topics == 0:
            return None
        probability = mobilised_attendance(
            view,
            rng,
            base_logit=self.base_logit + self.topic_salience * topics,
            trust_weight=self.trust_weight,
            age_shift=AGE_LOGIT_SHIFT,
            invitations_per_member=self.invitations_per_member,
            persuasiveness=self.persuasiveness,
        )
        return Meeting(
            attendance_probability=probability,
            decision_quality=self.decision_quality,
            topics=topics,
            quorum=self.quorum,
            staff_hours=self.staff_hours
            + self.staff_hours_per_participant * float(probability.sum()),
            implementation_days=self.implementation_days,
        )


@register("consultation", "online")
@dataclass(frozen=True)
class OnlineConsultation:
    """An online deliberation platform, like 渝事好商量·永川你来谈 (seed §二(四)).

    Model: a round of online deliberation every ``cycle_days`` (more often than
    meetings: posting costs residents little) on up to ``topics_per_round`` collected
    collective issues (none when nothing is open). Staff cost is mostly per round
    (moderation) and small per participant. Reach by age follows
    :data:`ONLINE_AGE_LOGIT_SHIFT` — younger residents more, older less, the reverse
    of the F7.2 turnout gradient (assumption) — scaled by ``digital_divide_weight``.
    Party members share the link with their ties (mobilisation lever; a forwarded link
    persuades less than a visit: assumption). Online threads reach weaker agreements:
    lower ``decision_quality`` (assumption). Base turnout per round is unknown (F7.5).

    Attributes:
        cycle_days: days between rounds (7 = weekly; assumption).
        first_meeting_day: day of the first round.
        base_logit: log-odds of taking part in one round for a 30-49 non-member of
            average trust (assumption, F7.5).
        trust_weight: log-odds per unit of trust above 0.5.
        digital_divide_weight: scales the online age profile (0 = no age effect).
        invitations_per_member: ties each party member sends the link to (mobilisation).
        persuasiveness: log-odds added per invitation received (capped at 3).
        decision_quality: chance a decision is implementable and gets implemented.
        topics_per_round: most collective issues one round decides.
        quorum: fewest participants for a decision.
        staff_hours: moderation time per round (assumption).
        staff_hours_per_participant: staff time per expected participant, e.g. replies
            (assumption; a fifth of an open meeting's).
        implementation_days: days from decision to implemented project.
    """

    cycle_days: CycleDays = 7
    first_meeting_day: Day = 7
    base_logit: Logit = -4.5
    trust_weight: LogitWeight = 2.0
    digital_divide_weight: Multiplier = 1.0
    invitations_per_member: People = 3.0
    persuasiveness: LogitWeight = 0.5
    decision_quality: Share = 0.5
    topics_per_round: Annotated[Integer, Field(ge=1, le=100)] = 1
    quorum: Annotated[Integer, Field(ge=1, le=MAX_PEOPLE)] = 5
    staff_hours: Hours = 0.5
    staff_hours_per_participant: Hours = 0.01
    implementation_days: Days = 60.0

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        PARTY_MOBILISATION,
        TRUST_DRIVES_ATTENDANCE,
        Mechanism(
            "digital_divide",
            "digital_divide_weight",
            0.0,
            "older residents are less often online, the young more",
            "assumption",
        ),
    )

    def meets_on(self, day: int) -> bool:
        return on_cycle(day, self.first_meeting_day, self.cycle_days)

    def convene(self, view: CommunityView, rng: np.random.Generator) -> Meeting | None:
        topics = collected_topics(view, self.topics_per_round)
        if topics == 0:
            return None
        age_shift = {
            group: self.digital_divide_weight * shift
            for group, shift in ONLINE_AGE_LOGIT_SHIFT.items()
        }
        probability = mobilised_attendance(
            view,
            rng,
            base_logit=self.base_logit,
            trust_weight=self.trust_weight,
            age_shift=age_shift,
            invitations_per_member=self.invitations_per_member,
            persuasiveness=self.persuasiveness,
        )
        return Meeting(
            attendance_probability=probability,
            decision_quality=self.decision_quality,
            topics=topics,
            quorum=self.quorum,
            staff_hours=self.staff_hours
            + self.staff_hours_per_participant * float(probability.sum()),
            implementation_days=self.implementation_days,
        )
