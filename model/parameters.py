"""Validated, frozen parameters of one governance model run.

The schema is the single source of truth for scenario files: every TOML key is a
field here, spelled the same (docs/design.md "Conventions"). Defaults carry their source in a
comment: a stylized-fact id (``F…``, see ``docs/sources.md``), the
seed document (``seed §…``) or "assumption".

Policies are validated by their family registry (``model.policies.registry``):
the ``routing`` and ``consultation`` blocks hold a ``kind`` and the policy's own
parameters, and come out of validation as frozen policy instances.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from model.bounds import (
    MAX_DAYS,
    MAX_DEPARTMENTS,
    MAX_LOGIT,
    MAX_STAFF,
    MAX_STAFF_PER_100K,
    Days,
    Flag,
    Hours,
    HoursPerDay,
    Integer,
    Minutes,
    Number,
    PositiveDays,
    PositiveHours,
    Probability,
    RatePerResident,
    Share,
    Weight,
    WorkingDays,
    memory_problem,
)
from model.cases import CASE_TYPES
from model.place_types import CommunityTypeParameters, StreetTypes, check_age_group_shares
from model.policies.registry import FAMILIES, Family, imports_allowed, resolve_policy

StaffFTE = Annotated[Number, Field(gt=0.0, le=MAX_STAFF)]  # full-time equivalents, fractional
Logit = Annotated[Number, Field(ge=-MAX_LOGIT, le=MAX_LOGIT)]


class Section(BaseModel):
    """Base of every parameter block: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SimulationParameters(Section):
    """How long a run is, and the warm-up its outcomes exclude (docs/design.md "Warm-up")."""

    days: Annotated[Integer, Field(ge=1, le=MAX_DAYS)] = (
        365  # measured days after the warm-up (assumption)
    )
    warmup_days: Annotated[Integer, Field(ge=0, le=MAX_DAYS)] = (
        120  # run before the measured days, outcomes exclude it; 8x the longest time limit (F4.1 15
        # working days) so that queues and repeat contacts reach their steady state (assumption, tested)
    )
    start_weekday: Annotated[Integer, Field(ge=0, le=6)] = 0  # day 0 is a Monday (assumption)

    @property
    def total_days(self) -> int:
        """Days simulated in all: the warm-up, then the measured days."""
        return self.warmup_days + self.days


class CalendarParameters(Section):
    """One working calendar for office hours and working-day time limits (F4.1, F4.2)."""

    working_hours_per_day: Annotated[Number, Field(ge=0.5, le=24)] = (
        8.0  # 9:00-17:00 office (assumption)
    )
    working_days_per_week: Annotated[Integer, Field(ge=1, le=7)] = (
        5  # Monday-Friday (F4.1 "working days")
    )


class PopulationParameters(Section):
    """Hierarchy sizes and who the residents are."""

    streets: Annotated[Integer, Field(ge=1, le=100)] = (
        1  # street/town units under the district centre
    )
    communities_per_street: Annotated[Integer, Field(ge=1, le=200)] = (
        9  # ≈28k residents per street; assumption
    )
    grids_per_community: Annotated[Integer, Field(ge=1, le=100)] = (
        6  # ≈5.6 grids per community (F6.2, rounded)
    )
    residents_per_grid: Annotated[Integer, Field(ge=2, le=20_000)] = (
        515  # F6.2 (derived) ; F6.4: 300-550
    )
    household_size: Annotated[Number, Field(ge=1.0, le=10.0)] = 2.6  # assumption (census-like)
    residents_per_building: Annotated[Integer, Field(ge=1, le=5000)] = (
        50  # F6.4: ≈20 households per building head
    )
    party_member_share: Share = 0.071  # F7.1
    party_volunteer_share: Share = (
        0.5  # members organised into grids (党员编组入网, seed §二(二)); assumption
    )
    age_group_shares: Annotated[dict[str, Share], Field(max_length=20)] = Field(
        # adults by age group; assumption (census-like shape)
        default_factory=lambda: {"18-29": 0.18, "30-49": 0.34, "50-69": 0.32, "70+": 0.16}
    )
    initial_trust_mean: Share = (
        0.84  # assumption: the steady state of the pre-reform street baseline (docs/validation.md);
        # residents draw normal(mean, sd) clipped to [0, 1], so the drawn mean is ≈0.83
    )
    initial_trust_sd: Annotated[Number, Field(ge=0.0, le=0.5)] = 0.15  # assumption
    street_types: StreetTypes = Field(
        # streets of each community type, in order (F6.1: 7 streets, 16 towns); scaled to
        # `streets` when they total otherwise; none: every street is the default place above
        default_factory=dict
    )

    @field_validator("age_group_shares")
    @classmethod
    def _shares_sum_to_one(cls, value: dict[str, float]) -> dict[str, float]:
        return check_age_group_shares(value)

    @property
    def grids(self) -> int:
        return self.streets * self.communities_per_street * self.grids_per_community

    @property
    def residents(self) -> int:
        return self.grids * self.residents_per_grid


