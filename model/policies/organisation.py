"""Community organisation policies (党建引领, 多元主体): who coordinates the volunteers.

The ``organisation`` scenario block sets how each community's party organisation works
and which other actors volunteer beside its party members. A policy here is the
configuration and its assumed strengths (``MECHANISMS``); the decisions are taken by
the agents of :mod:`model.party` and :mod:`model.actors` (docs/design.md "Party
organisation and other actors").

``none`` is the pre-reform community: party-member volunteers of a grid claim small
tasks on their own (任务快速认领), nobody assigns members, convenes registered units,
routes collective issues or follows decisions up. ``party_building`` is the
community party organisation of 党建扎桩·治理结网 and 一统领三融入双互动 (seed §二(二)),
optionally with building heads (楼栋长; practice elsewhere, assumption) and social
organisations (社会组织; the essay's outlook, seed §三(三), assumption) as further
volunteer capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from pydantic import Field

from model.bounds import Days, Hours, Integer, Number, People, Probability, Share
from model.mechanisms import Mechanism
from model.policies.registry import register

Count = Annotated[Integer, Field(ge=0, le=1_000)]
DaysPerMonth = Annotated[Number, Field(ge=0.0, le=30.0)]
# Residents one volunteer invites to one meeting: at most a large grid's population (F6.4).
Invitations = Annotated[Number, Field(ge=0.0, le=1_000.0)]


@register("organisation", "none")
@dataclass(frozen=True)
class NoOrganisation:
    """No coordinating party organisation (pre-reform): volunteers act on their own."""

    def on_duty(self, day: int, unit: int) -> bool:
        """Registered units never report to the community."""
        return False


@register("organisation", "party_building")
@dataclass(frozen=True)
class PartyBuilding:
    """党建引领: the community party organisation coordinates (seed §二(二), §三(三)).

    Practice (seed §二(二)): 党建扎桩·治理结网 — the party organisation is the stake the
    governance net is tied to; 一统领三融入双互动 — it leads, and joins the grids, the
    district centre and the 需求—处置—反馈—评价 loop; 社区+城管蓝 党建共建 — the city
    management unit builds party work with the community; 红岩党员责任区 — members answer
    for an area. Generalising 社区+城管蓝 to several units registered to the community
    that report on a roster (双报到) is practice elsewhere (assumption), as are
    党员编组入网 and 任务快速认领 in the model's form.

    Model (one :class:`model.party.PartyOrganisation` agent per community):

    * assigns ``assigned_member_share`` of its party members who do not volunteer yet to
      their grid's responsibility area, each answering for ``households_per_member``
      households; they join the grid's volunteers who claim small tasks offered there,
      and a task from a household a member answers for is offered to that member too
      (more people to take a task, more hands at once);
    * convenes its ``registered_units`` (双报到; practice elsewhere, assumption): each
      unit reports on
      ``report_days_per_month`` days a month (staggered) with ``members_per_report``
      members, who take small tasks offered in the community's grids that day;
    * routes ``issue_routing_share`` of the collective issues that would be settled
      top-down to the community's deliberation instead (only where meetings are held);
    * follows up decisions that stalled: its secretary spends ``follow_up_hours`` on each,
      within ``follow_up_hours_per_month``, as a job at the community office (it waits
      behind casework); ``follow_up_days`` after that job the responsible unit gets the
      action done with ``follow_up_success`` (assumption), else the issue is open again.

    Other actors (多元主体; 0 = absent; practice elsewhere and the essay's outlook, seed
    §三(三): assumption): ``building_heads_per_grid`` 楼栋长 and
    ``social_workers_per_community`` staff of a social organisation take small tasks of
    their grid or community and invite residents to meetings
    (``invitations_per_building_head``, ``invitations_per_social_worker`` per meeting).

    Attributes:
        assigned_member_share: share of non-volunteering party members assigned to a
            responsibility area (assumption).
        households_per_member: households one assigned member answers for (assumption).
        registered_units: units registered to each community (双报到; assumption).
        report_days_per_month: days a month each unit's members serve (assumption).
        members_per_report: members a unit sends on a report day (assumption).
        unit_member_claim_probability: chance a registered unit's member on duty takes a
            task offered to them (assumption).
        issue_routing_share: share of would-be top-down settlements routed to deliberation.
        follow_up_hours: secretary hours per stalled decision followed up (assumption).
        follow_up_hours_per_month: the secretary's follow-up time per month (assumption).
        follow_up_days: days from follow-up to the second attempt (assumption).
        follow_up_success: chance that a followed-up action gets done (assumption).
        building_heads_per_grid: 楼栋长 per grid (≈ buildings per grid; assumption).
        building_head_claim_probability: chance a building head takes an offered task.
        invitations_per_building_head: residents of the grid a head invites per meeting.
        social_workers_per_community: social-organisation staff serving each community.
        social_worker_claim_probability: chance a social worker takes an offered task.
        invitations_per_social_worker: residents a social worker invites per meeting.
    """

    assigned_member_share: Share = 0.5
    households_per_member: People = 15.0
    registered_units: Count = 4
    report_days_per_month: DaysPerMonth = 2.0
    members_per_report: People = 3.0
    unit_member_claim_probability: Probability = 0.5
    issue_routing_share: Share = 0.5
    follow_up_hours: Hours = 2.0
    follow_up_hours_per_month: Hours = 8.0
    follow_up_days: Days = 30.0
    follow_up_success: Probability = 0.5
    building_heads_per_grid: Count = 0
    building_head_claim_probability: Probability = 0.3
    invitations_per_building_head: Invitations = 0.0
    social_workers_per_community: Count = 0
    social_worker_claim_probability: Probability = 0.5
    invitations_per_social_worker: Invitations = 0.0

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        Mechanism(
            "members_into_grids",
            "assigned_member_share",
            0.0,
            "party members are assigned to their grid's responsibility area (党员编组入网, 红岩党员责任区)",
            "seed §二(二)",
        ),
        Mechanism(
            "registered_units",
            "registered_units",
            0,
            "units registered to the community send members who take small tasks (双报到, 社区+城管蓝)",
            "seed §二(二) (社区+城管蓝 only); 双报到 practice elsewhere; assumption",
        ),
        Mechanism(
            "issues_to_deliberation",
            "issue_routing_share",
            0.0,
            "the party organisation routes collective issues to deliberation, not top-down",
            "seed §二(二), §二(四)",
        ),
        Mechanism(
            "follow_up",
            "follow_up_success",
            0.0,
            "the party organisation follows stalled decisions up until they are done",
            "seed §二(四)",
        ),
        Mechanism(
            "building_heads",
            "building_heads_per_grid",
            0,
            "building heads (楼栋长) take small tasks and invite neighbours to meetings",
            "practice elsewhere; assumption",
        ),
        Mechanism(
            "social_organisations",
            "social_workers_per_community",
            0,
            "social organisations' staff take small tasks and invite residents to meetings",
            "seed §三(三) (the essay's outlook); assumption",
        ),
    )

    def on_duty(self, day: int, unit: int) -> bool:
        """Whether registered unit ``unit`` of a community reports on ``day``: its
        ``report_days_per_month`` days are spread evenly over a 30-day month, and the
        units of a community are staggered so that they do not all come the same day."""
        if self.report_days_per_month <= 0:
            return False
        spacing = 30.0 / self.report_days_per_month
        offset = (unit * spacing / max(self.registered_units, 1)) % spacing
        position = (day - offset) % spacing
        return position < 1.0
