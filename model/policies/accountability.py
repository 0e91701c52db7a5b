"""Accountability regimes (考核): what units are ranked on, how often, and how hard.

An accountability regime is the third policy family beside routing and consultation
(docs/design.md "Accountability"). Every ``period_days`` the engine computes a league
table of the departments from the run itself — response, resolution, satisfaction and
on-time rates of the cases each handled in the period (F9.1), and the cases still overdue
(F9.4) — and asks the regime for each department's *pressure*: how far behind it stands
on what is ranked, in [0, 1]. The departments then decide for themselves how to respond
(:class:`model.agents.Department`): more care per case where resolution or satisfaction
is ranked, deadline-first work where timeliness is ranked, and — with a propensity to
game — premature closures and disputed returns, which verification and the call-back
partly catch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import Field

from model.bounds import Integer, Number
from model.mechanisms import Mechanism
from model.policies.registry import register

Share = Annotated[Number, Field(ge=0.0, le=1.0)]
Weight = Annotated[Number, Field(ge=0.0, le=10.0)]

# "street_rating": the street's running rating of each department's timeliness on the
# cases it handled (吹哨报到: the summoning unit rates the departments, F4.3)
METRICS: tuple[str, ...] = ("response", "resolution", "satisfaction", "on_time", "street_rating")


@dataclass(frozen=True, slots=True)
class LeagueView:
    """The departments' record over the last period (read-only; NaN where no case).

    Attributes:
        day: the day the table is drawn up.
        handled: cases each department finished handling in the period.
        rates: metric name → per-department rate in [0, 1] (one of :data:`METRICS`).
        overdue: cases of each department still open more than five working days past
            their limit (written criticism, 通报批评, F9.4).
    """

    day: int
    handled: np.ndarray
    rates: dict[str, np.ndarray]
    overdue: np.ndarray


@dataclass(frozen=True, slots=True)
class Incentives:
    """A regime's verdict for the next period.

    Attributes:
        pressure: per department, in [0, 1]: 0 for the best placed, 1 for the worst.
        weights: metric → weight of that metric in the ranking (what units attend to).
    """

    pressure: np.ndarray
    weights: dict[str, float]


@runtime_checkable
class AccountabilityPolicy(Protocol):
    """Ranks units on what the regime measures; units decide how to respond."""

    period_days: int

    def assess(self, league: LeagueView, rng: np.random.Generator) -> Incentives:
        """The pressure on each department after this period's league table."""
        ...


@register("accountability", "none")
@dataclass(frozen=True)
class NoAccountability:
    """No ranking of units on their case handling (the pre-reform baseline, assumption)."""

    period_days: Annotated[Integer, Field(ge=1, le=365)] = 30

    def assess(self, league: LeagueView, rng: np.random.Generator) -> Incentives:
        return Incentives(pressure=np.zeros_like(league.handled, dtype=float), weights={})


@register("accountability", "ranking")
@dataclass(frozen=True)
class RankingAccountability:
    """考核 by a league table: 接诉即办's monthly ranking on response, resolution and
    satisfaction (F9.1, M1, M2), with written criticism for long-overdue cases (F9.4).

    Each department's score is the weighted mean of its rates in the period; pressure is
    its rank from the top, scaled to [0, 1] (the worst-placed department 1), plus
    ``criticism_pressure`` if any of its cases is overdue by five working days or more,
    scaled by ``stakes`` (how much the ranking weighs in the units' assessment: 0 = not
    at all). The department's response to pressure is its own (``model.agents.Department``),
    with strengths set in ``[handling]``.

    Attributes:
        period_days: days between league tables (monthly, M2).
        response_weight: weight of the response rate (F9.1).
        resolution_weight: weight of the resolution rate (F9.1).
        satisfaction_weight: weight of the satisfaction rate (F9.1).
        on_time_weight: weight of the on-time rate (F5.1-style timeliness targets).
        street_rating_weight: weight of the street's rating of the department (吹哨报到,
            F4.3): the whistle's ratings feed the same league table.
        stakes: how much the ranking weighs for the unit (M2: it feeds year-end assessment
            and resources; assumption for the size). 0 switches the regime's effect off.
        criticism_pressure: extra pressure on a department with a case overdue by five
            working days (通报批评, F9.4; assumption for the size).
    """

    period_days: Annotated[Integer, Field(ge=1, le=365)] = 30
    response_weight: Weight = 1.0
    resolution_weight: Weight = 1.0
    satisfaction_weight: Weight = 1.0
    on_time_weight: Weight = 0.0
    street_rating_weight: Weight = 0.0
    stakes: Share = 1.0
    criticism_pressure: Share = 0.2

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        Mechanism(
            "ranking_stakes",
            "stakes",
            0.0,
            "units feel the league table: pressure rises with a poor rank (M1, M2)",
            "M2",
        ),
        Mechanism(
            "written_criticism",
            "criticism_pressure",
            0.0,
            "a case overdue by five working days brings written criticism (通报批评)",
            "F9.4",
        ),
    )

    @property
    def weights(self) -> dict[str, float]:
        return {
            "response": self.response_weight,
            "resolution": self.resolution_weight,
            "satisfaction": self.satisfaction_weight,
            "on_time": self.on_time_weight,
            "street_rating": self.street_rating_weight,
        }

    def assess(self, league: LeagueView, rng: np.random.Generator) -> Incentives:
        weights = self.weights
        n = league.handled.shape[0]
        total = sum(weights.values())
        score = np.zeros(n)
        if total > 0:
            for metric, weight in weights.items():
                rate = league.rates[metric]
                # a department with no case this period is placed at the mean of the others
                filled = np.where(
                    np.isnan(rate), np.nanmean(rate) if np.isfinite(rate).any() else 0.0, rate
                )
                score += weight * filled / total
        rank = league_rank(score)
        criticism = np.where(league.overdue > 0, self.criticism_pressure, 0.0)
        pressure = np.clip(self.stakes * (rank + criticism), 0.0, 1.0)
        return Incentives(pressure=pressure, weights=weights)


def league_rank(score: np.ndarray) -> np.ndarray:
    """Each unit's place from the top, scaled to [0, 1]: the best 0, the worst 1 (ties share)."""
    n = score.shape[0]
    if n <= 1:
        return np.zeros(n)
    order = np.argsort(np.argsort(-score, kind="stable"), kind="stable").astype(float)
    # ties: units with the same score share the mean of their places
    for value in np.unique(score):
        same = score == value
        order[same] = order[same].mean()
    return order / (n - 1)
