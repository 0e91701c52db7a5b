"""Policy families: the protocols, the read-only views they see, the decisions they return.

A policy is a small frozen dataclass whose fields are its parameters. It gets a
narrow read-only view and its own random generator, returns a decision and
mutates nothing; the model applies the decision. So each policy can be tested
on a few fake views without building a model (docs/design.md "Conventions").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # an annotation only: checking a scenario imports no SciPy (issue 11)
    import scipy.sparse as sp


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (live: it shows later changes), for policy views."""
    view = array.view()
    view.flags.writeable = False
    return view


# ---------------------------------------------------------------------------
# Units a case can visit
# ---------------------------------------------------------------------------

# 'party' is the party-member volunteers of a grid (党员责任区, seed §二(二)): their time is
# volunteered, so it is reported apart from staff hours. 'embedded' is the department staff
# moved down to a community together with their tasks (下沉, seed §三(二)). 'building',
# 'social' and 'registered' are other volunteers (楼栋长, 社会组织, 双报到 units; model.party).
# 'mediation' is a session of a street's joint mediation platform (model.policies.mediation).
UnitLevel = Literal[
    "centre",
    "street",
    "community",
    "grid",
    "party",
    "department",
    "embedded",
    "building",
    "social",
    "registered",
    "mediation",
]


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit of the governance system: a level and an index within that level."""

    level: UnitLevel
    index: int


# ---------------------------------------------------------------------------
# Routing
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseView:
    """What a routing policy may know about one case (all read-only)."""

    case_id: int
    case_type: str  # one of model.cases.CASE_TYPES
    source: str  # 'hotline' | 'grid_worker' | 'party_member' | 'patrol' | 'sensor'
    departments: tuple[int, ...]  # departments needed, lead owner first
    grid: int
    community: int
    street: int
    minor: bool  # small enough to settle on the spot (F3.5, F4.6)
    enforcement: bool  # any needed department is an enforcement department
    repeat: bool  # the same resident's need of this category came back within the window (F5.5)
    severity: float  # in [0, 1]; exogenous
    time_limit_working_days: float
    returns: int  # times this case has been returned (退件) so far
    work_hours: tuple[float, ...] = ()  # exogenous staff hours each needed department would spend


@dataclass(frozen=True, slots=True)
class SystemView:
    """What a routing policy may know about the system (all read-only)."""

    department_names: tuple[str, ...]
    department_staff: np.ndarray  # int, per department
    department_queue_length: np.ndarray  # int, cases waiting or in service per department
    department_rating: (
        np.ndarray
    )  # float in [0, 1], e.g. the street's rating of each department (whistle)
    department_enforcement: np.ndarray  # bool, per department
    classification_accuracy: float  # a dispatcher's accuracy without the catalogue (F3.6)
    handoff_delay_hours: float
    centre_review_hours: float
    street_review_hours: float
    community_review_hours: float
    on_the_spot_hours: float
    return_check_hours: float
    # per department: part of its staff was moved down to the communities together with
    # the authority to settle its minor cases there (下沉 as practised, seed §三(二))
    embedded_departments: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # 管执联动: management and enforcement departments handle a case jointly (seed §三(二))
    management_enforcement_joint: bool = False


@dataclass(frozen=True, slots=True)
class Visit:
    """A case's stop at one unit.

    Attributes:
        unit: where the case goes.
        work_hours: staff hours of work there; None means the unit's own default
            (for a department, the case's exogenous work content; for an office, its review time).
        response_hours: when set, the unit reports within this many hours instead of the
            ordinary hand-off delay (吹哨报到 summons, F4.3).
    """

    unit: Unit
    work_hours: float | None = None
    response_hours: float | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    """Visits handled jointly; the stage ends when every visit has ended.

    ``role`` is 'review' (an office passes the case on), 'handle' (departments do the
    work) or 'resolve' (settled on the spot by a grid worker, party member or the
    department staff moved down to the community: the case is handled at first contact
    and goes straight to verification).

    The office holding the case when a 'handle' stage begins classifies it: it names the
    lead department, correctly or not (:meth:`model.agents.Office.classify`); a wrong
    department returns it (退件). ``claimable``: a 'resolve' stage at a grid is offered to
    the grid's party-member volunteers first (任务快速认领, :meth:`model.agents.PartyMember.claims`).
    'mediate': a neighbourhood dispute is mediated there; settled, it goes to verification,
    else to the next stage (model.policies.mediation).
    """

    visits: tuple[Visit, ...]
    role: Literal["review", "handle", "resolve", "mediate"]
    claimable: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    """A routing decision: the stages a case goes through, in order.

    Attributes:
        stages: sequential stages.
        handoff_delay_hours: delay between units; None = the system's delay.
        overhead_hours: extra staff hours charged to the lead department (coordination,
            reporting for rankings).
        priority: smaller is served first in deadline-first queues (added to the deadline, in days).
        first_unit_leads: 首接负责 (F4.7): the first department to take the case on leads it —
            it cannot return a case of disputed ownership, and it answers for the whole of a
            case that needs several departments; without a lead every department's part must
            succeed and a disputed case may bounce between departments until it is parked.
    """

    stages: tuple[Stage, ...]
    handoff_delay_hours: float | None = None
    overhead_hours: float = 0.0
    priority: float = 0.0
    first_unit_leads: bool = False


@runtime_checkable
class RoutingPolicy(Protocol):
    """Decides how a registered case travels to those who resolve it.

    Memoized routes (optional, issue 11): a policy may declare in its own class body
    ``ROUTE_FIELDS: ClassVar[tuple[str, ...]]``, the :class:`CaseView` fields its ``route``
    reads. Declaring them promises that ``route`` returns equal routes for cases equal in
    those fields, that it draws nothing from ``rng``, and that of the :class:`SystemView`
    it reads only what stays fixed during a run (the names, staff, enforcement flags,
    accuracy, the hours, ``embedded_departments``, ``management_enforcement_joint``) —
    never ``department_queue_length`` or ``department_rating``, which the engine updates.
    The case lifecycle then asks the policy once per distinct value of those fields and
    reuses the route, without building a :class:`CaseView` for the cases that follow
    (model/route_memo.py). The declaration is not inherited: a subclass that does not
    declare its own is called for every case. A policy that draws from ``rng`` (even
    for some cases only, like ``grid_first`` and ``whistle``) or reads a live array must
    not declare it. Without it nothing changes: ``route`` is called for every case.
    """

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        """Return the route of ``case``; called once per case at registration and after each return."""
        ...


# ---------------------------------------------------------------------------
# Consultation (协商 deliberation)
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommunityView:
    """What a consultation policy may know about one community on a meeting day."""

    day: int
    community: int
    trust: np.ndarray  # float in [0, 1], per resident of the community
    age_group: np.ndarray  # int index into age_groups, per resident
    age_groups: tuple[str, ...]
    party_member: np.ndarray  # bool, per resident
    ties: sp.csr_matrix  # social ties among the community's residents (symmetric, 0/1)
    open_collective_issues: int


@dataclass(frozen=True, slots=True)
class Meeting:
    """A consultation decision for one community.

    Attributes:
        attendance_probability: per resident of the community, the chance to take part.
        decision_quality: chance that a decision taken is implementable and gets implemented.
        topics: how many open collective issues the meeting can decide on.
        quorum: fewest participants for the meeting to decide anything.
        staff_hours: community staff time the meeting costs.
        implementation_days: days from decision to implementation.
    """

    attendance_probability: np.ndarray
    decision_quality: float
    topics: int
    quorum: int
    staff_hours: float
    implementation_days: float


@runtime_checkable
class ConsultationPolicy(Protocol):
    """Drives residents' participation in deliberation on collective issues."""

    def meets_on(self, day: int) -> bool:
        """Whether meetings are held on ``day`` (fixed cycles such as 季会制)."""
        ...

    def convene(self, view: CommunityView, rng: np.random.Generator) -> Meeting | None:
        """Return the meeting held in this community today, or None."""
        ...


# ---------------------------------------------------------------------------
# Mediation (矛盾纠纷调处), organisation (党建引领) and micro-space projects (微改造)
# ---------------------------------------------------------------------------


@runtime_checkable
class MediationPolicy(Protocol):
    """Routes a neighbourhood dispute through mediation and says who settles it
    (model/policies/mediation.py; run by model.mediation and model.casework).
    ``route`` may be memoized by the same optional ``ROUTE_FIELDS`` declaration as a
    :class:`RoutingPolicy`'s, on the same promise."""

    relapse_delay_days: float

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        """Return the mediation route of the dispute ``case``."""
        ...

    def settlement_probability(self, unit: Unit) -> float:
        """The chance that the mediators at ``unit`` settle a dispute."""
        ...

    def relapse_probability_at(self, unit: Unit) -> float:
        """The chance that a settlement reached at ``unit`` does not hold."""
        ...

    def days_per_month(self) -> tuple[int, ...]:
        """Days a four-week month each profession sits in at the platform."""
        ...

    def platform_staff(self) -> float:
        """Full-time mediators of each street's platform (0: no platform)."""
        ...


@runtime_checkable
class OrganisationPolicy(Protocol):
    """The community party organisation (model/policies/organisation.py). The engine
    (model.party) calls ``on_duty`` of every kind; it reads the ``party_building`` kind's
    fields only when that kind is active."""

    def on_duty(self, day: int, unit: int) -> bool:
        """Whether registered unit ``unit`` reports to its community on ``day`` (双报到)."""
        ...


@runtime_checkable
class ProjectsPolicy(Protocol):
    """Micro-space projects (model/policies/micro_renewal.py). The engine (model.projects)
    calls these on every kind; it reads the ``micro_renewal`` kind's costs, wear and
    strengths only when ``active``."""

    @property
    def active(self) -> bool:
        """Whether the policy builds projects at all."""
        ...

    @property
    def monthly_topic(self) -> bool:
        """Whether each street tackles its most frequent problem every month (每月一题)."""
        ...

    def propose(self, counts: np.ndarray, free: np.ndarray) -> tuple[int, int] | None:
        """The (grid, project type) proposed from the problem ``counts``, or None."""
        ...

    def topic(self, counts: np.ndarray, open_: np.ndarray) -> int | None:
        """This month's problem to tackle at its source, or None."""
        ...
