"""The ``grid_first`` routing policy: 小事不出网格，大事镇上协调 (F4.6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from model.bounds import Hours, Share
from model.mechanisms import Mechanism
from model.policies.base import CaseView, Route, Stage, SystemView, Unit, Visit
from model.policies.composition import InnerRouting, inner_queue_discipline
from model.policies.registry import register
from model.policies.routing import IntegratedRouting

Source = Literal["hotline", "grid_worker", "party_member", "patrol", "sensor"]


def on_the_spot_hours(case: CaseView, system: SystemView) -> float:
    """Grid-worker hours to settle ``case`` on site: the system's on-the-spot time, up to
    twice that for the most severe case (assumption: effort grows with severity)."""
    return system.on_the_spot_hours * (1.0 + case.severity)


@register("routing", "grid_first")
@dataclass(frozen=True)
class GridFirstRouting:
    """小事不出网格，大事镇上协调: minor cases settled in the grid, the rest passed on (F4.6).

    Practice (Chongqing 141 system, F4.6): the grid worker solves what they can on the
    spot, else the case goes up (community party secretary → street or departments).
    Party members organised into grids claim small tasks in their responsibility zone
    (党员编组入网, 任务快速认领, 红岩党员责任区; seed §二(二); F6.3 "1+3+N" team).

    Model: a case met first in the grid (``sources``: reported in person to a grid
    worker or party member, or found on patrol) that is minor (``CaseView.minor``,
    exogenous; F3.5), needs one department (大事镇上协调), is not kept from the grid as
    an enforcement matter (``exclude_enforcement``), and whose on-site effort
    (:func:`on_the_spot_hours`) fits ``max_work_hours`` is settled on the spot with
    probability ``resolve_share`` (skills and tools): a 'resolve' stage at its grid,
    which the engine counts as on-the-spot and sends to verification. With
    ``offer_to_party_members`` the stage is offered to the grid's party-member volunteers
    first, who decide whether to claim it (:meth:`model.agents.PartyMember.claims`;
    ``party.claim_probability``); a claimed task costs the grid worker only the time to
    log it. Everything else — and any case already returned — goes to ``inner``
    (default ``integrated``), which the scenario sets with a nested ``[routing.inner]`` block.

    Attributes:
        sources: report channels whose first contact is in the grid.
        resolve_share: chance that an eligible minor case is settled at first contact
            (assumption; F3.5 gives ≈9 % of all inspector cases self-handled before reform).
        max_work_hours: most grid-worker hours one on-the-spot case may take (assumption;
            the default admits every minor case at the default on-the-spot time).
        exclude_enforcement: keep cases of enforcement departments out of the grid
            (grid workers have no enforcement powers). Off by default: minor city-
            management problems are what inspectors settle themselves (F3.5), and
            enforcement reaches into communities (执法力量延伸到社区, seed §三(二)).
        offer_to_party_members: offer on-the-spot cases to the grid's party-member
            volunteers first (任务快速认领, seed §二(二)).
        inner: the routing policy for cases not settled in the grid.
    """

    sources: tuple[Source, ...] = ("grid_worker", "party_member", "patrol")
    resolve_share: Share = 0.7
    max_work_hours: Hours = 2.0
    exclude_enforcement: bool = False
    offer_to_party_members: bool = True
    inner: InnerRouting = field(default_factory=IntegratedRouting)

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        Mechanism(
            "settle_in_grid",
            "resolve_share",
            0.0,
            "minor one-department cases met in the grid are settled there on the spot",
            "F4.6",
            structural=True,
        ),
        Mechanism(
            "party_claims",
            "offer_to_party_members",
            False,
            "party members of the grid claim small tasks on volunteered time",
            "seed §二(二)",
        ),
    )

    @property
    def queue_discipline(self) -> str | None:
        """Queue discipline asked of the engine: the inner policy's (None: the scenario's)."""
        return inner_queue_discipline(self.inner)

    def within_grid(self, case: CaseView, system: SystemView) -> bool:
        """Whether ``case`` is within the grid's time and skills (before the resolve draw)."""
        return (
            case.returns == 0
            and case.minor
            and case.source in self.sources
            and len(case.departments) <= 1
            and not (self.exclude_enforcement and case.enforcement)
            and self.effort_estimate(case, system) <= self.max_work_hours
        )

    @staticmethod
    def effort_estimate(case: CaseView, system: SystemView) -> float:
        """Staff hours the case needs: its department's work content when the view has it,
        else the severity-based on-site time."""
        return case.work_hours[0] if case.work_hours else on_the_spot_hours(case, system)

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        if not self.within_grid(case, system) or rng.random() >= self.resolve_share:
            return self.inner.route(case, system, rng)
        effort = on_the_spot_hours(case, system)
        visit = Visit(Unit("grid", case.grid), work_hours=effort)
        return Route(stages=(Stage((visit,), "resolve", claimable=self.offer_to_party_members),))
