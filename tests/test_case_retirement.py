"""Retiring finished cases during a run (model/case_retirement.py, docs/design.md "A case log
that does not grow"): the same outcomes, every case handed to the sink exactly once, and a
case table whose size stays bounded however long the run."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.case_sinks import CsvCaseSink, HistogramCaseSink
from experiments.runner import distribution_rows
from experiments.runs import run_single
from experiments.scenario_files import (
    Scenario,
    apply_overrides,
    load_scenario,
    scenario_from_mapping,
)
from model import outcomes
from model.case_tallies import CaseTallies, _plus
from model.casework import CaseTable
from model.governance import GovernanceModel
from model.outcomes import RunOutput


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _runs(
    scenario: Scenario, seed: int, days: int, block: int
) -> tuple[RunOutput, RunOutput, list[pd.DataFrame], GovernanceModel]:
    """The same run without a sink and with a sink retiring ``block`` cases at a time."""
    plain = run_single(scenario, seed, days=days)
    frames: list[pd.DataFrame] = []
    model = GovernanceModel(
        scenario.parameters, seed=np.random.SeedSequence(seed), case_sink=frames.append
    )
    assert model.retirement is not None
    model.retirement.block = block
    model.run(days)
    return plain, model.output(), frames, model


@pytest.fixture(scope="module")
def retired_run(
    classroom: Scenario,
) -> tuple[RunOutput, RunOutput, list[pd.DataFrame], GovernanceModel]:
    """A classroom year with and without retirement in blocks of 50 cases."""
    return _runs(classroom, seed=7, days=365, block=50)


def test_every_outcome_is_the_same_with_retirement(retired_run: Any) -> None:
    """Every summary value (every key, new ones too) is identical whether or not cases were retired."""
    plain, retired, _, model = retired_run
    assert model.retirement.retired > 0, (
        "the run must have retired cases for the test to mean anything"
    )
    assert plain.summary.keys() == retired.summary.keys()
    different = {
        k: (plain.summary[k], retired.summary[k])
        for k in plain.summary
        if not _same(plain.summary[k], retired.summary[k])
    }
    assert not different
    pd.testing.assert_frame_equal(plain.timeseries, retired.timeseries)


def test_sink_receives_every_case_exactly_once(retired_run: Any) -> None:
    """The sink's frames hold every case of the run once, with the log's values; the output holds none."""
    plain, retired, frames, _ = retired_run
    assert retired.cases.empty and list(retired.cases.columns) == list(plain.cases.columns)
    sunk = pd.concat(frames, ignore_index=True)
    assert sunk["case_id"].is_unique
    assert len(sunk) == retired.summary["cases_generated"] == len(plain.cases)
    pd.testing.assert_frame_equal(
        sunk.sort_values("case_id").reset_index(drop=True),
        plain.cases,
        check_dtype=False,
        check_categorical=False,
    )


def test_retired_blocks_hold_only_finished_cases(retired_run: Any) -> None:
    """Every frame but the last (the live cases at the end) holds closed or parked cases only,
    parked exactly those never closed; each frame's columns are of the log's types."""
    plain, _, frames, _ = retired_run
    assert len(frames) > 2
    for frame in frames[:-1]:
        assert set(frame["status"]) <= {"closed", "parked"}
        assert ((frame["status"] == "parked") == frame["closed"].isna()).all()
        assert frame["case_id"].is_monotonic_increasing
    statuses = set()
    for frame in frames:
        pd.testing.assert_series_equal(frame.dtypes, plain.cases.dtypes)
        statuses |= set(frame["status"])
    assert statuses >= {"closed", "parked"}, (
        "the run must park a case for the test to mean anything"
    )


@settings(max_examples=60, deadline=None)
@given(
    codes=st.lists(st.integers(-3, 3), max_size=40),
    arrow=st.booleans(),
)
def test_a_text_column_is_the_list_of_its_names(codes: list[int], arrow: bool) -> None:
    """``text_column`` makes the column pandas makes of the list of names (a negative code:
    missing), of the same type, by Arrow's take (pandas 3) or as the list itself."""
    names = ("urban_management", "public_security", "transport", "商务")
    listed = [names[c] if c >= 0 else None for c in codes]
    array = np.array(codes, dtype=np.int64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outcomes, "_ARROW_TEXTS", arrow and outcomes._ARROW_TEXTS)
        column = outcomes.text_column(names, array)
    if not (arrow and outcomes._ARROW_TEXTS):
        assert column == listed
    pd.testing.assert_frame_equal(pd.DataFrame({"x": column}), pd.DataFrame({"x": listed}))
    pd.testing.assert_series_equal(pd.Series(column), pd.Series(listed))


