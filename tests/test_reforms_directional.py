"""Reform policies move outcomes the right way on the same seeds (directional tests).

A small district (1 street × 2 communities × 3 grids × 200 residents) runs under each
policy with the same seeds (common random numbers), so differences come from the
policy. Results are pooled over a few seeds to keep the checks from hanging on luck.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from model.governance import GovernanceModel
from model.outcomes import RunOutput
from model.parameters import ModelParameters

SEEDS = (1, 2, 3)
SMALL = {
    "streets": 1,
    "communities_per_street": 2,
    "grids_per_community": 3,
    "residents_per_grid": 200,
}


def run(
    routing: dict[str, Any],
    consultation: dict[str, Any] | None = None,
    *,
    seed: int,
    days: int = 120,
) -> RunOutput:
    """One run of the small district under the given policy blocks."""
    parameters = ModelParameters.model_validate(
        {
            "population": SMALL,
            "routing": routing,
            "consultation": consultation or {"kind": "none"},
            "simulation": {"days": days, "warmup_days": 0},
        }
    )
    model = GovernanceModel(parameters, seed)
    model.run(days)
    return model.output()


def pooled_cases(routing: dict[str, Any]) -> pd.DataFrame:
    """The case logs of all seeds, stacked."""
    return pd.concat([run(routing, seed=s).cases for s in SEEDS], ignore_index=True)


def mean_summary(
    name: str, routing: dict[str, Any], consultation: dict[str, Any] | None = None, days: int = 120
) -> float:
    """The mean over seeds of one summary outcome."""
    return float(
        np.mean([run(routing, consultation, seed=s, days=days).summary[name] for s in SEEDS])
    )


def multi_department_resolution_days(cases: pd.DataFrame) -> float:
    """Mean days from report to closure of closed cases needing more than one department."""
    multi = cases[(cases["departments_needed"] > 1) & cases["closed"].notna()]
    assert len(multi) >= 30, f"too few closed multi-department cases to compare ({len(multi)})"
    return float((multi["closed"] - multi["reported"]).mean())


def test_whistle_shortens_multi_department_cases() -> None:
    """whistle: joint summoned handling closes multi-department cases sooner than hierarchical."""
    hierarchical = multi_department_resolution_days(pooled_cases({"kind": "hierarchical"}))
    whistle = multi_department_resolution_days(pooled_cases({"kind": "whistle"}))
    assert whistle < 0.85 * hierarchical, (
        f"whistle {whistle:.2f} d vs hierarchical {hierarchical:.2f} d"
    )


def test_grid_first_raises_the_on_the_spot_share() -> None:
    """grid_first in front of integrated settles more cases on the spot than integrated alone."""
    inner = {"kind": "integrated"}
    alone = mean_summary("on_the_spot_share", inner)
    grid_first = mean_summary("on_the_spot_share", {"kind": "grid_first", "inner": inner})
    assert grid_first > alone + 0.02, f"on-the-spot share {grid_first:.3f} vs {alone:.3f}"


def test_over_used_whistle_raises_department_utilisation() -> None:
    """Whistling every case and summoning all enforcement departments loads departments more."""
    sparing = {"kind": "whistle", "whistle_share": 0.2}
    over_used = {
        "kind": "whistle",
        "scope": "all",
        "summon_extra_enforcement": True,
        "whistle_share": 1.0,
    }
    low = mean_summary("department_utilisation", sparing)
    high = mean_summary("department_utilisation", over_used)
    assert high > 1.3 * low, f"department utilisation {high:.3f} (over-used) vs {low:.3f} (sparing)"


@pytest.mark.parametrize("kind", ["council", "open_deliberation", "online"])
def test_more_party_mobilisation_raises_participation(kind: str) -> None:
    """More invitations by party members, more persuasive, raise the participation share."""
    routing = {"kind": "hierarchical"}
    low = mean_summary(
        "participation_share", routing, {"kind": kind, "invitations_per_member": 0.0}, days=180
    )
    high = mean_summary(
        "participation_share",
        routing,
        {"kind": kind, "invitations_per_member": 4.0, "persuasiveness": 1.5},
        days=180,
    )
    assert high > 1.1 * low, f"{kind}: participation {high:.4f} (mobilised) vs {low:.4f} (not)"


def test_online_shifts_participants_younger() -> None:
    """online: a larger share of the young and a smaller share of the old take part than in a council."""
    routing = {"kind": "hierarchical"}
    young, old = "participation_share_age_18_29", "participation_share_age_70_plus"
    council = {k: mean_summary(k, routing, {"kind": "council"}, days=180) for k in (young, old)}
    online = {k: mean_summary(k, routing, {"kind": "online"}, days=180) for k in (young, old)}
    assert online[young] > council[young], (
        f"young: online {online[young]:.4f} vs council {council[young]:.4f}"
    )
    assert online[old] < council[old], (
        f"old: online {online[old]:.4f} vs council {council[old]:.4f}"
    )


POLICY_MIXES = [
    ({"kind": "whistle"}, {"kind": "none"}),
    (
        {"kind": "whistle", "scope": "all", "summon_extra_enforcement": True},
        {"kind": "open_deliberation"},
    ),
    ({"kind": "immediate"}, {"kind": "online"}),
    ({"kind": "grid_first"}, {"kind": "council"}),
    ({"kind": "grid_first", "inner": {"kind": "immediate"}}, {"kind": "online"}),
    (
        {"kind": "grid_first", "inner": {"kind": "whistle", "inner": {"kind": "integrated"}}},
        {"kind": "council"},
    ),
]


@pytest.mark.parametrize(("routing", "consultation"), POLICY_MIXES)
def test_case_log_invariants_hold_under_reforms(
    routing: dict[str, Any], consultation: dict[str, Any]
) -> None:
    """Under every reform and combination: each case has one status, times are ordered, shares in [0, 1]."""
    out = run(routing, consultation, seed=7, days=90)
    cases = out.cases
    assert len(cases) > 0, "no case was generated"
    assert set(cases["status"]) <= {"closed", "open", "queued", "parked"}, (
        f"bad statuses {set(cases['status'])}"
    )
    assert cases["case_id"].is_unique, "a case appears twice in the log"
    closed = cases[cases["status"] == "closed"]
    assert closed["closed"].notna().all(), "a closed case has no closing time"
    assert (closed["closed"] >= closed["reported"]).all(), "a case closed before it was reported"
    assert (cases["returns"] >= 0).all() and (cases["handoffs"] >= 0).all(), "negative counts"
    for name, value in out.summary.items():
        if name.endswith("_share") and not np.isnan(value):
            assert 0.0 <= value <= 1.0, f"{name} = {value} outside [0, 1]"
