"""A small day's intake (issue 11, ninth round) keeps the rule: a batch of a few cases is
registered by the calendar's scalar forms and a large one by its vector forms, with the same
results; a day's needs are sorted into reported, found by a sensor, left for a patrol and
lapsed as the plain masks sort them; a kept need's departments are its row without padding."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.casework as casework_module
from experiments.scenario_files import Scenario, apply_overrides
from model.cases import CASE_TYPES
from model.casework import PATROL_SOURCE, SENSOR_SOURCE, Casework, _NeedRows
from model.demand import MAX_DEPARTMENTS, NeedBatch, patrol_delays
from model.governance import GovernanceModel
from model.mediation import NEIGHBOUR_DISPUTE

CASE_TYPE_CODES = list(range(len(CASE_TYPES)))


def _run(scenario: Scenario, days: int) -> GovernanceModel:
    model = GovernanceModel(scenario.parameters, seed=3, case_sink=lambda frame: None)
    model.run(days=days)
    return model


def _columns(model: GovernanceModel) -> dict[str, list]:
    """Every case column as its bits (NaN equal to NaN), with the departments and work."""
    cases = model.casework.cases
    columns: dict[str, list] = {
        name: cases.column(name).tobytes().hex() for name in sorted(cases._SPEC)
    }
    columns["departments"] = list(cases.departments)
    columns["work"] = list(cases.work)
    return columns


@pytest.mark.parametrize("overrides", [{}, {"intake.one_thing_bundles": True}])
def test_scalar_and_vector_registration_make_the_same_run(
    classroom: Scenario, overrides: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every batch by the scalar forms or every batch by the vector forms: the same cases,
    bit for bit, column by column (linked requests, patrols' finds and weekends included)."""
    scenario = apply_overrides(
        classroom,
        {"simulation.warmup_days": 10, "demand.linked_request_share": 0.5, **overrides},
    )
    runs = []
    for threshold in (0, 10**9):  # every batch vector, every batch scalar
        monkeypatch.setattr(casework_module, "SMALL_BATCH", threshold)
        model = _run(scenario, 50)
        runs.append((_columns(model), model.events.processed, model.casework.needs_found))
    assert runs[0] == runs[1]
    sources = runs[0][0]["source"]
    found = np.frombuffer(bytes.fromhex(sources), dtype=np.int8)
    assert (found == PATROL_SOURCE).any(), "no patrol find: the found path was not run"
    assert runs[0][2] > 0


def _plain_sort(casework: Casework, batch: NeedBatch) -> tuple[np.ndarray, ...]:
    """The masks of the rule as written before the ninth round: reported, found by a
    sensor, left for a patrol, lapsed."""
    p = casework.p
    n = len(batch)
    prevented = batch.prevented if batch.prevented is not None else np.zeros(n, bool)
    has_resident = (batch.resident >= 0) & ~prevented
    trust = np.where(has_resident, casework.trust[np.maximum(batch.resident, 0)], 0.0)
    rep = p.reporting
    p_report = (
        rep.report_probability_at_zero_trust
        + (rep.report_probability_at_full_trust - rep.report_probability_at_zero_trust) * trust
    )
    reported = has_resident & (batch.u_report < p_report)
    lead = batch.departments[:, 0]
    visible_type = (
        (batch.case_type != CASE_TYPES.index("inquiry"))
        & (batch.case_type != CASE_TYPES.index("suggestion"))
        & (batch.case_type != NEIGHBOUR_DISPUTE)
    )
    sensor = (
        ~reported
        & ~prevented
        & visible_type
        & casework.sensor_visible[lead]
        & (batch.u_sensor < p.detection.sensor_coverage_share)
    )
    patrol = (
        ~reported
        & ~sensor
        & ~prevented
        & visible_type
        & casework.patrol_visible[lead]
        & (batch.patrol_delay_days <= p.reporting.unreported_need_lifetime_days)
    )
    lapsed = ~reported & ~sensor & ~patrol & ~prevented
    return reported, sensor, patrol, lapsed, prevented


