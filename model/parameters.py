"""Validated, frozen parameters of one governance model run.

The schema is the single source of truth for scenario files: every TOML key is a
field here, spelled the same (STYLE.md). Defaults carry their source in a
comment: a stylized-fact id (``F…``, see ``shared/data/stylized_facts.md``), the
seed document (``seed §…``) or "assumption".

Policies are validated by their family registry (``model.policies.registry``):
the ``routing`` and ``consultation`` blocks hold a ``kind`` and the policy's own
parameters, and come out of validation as frozen policy instances.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

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
    MAX_STAFF_PER_100K,
    Days,
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
    StaffCount,
    Weight,
    WorkingDays,
    memory_problem,
)
from model.bounds import (
    NonNegative as NonNegative,
)
from model.bounds import (
    Positive as Positive,
)
from model.cases import CASE_TYPES
from model.policies.registry import imports_allowed, resolve_policy


class Section(BaseModel):
    """Base of every parameter block: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SimulationParameters(Section):
    days: Annotated[Integer, Field(ge=1, le=MAX_DAYS)] = 365  # one simulated year (assumption)
    start_weekday: Annotated[Integer, Field(ge=0, le=6)] = 0  # day 0 is a Monday (assumption)


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
    initial_trust_mean: Share = 0.5  # assumption; calibrated against satisfaction F5.5/F5.6
    initial_trust_sd: Annotated[Number, Field(ge=0.0, le=0.5)] = 0.15  # assumption

    @field_validator("age_group_shares")
    @classmethod
    def _shares_sum_to_one(cls, value: dict[str, float]) -> dict[str, float]:
        total = sum(value.values())
        if not value or abs(total - 1.0) > 1e-6:
            raise ValueError(f"age group shares must sum to 1 (they sum to {total:.4f})")
        return value

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