class SocialParameters(Section):
    """Residents' social ties (household, building, weak ties across grids) and influence."""

    building_ties_per_resident: Annotated[Integer, Field(ge=0, le=50)] = (
        4  # F7.3: >57 % meet neighbours weekly
    )
    weak_ties_per_resident: Annotated[Integer, Field(ge=0, le=20)] = (
        1  # ties across grids; assumption
    )
    neighbour_influence_per_day: Share = (
        0.02  # weight of neighbours' mean trust per day; assumption
    )
    disposition_weight_per_day: Share = (
        0.03  # pull of each resident's own disposition (settled experience) per day; keeps trust
        # heterogeneous under neighbour averaging; assumption
    )


class DemandParameters(Section):
    """Residents' needs, their type mix and the departments they concern."""

    needs_per_resident_per_year: RatePerResident = 0.98  # F1.1 (hotline requests per resident)
    case_type_shares: dict[str, Share] = Field(
        # F2.2/F2.3 blend for inquiry 47-64 %, help 29-30 %, suggestion 1-15 %; complaint+report
        # is 10 %, above their hotline figures (1.5-5.3 %): assumption, the mix of every channel
        # (grid workers' and party members' reports beside the hotline's), not fitted
        default_factory=lambda: {
            "inquiry": 0.55,
            "help": 0.30,
            "complaint": 0.07,
            "report": 0.03,
            "suggestion": 0.05,
        }
    )
    multi_department_share: Share = 0.12  # needs two or more departments; assumption
    max_departments_per_case: Annotated[Integer, Field(ge=1, le=4)] = 3  # assumption
    minor_share: Share = (
        0.35  # small enough to settle on the spot (F3.5 ≈9 % self-handled); assumption
    )
    disputed_ownership_share: Share = (
        0.1  # 职责交叉, 无主: ownership disputed between departments (F9.5); assumption, the
        # unsourced "41 % beyond a community's authority" as a wide prior
    )
    minor_work_share: Annotated[Number, Field(gt=0.0, le=1.0)] = (
        0.3  # a minor case needs this share of its department's mean work; assumption (F5.4: hours)
    )
    repeat_complaint_window_days: Days = 30.0  # F5.5 repeat complaints; assumption
    linked_request_share: Share = (
        0.0  # of multi-department needs, those a resident files as separate linked requests
        # (one per department) unless intake bundles them (一件事, seed §二(四)); assumption
    )
    neighbour_disputes_per_resident_per_year: RatePerResident = (
        0.01  # 矛盾纠纷 brought to the grid or the hotline, on top of the F2 needs; assumption
    )
    collective_issues_per_community_per_year: Annotated[Number, Field(ge=0, le=365)] = (
        4.0  # parking, renovation, pocket parks (seed §二(三), §三(一)); assumption
    )
    collective_issue_top_down_rate_per_year: Annotated[Number, Field(ge=0, le=365)] = (
        0.5  # an open collective issue is settled top-down, without deliberation; assumption
        # (without it, issues pile up for ever and no baseline settles)
    )

    @field_validator("case_type_shares")
    @classmethod
    def _known_types(cls, value: dict[str, float]) -> dict[str, float]:
        reported = [t for t in CASE_TYPES if t not in ("patrol", "sensor", "neighbour_dispute")]
        unknown = sorted(set(value) - set(reported))
        if unknown:
            raise ValueError(f"unknown case type(s) {unknown}; allowed: {reported}")
        total = sum(value.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"case type shares must sum to 1 (they sum to {total:.4f})")
        return value


