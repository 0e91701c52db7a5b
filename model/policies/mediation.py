"""Built-in mediation policies: the path of a neighbourhood dispute (矛盾纠纷调处).

A neighbourhood dispute (case type ``neighbour_dispute``; not the ``disputed`` flag of a
case whose *ownership* departments dispute) does not follow the routing policy: whatever
the routing, it goes to mediation, one level after another, until one level settles it
(docs/design.md "Neighbourhood disputes and joint mediation"):

1. the grid worker mediates on the spot (网格员调解);
2. the community's mediation committee (人民调解委员会, the community office's staff);
3. escalation: before the reform the street office passes it to the department the
   dispute concerns, a slow path of reviews and queues (``community``); with the reform
   the street's joint mediation platform (一站式矛盾纠纷联合调处平台, seed §二(三)) takes it,
   where the platform's own mediators sit every working day and judges, prosecutors,
   police and lawyers (三官一律 下沉) sit in on their scheduled days only
   (``joint_platform``).

Each stage is a ``mediate`` stage of one visit; whoever mediates decides whether the
dispute is settled (:meth:`model.mediation.Mediators.settles`). A dispute that no level
settles is handled unresolved (escalated to litigation or petition, beyond the model);
its resident may come back (a repeat dispute), and so may the resident of a settlement
that does not hold (:meth:`model.mediation.Mediators.relapses`).

No stylized fact measures mediation: every probability and hour here is an assumption,
and the sensitivity analysis screens them (experiments/morris_mediation.toml). The
reform's settlement strengths are log-odds gains over the pre-reform department's own
settlement (and relapse) probability, so that their neutral value, 0, means "as the
department" whatever the scenario sets the department's probability to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np
from pydantic import Field

from model.bounds import Hours, Integer, Logit, Number, PositiveDays, Probability
from model.mechanisms import Mechanism
from model.policies.base import CaseView, Route, Stage, SystemView, Unit, Visit
from model.policies.registry import register
from model.policies.routing import review_hours

# the professions that sit in at the joint platform (三官一律: 法官, 检察官, 警官, 律师)
PROFESSIONS: tuple[str, ...] = ("judge", "prosecutor", "police", "lawyer")
# sessions per street at the platform: its own mediators, then one per profession
SESSIONS_PER_STREET = 1 + len(PROFESSIONS)
# a "month" of the sit-in schedule: four calendar weeks (20 working days of 5 a week)
SCHEDULE_PERIOD_DAYS = 28
MAX_DAYS_PER_MONTH = 20  # every working day of a four-week month

DaysPerMonth = Annotated[Integer, Field(ge=0, le=MAX_DAYS_PER_MONTH)]
MediatorFTE = Annotated[Number, Field(gt=0.0, le=1000.0)]


def profession_needed(severity: float) -> int:
    """The profession a dispute needs at the platform, from its exogenous severity draw:
    the four professions take equal shares (assumption; lawyer for the mildest, e.g.
    contracts and property; police; judge for judicial confirmation; prosecutor for those
    bordering on an offence)."""
    order = (3, 2, 0, 1)  # lawyer, police, judge, prosecutor by rising severity
    return order[min(int(severity * len(order)), len(order) - 1)]


def shifted(probability: float, log_odds: float) -> float:
    """``probability`` moved by ``log_odds`` on the log-odds scale (0 leaves it as is;
    0 and 1 stay put)."""
    if log_odds == 0.0 or probability in (0.0, 1.0):
        return probability
    logit = math.log(probability / (1.0 - probability)) + log_odds
    return 1.0 / (1.0 + math.exp(-logit))


@register("mediation", "community")
@dataclass(frozen=True)
class CommunityMediation:
    """Before the reform: grid worker → community mediation → the department, slowly.

    A dispute the community cannot settle is passed up the hierarchy: the street office
    reviews it and sends it to the dispute's department (e.g. public security, housing),
    whose staff are not mediators and whose queue is shared with every other case.

    Attributes (all assumptions; no stylized fact measures mediation):
        grid_settlement_probability: the grid worker settles it on the spot.
        community_settlement_probability: the community's mediation committee settles it.
        department_settlement_probability: the department settles it.
        grid_mediation_hours: grid-worker hours per mediation.
        community_mediation_hours: community staff hours per mediation.
        department_mediation_hours: department staff hours per mediation.
        relapse_probability: a settlement does not hold and the dispute comes back.
        relapse_delay_days: mean days until a settlement that does not hold breaks down.
    """

    grid_settlement_probability: Probability = 0.4
    community_settlement_probability: Probability = 0.35
    department_settlement_probability: Probability = 0.3
    grid_mediation_hours: Hours = 1.0
    community_mediation_hours: Hours = 2.0
    department_mediation_hours: Hours = 4.0
    relapse_probability: Probability = 0.15
    relapse_delay_days: PositiveDays = 60.0

    # what ``route`` and ``escalation`` read of a case; they draw nothing (memoized routes,
    # policies/base.py). Not inherited: JointPlatformMediation's escalation reads the
    # severity, a number of its own for every dispute, so its routes are not memoized.
    ROUTE_FIELDS: ClassVar[tuple[str, ...]] = ("grid", "community", "street", "departments")

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        """The grid worker on the spot, the community's mediation committee, then the
        escalation path (:meth:`escalation`)."""
        local = (
            Stage((Visit(Unit("grid", case.grid), self.grid_mediation_hours),), "mediate"),
            Stage(
                (Visit(Unit("community", case.community), self.community_mediation_hours),),
                "mediate",
            ),
        )
        return Route(stages=(*local, *self.escalation(case, system)))

    def escalation(self, case: CaseView, system: SystemView) -> tuple[Stage, ...]:
        """The street office reviews it, then the dispute's department mediates."""
        street = Unit("street", case.street)
        return (
            Stage((Visit(street, review_hours(street, system)),), "review"),
            Stage(
                (Visit(Unit("department", case.departments[0]), self.department_mediation_hours),),
                "mediate",
            ),
        )

    def settlement_probability(self, unit: Unit) -> float:
        """The chance that the mediators at ``unit`` (grid, community, department) settle a dispute."""
        return {
            "grid": self.grid_settlement_probability,
            "community": self.community_settlement_probability,
            "department": self.department_settlement_probability,
        }[unit.level]

    def relapse_probability_at(self, unit: Unit) -> float:
        """The chance that a settlement reached at ``unit`` does not hold."""
        return self.relapse_probability

    def days_per_month(self) -> tuple[int, ...]:
        """Days a month each profession sits in at the platform (none without one)."""
        return (0,) * len(PROFESSIONS)

    def platform_staff(self) -> float:
        """Full-time mediators of each street's platform (0: there is no platform)."""
        return 0.0


