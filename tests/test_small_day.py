"""A small day's intake (issue 11, ninth round) keeps the rule: a batch of a few cases is
registered by the calendar's scalar forms and a large one by its vector forms, with the same
results; a day's needs are sorted into reported, found by a sensor, left for a patrol and
lapsed as the plain masks sort them; a kept need's departments are its row without padding."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.casework as casework_module
from experiments.scenario_files import Scenario, apply_overrides
from model.cases import CASE_TYPES
from model.casework import NEED_VALUES, PATROL_SOURCE, SENSOR_SOURCE, Casework, _NeedRows
from model.demand import MAX_DEPARTMENTS, UNIFORM_ROWS, NeedBatch, patrol_delays
from model.governance import GovernanceModel
from model.mediation import NEIGHBOUR_DISPUTE

CASE_TYPE_CODES = list(range(len(CASE_TYPES)))
# which code sorts a day's needs: the numpy masks always, the compiled engine's where built
BACKENDS = ["python"] if casework_module.BACKEND == "python" else ["python", "compiled"]


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
    return _batch(
        resident,
        np.sort(draw(st.integers(0, 20)) + rng.random(n)),
        case_type,
        depts,
        u,
        minor=u[1] < 0.3,
        work=rng.exponential(2.0, (n, MAX_DEPARTMENTS)) * (depts >= 0),
        disputed=u[1] > 0.9,
        delay=delay,
        prevented=prevented,
    )


def _batch(
    resident: np.ndarray,
    time: np.ndarray,
    case_type: np.ndarray,
    departments: np.ndarray,
    u: np.ndarray,
    *,
    minor: np.ndarray,
    work: np.ndarray,
    disputed: np.ndarray,
    delay: np.ndarray,
    prevented: np.ndarray | None = None,
) -> NeedBatch:
    """A batch of needs whose uniforms are the rows of ``u`` (14 rows): the severity, then
    the report's, channel's, desk's, … as ``NeedBatch`` lists them."""
    return NeedBatch(
        resident=resident,
        time=time,
        case_type=case_type,
        departments=departments,
        severity=u[0],
        minor=minor,
        work=work,
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
        disputed=disputed,
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
    casework.backend = data.draw(st.sampled_from(BACKENDS), label="backend")
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
        need - base
        for items in casework.found.values()
        for _, need, _, _, _ in items
        if need >= base
    )
    assert waiting == np.flatnonzero(patrol).tolist()
    for when, items in casework.found.items():
        for moment, need, _, _, source in items:
            assert source == PATROL_SOURCE
            if need >= base:
                i = need - base
                start = batch.time[i] + batch.patrol_delay_days[i]
                assert moment == casework.calendar.add_working_hours(start, 0.0)
                assert int(moment) == when


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_day_s_cases_are_created_in_the_order_of_their_moments(
    small_model: GovernanceModel, backend: str
) -> None:
    """Today's cases are made in the order of their moments — a sensor's find five minutes
    after its need arose, a patrol's find of an earlier day at its own moment — and equal
    moments in the order of the needs' numbers, whatever order the day's needs came in."""
    casework = small_model.casework
    casework.backend = backend
    day = 40
    n = 4
    lead = int(np.flatnonzero(casework.sensor_visible)[0])
    depts = np.full((n, MAX_DEPARTMENTS), -1, dtype=np.int16)
    depts[:, 0] = lead
    u = np.full((14, n), 0.5)
    # need 0 found by a sensor (not reported; its moment 0.49 into the day + 5 minutes),
    # 1, 2 and 3 reported at 0.492, 0.495 and 0.4975 into the day
    u[2] = [1.0, 0.0, 0.0, 0.0]  # u_report
    u[8] = [0.0, 1.0, 1.0, 1.0]  # u_sensor
    batch = _batch(
        np.array([-1, 0, 1, 2]),
        day + np.array([0.49, 0.492, 0.495, 0.4975]),
        np.full(n, CASE_TYPES.index("complaint"), dtype=np.int8),
        depts,
        u,
        minor=np.zeros(n, bool),
        work=np.where(depts >= 0, 1.0, 0.0),
        disputed=np.zeros(n, bool),
        delay=np.ones(n),
    )
    # an earlier day's need a patrol finds today, at the moment of need 2 (a tie) and with
    # a smaller number, and one at 5.4931, between the sensor's find and need 1's report
    casework.found.pop(day, None)
    source_rows = _NeedRows(batch, [1, 2], backend == "compiled")
    casework.found[day] = [
        (day + 0.495, 7, source_rows, 0, PATROL_SOURCE),
        (day + 0.4931, 8, source_rows, 1, PATROL_SOURCE),
    ]
    first = casework.cases.added
    base = casework.need_offset
    casework.receive(batch, day)
    cases = casework.cases
    rows = sorted(
        (r for r in range(cases.size) if cases.number[r] >= first), key=cases.number.__getitem__
    )
    made = [(round(cases.reported[r] - day, 6), cases.need[r]) for r in rows]
    sensor_moment = round(0.49 + 5 / (24 * 60), 6)
    assert made == [
        (0.492, base + 1),
        (0.4931, 8),
        (sensor_moment, base),
        (0.495, 7),
        (0.495, base + 2),
        (0.4975, base + 3),
    ]