class DemandParameters(Section):
    """Residents' needs, their type mix and the departments they concern."""

    needs_per_resident_per_year: RatePerResident = 0.98  # F1.1 (hotline requests per resident)
    case_type_shares: dict[str, Share] = Field(
        # F2.2/F2.3 blend: inquiry 47-64 %, help 29-30 %, suggestion 1-15 %, complaint+report 2-5 %
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
    repeat_complaint_window_days: Days = 30.0  # F5.5 repeat complaints; assumption
    collective_issues_per_community_per_year: Annotated[Number, Field(ge=0, le=365)] = (
        4.0  # parking, renovation, pocket parks (seed §二(三)); assumption
    )

    @field_validator("case_type_shares")
    @classmethod
    def _known_types(cls, value: dict[str, float]) -> dict[str, float]:
        reported = [t for t in CASE_TYPES if t not in ("patrol", "sensor")]
        unknown = sorted(set(value) - set(reported))
        if unknown:
            raise ValueError(f"unknown case type(s) {unknown}; allowed: {reported}")
        total = sum(value.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"case type shares must sum to 1 (they sum to {total:.4f})")
        return value


class ReportingParameters(Section):
    """Whether and where a resident reports a need; trust drives both (BRIEF feedback loop)."""

    report_probability_at_zero_trust: Probability = (
        0.35  # assumption; F1.2 demand grows with responsiveness
    )
    report_probability_at_full_trust: Probability = 0.95  # assumption
    hotline_weight: Weight = 0.6  # 12345 hotline; assumption
    grid_worker_weight: Weight = 0.3  # in person to the grid worker (F4.6); assumption
    party_member_weight: Weight = (
        0.1  # to a party member of the responsibility zone (seed §二(二)); assumption
    )
    unreported_need_lifetime_days: PositiveDays = (
        30.0  # an unreported need lapses after this; assumption
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
    # (rubbish, damaged facilities): F1.4 — inspectors find most city-management cases; assumption


class IntakeParameters(Section):
    """Hotline front desk and registration (F3)."""

    front_desk_inquiry_resolution_share: Share = (
        0.9  # F3.1-F3.3: 52.7-85.9 % of all calls closed at the desk
    )
    front_desk_minutes: Minutes = 6.0  # F3.4
    registration_minutes: Minutes = 3.7  # F3.4 call to dispatch


class DepartmentParameters(Section):
    """One functional department (职能部门) and the category of needs it owns."""

    staff_per_100k_residents: Annotated[Number, Field(gt=0, le=MAX_STAFF_PER_100K)] = 8.0
    case_share: Share = 0.1  # share of needs whose lead owner is this department
    work_hours_mean: PositiveHours = (
        3.0  # staff hours to handle one case; assumption (F5.4 "under 7 hours")
    )
    enforcement: bool = False  # enforcement department (whistle F4.3, 管执联动)
    patrol_visible: bool = False  # grid patrols can see its problems (F1.4)
    sensor_visible: bool = False  # cameras/sensors can detect its problems (F6.6)


def _default_departments() -> dict[str, DepartmentParameters]:
    # Department names from the brief (城管, 公安, 交通, 住建, 民政, 卫健, 文旅, 市场监管);
    # shares: F1.4/F2 put city management on top; the rest are assumptions. Staff levels are
    # assumptions set so that the pre-reform baseline runs its departments at ≈60-80 % utilisation.
    D = DepartmentParameters
    return {
        "urban_management": D(
            staff_per_100k_residents=36,
            case_share=0.30,
            work_hours_mean=2.5,
            enforcement=True,
            patrol_visible=True,
            sensor_visible=True,
        ),
        "public_security": D(
            staff_per_100k_residents=16,
            case_share=0.12,
            work_hours_mean=3.0,
            enforcement=True,
            sensor_visible=True,
        ),
        "transport": D(
            staff_per_100k_residents=12,
            case_share=0.10,
            work_hours_mean=3.0,
            patrol_visible=True,
            sensor_visible=True,
        ),
        "housing_construction": D(
            staff_per_100k_residents=20,
            case_share=0.14,
            work_hours_mean=4.0,
            enforcement=True,
            patrol_visible=True,
        ),
        "civil_affairs": D(staff_per_100k_residents=12, case_share=0.10, work_hours_mean=3.0),
        "health": D(staff_per_100k_residents=12, case_share=0.08, work_hours_mean=3.0),
        "culture_tourism": D(staff_per_100k_residents=8, case_share=0.06, work_hours_mean=2.5),
        "market_regulation": D(
            staff_per_100k_residents=10, case_share=0.10, work_hours_mean=3.0, enforcement=True
        ),
    }


class OfficeParameters(Section):
    """Offices that receive, review and dispatch cases; and grid workers (F6.3)."""

    centre_staff: StaffCount = 6  # district operation centre dispatchers (F6.5); assumption
    centre_review_hours: Hours = 0.3  # assumption
    street_staff: StaffCount = 8  # per street/town centre (F6.5); assumption
    street_review_hours: Hours = 0.3  # assumption
    community_staff: StaffCount = 2  # per community; 小马拉大车 (seed §三(二)); assumption
    community_review_hours: Hours = 0.5  # assumption
    community_admin_hours_per_day: Hours = (
        6.0  # non-case tasks pushed down to communities; assumption
    )
    grid_workers_per_grid: Annotated[Integer, Field(ge=1, le=20)] = (
        2  # F6.3 "1+3+N" team, full-time part
    )
    verification_hours: Hours = 0.5  # grid worker checks closure on site (F4.5); assumption
    on_the_spot_hours: Hours = 1.0  # grid worker settles a minor case on site (F4.6); assumption


class CoordinationParameters(Section):
    """Digital and organisational levers every policy honours (seed §二(五), §三(二))."""

    classification_accuracy: Probability = 0.7  # F3.6: automatic dispatch correct for >70 %
    handoff_delay_hours: Hours = 4.0  # between units before 一张网 merged networks; assumption
    return_check_hours: Hours = (
        1.0  # staff time to inspect and return (退件) a misrouted case (F4.5)
    )
    staff_moved_to_communities_share: Share = (
        0.0  # 下沉: department staff moved to community offices
    )
    queue_discipline: Literal["fifo", "deadline"] = "fifo"  # department queue order


class TimeLimitParameters(Section):
    """Time limits per case type, in working days (F4.1; patrol/sensor classes F4.2)."""

    inquiry: WorkingDays = 3.0  # F4.1
    help: WorkingDays = 7.0  # F4.1
    suggestion: WorkingDays = 7.0  # F4.1
    complaint: WorkingDays = 15.0  # F4.1
    report: WorkingDays = 15.0  # F4.1
    patrol: WorkingDays = 1.0  # F4.2: e.g. exposed rubbish, 1 working day
    sensor: WorkingDays = 1.0  # F4.2


class FeedbackParameters(Section):
    """Ratings and trust: the 需求—处置—反馈—评价 loop (seed §二(二))."""

    satisfaction_base_probability: Probability = (
        0.9  # on time and resolved (F5.5: 93-95 % for consultations)
    )
    late_penalty: Share = 0.3  # lower satisfaction when past the limit; assumption (F5.1 spread)
    unresolved_penalty: Share = 0.5  # assumption
    repeat_penalty: Share = 0.12  # F5.5: repeat complaints 76-84 % vs 93-95 %
    trust_learning_rate: Share = 0.25  # own experience; assumption
    collective_issue_trust_drag_per_year: Share = (
        0.05  # open collective issues erode trust; assumption
    )
    project_trust_gain: Share = (
        0.05  # implemented decisions raise trust (成果转化落实反馈, seed §三(三)); assumption
    )
    unresolved_share: Share = (
        0.04  # handled but not actually solved (F5.1: closure 83 %, F5.6: 82 %); assumption
    )


class ModelParameters(Section):
    """Everything one run needs. Build with :func:`ModelParameters.model_validate`."""

    name: str = "unnamed"
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
    time_limits: TimeLimitParameters = TimeLimitParameters()
    feedback: FeedbackParameters = FeedbackParameters()
    routing: Any = Field(default_factory=lambda: {"kind": "hierarchical"}, validate_default=True)
    consultation: Any = Field(default_factory=lambda: {"kind": "none"}, validate_default=True)

    @field_validator("routing", mode="before")
    @classmethod
    def _resolve_routing(cls, value: Any, info: ValidationInfo) -> Any:
        return resolve_policy("routing", value, imports_allowed(info.context))

    @field_validator("consultation", mode="before")
    @classmethod
    def _resolve_consultation(cls, value: Any, info: ValidationInfo) -> Any:
        return resolve_policy("consultation", value, imports_allowed(info.context))

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
        return self

    @model_validator(mode="after")
    def _fits_in_memory(self) -> ModelParameters:
        # A derived quantity, checked before any array is allocated (model/bounds.py).
        problem = memory_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self
