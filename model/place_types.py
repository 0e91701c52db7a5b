"""Community types: urban streets, rural towns, old compounds, urban villages (F6.1).

The model has no geography: a place differs from another in who lives there, how
densely, how far grid workers and department staff travel to a site, and what
problems arise there. A scenario names its types in ``[community_types.NAME]`` tables
and lays its streets out with ``population.street_types`` (docs/design.md "Streets and
towns differ"; scenarios/README.md "Format"). A type used for a whole street (an urban
street, a rural town) sets the street's geometry; a type used for a share of a street's
communities (an old compound 老旧小区, an urban village 城中村) inherits the street's
geometry where it sets none, and its rate multipliers multiply the street's.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from model.bounds import Hours, Integer, Multiplier, Share
from model.cases import REPORTED_TYPES

# The adults' age groups: the consultation policies' turnout and online-reach shifts are
# set per group by these names (model/policies/participation.py, deliberation.py), so a
# table of age shares names these groups and no others.
AGE_GROUPS: tuple[str, ...] = ("18-29", "30-49", "50-69", "70+")


def check_age_group_shares(value: dict[str, float]) -> dict[str, float]:
    """A table of age-group shares: only :data:`AGE_GROUPS`, summing to 1 (ValueError)."""
    unknown = [group for group in value if group not in AGE_GROUPS]
    if unknown:
        raise ValueError(
            f"unknown age group(s) {', '.join(map(repr, unknown))}; the age groups are "
            f"{', '.join(AGE_GROUPS)} (the consultation policies' turnout is set per group)"
        )
    total = sum(value.values())
    if not value or abs(total - 1.0) > 1e-6:
        raise ValueError(f"age group shares must sum to 1 (they sum to {total:.4f})")
    return value


class CommunityTypeParameters(BaseModel):
    """One community type. Unset (None) geometry is inherited (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    communities_per_street: Annotated[Integer, Field(ge=1, le=200)] | None = (
        None  # a street type's communities; None: population.communities_per_street
    )
    grids_per_community: Annotated[Integer, Field(ge=1, le=100)] | None = None
    residents_per_grid: Annotated[Integer, Field(ge=2, le=20_000)] | None = None  # density
    residents_per_building: Annotated[Integer, Field(ge=1, le=5000)] | None = None
    age_group_shares: Annotated[dict[str, Share], Field(max_length=20)] | None = (
        None  # the same age groups as population.age_group_shares; None: inherited
    )
    grid_travel_hours: Hours | None = (
        None  # a grid worker's travel to a site (on-the-spot work, checks), beyond the
        # street baseline's, which its handling times already hold; None: inherited (0)
    )
    department_travel_hours: Hours | None = (
        None  # a department's travel to a site per handling, beyond the street baseline's
    )
    need_rate_multiplier: Multiplier = 1.0  # residents' needs per resident, relative
    public_problem_rate_multiplier: Multiplier = 1.0  # public-space problems per resident
    case_type_multipliers: Annotated[dict[str, Multiplier], Field(max_length=10)] = Field(
        # relative weight of each reported case type; the scenario's overall mix stays
        # demand.case_type_shares (F2), the types differ around it
        default_factory=dict
    )
    community_shares: Annotated[dict[str, Share], Field(max_length=20)] = Field(
        # for a street type: the share of its communities that are of another type
        default_factory=dict
    )

    @field_validator("age_group_shares")
    @classmethod
    def _ages_sum_to_one(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        return None if value is None else check_age_group_shares(value)

    @field_validator("case_type_multipliers")
    @classmethod
    def _known_case_types(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(REPORTED_TYPES))
        if unknown:
            raise ValueError(f"unknown case type(s) {unknown}; allowed: {list(REPORTED_TYPES)}")
        return value

    @field_validator("community_shares")
    @classmethod
    def _shares_at_most_one(cls, value: dict[str, float]) -> dict[str, float]:
        if sum(value.values()) > 1.0 + 1e-9:
            raise ValueError(f"community shares sum to {sum(value.values()):.4f}, above 1")
        return value


StreetTypes = Annotated[dict[str, Annotated[Integer, Field(ge=0, le=100)]], Field(max_length=20)]