@pytest.mark.skipif(casework_module.BACKEND != "compiled", reason="the engine is not built")
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_compiled_sort_is_the_numpy_masks(
    small_model: GovernanceModel, data: st.DataObject
) -> None:
    """The compiled ``sort_needs`` gives the numpy masks' counts, kept positions and sources
    (each reported need's channel included), whatever the residents' trust."""
    casework = small_model.casework
    batch = data.draw(batches(int(casework.trust.shape[0]), casework.n_departments), label="batch")
    saved = casework.trust.copy()
    seed = data.draw(st.integers(0, 2**16), label="trust seed")
    try:
        casework.trust[:] = np.random.default_rng(seed).random(saved.shape[0])
        assert casework._sort_compiled(batch) == casework._sort_needs(batch)
    finally:
        casework.trust[:] = saved


def test_compiled_sort_refuses_a_resident_beyond_the_population(
    small_model: GovernanceModel,
) -> None:
    """A batch naming a resident the population does not have is an IndexError naming it,
    not a read past the trust array."""
    if casework_module.BACKEND != "compiled":
        pytest.skip("the engine is not built")
    casework = small_model.casework
    residents = int(casework.trust.shape[0])
    batch = _one_need(residents)
    with pytest.raises(IndexError, match=f"resident {residents} beyond"):
        casework._sort_compiled(batch)


def _one_need(resident: int) -> NeedBatch:
    """A batch of one need of ``resident``, every uniform 0.5."""
    fields = [f.name for f in dataclasses.fields(NeedBatch)]
    floats = [name for name in fields if name.startswith("u_")] + ["severity"]
    return NeedBatch(
        resident=np.array([resident], dtype=np.int64),
        time=np.array([1.25]),
        case_type=np.array([0], dtype=np.int8),
        departments=np.array([[0, -1, -1, -1]], dtype=np.int16),
        minor=np.zeros(1, dtype=bool),
        work=np.ones((1, MAX_DEPARTMENTS)),
        disputed=np.zeros(1, dtype=bool),
        patrol_delay_days=np.ones(1),
        **{name: np.full(1, 0.5) for name in floats},
    )


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
    for needs in _need_rows_both_ways(batch, kept):
        assert needs.departments == [
            tuple(d for d in departments[i].tolist() if d >= 0) for i in kept.tolist()
        ]
        assert needs.work == [tuple(work[i, : len(rows[i])].tolist()) for i in kept.tolist()]


def _need_rows_both_ways(batch: NeedBatch, kept: np.ndarray) -> list[_NeedRows]:
    """The kept rows by numpy's gathers, and by the compiled engine's where it is built
    (with the batch's block of uniforms: 14 rows, the ``u_*`` fields its rows)."""
    block = np.stack([getattr(batch, name) for name in _U_ROWS])
    u = {name: block[k] for k, name in enumerate(_U_ROWS) if name.startswith("u_")}
    batch = dataclasses.replace(batch, uniforms=block, **u)
    ways = [_NeedRows(dataclasses.replace(batch, uniforms=None), kept.tolist())]
    if casework_module.BACKEND == "compiled":
        ways.append(_NeedRows(batch, kept.tolist(), compiled=True))
        _assert_same_rows(ways[0], ways[1])
    return ways


def _assert_same_rows(x_rows: _NeedRows, y_rows: _NeedRows) -> None:
    """Two gathers of need rows are the same: equal lists of values of the same types, and
    values arrays of the same dtype, shape and bits."""
    for name in _NeedRows.__slots__:
        x, y = getattr(x_rows, name), getattr(y_rows, name)
        if name == "values":
            assert x.dtype == y.dtype == np.float64, name
            assert x.shape == y.shape == (len(x_rows.time), len(NEED_VALUES)), name
            assert x.tobytes() == y.tobytes(), name
            continue
        assert x == y, name
        if isinstance(x, list):  # Python floats, ints and bools alike
            assert [type(v) for v in x] == [type(v) for v in y], name


# NeedBatch's block of uniforms, row by row (model.demand.UNIFORM_ROWS), the rows the delay
# and the disputed flag are drawn from filled with two other fields of floats
_U_ROWS = tuple({"patrol_delay": "severity", "disputed": "time"}.get(n, n) for n in UNIFORM_ROWS)


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


@settings(max_examples=30, deadline=None)
@given(day=st.integers(0, 400), seed=st.integers(0, 2**16))
def test_need_rows_gathered_from_the_block_are_the_fields(
    small_model: GovernanceModel, day: int, seed: int
) -> None:
    """A day's batch carries its 14 rows of uniforms as one block; the kept needs gathered
    from it are, field by field, those gathered from the ``u_*`` fields one by one."""
    batch = small_model.demand.draw(day)
    assert batch.uniforms is not None
    for k, name in enumerate(
        ["u_report", "u_channel", "u_desk", "u_classify", "u_satisfy", "u_quality", "u_sensor"]
    ):
        assert np.shares_memory(getattr(batch, name), batch.uniforms[k]), name
    kept = np.flatnonzero(np.random.default_rng(seed).random(len(batch)) < 0.6)
    by_block = _NeedRows(batch, kept.tolist())
    by_field = _NeedRows(dataclasses.replace(batch, uniforms=None), kept.tolist())
    ways = [by_block]
    if casework_module.BACKEND == "compiled":
        ways.append(_NeedRows(batch, kept.tolist(), compiled=True))  # the engine's gather
    for needs in ways:
        _assert_same_rows(needs, by_field)
        for c, name in enumerate(NEED_VALUES):  # each column the batch's field, kept rows
            assert needs.values[:, c].tobytes() == getattr(batch, name)[kept].tobytes(), name
