"""Built-in routing policies (case dispatch).

Each is a frozen dataclass whose fields are its parameters; ``route`` reads a
:class:`CaseView` and a :class:`SystemView` and returns a :class:`Route`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from math import copysign
from typing import ClassVar

import numpy as np

from model.bounds import Hours
from model.mechanisms import Mechanism
from model.policies.base import CaseView, Route, Stage, SystemView, Unit, Visit
from model.policies.registry import register

# 首接负责 (F4.7): declared by every policy whose routes set ``first_unit_leads``.
LEAD_RESPONSIBILITY = Mechanism(
    "lead_responsibility",
    "first_unit_leads",
    False,
    "the first department to take a case on leads it: no disputed returns, one owner",
    "F4.7",
    structural=True,
)


def intake_unit(case: CaseView) -> Unit:
    """Where a case is first reviewed: the grid's community for in-person and patrol
    reports (F4.6), the district centre for hotline calls and sensor alarms (F6.5)."""
    if case.source in ("hotline", "sensor"):
        return _unit("centre", 0)
    return _unit("community", case.community)


# The routes' parts are frozen, so the built-in policies make each once and share it
# between routes (a frozen dataclass costs ≈ 0.3–0.7 µs to make: a route asked of a policy,
# one case in fourteen on a street, made ten of them; issue 11, twenty-second round). The
# caches are keyed by numbers and strings (hashing a part calls its Python ``__hash__``),
# by type too (1, 1.0 and True are equal keys otherwise: a part keeps the type it was
# given), and bounded: a sweep over review hours makes new stages at every point.
@lru_cache(maxsize=4096, typed=True)
def _unit(level: str, index: int) -> Unit:
    return Unit(level, index)  # type: ignore[arg-type]


def review_stage(unit: Unit, hours: float) -> Stage:
    """An office's review of a case: one visit to ``unit`` of ``hours`` staff hours."""
    # −0.0 and 0.0 are equal keys: the sign goes into the key (a float's; 1.0 for an int)
    return _review_stage(unit.level, unit.index, hours, copysign(1.0, hours))


@lru_cache(maxsize=4096, typed=True)  # 1 and 1.0 hours: two stages, as made
def _review_stage(level: str, index: int, hours: float, sign: float) -> Stage:
    return Stage((Visit(_unit(level, index), work_hours=hours),), "review")


@lru_cache(maxsize=4096, typed=True)
def _handling(departments: tuple[int, ...], together: bool) -> tuple[Stage, ...]:
    """The visits to ``departments`` in one stage (``together``) or one after another."""
    visits = _visits_to(departments)
    if together:
        return (Stage(visits, "handle"),)
    return tuple(Stage((v,), "handle") for v in visits)


def department_visits(case: CaseView) -> tuple[Visit, ...]:
    """One visit per department the case needs, lead owner first."""
    return _visits_to(tuple(case.departments))


@cache
def _visits_to(departments: tuple[int, ...]) -> tuple[Visit, ...]:
    """The visits to ``departments``: frozen, so made once per combination (issue 11)."""
    return tuple(Visit(_unit("department", d)) for d in departments)


def settled_in_community(case: CaseView, system: SystemView) -> bool:
    """Whether the department staff moved down to the case's community, with their tasks
    and authority, settle it there (下沉 as practised, seed §三(二)): a minor case of one
    department whose staff were moved down."""
    embedded = system.embedded_departments
    return (
        case.minor
        and len(case.departments) == 1
        and embedded.shape[0] > case.departments[0]
        and bool(embedded[case.departments[0]])
    )


def handling_stages(case: CaseView, system: SystemView, *, joint: bool) -> tuple[Stage, ...]:
    """The stages that do the work of ``case`` once it is dispatched.

    A case the community settles with the staff moved down to it is resolved there
    (:func:`settled_in_community`). Otherwise the departments handle it together in one
    stage when ``joint`` (首接负责 lead, F4.7), or under 管执联动 when the case needs an
    enforcement department and another (seed §三(二)); else one after another.
    """
    if settled_in_community(case, system):
        return _embedded_resolution(case.community)
    departments = tuple(case.departments)
    together = joint or (
        system.management_enforcement_joint and case.enforcement and len(departments) > 1
    )
    return _handling(departments, bool(together))