@register("mediation", "joint_platform")
@dataclass(frozen=True)
class JointPlatformMediation(CommunityMediation):
    """一站式矛盾纠纷联合调处 with 三官一律 下沉 (seed §二(三)).

    A dispute the community cannot settle goes straight to its street's joint mediation
    platform. The dispute needs one profession (:func:`profession_needed`); if that
    profession sits in, the dispute waits for its next scheduled day and is mediated in a
    joint session (one professional present those days, nobody on the others); if not,
    the platform's full-time mediators take it on any working day.

    The effect comes from the path (one hand-off instead of a street review and a
    department queue), capacity (``platform_mediators``, the sit-in days), timing (a
    dispute waits for its profession's day) and expertise (settlement probability by
    mediator type). All values are assumptions; the expertise strengths are log-odds
    gains over ``department_settlement_probability`` (what the pre-reform path settles),
    so 0 is neutral whatever that probability is.

    Attributes:
        grid_settlement_probability … relapse_delay_days: as :class:`CommunityMediation`
            (the levels before the platform, and the department's values the platform's
            gains are relative to).
        platform_mediators: full-time mediators per street platform (FTE).
        platform_settlement_gain: log-odds the platform's trained mediators add to the
            department's settlement probability (0.65: 0.3 → 0.45).
        professional_settlement_gain: log-odds a joint session with the profession the
            dispute needs adds to it (1.47: 0.3 → 0.65).
        platform_mediation_hours: hours of one mediation session at the platform.
        binding_settlement_gain: log-odds by which a settlement at the platform is less
            likely to break down than ``relapse_probability`` (it can be judicially
            confirmed, 司法确认; 0.71: 0.15 → 0.08).
        judge_days_per_month … lawyer_days_per_month: days in each four-week month the
            profession sits in (0: it does not).
    """

    platform_mediators: MediatorFTE = 2.0
    platform_settlement_gain: Logit = 0.65
    professional_settlement_gain: Logit = 1.47
    platform_mediation_hours: Hours = 3.0
    binding_settlement_gain: Logit = 0.71
    judge_days_per_month: DaysPerMonth = 2
    prosecutor_days_per_month: DaysPerMonth = 1
    police_days_per_month: DaysPerMonth = 4
    lawyer_days_per_month: DaysPerMonth = 4

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        Mechanism(
            "platform_mediator_expertise",
            "platform_settlement_gain",
            0.0,
            "the platform's full-time mediators settle more disputes than a department's "
            "staff (log-odds gain; neutral 0: as the pre-reform department)",
            "assumption",
        ),
        Mechanism(
            "professional_expertise",
            "professional_settlement_gain",
            0.0,
            "a judge, prosecutor, police officer or lawyer sitting in settles more of the "
            "disputes that need their profession (三官一律; log-odds gain; neutral 0: as the "
            "pre-reform department)",
            "assumption",
        ),
        Mechanism(
            "binding_settlement",
            "binding_settlement_gain",
            0.0,
            "a settlement at the platform holds more often (司法确认; log-odds; neutral 0: "
            "as any other)",
            "assumption",
        ),
        *(
            Mechanism(
                f"{name}_sits_in",
                f"{name}_days_per_month",
                0,
                f"the {name.replace('_', ' ')} sits in at the platform on scheduled days "
                "(三官一律 下沉, seed §二(三)); neutral: never, its disputes go to the "
                "platform's own mediators",
                "seed §二(三); assumption",
                structural=True,
            )
            for name in PROFESSIONS
        ),
    )

    def platform_staff(self) -> float:
        """Full-time mediators of each street's platform."""
        return self.platform_mediators

    def days_per_month(self) -> tuple[int, ...]:
        """Days a month each profession sits in at the platform."""
        return tuple(getattr(self, f"{name}_days_per_month") for name in PROFESSIONS)

    def escalation(self, case: CaseView, system: SystemView) -> tuple[Stage, ...]:
        """The street's platform: the profession's session if it sits in, else the
        platform's own mediators."""
        profession = profession_needed(case.severity)
        session = 1 + profession if self.days_per_month()[profession] > 0 else 0
        unit = Unit("mediation", case.street * SESSIONS_PER_STREET + session)
        return (Stage((Visit(unit, self.platform_mediation_hours),), "mediate"),)

    def settlement_probability(self, unit: Unit) -> float:
        """The chance that the mediators at ``unit`` settle a dispute: the platform's are the
        department's moved by their log-odds gain."""
        if unit.level != "mediation":
            return super().settlement_probability(unit)
        gain = (
            self.platform_settlement_gain
            if unit.index % SESSIONS_PER_STREET == 0
            else self.professional_settlement_gain
        )
        return shifted(self.department_settlement_probability, gain)

    def relapse_probability_at(self, unit: Unit) -> float:
        """The chance that a settlement reached at ``unit`` does not hold."""
        if unit.level == "mediation":
            return shifted(self.relapse_probability, -self.binding_settlement_gain)
        return self.relapse_probability
