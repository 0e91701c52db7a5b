"""Micro-space project types (微改造、精提升; seed §二(一), §二(三)): what each costs and
which problem it removes at its source.

Yongchuan built, on its communities' 金角银边 (idle corners and edges), 24 pocket parks,
26 flower beds, 5 tidal stall areas, 32 rest stations for outdoor workers and 60 street
corners, among others (seed §二(三)). Each type addresses one category of problems —
one department's (the category of needs a department owns, ``DepartmentParameters``):
a tidal stall area gives street vendors a place and hours, so fewer vending problems
arise in its grid. The table's numbers are assumptions (no published costs or effect
sizes for Yongchuan); a scenario whose departments lack a type's department cannot
build that type. ``MicroRenewal.source_fix_strength`` scales every ``sources_removed``
(neutral 0) for the sensitivity analysis.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProjectType:
    """One kind of micro-space (assumptions throughout).

    Attributes:
        name: identifier.
        chinese: the name used in Yongchuan.
        problem: the department whose category of problems the space addresses.
        cost_yuan: building cost, paid when construction starts.
        planning_staff_hours: community staff time to plan it, consult on and supervise it.
        build_days: calendar days of construction.
        maintenance_yuan_per_year: upkeep money (cleaning, repairs, management).
        maintenance_staff_hours: community staff time per monthly upkeep round.
        sources_removed: share of its problem's needs in the grid that a well-kept space
            removes at the source (a vendor with a stall does not block the pavement).
        visits_per_resident_per_year: how often a resident of the grid uses it.
    """

    name: str
    chinese: str
    problem: str
    cost_yuan: float
    planning_staff_hours: float
    build_days: float
    maintenance_yuan_per_year: float
    maintenance_staff_hours: float
    sources_removed: float
    visits_per_resident_per_year: float


PROJECT_TYPES: tuple[ProjectType, ...] = (
    # idle lots in old compounds become a small park: fewer housing/environment complaints
    ProjectType(
        name="pocket_park",
        chinese="口袋公园",
        problem="housing_construction",
        cost_yuan=150_000.0,
        planning_staff_hours=16.0,
        build_days=90.0,
        maintenance_yuan_per_year=12_000.0,
        maintenance_staff_hours=2.0,
        sources_removed=0.10,
        visits_per_resident_per_year=12.0,
    ),
    # greening of a rubbish-prone corner (小微绿地, 山城花境): less dumping
    ProjectType(
        name="micro_green_space",
        chinese="小微绿地",
        problem="urban_management",
        cost_yuan=60_000.0,
        planning_staff_hours=8.0,
        build_days=45.0,
        maintenance_yuan_per_year=5_000.0,
        maintenance_staff_hours=1.0,
        sources_removed=0.05,
        visits_per_resident_per_year=6.0,
    ),
    # a place and hours for vendors (潮汐摊区): fewer street-vending problems
    ProjectType(
        name="tidal_stall_area",
        chinese="潮汐摊区",
        problem="urban_management",
        cost_yuan=40_000.0,
        planning_staff_hours=12.0,
        build_days=30.0,
        maintenance_yuan_per_year=6_000.0,
        maintenance_staff_hours=4.0,
        sources_removed=0.15,
        visits_per_resident_per_year=4.0,
    ),
    # water, rest and a toilet for outdoor workers (户外劳动者驿站, 劳动者港湾)
    ProjectType(
        name="rest_station",
        chinese="户外劳动者驿站",
        problem="civil_affairs",
        cost_yuan=50_000.0,
        planning_staff_hours=8.0,
        build_days=30.0,
        maintenance_yuan_per_year=6_000.0,
        maintenance_staff_hours=1.0,
        sources_removed=0.05,
        visits_per_resident_per_year=2.0,
    ),
    # a tidied street corner with marked parking (城市街角): fewer parking problems
    ProjectType(
        name="street_corner",
        chinese="城市街角",
        problem="transport",
        cost_yuan=80_000.0,
        planning_staff_hours=12.0,
        build_days=60.0,
        maintenance_yuan_per_year=6_000.0,
        maintenance_staff_hours=2.0,
        sources_removed=0.10,
        visits_per_resident_per_year=4.0,
    ),
)