@lru_cache(maxsize=4096, typed=True)
def _embedded_resolution(community: int) -> tuple[Stage, ...]:
    """Resolved in ``community`` by the department staff moved down to it (下沉)."""
    return (Stage((Visit(_unit("embedded", community)),), "resolve"),)


def centre_review(system: SystemView) -> Stage:
    """The district centre's review of a case it registers and dispatches (F6.5)."""
    return review_stage(_unit("centre", 0), system.centre_review_hours)


# the CaseView fields :func:`digital_city_management_route` reads (memoized by model.route_memo)
DIGITAL_CITY_MANAGEMENT_FIELDS = ("departments", "community", "minor", "enforcement")


def digital_city_management_route(
    case: CaseView, system: SystemView, dispatch_hours: float
) -> Route:
    """数字城管: a problem an inspector found goes on the city-management network, not up
    the levels — the command centre registers and dispatches it straight to the owning
    department (F1.4: inspectors find most of its cases; F4.2: limits in working hours
    from dispatch), every hand-off taking ``dispatch_hours`` (``detection.*``). The model's
    one centre stands in for the command centre (assumption). Used by the case lifecycle
    for patrol-found cases under ``detection.digital_city_management``, whatever the
    routing policy (a routing policy cannot see the channel a case came by otherwise)."""
    return Route(
        stages=(centre_review(system), *handling_stages(case, system, joint=False)),
        handoff_delay_hours=dispatch_hours,
    )


@register("routing", "hierarchical")
@dataclass(frozen=True)
class HierarchicalRouting:
    """层层上报: the pre-reform baseline (seed §三(一), 碎片化/被动化).

    A case climbs level by level — grid → community → street → department (or
    centre → street → department for hotline calls) — with a review at each level;
    the street office classifies it with its own list, so a wrong department may get
    it and return it (退件, F4.5); a case needing several departments goes to them one
    after another (unless 管执联动 joins management and enforcement). A minor case the
    community can settle with staff moved down to it stops there (下沉).

    It has no parameters of its own: its review times are the offices'
    (``offices.*_review_hours``), its dispatch accuracy the holding office's.
    """

    # what ``route`` reads of a case; it draws nothing (memoized routes, policies/base.py)
    ROUTE_FIELDS: ClassVar[tuple[str, ...]] = (
        "source",
        "community",
        "street",
        "minor",
        "departments",
        "enforcement",
    )

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        first = intake_unit(case)
        reviews = [first, _unit("street", case.street)]
        if settled_in_community(case, system) and first.level == "community":
            reviews = [first]  # the community passes it to the staff moved down to it
        stages = [review_stage(u, review_hours(u, system)) for u in reviews]
        stages += handling_stages(case, system, joint=False)
        return Route(stages=tuple(stages))


def review_hours(unit: Unit, system: SystemView) -> float:
    """An office's review time for one case."""
    level = unit.level
    if level == "centre":
        return system.centre_review_hours
    if level == "street":
        return system.street_review_hours
    if level == "community":
        return system.community_review_hours
    raise KeyError(level)


@register("routing", "integrated")
@dataclass(frozen=True)
class IntegratedRouting:
    """大综合一体化: unified intake and direct dispatch (seed §二(二), §三(二), 一网统管).

    One centre registers every case and dispatches it straight to the owning
    department (classifying it with its list, or with the single catalogue of
    integrated data where the scenario has one: ``coordination.catalogue_departments``);
    a case needing several departments is handled jointly under the lead department
    (首接负责, F4.7), which pays a coordination cost per extra department.

    Attributes:
        joint_coordination_hours: lead department's staff hours per extra department (assumption).
        first_unit_leads: the lead department answers for the whole case and cannot return
            a case of disputed ownership (首接负责, 权责一致, F4.7).
    """

    joint_coordination_hours: Hours = 0.5
    first_unit_leads: bool = True

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        LEAD_RESPONSIBILITY,
        Mechanism(
            "joint_coordination_cost",
            "joint_coordination_hours",
            0.0,
            "the lead spends hours coordinating each extra department",
            "assumption",
        ),
    )
    # what ``route`` reads of a case; it draws nothing (memoized routes, policies/base.py)
    ROUTE_FIELDS: ClassVar[tuple[str, ...]] = ("departments", "community", "minor")

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        extra = len(case.departments) - 1
        return Route(
            stages=(centre_review(system), *handling_stages(case, system, joint=True)),
            overhead_hours=self.joint_coordination_hours * extra,
            first_unit_leads=self.first_unit_leads,
        )
