"""The residents'-request outcomes the F8 hotline figures are compared with (issue 12)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from experiments.runs import run_single
from experiments.scenario_files import apply_overrides, load_scenario
from model.outcomes import RunOutput

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def output() -> RunOutput:
    """One short classroom run with patrols finding many problems."""
    scenario = apply_overrides(
        load_scenario(SCENARIOS / "classroom.toml"),
        {"simulation.warmup_days": 20, "detection.patrol_detection_probability_per_day": 0.3},
    )
    return run_single(scenario, 4, days=60)


def test_request_outcomes_count_residents_requests_only(output: RunOutput) -> None:
    """resolution_share_reported and the dispatched shares match the case log, patrol finds left out."""
    c = output.cases
    c = c[c["measured"]]
    own = c[c["source"].isin(["hotline", "grid_worker", "party_member"])]
    assert len(own) < len(c), "the run must have patrol finds for the test to mean anything"
    closed = own["closed"].notna()
    resolved = (closed & (own["resolved"] == 1)).sum() / len(own)
    assert output.summary["resolution_share_reported"] == pytest.approx(resolved)
    sent = own[own["dispatched"].notna()]
    sent_resolved = (sent["closed"].notna() & (sent["resolved"] == 1)).sum() / len(sent)
    assert output.summary["resolution_share_dispatched"] == pytest.approx(sent_resolved)
    rated = sent["satisfied"].dropna()
    rated = rated[rated >= 0]
    assert output.summary["satisfaction_share_dispatched"] == pytest.approx((rated == 1).mean())


def test_request_on_time_share_is_a_share_of_residents_requests(output: RunOutput) -> None:
    """on_time_share_reported lies in [0, 1] and counts the closed requests that met their limit."""
    value = output.summary["on_time_share_reported"]
    assert 0.0 <= value <= 1.0 and not np.isnan(value)
    c = output.cases
    own = c[c["measured"] & c["source"].isin(["hotline", "grid_worker", "party_member"])]
    done = own[own["closed"].notna()]
    # closed requests on time over closed requests, before the still-open late ones are added
    assert value <= (done["closed"] <= done["deadline"]).sum() / len(done) + 1e-12