class ReportingParameters(Section):
    """Whether and where a resident reports a need; trust drives both (需求—处置—反馈—评价 loop, seed §二(二))."""

    # Reporting follows trust linearly between these two. The slope is bounded by M15 (a
    # first report that was fixed raised the chance of a second by 57 %): here a resolved,
    # satisfying case against an unsatisfying one at the default trust gives ≈ +46 %.
    report_probability_at_zero_trust: Probability = (
        0.2  # assumption; F1.2 demand grows with responsiveness (a holdout, not a target)
    )
    report_probability_at_full_trust: Probability = 0.7  # assumption, with M15
    hotline_weight: Weight = 0.6  # 12345 hotline; assumption
    grid_worker_weight: Weight = 0.3  # in person to the grid worker (F4.6); assumption
    party_member_weight: Weight = (
        0.1  # to a party member of the responsibility zone (seed §二(二)); assumption
    )
    unreported_need_lifetime_days: PositiveDays = (
        30.0  # an unreported need lapses after this; assumption
    )
    repeat_contact_probability: Probability = (
        0.5  # after an unresolved or parked case the resident contacts again; assumption
        # (M12: repeat complaints were 19.6 % of a county's orders; M14)
    )
    repeat_contact_delay_days: PositiveDays = 7.0  # mean days before a repeat contact; assumption
    contacts_per_need_max: Annotated[Integer, Field(ge=1, le=20)] = (
        3  # a resident gives up after this many contacts about one need; assumption (M14: >10)
    )
    urging_probability: Probability = (
        0.5  # a resident whose case is past its limit calls to urge it (催办, F9.4); assumption
    )

    @model_validator(mode="after")
    def _some_channel(self) -> ReportingParameters:
        if self.hotline_weight + self.grid_worker_weight + self.party_member_weight <= 0:
            raise ValueError(
                "hotline_weight, grid_worker_weight and party_member_weight are all 0: "
                "at least one report channel needs a weight above 0"
            )
        return self


class DetectionParameters(Section):
    """Patrols and sensors find problems nobody reported (F1.4, F6.6)."""

    patrol_detection_probability_per_day: Probability = (
        0.04  # per pending patrol-visible need; assumption, F1.4
    )
    sensor_coverage_share: Share = (
        0.0  # share of sensor-visible needs detected automatically (F6.6 lever)
    )
    patrol_hours_per_day: HoursPerDay = 2.0  # grid worker patrol time per working day; assumption
    public_problems_per_resident_per_year: RatePerResident = (
        0.25  # public-space problems nobody reports
    )
    false_alarms_per_grid_per_day_at_full_coverage: Annotated[Number, Field(ge=0.0, le=100.0)] = (
        0.0  # 误报: sensor alarms with no problem behind them, per grid per day at full
        # coverage (they scale with sensor_coverage_share); assumption, set by the scenarios
        # that cover (0 here: its neutral value, so `microgov explain` separates it)
    )
    digital_city_management: Flag = (
        False  # 数字城管: what patrols find goes straight to the command centre, which
        # dispatches it to the department (F1.4, F4.2), instead of climbing the routing
        # policy's levels; off here (its neutral value, so `microgov explain` separates it);
        # a reform that merges the networks (一网统管) turns it off
    )
    digital_dispatch_hours: Hours = (
        1.0  # each hand-off on that network (inspector → centre → department → check);
        # assumption: F4.2 sets limits of working hours from dispatch
    )
    # (rubbish, damaged facilities): F1.4 — inspectors find most city-management cases; assumption


