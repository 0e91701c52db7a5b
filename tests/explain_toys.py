"""A toy plug-in reform with two declared mechanisms, and stand-in run functions with known effects.

``ToyReformRouting`` is a routing plug-in (``kind = "explain_toys:ToyReformRouting"``)
declaring two mechanisms: ``direct_dispatch`` (structural: skip the street's review) and
``review_speedup`` (``review_hours_multiplier``: shorter office reviews). The run functions
read those two fields and a scenario setting and return outcomes with known effects:

- ``resolution_time_median_days`` = 10 + A·x1 + B·x2 (additive, A = −2, B = −1),
- ``satisfaction_share`` = 0.5 + C·x1·x2 (pure interaction, C = 0.2),
- ``on_time_share`` = 0.5 + 0.1·x1 + STRUCTURAL when the toy routing runs at all,
- ``trust_mean`` = 0.3 + 0.01·(4 − coordination.handoff_delay_hours) (a setting),

with x1 = direct_dispatch (0/1) and x2 = 1 − review_hours_multiplier, plus noise drawn
from the replication's seed (shared by every variant: common random numbers). Only
``staff_hours_per_case`` = 1 + 2·x1 has noise of its own per variant, to check intervals.
"""

from __future__ import annotations

import os
import time
import zlib
from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from experiments.runs import run_single
from model.mechanisms import Mechanism
from model.outcomes import RunOutput
from model.policies.base import CaseView, Route, Stage, SystemView, Unit, Visit

A, B, C, STRUCTURAL = -2.0, -1.0, 0.2, 0.05


@dataclass(frozen=True)
class ToyReformRouting:
    """A toy reform: direct dispatch after one review, and shorter reviews (assumption)."""

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        Mechanism(
            "direct_dispatch",
            "direct_dispatch",
            False,
            "the case skips the street's review and goes straight to its departments",
            "assumption",
            structural=True,
        ),
        Mechanism(
            "review_speedup",
            "review_hours_multiplier",
            1.0,
            "offices review a case faster",
            "assumption",
        ),
    )

    direct_dispatch: bool = True
    review_hours_multiplier: Annotated[float, Field(gt=0.0, le=2.0)] = 0.5

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        intake = Unit("centre", 0) if case.source in ("hotline", "sensor") else None
        first = intake or Unit("community", case.community)
        reviews = [first] if self.direct_dispatch else [first, Unit("street", case.street)]
        hours = {
            "centre": system.centre_review_hours,
            "street": system.street_review_hours,
            "community": system.community_review_hours,
        }
        stages = [
            Stage((Visit(u, work_hours=hours[u.level] * self.review_hours_multiplier),), "review")
            for u in reviews
        ]
        stages.append(
            Stage(tuple(Visit(Unit("department", d)) for d in case.departments), "handle")
        )
        return Route(stages=tuple(stages))


@dataclass(frozen=True)
class PlainRouting:
    """A toy policy that declares no mechanism (sends every case straight to its departments)."""

    def route(self, case: CaseView, system: SystemView, rng: np.random.Generator) -> Route:
        return Route(
            stages=(Stage(tuple(Visit(Unit("department", d)) for d in case.departments), "handle"),)
        )


def _levers(scenario) -> tuple[float, float, bool]:
    routing = scenario.parameters.routing
    if isinstance(routing, ToyReformRouting):
        return float(routing.direct_dispatch), 1.0 - routing.review_hours_multiplier, True
    return 0.0, 0.0, False


def known_run(scenario, seed, days=None, progress=None) -> RunOutput:
    """Outcomes with known mechanism effects (module docstring); noise from the seed only."""
    x1, x2, toy = _levers(scenario)
    rng = np.random.default_rng(seed)
    common = rng.normal(0.0, 1.0, 5)
    own = np.random.default_rng(
        [seed.entropy, *seed.spawn_key, zlib.crc32(scenario.digest.encode())]
    )
    handoff = scenario.parameters.coordination.handoff_delay_hours
    summary = {
        "resolution_time_median_days": 10.0 + A * x1 + B * x2 + common[0],
        "satisfaction_share": 0.5 + C * x1 * x2 + 0.05 * common[1],
        "on_time_share": 0.5 + 0.1 * x1 + (STRUCTURAL if toy else 0.0) + 0.05 * common[2],
        "trust_mean": 0.3 + 0.01 * (4.0 - handoff) + 0.01 * common[3],
        "staff_hours_per_case": 1.0 + 2.0 * x1 + 0.3 * float(own.normal()),
    }
    return RunOutput(summary=summary, timeseries=pd.DataFrame(), cases=pd.DataFrame())


def slow_model_run(scenario, seed, days=None, progress=None) -> RunOutput:
    """The real model, each run delayed by ``MICROGOV_EXPLAIN_SLEEP`` seconds (kill tests)."""
    pause = float(os.environ.get("MICROGOV_EXPLAIN_SLEEP", "0") or 0)
    if pause:
        time.sleep(pause)
    return run_single(scenario, seed, days=days, progress=progress)