def test_case_table_stays_bounded_over_a_long_run(classroom: Scenario) -> None:
    """Over three simulated years the table's rows stay bounded while the cases keep coming."""
    model = GovernanceModel(classroom.parameters, seed=3, case_sink=lambda frame: None)
    assert model.retirement is not None
    model.retirement.block = 100
    sizes = []
    for _ in range(3):
        model.run(days=365 - (model.warmup_days if model.day == 0 else 0))
        sizes.append((model.casework.cases.size, model.casework.cases.added))
    (first_rows, first_added), (last_rows, last_added) = sizes[0], sizes[-1]
    assert last_added > 2.5 * first_added
    assert last_rows <= first_rows + 100  # no growth beyond a block's slack
    assert last_rows < last_added / 5
    assert len(model.casework.last_need) < last_added / 5  # old report times are forgotten


@settings(max_examples=5, deadline=None, suppress_health_check=(HealthCheck.too_slow,))
@given(
    seed=st.integers(0, 2**16),
    block=st.integers(1, 400),
    routing=st.sampled_from(["hierarchical", "integrated", "grid_first"]),
)
def test_outcomes_do_not_depend_on_the_block_size(
    classroom: Scenario, seed: int, block: int, routing: str
) -> None:
    """Any block size, seed and routing: retirement leaves every outcome unchanged."""
    scenario = apply_overrides(classroom, {"routing.kind": routing, "simulation.warmup_days": 20})
    plain, retired, frames, _ = _runs(scenario, seed=seed, days=100, block=block)
    assert all(_same(plain.summary[k], retired.summary[k]) for k in plain.summary)
    assert sum(len(f) for f in frames) == len(plain.cases)


def test_output_twice_with_a_sink_is_refused(classroom: Scenario) -> None:
    """The live cases go to the sink once: a second output() would hand them over again."""
    model = GovernanceModel(classroom.parameters, seed=1, case_sink=lambda frame: None)
    model.run(5)
    model.output()
    with pytest.raises(RuntimeError, match="sink"):
        model.output()


def test_a_reused_row_starts_from_every_column_default() -> None:
    """A freed row reused by a new case holds the default of every column and a new number."""
    table = CaseTable()
    first = table.add((1,), (2.0,))
    for name, (code, _) in CaseTable._SPEC.items():
        getattr(table, name)[first] = 1.5 if code == "d" else 3
    table.release([first])
    assert table.live == 0
    again = table.add((4, 5), (1.0, 2.0))
    assert again == first and table.size == 1 and table.added == 2
    for name, (_, default) in CaseTable._SPEC.items():
        value = getattr(table, name)[again]
        expected = 1 if name == "number" else default
        assert _same(value, expected), name
    assert table.departments[again] == (4, 5)


@given(
    a=st.lists(st.integers(0, 100), max_size=6),
    b=st.lists(st.integers(0, 100), max_size=6),
)
def test_array_tallies_add_as_if_padded(a: list[int], b: list[int]) -> None:
    """Count arrays of different lengths add entry by entry, the shorter padded with zeros."""
    total = np.atleast_1d(_plus(np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)))
    for i in range(max(len(a), len(b))):
        assert total[i] == (a[i] if i < len(a) else 0) + (b[i] if i < len(b) else 0)