class IntakeParameters(Section):
    """Hotline front desk and registration (F3)."""

    front_desk_inquiry_resolution_share: Share = (
        0.9  # F3.1-F3.3: 52.7-85.9 % of all calls closed at the desk
    )
    front_desk_minutes: Minutes = 6.0  # F3.4
    registration_minutes: Minutes = 3.7  # F3.4 call to dispatch
    one_thing_bundles: Flag = (
        False  # 一件事一次办: linked requests registered as one case, handled in one pass
        # under a lead department (seed §二(四); F4.7); off before the reform
    )
    bundle_coordination_hours: Hours = (
        0.0  # lead department's hours per extra department of a bundle; assumption, set by
        # the scenarios that bundle (0 here: its neutral value, so `microgov explain` separates it)
    )


class DepartmentParameters(Section):
    """One functional department (职能部门) and the category of needs it owns."""

    staff_per_100k_residents: Annotated[Number, Field(gt=0, le=MAX_STAFF_PER_100K)] = 8.0
    case_share: Share = 0.1  # share of needs whose lead owner is this department
    work_hours_mean: PositiveHours = (
        3.0  # staff hours to handle one case; assumption (F5.4 "under 7 hours")
    )
    enforcement: Flag = False  # enforcement department (whistle F4.3, 管执联动)
    patrol_visible: Flag = False  # grid patrols can see its problems (F1.4)
    sensor_visible: Flag = False  # cameras/sensors can detect its problems (F6.6)


def _default_departments() -> dict[str, DepartmentParameters]:
    # Department names from the brief (城管, 公安, 交通, 住建, 民政, 卫健, 文旅, 市场监管);
    # shares: F1.4/F2 put city management on top; the rest are assumptions. Staff levels are
    # assumptions set so that the pre-reform street baseline runs every department at ≈50-75 %
    # utilisation after the warm-up (docs/validation.md), fractional staff (FTE) per 100k residents.
    D = DepartmentParameters
    return {
        "urban_management": D(
            staff_per_100k_residents=30,
            case_share=0.30,
            work_hours_mean=2.5,
            enforcement=True,
            patrol_visible=True,
            sensor_visible=True,
        ),
        "public_security": D(
            staff_per_100k_residents=13,
            case_share=0.12,
            work_hours_mean=3.0,
            enforcement=True,
            sensor_visible=True,
        ),
        "transport": D(
            staff_per_100k_residents=14,
            case_share=0.10,
            work_hours_mean=3.0,
            patrol_visible=True,
            sensor_visible=True,
        ),
        "housing_construction": D(
            staff_per_100k_residents=24,
            case_share=0.14,
            work_hours_mean=4.0,
            enforcement=True,
            patrol_visible=True,
        ),
        "civil_affairs": D(staff_per_100k_residents=10, case_share=0.10, work_hours_mean=3.0),
        "health": D(staff_per_100k_residents=11, case_share=0.08, work_hours_mean=3.0),
        "culture_tourism": D(staff_per_100k_residents=6.5, case_share=0.06, work_hours_mean=2.5),
        "market_regulation": D(
            staff_per_100k_residents=10, case_share=0.10, work_hours_mean=3.0, enforcement=True
        ),
    }


class OfficeParameters(Section):
    """Offices that receive, review and dispatch cases; and grid workers (F6.3)."""

    centre_staff: StaffFTE = 6.0  # district operation centre dispatchers, FTE (F6.5); assumption
    centre_review_hours: Hours = 0.3  # assumption
    street_staff: StaffFTE = 8.0  # per street/town centre, FTE (F6.5); assumption
    street_review_hours: Hours = 0.3  # assumption
    community_staff: StaffFTE = 2.0  # per community, FTE; 小马拉大车 (seed §二(一)); assumption
    community_review_hours: Hours = 0.5  # assumption
    community_admin_hours_per_day: Hours = (
        6.0  # non-case tasks pushed down to communities; assumption
    )
    grid_workers_per_grid: Annotated[Number, Field(gt=0, le=20)] = (
        2.0  # FTE; F6.3 "1+3+N" team, full-time part
    )
    verification_hours: Hours = 0.5  # grid worker checks closure on site (F4.5); assumption
    on_the_spot_hours: Hours = 1.0  # grid worker settles a minor case on site (F4.6); assumption


