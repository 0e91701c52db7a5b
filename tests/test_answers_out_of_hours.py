"""An inquiry answered at the first contact is closed when it is answered, not before.

Asked in person outside the grid worker's hours, it is answered the next working morning
(F4.6 registration, F3.1–F3.4 the answer): until then it is open. Before this was so, such
a case was closed, rated and counted the moment it was asked, with a closing time days
later — sometimes after the run's end — so the daily closed count disagreed with the case
log on 167 of 365 classroom days.
"""

from __future__ import annotations

import numpy as np
import pytest

from experiments.scenario_files import Scenario
from model.governance import GovernanceModel
from model.lifecycle import MINUTE


@pytest.fixture(scope="module")
def classroom_days(classroom: Scenario) -> tuple[GovernanceModel, int]:
    """The classroom scenario stopped mid-run (day 150), its cases still in its table."""
    model = GovernanceModel(classroom.parameters, seed=np.random.SeedSequence(3))
    for _ in range(150):
        model.step()
    return model, 150


def test_no_case_is_closed_after_the_moment_the_run_has_reached(
    classroom_days: tuple[GovernanceModel, int],
) -> None:
    model, day = classroom_days
    cases = model.output().cases
    closed = cases["closed"].to_numpy(dtype=float)
    assert not (closed >= day).any(), cases[closed >= day][["case_id", "reported", "closed"]]
    assert int(np.isfinite(closed).sum()) == model.casework.closed_total, (
        "the closed counter equals the cases with a closing time"
    )


def test_an_out_of_hours_inquiry_is_closed_at_its_answer(
    classroom_days: tuple[GovernanceModel, int],
) -> None:
    model, _ = classroom_days
    cases = model.output().cases
    spot = cases[cases["on_the_spot"].astype(bool) & (cases["status"] == "closed")]
    later = spot[np.floor(spot["closed"]) > np.floor(spot["reported"])]
    later = later[later["source"] != "hotline"]  # (a hotline call just before midnight too)
    assert len(later) > 0, "the fixture must hold inquiries asked in person out of hours"
    minutes = model.parameters.intake.front_desk_minutes * MINUTE
    registered = later["registered"].to_numpy(dtype=float)
    assert np.allclose(later["closed"].to_numpy(dtype=float), registered + minutes), (
        "answered when the grid worker is at work, as registered"
    )
    assert np.array_equal(later["handled"].to_numpy(), later["closed"].to_numpy())


def test_an_inquiry_waiting_for_the_morning_is_open_until_answered(classroom: Scenario) -> None:
    """At a day's end, the inquiries asked that evening wait as events for their answer;
    they are open (no closing time, not counted) until it comes, then closed at it."""
    model = GovernanceModel(classroom.parameters, seed=np.random.SeedSequence(8))
    for _ in range(125):
        model.step()
    casework = model.casework
    waiting: dict[int, float] = {}
    for day in range(125, 155):
        for when, callback, cid in casework.events.pending():
            if callback == casework._answer_callback:
                assert when >= day, "an answer in the past"
                assert not np.isfinite(casework.cases.closed[cid]), "closed before its answer"
                assert not casework.cases.on_the_spot[cid], "answered before its answer"
                waiting[cid] = when
        closed_before = casework.closed_total
        model.step()
        assert casework.closed_total >= closed_before
    assert waiting, "some evenings must have left an inquiry for the morning"
    for cid, when in waiting.items():
        assert casework.cases.closed[cid] == when, "closed at its answer"
        assert casework.cases.on_the_spot[cid] and casework.cases.resolved[cid]