def test_empty_tallies_have_no_samples() -> None:
    """An accumulator with nothing folded in gives empty samples."""
    assert CaseTallies().sample("resolution_time").size == 0


def test_csv_sink_writes_the_whole_log(retired_run: Any) -> None:
    """Block by block, the CSV sink writes one header and every case's row as the log has it."""
    plain, _, frames, _ = retired_run
    handle = io.StringIO()
    sink = CsvCaseSink(handle)
    for frame in frames:
        sink(frame)
    assert handle.getvalue().count("case_id") == 1
    back = pd.read_csv(io.StringIO(handle.getvalue())).sort_values("case_id")
    expected = pd.read_csv(io.StringIO(plain.cases.to_csv(index=False)))
    pd.testing.assert_frame_equal(back.reset_index(drop=True), expected)


def test_histogram_sink_equals_the_histogram_of_the_whole_log(retired_run: Any) -> None:
    """The runner's histogram built frame by frame equals the one of the whole case log."""
    plain, _, frames, _ = retired_run
    sink = HistogramCaseSink(0.0)  # every case
    for frame in frames:
        sink(frame)
    assert sink.rows() == distribution_rows(plain.cases, 0.0)
    assert sink.cases == len(plain.cases)


def test_histogram_counts_the_measured_period_only(retired_run: Any) -> None:
    """From the warm-up's end on, the histogram counts the closed cases reported since —
    the summary's measured cases — not the warm-up's (a report once pooled 168,035 closed
    cases for the street baseline where the measured period has 127,304)."""
    plain, retired, frames, _ = retired_run
    warmup = float(retired.summary["warmup_days"])
    assert warmup > 0, "the fixture must have a warm-up"
    sink = HistogramCaseSink(warmup)
    for frame in frames:
        sink(frame)
    rows = sink.rows()
    assert rows == distribution_rows(plain.cases, warmup), "frame by frame as on the whole log"
    cases = plain.cases
    measured_closed = int(((cases["status"] == "closed") & (cases["reported"] >= warmup)).sum())
    all_closed = int((cases["status"] == "closed").sum())
    counted = sum(n for variable, _, n in rows if variable == "resolution_time_days")
    assert counted == measured_closed < all_closed, (counted, measured_closed, all_closed)


