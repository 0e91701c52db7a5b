"""Micro-space projects (微改造、精提升) and proactive governance (每月一题): the policies.

A projects policy is the fourth policy family. It holds the terms on which a community
turns its deliberated collective issues into typed micro-space projects (pocket parks,
micro green spaces, tidal stall areas, rest stations for outdoor workers, street
corners; seed §二(一), §二(三)) and decides which project a community takes up and
which problem a street tackles each month. The engine (:mod:`model.projects`) funds,
builds, maintains and wears the spaces; residents use them; firms co-fund them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np
from pydantic import Field

from model.bounds import (
    MAX_PEOPLE,
    Hours,
    Integer,
    Money,
    Multiplier,
    Number,
    Probability,
    RatePerYear,
    Share,
)
from model.mechanisms import Mechanism
from model.policies.registry import register


def best_free_cell(counts: np.ndarray, free: np.ndarray) -> tuple[int, int] | None:
    """The free (row, column) with the most counts (the first such cell on ties), or None."""
    if not free.any():
        return None
    masked = np.where(free, counts, -1.0)
    row, column = np.unravel_index(int(np.argmax(masked)), masked.shape)
    return int(row), int(column)


@register("projects", "none")
@dataclass(frozen=True)
class NoProjects:
    """No micro-space programme: collective issues are decided (if at all) without a
    typed project behind them (the pre-reform baseline)."""

    active: ClassVar[bool] = False
    monthly_topic: ClassVar[bool] = False

    def propose(self, counts: np.ndarray, free: np.ndarray) -> tuple[int, int] | None:
        return None

    def topic(self, counts: np.ndarray, open_: np.ndarray) -> int | None:
        return None


@register("projects", "micro_renewal")
@dataclass(frozen=True)
class MicroRenewal:
    """微改造、精提升 (seed §二(一), §二(三)), optionally with 每月一题 (F9.7).

    Practice: a community's deliberation (议事协商) decides on a collective issue; the
    community office turns the decision into a micro-space on an idle corner (金角银边)
    where the problem it addresses is most frequent; the community pays for it from its
    yearly budget, firms of the grid may add money (多元主体投资, 调动企业; seed §三(三));
    the community plans and supervises it (staff hours), a contractor builds it, the
    community keeps it up every month (money and staff hours). A well-kept space removes
    part of its problem's sources in its grid and residents who use it have a good
    experience; an unkept one wears, disappoints and is finally given up.

    With ``monthly_topic`` (每月一题, 从被动到主动; F9.7) each street picks, every
    month, the most frequent problem among the cases it saw that month that a
    micro-space can address, and puts it to the residents of the community where it is
    most frequent as a collective issue for their next meeting (consultation).

    Attributes:
        budget_yuan_per_community_per_year: money each community receives for micro-spaces
            (assumption; accrues daily).
        budget_carry_over_years: unspent money kept, in years of budget (assumption).
        firms_per_grid: firms in a grid that might co-fund its project (assumption).
        firm_cofunding_probability: chance that one firm co-funds a project in its grid
            (assumption; seed §三(三) names firms as investors, no figure).
        firm_cofunding_share: share of the cost one co-funding firm pays (assumption).
        source_fix_strength: scales each project type's ``sources_removed`` (1 = the table's
            values; assumption).
        use_experience_weight: weight of one use of a space in a resident's trust, as a share
            of one case's experience (assumption).
        wear_per_year: decay rate of an unkept space's condition (assumption: an unkept
            space is given up after about 1.7 years).
        worn_out_condition: condition below which a space is given up (assumption).
        monthly_topic: 每月一题: each street tackles its most frequent problem at its source.
        topic_staff_hours: street office time to study one monthly topic (assumption).
    """

    budget_yuan_per_community_per_year: Money = 50_000.0
    budget_carry_over_years: Annotated[Number, Field(ge=0.0, le=10.0)] = 2.0
    firms_per_grid: Annotated[Integer, Field(ge=0, le=MAX_PEOPLE)] = 3
    firm_cofunding_probability: Probability = 0.1
    firm_cofunding_share: Share = 0.2
    source_fix_strength: Multiplier = 1.0
    use_experience_weight: Share = 0.05
    wear_per_year: RatePerYear = 0.7
    worn_out_condition: Share = 0.3
    monthly_topic: bool = False
    topic_staff_hours: Hours = 8.0

    active: ClassVar[bool] = True

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        Mechanism(
            "problems_fixed_at_source",
            "source_fix_strength",
            0.0,
            "a well-kept micro-space removes part of its problem's sources in its grid",
            "assumption (seed §二(三))",
        ),
        Mechanism(
            "residents_use_the_space",
            "use_experience_weight",
            0.0,
            "residents who use a well-kept space have a good experience of their grid",
            "assumption (seed §二(一))",
        ),
        Mechanism(
            "firms_cofund",
            "firm_cofunding_probability",
            0.0,
            "firms of the grid add money to its project (多元主体投资)",
            "assumption (seed §三(三))",
        ),
        Mechanism(
            "monthly_topic",
            "monthly_topic",
            False,
            "each street tackles its most frequent problem at its source (每月一题)",
            "F9.7",
            structural=True,
        ),
    )

    def propose(self, counts: np.ndarray, free: np.ndarray) -> tuple[int, int] | None:
        """The community office's choice for a decided issue: the (grid, project type)
        whose problem was most frequent in the community's recent cases, among the free
        slots (a grid without that type of space, which the community can afford); None
        when no slot is free."""
        return best_free_cell(counts, free)

    def topic(self, counts: np.ndarray, open_: np.ndarray) -> int | None:
        """每月一题: the street's most frequent problem this month (index into ``counts``, one
        entry per problem a micro-space addresses) among those a space could still be built
        for (``open_``); None without such a case or without the practice."""
        if not self.monthly_topic:
            return None
        masked = np.where(open_, counts, 0.0)
        if masked.size == 0 or masked.max() <= 0:
            return None
        return int(np.argmax(masked))