class CoordinationParameters(Section):
    """Digital and organisational settings every policy honours (seed §二(五), §三(二)).

    Classification (docs/design.md "Misrouting from classification"): the unit that
    dispatches a case to a department names the owner correctly with its own accuracy —
    ``classification_accuracy`` at the district centre and street offices,
    ``community_classification_accuracy`` at a community office — or, for the
    departments in the single dispatch catalogue backed by integrated data (一组库,
    ``catalogue_departments``), with ``catalogue_accuracy``. A wrong department returns
    the case (退件, F4.5, F9.2) and the dispatcher classifies it again, knowing who
    returned it; returns per case follow from that, not from a routing field.
    """

    classification_accuracy: Probability = 0.7  # F3.6: automatic dispatch correct for >70 %
    community_classification_accuracy: Probability = (
        0.6  # a community office's own list is shorter and older; assumption
    )
    catalogue_departments: tuple[
        str, ...
    ] = ()  # 一组库 single dispatch catalogue (seed §二(五)); none before the reform
    catalogue_accuracy: Probability = (
        0.95  # assumption; M22/M23: catalogues of 300+ items and expanded subcategories
    )
    handoff_delay_hours: Hours = 4.0  # between units before 一张网 merged networks; assumption
    return_check_hours: Hours = (
        1.0  # staff time to inspect and return (退件) a misrouted case (F4.5)
    )
    # 下沉: share of every department's staff moved down to the communities (seed §三(二)); a
    # department keeps at least a tenth of its staff, since it still serves the cases that are
    # not moved (moving all of it would leave a station with no one: impossible, not overloaded)
    staff_moved_to_communities_share: Annotated[Number, Field(ge=0.0, le=0.9)] = 0.0
    tasks_moved_with_staff: Flag = (
        True  # 下沉 as practised: staff, tasks and authority move together (seed §三(二))
    )
    # 管执联动: management and enforcement handle a case jointly (seed §三(二)); off before
    management_enforcement_joint: Flag = False
    queue_discipline: Literal["fifo", "deadline"] = "fifo"  # department queue order


class PartyParameters(Section):
    """Party members organised into grids (党员编组入网, 任务快速认领, 党员责任区; seed §二(二))."""

    claim_probability: Probability = (
        0.3  # a volunteer of the grid claims a small task offered there; assumption
    )
    claim_logging_hours: Hours = (
        0.25  # grid-worker hours to log a task a party member settled; assumption
    )


class TimeLimitParameters(Section):
    """Time limits per case type, in working days (F4.1; patrol/sensor classes F4.2)."""

    inquiry: WorkingDays = 3.0  # F4.1
    help: WorkingDays = 7.0  # F4.1
    suggestion: WorkingDays = 7.0  # F4.1
    complaint: WorkingDays = 15.0  # F4.1
    report: WorkingDays = 15.0  # F4.1
    patrol: WorkingDays = 1.0  # F4.2: e.g. exposed rubbish, 1 working day
    sensor: WorkingDays = 1.0  # F4.2
    neighbour_dispute: WorkingDays = 20.0  # mediation within about a month; assumption


