"""Built-in routing policies (case dispatch).

Each is a frozen dataclass whose fields are its parameters; ``route`` reads a
:class:`CaseView` and a :class:`SystemView` and returns a :class:`Route`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.bounds import Hours, Multiplier, Share
from model.policies.base import CaseView, Route, Stage, SystemView, Unit, Visit
from model.policies.registry import register


def intake_unit(case: CaseView) -> Unit:
    """Where a case is first reviewed: the grid's community for in-person and patrol
    reports (F4.6), the district centre for hotline calls and sensor alarms (F6.5)."""
    if case.source in ("hotline", "sensor"):
        return Unit("centre", 0)
    return Unit("community", case.community)


def department_visits(case: CaseView) -> tuple[Visit, ...]:
    """One visit per department the case needs, lead owner first."""
    return tuple(Visit(Unit("department", d)) for d in case.departments)


@register("routing", "hierarchical")
@dataclass(frozen=True)
class HierarchicalRouting:
    """层层上报: the pre-reform baseline (BRIEF; seed §一, 碎片化/被动化).

    A case climbs level by level — grid → community → street → department (or
    centre → street → department for hotline calls) — with a review at each level;
    the dispatcher's classification errors send it to a wrong department, which
    returns it (退件, F4.5); a case needing several departments goes to them one
    after another.

    Attributes:
        review_hours_multiplier: scales each office's review time (assumption).
        misroute_multiplier: scales the misrouting chance ``1 - classification_accuracy``;
            fragmented data makes it higher than the centre's automatic dispatch (F3.6; assumption).
    """

    review_hours_multiplier: Multiplier = 1.0
    misroute_multiplier: Multiplier = 1.0

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        first = intake_unit(case)
        reviews = [first, Unit("street", case.street)]
        stages = [
            Stage((Visit(u, work_hours=self._review_hours(u, system)),), "review") for u in reviews
        ]
        stages += [Stage((v,), "handle") for v in department_visits(case)]
        misroute = min(1.0, (1.0 - system.classification_accuracy) * self.misroute_multiplier)
        return Route(stages=tuple(stages), misroute_probability=misroute)

    def _review_hours(self, unit: Unit, system: SystemView) -> float:
        base = {
            "centre": system.centre_review_hours,
            "street": system.street_review_hours,
            "community": system.community_review_hours,
        }[unit.level]
        return base * self.review_hours_multiplier


@register("routing", "integrated")
@dataclass(frozen=True)
class IntegratedRouting:
    """大综合一体化: unified intake and direct dispatch (BRIEF; seed §二(一), 一网统管).

    One centre registers every case and dispatches it straight to the owning
    department; integrated data (一组库) lowers misrouting; a case needing several
    departments is handled jointly under the lead department (首接负责, F4.7),
    which pays a coordination cost per extra department.

    Attributes:
        misroute_reduction_share: share of the dispatcher's misrouting removed by
            integrated data (assumption; F3.6 gives the baseline accuracy).
        joint_coordination_hours: lead department's staff hours per extra department (assumption).
    """

    misroute_reduction_share: Share = 0.5
    joint_coordination_hours: Hours = 0.5

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        review = Stage((Visit(Unit("centre", 0), work_hours=system.centre_review_hours),), "review")
        handle = Stage(department_visits(case), "handle")
        misroute = (1.0 - system.classification_accuracy) * (1.0 - self.misroute_reduction_share)
        extra = len(case.departments) - 1
        return Route(
            stages=(review, handle),
            misroute_probability=misroute,
            overhead_hours=self.joint_coordination_hours * extra,
        )
