"""The ``whistle`` routing policy: 吹哨报到, the street summons departments (F4.3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from model.bounds import Days, Hours, Share
from model.mechanisms import Mechanism
from model.policies.base import CaseView, Route, Stage, SystemView, Unit, Visit
from model.policies.composition import InnerRouting
from model.policies.registry import register
from model.policies.routing import (
    HierarchicalRouting,
    department_visits,
    intake_unit,
    settled_in_community,
)

WhistleScope = Literal["cross_department_or_enforcement", "cross_department", "enforcement", "all"]


def is_eligible(case: CaseView, scope: WhistleScope) -> bool:
    """Whether the street may blow the whistle on ``case`` under ``scope``."""
    cross = len(case.departments) > 1
    if scope == "cross_department_or_enforcement":
        return cross or case.enforcement
    if scope == "cross_department":
        return cross
    if scope == "enforcement":
        return case.enforcement
    return True


@register("routing", "whistle")
@dataclass(frozen=True)
class WhistleRouting:
    """吹哨报到: the street "blows the whistle" and departments report to the scene (F4.3).

    Practice (Beijing Pinggu 2017-18, Guangling 2025; F4.3; seed §二(三) 完善"吹哨报到"
    工作制度): for a problem that needs several departments or enforcement, the street or
    town summons the departments; enforcement departments must report within 30 minutes;
    they handle the problem together on the scene; the street rates each department.

    Model: an eligible case (``scope``) is whistled with probability ``whistle_share``
    (the lever). A whistled case is reviewed at intake and at the street, which then
    summons every needed department — plus, if ``summon_extra_enforcement``, every other
    enforcement department — to report within ``response_deadline_hours``; all handle it
    in one joint stage; the street names them with its own list, so a wrong department
    may still be summoned and return the case (退件). A summoned department that the case does
    not need still spends ``summons_hours`` of staff time: whistling too often overloads
    departments (the trade-off in the issue). The street's rating of the departments
    (``SystemView.department_rating``, kept by the engine) feeds back: the lower the
    worst rating among the needed departments, the earlier the case is served in
    deadline-first queues (``rating_priority_days``). A summons goes ahead
    of ordinary work, so the policy asks the engine for deadline-first queues
    (``queue_discipline``) and gives whistled cases ``whistled_priority_days``; set
    ``queue_discipline = "fifo"`` to study the joint stage alone. Cases that are not
    whistled go through ``inner`` (default ``hierarchical``, the pre-reform dispatch).

    Attributes:
        whistle_share: chance that an eligible case is whistled (lever; 1 = always).
        scope: which cases are eligible: cross-department or enforcement cases (F4.3,
            default), only one of the two, or ``all`` (over-use).
        response_deadline_hours: summoned departments report within this (F4.3: 30 min).
        summon_extra_enforcement: also summon enforcement departments the case does not
            need (the "everyone comes" reading of the practice; assumption).
        summons_hours: staff hours a summoned but unneeded department spends on the
            scene (assumption: the half-hour trip plus half an hour there).
        street_coordination_hours: lead department's staff hours per extra department
            coordinating the joint handling on site (assumption).
        whistled_priority_days: whistled cases are served this many days earlier in
            deadline-first queues; the default, the longest time limit (F4.1: 15
            working days), puts a summons ahead of ordinary cases (assumption).
        rating_priority_days: extra days earlier per unit of rating shortfall
            (1 − worst rating among the needed departments; F4.3 "the summoning unit
            rates the departments"; assumption for the size).
        queue_discipline: queue order the engine applies under this policy: "deadline"
            (summons and ratings take effect) or "fifo" (the joint stage alone).
        inner: the routing policy for cases that are not whistled.
    """

    whistle_share: Share = 1.0
    scope: WhistleScope = "cross_department_or_enforcement"
    response_deadline_hours: Hours = 0.5
    summon_extra_enforcement: bool = False
    summons_hours: Hours = 1.0
    street_coordination_hours: Hours = 0.5
    whistled_priority_days: Days = 15.0
    rating_priority_days: Days = 2.0
    queue_discipline: Literal["deadline", "fifo"] = "deadline"
    inner: InnerRouting = field(default_factory=HierarchicalRouting)

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        Mechanism(
            "whistle",
            "whistle_share",
            0.0,
            "the street summons the departments to the scene, where they handle the case "
            "together under its lead",
            "F4.3",
            structural=True,
        ),
        Mechanism(
            "summons_priority",
            "whistled_priority_days",
            0.0,
            "a summons goes ahead of ordinary work",
            "F4.3",
        ),
        Mechanism(
            "rating_priority",
            "rating_priority_days",
            0.0,
            "cases of departments the street rates low are served earlier",
            "F4.3",
        ),
    )

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        if (
            not is_eligible(case, self.scope)
            or settled_in_community(case, system)  # 下沉: the community settles it itself
            or rng.random() >= self.whistle_share
        ):
            return self.inner.route(case, system, rng)
        return self._whistled_route(case, system)

    def summoned_departments(self, case: CaseView, system: SystemView) -> tuple[int, ...]:
        """Needed departments (lead first), then the extra enforcement departments summoned."""
        summoned = list(case.departments)
        if self.summon_extra_enforcement:
            summoned += [
                int(d)
                for d in np.flatnonzero(system.department_enforcement)
                if int(d) not in case.departments
            ]
        return tuple(summoned)

    def _whistled_route(self, case: CaseView, system: SystemView) -> Route:
        reviews: list[Unit] = [intake_unit(case), Unit("street", case.street)]
        review_hours = {
            "centre": system.centre_review_hours,
            "street": system.street_review_hours,
            "community": system.community_review_hours,
        }
        stages = [Stage((Visit(u, work_hours=review_hours[u.level]),), "review") for u in reviews]
        needed = {v.unit.index for v in department_visits(case)}
        visits = tuple(
            Visit(
                Unit("department", d),
                work_hours=None if d in needed else self.summons_hours,
                response_hours=self.response_deadline_hours,
            )
            for d in self.summoned_departments(case, system)
        )
        stages.append(Stage(visits, "handle"))
        shortfall = self._rating_shortfall(case, system)
        return Route(
            stages=tuple(stages),
            overhead_hours=self.street_coordination_hours * (len(case.departments) - 1),
            priority=-(self.whistled_priority_days + self.rating_priority_days * shortfall),
            first_unit_leads=True,  # the street leads the summoned departments on the scene
        )

    @staticmethod
    def _rating_shortfall(case: CaseView, system: SystemView) -> float:
        """1 − the worst street rating among the case's departments, in [0, 1]."""
        if not case.departments:
            return 0.0
        worst = float(np.min(system.department_rating[list(case.departments)]))
        return float(np.clip(1.0 - worst, 0.0, 1.0))