@st.composite
def batches(draw: st.DrawFn, residents: int, departments: int) -> NeedBatch:
    """A day's needs: 0 to 12, of any reported type or public (patrol) problems, or a day's
    neighbourhood disputes; some prevented by a rate hook or none; any uniforms."""
    n = draw(st.integers(0, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dispute = draw(st.booleans()) and n > 0
    resident = rng.integers(-1, residents, n) if not dispute else rng.integers(0, residents, n)
    case_type = rng.choice(CASE_TYPE_CODES, n).astype(np.int8)
    if dispute:
        case_type[:] = NEIGHBOUR_DISPUTE
    depts = np.full((n, MAX_DEPARTMENTS), -1, dtype=np.int16)
    counts = rng.integers(1, min(departments, MAX_DEPARTMENTS) + 1, n)
    for i, k in enumerate(counts.tolist()):
        depts[i, :k] = rng.permutation(departments)[:k]
    u = rng.random((14, n))
    delay = np.floor(rng.exponential(3.0, n)) + 1.0
    prevented = rng.random(n) < 0.3 if draw(st.booleans()) else None
    return NeedBatch(
        resident=resident,
        time=np.sort(draw(st.integers(0, 20)) + rng.random(n)),
        case_type=case_type,
        departments=depts,
        severity=u[0],
        minor=u[1] < 0.3,
        work=rng.exponential(2.0, (n, MAX_DEPARTMENTS)) * (depts >= 0),
        u_report=u[2],
        u_channel=u[3],
        u_desk=u[4],
        u_classify=u[5],
        u_satisfy=u[6],
        u_quality=u[7],
        u_sensor=u[8],
        u_callback=u[9],
        u_repeat=u[10],
        u_urge=u[11],
        u_dispute=u[12],
        u_verify=u[13],
        disputed=u[1] > 0.9,
        patrol_delay_days=delay,
        prevented=prevented,
    )


@pytest.fixture(scope="module")
def small_model(classroom: Scenario) -> GovernanceModel:
    scenario = apply_overrides(
        classroom,
        {
            "simulation.warmup_days": 5,
            "detection.sensor_coverage_share": 0.5,  # some sensor finds too
            "demand.linked_request_share": 0.0,
        },
    )
    return _run(scenario, 5)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_a_day_is_sorted_as_the_plain_masks_sort_it(
    small_model: GovernanceModel, data: st.DataObject
) -> None:
    """Any batch (empty, one need, public problems, disputes, prevented needs, a weekend):
    the counters move by the plain masks' counts, today's cases are the reported and
    sensor-found needs, and the patrol-found ones wait for their day."""
    casework = small_model.casework
    batch = data.draw(batches(int(casework.trust.shape[0]), casework.n_departments), label="batch")
    day = int(batch.time[0]) if len(batch) else data.draw(st.integers(0, 20), label="day")
    reported, sensor, patrol, lapsed, prevented = _plain_sort(casework, batch)
    casework.found.pop(day, None)  # only this batch's cases are created today
    before = (
        casework.needs_generated,
        casework.needs_prevented,
        casework.needs_reported,
        casework.needs_found,
        casework.lapsed_needs,
        casework.cases.added,
        casework.pending_found,
    )
    base = casework.need_offset
    casework.receive(batch, day)
    cases = casework.cases
    n = len(batch)
    assert casework.needs_generated - before[0] == n - int(prevented.sum())
    assert casework.needs_prevented - before[1] == int(prevented.sum())
    assert casework.needs_reported - before[2] == int(reported.sum())
    assert casework.needs_found - before[3] == int(sensor.sum() + patrol.sum())
    assert casework.lapsed_needs - before[4] == int(lapsed.sum())
    assert casework.pending_found - before[6] == int(patrol.sum())
    # today's cases: the reported and the sensor-found needs (a linked request would add
    # parts; none here), each once, by its source
    rows = [r for r in range(cases.size) if cases.number[r] >= before[5]]
    made = sorted((cases.need[r] - base, cases.source[r] == SENSOR_SOURCE) for r in rows)
    expected = sorted(
        [(int(i), False) for i in np.flatnonzero(reported)]
        + [(int(i), True) for i in np.flatnonzero(sensor)]
    )
    assert made == expected
    # the patrol-found needs wait in ``found`` under the day of their moment
    waiting = sorted(
        need - base for items in casework.found.values() for _, _, _, need in items if need >= base
    )
    assert waiting == np.flatnonzero(patrol).tolist()
    for when, items in casework.found.items():
        for moment, _, _, need in items:
            if need >= base:
                i = need - base
                start = batch.time[i] + batch.patrol_delay_days[i]
                assert moment == casework.calendar.add_working_hours(start, 0.0)
                assert int(moment) == when


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.integers(0, 30), min_size=1, max_size=MAX_DEPARTMENTS, unique=True),
        min_size=0,
        max_size=20,
    ),
    seed=st.integers(0, 2**16),
)
def test_need_rows_are_the_rows_without_padding(rows: list[list[int]], seed: int) -> None:
    """Each kept need's departments and hours are its row's entries before the −1 padding
    (one department or several), in the batch's order."""
    n = len(rows)
    departments = np.full((n, MAX_DEPARTMENTS), -1, dtype=np.int16)
    for i, row in enumerate(rows):
        departments[i, : len(row)] = row
    rng = np.random.default_rng(seed)
    work = rng.random((n, MAX_DEPARTMENTS))
    u = rng.random(n)
    batch = NeedBatch(
        resident=np.zeros(n, np.int64),
        time=u,
        case_type=np.zeros(n, np.int8),
        departments=departments,
        severity=u,
        minor=u < 0.5,
        work=work,
        u_report=u,
        u_channel=u,
        u_desk=u,
        u_classify=u,
        u_satisfy=u,
        u_quality=u,
        u_sensor=u,
        u_callback=u,
        u_repeat=u,
        u_urge=u,
        u_dispute=u,
        u_verify=u,
        disputed=u < 0.5,
        patrol_delay_days=u,
    )
    kept = np.flatnonzero(rng.random(n) < 0.7)
    needs = _NeedRows(batch, kept)
    assert needs.departments == [
        tuple(d for d in departments[i].tolist() if d >= 0) for i in kept.tolist()
    ]
    assert needs.work == [tuple(work[i, : len(rows[i])].tolist()) for i in kept.tolist()]


@pytest.mark.parametrize("u", [[0.0, 0.5, 0.25], [0.5, 0.25, 1e-300]])
def test_patrol_delays_silence_only_a_zero_and_match_the_plain_log(u: list[float]) -> None:
    """A uniform of 0 gives an infinite delay without a warning; every other delay is the
    plain formula's, bit for bit, whichever branch (with or without a 0) computes it."""
    uniforms = np.array(u)
    log_miss = float(np.log1p(-0.3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        delays = patrol_delays(uniforms, log_miss)
    nonzero = uniforms > 0
    assert np.all(np.isinf(delays[~nonzero]))
    expected = np.floor(np.log(uniforms[nonzero]) / log_miss) + 1.0
    assert delays[nonzero].tobytes() == expected.tobytes()