def test_microgov_run_streams_every_case_into_cases_csv(
    classroom: Scenario, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`microgov run` writes cases.csv block by block: every case once, as a run without a sink logs it."""
    import model.case_retirement
    from app.cli import main

    monkeypatch.setattr(model.case_retirement, "RETIRE_BLOCK", 40)
    out = tmp_path / "run"
    assert main(["run", "classroom", "--days", "120", "--seed", "4", "--out", str(out)]) == 0
    written = pd.read_csv(out / "cases.csv")
    assert not written["case_id"].is_monotonic_increasing, "blocks were retired during the run"
    plain = run_single(classroom, 4, days=120)
    expected = pd.read_csv(io.StringIO(plain.cases.to_csv(index=False)))
    pd.testing.assert_frame_equal(written.sort_values("case_id").reset_index(drop=True), expected)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["cases_generated"] == len(written)


# ------------------------------------------------ the practices of issue 10, retired
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
# scaled down to stay fast: three communities of three grids
SMALL_STREET = {
    "population.communities_per_street": 3,
    "population.grids_per_community": 3,
    "population.residents_per_grid": 400,
    "simulation.warmup_days": 30,
}
# a community type of its own per street, with travel and other rates (model/places.py)
TYPED_STREETS = {
    "population": {"streets": 2, "street_types": {"urban": 1, "rural": 1}},
    "community_types": {
        "urban": {
            "communities_per_street": 2,
            "grids_per_community": 3,
            "residents_per_grid": 300,
            "community_shares": {"old_compound": 0.5},
        },
        "rural": {
            "communities_per_street": 2,
            "grids_per_community": 2,
            "residents_per_grid": 200,
            "grid_travel_hours": 1.0,
            "department_travel_hours": 2.0,
            "need_rate_multiplier": 0.5,
        },
        "old_compound": {"public_problem_rate_multiplier": 3.0},
    },
    "simulation": {"warmup_days": 30},
}
# scenario → (extra overrides, outcomes that must be non-zero for the comparison to mean
# something: the practice really ran while rows were reused)
PRACTICES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "reform_one_thing": ({}, ("bundles", "handoffs_saved")),
    "reform_one_screen": ({}, ("sensor_alarms",)),
    "reform_joint_mediation": (
        {"demand.neighbour_disputes_per_resident_per_year": 0.05},
        ("neighbour_disputes_brought", "repeat_neighbour_disputes"),
    ),
    "reform_party_building": ({}, ("cases_taken_registered_units",)),
    "reform_multi_actor": ({}, ("cases_taken_building_heads",)),
    "reform_micro_renewal": (
        {"projects.budget_yuan_per_community_per_year": 2_000_000.0},
        ("projects_built",),
    ),
    "reform_proactive": (
        {"projects.budget_yuan_per_community_per_year": 2_000_000.0},
        ("monthly_topics_tackled",),
    ),
}


def _practice(name: str) -> tuple[Scenario, tuple[str, ...]]:
    if name == "typed_places":
        return scenario_from_mapping(TYPED_STREETS, name="typed"), (
            "place_on_time_share_rural",
            "place_on_time_share_old_compound",
        )
    overrides, used = PRACTICES[name]
    scenario = apply_overrides(load_scenario(SCENARIOS / f"{name}.toml"), SMALL_STREET)
    return apply_overrides(scenario, overrides), used


@pytest.mark.parametrize("name", [*PRACTICES, "typed_places"])
def test_every_outcome_is_the_same_with_retirement_under_the_practices(name: str) -> None:
    """Bundles, sensors, disputes, the party, projects and community types: every summary
    value is identical with small blocks retired (reused rows keep no stale case state)."""
    scenario, used = _practice(name)
    plain, retired, frames, model = _runs(scenario, seed=11, days=270, block=25)
    assert model.retirement is not None and model.retirement.retired > 1000
    assert model.casework.cases.added > 2 * model.casework.cases.size, "rows were reused"
    for key in used:
        assert plain.summary[key] > 0, f"{key}: the practice must run for the test to mean anything"
    different = {
        k: (plain.summary[k], retired.summary[k])
        for k in plain.summary
        if not _same(plain.summary[k], retired.summary[k])
    }
    assert not different
    assert sum(len(f) for f in frames) == len(plain.cases)


def test_csv_sink_text_matches_pandas_but_for_integral_floats() -> None:
    """The Arrow-written rows are pandas' text: booleans True/False, empty missing values, one header;
    floats differ only in spelling (1e-9 for 1e-09, 2 for 2.0) and read back equal."""
    frame = pd.DataFrame(
        {
            "case_id": [0, 1, 2],
            "status": ["closed", "parked", "closed"],
            "severity": [0.25, float("nan"), 0.1],
            "measured": [True, False, True],
            "category": pd.Categorical(["a", "b", "a"]),
        }
    )
    handle = io.StringIO()
    sink = CsvCaseSink(handle)
    sink(frame)
    sink(frame.iloc[:0])
    sink(frame.iloc[1:])
    expected = frame.to_csv(index=False) + frame.iloc[1:].to_csv(index=False, header=False)
    assert handle.getvalue() == expected
    assert sink.rows == 5
    spelled = pd.DataFrame({"case_id": [0, 1], "x": [1e-9, 2.0], "y": [float("nan"), 3.0]})
    handle = io.StringIO()
    CsvCaseSink(handle)(spelled)
    assert handle.getvalue() == "case_id,x,y\n0,1e-9,\n1,2,3\n"
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(handle.getvalue())), spelled)


def test_csv_sink_quotes_text_that_needs_it() -> None:
    """A text field with a comma or a quote is quoted (pandas writes that block), and reads back."""
    frame = pd.DataFrame({"case_id": [0, 1], "note": ["a, b", 'say "hi"'], "x": [1.5, 2.0]})
    handle = io.StringIO()
    CsvCaseSink(handle)(frame)
    back = pd.read_csv(io.StringIO(handle.getvalue()))
    pd.testing.assert_frame_equal(back, frame)


def test_unretired_finished_bounds_what_can_be_retired(classroom: Scenario) -> None:
    """Every day of a run, the count of finished cases not yet retired is at least the
    cases a scan of the table finds retirable (so skipping the scan below a block loses
    none), and blocks are retired as the day's scan finds them."""
    frames: list[pd.DataFrame] = []
    model = GovernanceModel(
        classroom.parameters, seed=np.random.SeedSequence(5), case_sink=frames.append
    )
    retirement = model.retirement
    assert retirement is not None
    retirement.block = 40
    skipped = scanned = 0
    for _ in range(200):
        model.step()
        rows = retirement.retirable(float(model.day))  # the horizon of the day just run
        bound = retirement.unretired_finished()
        assert bound >= rows.size
        skipped += bound < retirement.block
        scanned += bound >= retirement.block
        assert rows.size < retirement.block  # the day's step retired what it could
    assert retirement.retired > 0 and frames
    assert skipped > 0 and scanned > 0  # both ways were taken


def test_old_report_times_are_dropped_at_most_once_per_half_window() -> None:
    """Report times older than the repeat window go, in a scan made at most once per half
    window (a scan per retired block was ≈ 0.7 % of a district year); no entry inside the
    window ever goes, and none is kept more than one and a half windows."""
    from types import SimpleNamespace

    from model.case_retirement import CaseRetirement

    window = 30.0
    clock = SimpleNamespace(now=0.0)
    casework = SimpleNamespace(
        last_need={},
        p=SimpleNamespace(demand=SimpleNamespace(repeat_complaint_window_days=window)),
    )
    retirement = CaseRetirement(SimpleNamespace(casework=casework, events=clock), lambda f: None)
    scans = 0
    for day in range(400):  # a report a day, and a retired block every day
        clock.now = float(day)
        casework.last_need[day] = float(day)
        kept_before = dict(casework.last_need)
        retirement._forget_old_needs()
        dropped = kept_before.keys() - casework.last_need.keys()
        scans += bool(dropped)
        assert all(day - kept_before[k] > window for k in dropped)  # only outside the window
        assert all(day - t <= 1.5 * window for t in casework.last_need.values())
    assert scans <= 400 / (window / 2) + 1, scans
    casework.p.demand.repeat_complaint_window_days = math.inf  # no window: nothing goes
    retirement._forgot_at = -math.inf
    before = dict(casework.last_need)
    retirement._forget_old_needs()
    assert casework.last_need == before


def test_an_experiment_run_stores_the_measured_periods_histogram(classroom: Scenario) -> None:
    """``execute_task`` gives the run the warm-up's length to count from, with a case sink
    and without one (a run function that returns its whole case log)."""
    from experiments.runner import Task, execute_task
    from experiments.seeds import replication_seed

    scenario = apply_overrides(classroom, {"simulation.warmup_days": 30})

    def without_sink(scenario, seed, days=None):  # type: ignore[no-untyped-def]
        return run_single(scenario, seed, days=days)

    for run_fn in (run_single, without_sink):
        record = execute_task(Task("p", scenario.name, 0, 11, scenario, 60, run_fn))
        assert record.status == "ok", record.error
        counted = sum(n for v, _, n in record.distributions if v == "resolution_time_days")
        cases = run_single(scenario, replication_seed(11, 0), days=60).cases
        closed = cases["status"] == "closed"
        assert counted == int((closed & (cases["reported"] >= 30)).sum()) < int(closed.sum())