class FeedbackParameters(Section):
    """Call-back, ratings and trust: the 需求—处置—反馈—评价 loop (seed §二(二)).

    Satisfaction comes from the experience (M11: speed ≈51 % and outcome ≈28 % of
    satisfaction): the log-odds of a "satisfied" rating are
    ``satisfaction_logit_base`` + ``satisfaction_logit_resolved`` if the problem was
    resolved + ``satisfaction_logit_per_limit_late`` per time limit overdue +
    ``satisfaction_logit_per_reopening`` per reopening + ``satisfaction_logit_repeat`` for a
    repeat contact. No cap: a fast, resolved first contact rates as high as the logit says.
    """

    satisfaction_logit_base: Logit = (
        -0.5  # assumption: an unresolved case on time is rated satisfied 38 % of the time
    )
    satisfaction_logit_resolved: Annotated[Number, Field(ge=0, le=MAX_LOGIT)] = (
        3.0  # assumption: resolved on time → 92 % (F5.5: consultations 93-95 %)
    )
    satisfaction_logit_per_limit_late: Annotated[Number, Field(ge=-MAX_LOGIT, le=0)] = (
        -1.5  # per time limit overdue; M11 speed ≈51 % of satisfaction; assumption
    )
    satisfaction_logit_per_reopening: Annotated[Number, Field(ge=-MAX_LOGIT, le=0)] = (
        -0.7  # assumption: a redone case (重新办理, F9.3) is rated lower
    )
    satisfaction_logit_repeat: Annotated[Number, Field(ge=-MAX_LOGIT, le=0)] = (
        -0.6  # F5.5: repeat complaints 76-84 % vs 93-95 %
    )
    callback_share: Probability = (
        0.645  # residents reached by the call-back (回访, F9.3); M27: 10,003 of 15,507
    )
    reopen_limit: Annotated[Integer, Field(ge=0, le=10)] = (
        2  # reopenings (重新办理) before an unresolved case is closed as it is; assumption
    )
    trust_learning_rate: Share = (
        0.4  # own experience; assumption, bounded by M15 (a fixed report: +57 % later reports)
    )
    collective_issue_trust_drag_per_year: Share = (
        0.05  # open collective issues erode trust; assumption
    )
    project_trust_gain: Share = (
        0.05  # implemented decisions raise trust (成果转化落实反馈, seed §二(四)); assumption
    )


class HandlingParameters(Section):
    """How units handle a case, and how departments respond to accountability (考核).

    A department that handles a case with effort share *e* of its work content resolves
    it with probability ``1 − (1 − resolution_probability_full_effort) ** e``. A grid
    worker's on-site verification catches an unresolved case with
    ``verification_catch_probability`` (F9.5); a caught case, or one the resident rejects
    at the call-back, is reopened (F9.3). Under an accountability regime a department
    under pressure *p* puts ``1 + care_gain · p · q`` of the work into a case, where *q* is
    the share of the ranking on resolution and satisfaction; with ``gaming_propensity`` *g*
    it closes a case prematurely (effort ``premature_effort_share``) with probability
    *g · p* and disputes a case of unclear ownership more often (×(1 + *g · p*)).
    """

    resolution_probability_full_effort: Probability = (
        0.92  # assumption; F5.1 closure 83 %, F5.6 82 % resolved as judged by departments, M8
    )
    verification_catch_probability: Probability = (
        0.5  # grid worker's on-site check (F9.5) catches an unresolved case; assumption (M5)
    )
    dispute_probability: Probability = (
        0.5  # a department returns a case of disputed ownership as not its job; assumption
    )
    returns_before_parking: Annotated[Integer, Field(ge=1, le=20)] = (
        3  # after this many returns the case is parked (挂账, F4.5, F9.5); assumption
    )
    care_gain: Annotated[Number, Field(ge=0, le=2)] = (
        0.5  # extra effort share at full pressure when quality is ranked; assumption
    )
    gaming_propensity: Probability = (
        0.1  # assumption; M4 ≈4.9 % fraudulent ratings, M5, M9 (90 % official vs 69 % surveyed)
    )
    premature_effort_share: Annotated[Number, Field(gt=0, le=1)] = (
        0.3  # effort put into a premature closure; assumption (M5, M10)
    )
    rating_memory: Share = (
        0.05  # weight of the latest case in the street's rating of a department (F4.3); assumption
    )


