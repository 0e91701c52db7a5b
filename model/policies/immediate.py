"""The ``immediate`` routing policy: 接诉即办 / 民呼我为, every complaint handled at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from model.bounds import Days, Hours
from model.mechanisms import Mechanism
from model.policies.base import CaseView, Route, Stage, SystemView, Unit, Visit
from model.policies.registry import register
from model.policies.routing import LEAD_RESPONSIBILITY, handling_stages, intake_unit


@register("routing", "immediate")
@dataclass(frozen=True)
class ImmediateRouting:
    """接诉即办 / 民呼我为: direct dispatch, deadlines and ranking (seed §二(三)).

    Practice (Beijing 接诉即办 since 2019, F1.1-F1.2, F4.7; Chongqing 民呼我为): the
    hotline dispatches each work order straight to the street that owns the place
    (街乡, 属地) or to the owning department, with no centre → street → community
    layering; the first unit to receive it leads (首接负责制, F4.7); units are ranked
    monthly on response, resolution and satisfaction (F9.1), at a cost in reporting and
    call-back time. Repeat complaints are tracked and rated lower (F5.5); the engine's
    rating applies the repeat penalty (``feedback.satisfaction_logit_repeat``), the policy may
    serve them first. The ranking itself is an accountability regime
    (``[accountability] kind = "ranking"``, :mod:`model.policies.accountability`), to
    which the departments respond; ``reform_immediate.toml`` sets both.

    Model: after intake review (the centre for hotline calls and sensors, the
    community for in-person reports), a case needing one department goes straight to
    it; a case needing several goes to the street of its grid, which leads the joint
    handling (``multi_department_via_street``; else straight to all departments).
    Department queues are deadline-first (``queue_discipline``, honoured by the engine).
    Ranking costs ``ranking_overhead_hours`` of the lead department's time per case.
    Repeat complaints get ``repeat_priority_days`` of priority. The stronger response to residents draws
    more reports through the trust feedback in the engine (F1.2), not here.

    Attributes:
        ranking_overhead_hours: staff hours per case for deadline tracking, reporting
            and the call-back to the resident (回访) that ranking needs (assumption).
        multi_department_via_street: a case needing several departments goes to the
            street of its grid, which leads and coordinates (属地, F4.7).
        repeat_priority_days: repeat complaints are served this many days earlier in
            deadline-first queues (F5.5 flags them; size is an assumption).
        queue_discipline: department queue order the engine applies under this policy
            (接诉即办 works to deadlines: "deadline"; "fifo" to isolate the effect).
        first_unit_leads: 首接负责 (F4.7): the first department to take a case on leads it and
            cannot return a case of disputed ownership.
    """

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        Mechanism(
            "street_leads_joint_cases",
            "multi_department_via_street",
            False,
            "multi-department cases go to the street of the grid, which leads them (属地)",
            "F4.7",
            structural=True,
        ),
        LEAD_RESPONSIBILITY,
        Mechanism(
            "repeat_priority",
            "repeat_priority_days",
            0.0,
            "repeat complaints are served earlier in deadline-first queues",
            "F5.5",
        ),
        Mechanism(
            "ranking_overhead",
            "ranking_overhead_hours",
            0.0,
            "tracking, reporting and call-backs cost the lead staff hours per case",
            "assumption",
        ),
    )

    ranking_overhead_hours: Hours = 0.25
    first_unit_leads: bool = True
    multi_department_via_street: bool = True
    repeat_priority_days: Days = 1.0
    queue_discipline: Literal["deadline", "fifo"] = "deadline"

    # what ``route`` reads of a case; it draws nothing (memoized routes, policies/base.py)
    ROUTE_FIELDS: ClassVar[tuple[str, ...]] = (
        "source",
        "community",
        "street",
        "departments",
        "minor",
        "repeat",
    )

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        intake = intake_unit(case)
        review_hours = (
            system.centre_review_hours
            if intake.level == "centre"
            else system.community_review_hours
        )
        stages = [Stage((Visit(intake, work_hours=review_hours),), "review")]
        if len(case.departments) > 1 and self.multi_department_via_street:
            street = Unit("street", case.street)
            stages.append(Stage((Visit(street, work_hours=system.street_review_hours),), "review"))
        stages.extend(handling_stages(case, system, joint=True))
        return Route(
            stages=tuple(stages),
            overhead_hours=self.ranking_overhead_hours,
            priority=-self.repeat_priority_days if case.repeat else 0.0,
            first_unit_leads=self.first_unit_leads,
        )