class ModelParameters(Section):
    """Everything one run needs. Build with :func:`ModelParameters.model_validate`."""

    name: str = "unnamed"
    title: str = ""  # a reader's title for reports and views, e.g. "Baseline street · 层层上报"
    description: str = ""
    simulation: SimulationParameters = SimulationParameters()
    calendar: CalendarParameters = CalendarParameters()
    population: PopulationParameters = PopulationParameters()
    social: SocialParameters = SocialParameters()
    demand: DemandParameters = DemandParameters()
    reporting: ReportingParameters = ReportingParameters()
    detection: DetectionParameters = DetectionParameters()
    intake: IntakeParameters = IntakeParameters()
    departments: Annotated[dict[str, DepartmentParameters], Field(max_length=MAX_DEPARTMENTS)] = (
        Field(default_factory=_default_departments)
    )
    offices: OfficeParameters = OfficeParameters()
    coordination: CoordinationParameters = CoordinationParameters()
    party: PartyParameters = PartyParameters()
    time_limits: TimeLimitParameters = TimeLimitParameters()
    feedback: FeedbackParameters = FeedbackParameters()
    handling: HandlingParameters = HandlingParameters()
    routing: Any = Field(default_factory=lambda: {"kind": "hierarchical"}, validate_default=True)
    consultation: Any = Field(default_factory=lambda: {"kind": "none"}, validate_default=True)
    accountability: Any = Field(default_factory=lambda: {"kind": "none"}, validate_default=True)
    organisation: Any = Field(default_factory=lambda: {"kind": "none"}, validate_default=True)
    # micro-space projects (微改造、精提升): a reform, none in the baseline (model/projects.py)
    projects: Any = Field(default_factory=lambda: {"kind": "none"}, validate_default=True)
    community_types: Annotated[dict[str, CommunityTypeParameters], Field(max_length=20)] = Field(
        default_factory=dict  # urban streets, rural towns, old compounds… (model/place_types.py)
    )
    mediation: Any = Field(default_factory=lambda: {"kind": "community"}, validate_default=True)

    @field_validator(*FAMILIES, mode="before")
    @classmethod
    def _resolve_policy(cls, value: Any, info: ValidationInfo) -> Any:
        """A policy block ({"kind": ..., **fields}) becomes its family's policy object."""
        family = cast("Family", info.field_name)
        return resolve_policy(family, value, imports_allowed(info.context))

    @field_validator("departments")
    @classmethod
    def _department_shares(
        cls, value: dict[str, DepartmentParameters]
    ) -> dict[str, DepartmentParameters]:
        if not value:
            raise ValueError("at least one department is needed")
        total = sum(d.case_share for d in value.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"departments' case_share must sum to 1 (they sum to {total:.4f})")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelParameters:
        if self.demand.max_departments_per_case > len(self.departments):
            raise ValueError(
                f"demand.max_departments_per_case = {self.demand.max_departments_per_case} exceeds "
                f"the number of departments ({len(self.departments)})"
            )
        unknown = sorted(set(self.coordination.catalogue_departments) - set(self.departments))
        if unknown:
            raise ValueError(
                f"coordination.catalogue_departments names unknown department(s) {unknown}; "
                f"allowed: {sorted(self.departments)}"
            )
        return self

    @model_validator(mode="after")
    def _places_consistent(self) -> ModelParameters:
        types = self.community_types
        named = set(self.population.street_types)
        bad = [name for name in types if not re.fullmatch(r"[a-z][a-z0-9_]*", name)]
        if bad:
            raise ValueError(
                f"community type name(s) {bad}: use lower-case letters, digits and _ "
                "(they name outcomes, e.g. place_on_time_share_rural_town)"
            )
        for name, kind in types.items():
            named |= set(kind.community_shares)
            if name in kind.community_shares:
                raise ValueError(f"community_types.{name}.community_shares names {name} itself")
        unknown = sorted(named - set(types))
        if unknown:
            raise ValueError(
                f"population.street_types or community_shares name unknown community type(s) "
                f"{unknown}; defined in [community_types]: {sorted(types)}"
            )
        if self.population.street_types and sum(self.population.street_types.values()) < 1:
            raise ValueError("population.street_types: at least one street is needed")
        groups = set(self.population.age_group_shares)
        for name, kind in types.items():
            if kind.age_group_shares is not None and set(kind.age_group_shares) != groups:
                raise ValueError(
                    f"community_types.{name}.age_group_shares has groups "
                    f"{sorted(kind.age_group_shares)}; population.age_group_shares has {sorted(groups)}"
                )
        return self

    @model_validator(mode="after")
    def _fits_in_memory(self) -> ModelParameters:
        # A derived quantity, checked before any array is allocated (model/bounds.py).
        problem = memory_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self
