"""`microgov fit-logs`: estimates from a work-order log the model wrote, in a real export's columns."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.cli import main
from experiments.errors import InputError
from experiments.fit_logs import fit_logs
from experiments.log_maps import load_map
from experiments.runs import run_single
from experiments.scenario_files import SCENARIOS_FOLDER, apply_overrides, load_scenario

MAP = SCENARIOS_FOLDER / "maps" / "hotline_12345.toml"
DAYS = 60
START = pd.Timestamp("2024-01-01")  # a Monday, like the model's day 0
TYPE_NAMES = {
    "inquiry": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "建议",
    "patrol": "巡查发现",
    "sensor": "感知发现",
    "neighbour_dispute": "矛盾纠纷",
}
UNIT_NAMES = {
    "urban_management": "区城市管理局",
    "public_security": "区公安分局",
    "transport": "区交通局",
    "housing_construction": "区住房城乡建委",
    "civil_affairs": "区民政局",
    "health": "区卫生健康委",
    "culture_tourism": "区文化旅游委",
    "market_regulation": "区市场监管局",
}


def _stamp(days: pd.Series) -> pd.Series:
    """Model days as export date-times (blank when not reached)."""
    times = START + pd.to_timedelta(days.astype(float), unit="D")
    return times.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")


def export_12345(cases: pd.DataFrame) -> pd.DataFrame:
    """The model's case log in the columns and codes of a 12345 export (F9.8 fields only)."""
    dispatched = cases["dispatched"].where(cases["dispatched"].notna(), cases["reported"])
    closed = cases["status"].astype(str) == "closed"
    front_desk = cases["dispatched"].isna()
    rated = cases["satisfied"].notna()
    return pd.DataFrame(
        {
            "工单编号": np.arange(len(cases)),
            "工单状态": np.where(closed, "已办结", "办理中"),
            "诉求性质": cases["case_type"].astype(str).map(TYPE_NAMES),
            "办理方式": np.where(front_desk, "直接答复", "派单办理"),
            "部门办理结果": np.where(
                closed, np.where(cases["resolved"].astype(bool), "已解决", "未解决"), ""
            ),
            "承办部门": cases["category"].astype(str).map(UNIT_NAMES),
            "派单时间": _stamp(dispatched),
            "计划办结时间": _stamp(cases["deadline"]),
            "办结时间": _stamp(cases["closed"]),
            "回访时间": _stamp(cases["closed"].where(rated) + 1.0),
            "满意度": np.where(rated, np.where(cases["satisfied"] == 1, "满意", "不满意"), ""),
            "退件次数": cases["returns"].astype(int),
        }
    )


@pytest.fixture(scope="module")
def model_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """A classroom run's case log written as a 12345 export CSV."""
    scenario = apply_overrides(
        load_scenario(SCENARIOS_FOLDER / "classroom.toml"), {"simulation.warmup_days": 0}
    )
    cases = run_single(scenario, 7, days=DAYS).cases
    path = tmp_path_factory.mktemp("log") / "orders.csv"
    export_12345(cases).to_csv(path, index=False)
    return cases, path


def _estimate(result, quantity: str, key: str) -> float:
    rows = result.estimates[
        (result.estimates["quantity"] == quantity) & (result.estimates["key"] == key)
    ]
    assert len(rows) == 1, f"expected one estimate of {quantity} / {key}, got {len(rows)}"
    return float(rows["value"].iloc[0])


def test_recovers_arrival_rates_and_closure_medians(model_log, tmp_path: Path) -> None:
    """Arrival rates per case type and closure-time medians per unit match the model's own log."""
    cases, path = model_log
    result = fit_logs(path, MAP, out=tmp_path / "fitted.toml")
    for case_type, n in cases["case_type"].astype(str).value_counts().items():
        expected = n / DAYS
        got = _estimate(result, "arrival rate per day", case_type)
        assert got == pytest.approx(expected, rel=0.02), f"{case_type}: {got} vs {expected}"
    closed = cases[cases["status"].astype(str) == "closed"]
    start = closed["dispatched"].where(closed["dispatched"].notna(), closed["reported"])
    duration = closed["closed"] - start
    for department, group in duration.groupby(closed["category"].astype(str)):
        got = _estimate(result, "closure time, median (days)", UNIT_NAMES[department])
        assert got == pytest.approx(float(np.median(group)), abs=1e-3), department
    written = load_scenario(result.scenario_file).parameters
    # the F2 types residents report (disputes are extra demand, outside the mix)
    f2 = TYPE_NAMES.keys() - {"patrol", "sensor", "neighbour_dispute"}
    reported = cases[cases["case_type"].astype(str).isin(f2)]
    expected_share = (reported["case_type"].astype(str) == "inquiry").mean()
    assert written.demand.case_type_shares["inquiry"] == pytest.approx(expected_share, abs=1e-5)
    assert sum(d.case_share for d in written.departments.values()) == pytest.approx(1.0)


def test_reports_what_it_could_not_estimate(model_log, tmp_path: Path) -> None:
    """Without staffing figures, work content is listed as not estimated, with the reason."""
    _, path = model_log
    result = fit_logs(path, MAP, out=tmp_path / "fitted.toml")
    rows = result.estimates[result.estimates["quantity"].str.startswith("work content")]
    assert list(rows["status"]) == ["not estimated"]
    assert "staffing" in rows["note"].iloc[0]
    assert result.table_file.is_file() and "not estimated" in result.table_file.read_text()


def test_unusable_rows_are_counted_with_their_row_numbers(model_log, tmp_path: Path) -> None:
    """A bad time and an unknown request type are counted by reason with their CSV line numbers."""
    _, path = model_log
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[3, "派单时间"] = "yesterday"
    frame.loc[5, "诉求性质"] = "求助咨询"
    broken = tmp_path / "broken.csv"
    frame.to_csv(broken, index=False)
    result = fit_logs(broken, MAP, out=tmp_path / "fitted.toml")
    reasons = result.dropped.set_index("reason")
    time_reason = next(r for r in reasons.index if r.startswith("arrival time unreadable"))
    assert reasons.loc[time_reason, "first_rows"] == "5", "row 3 of the data is CSV line 5"
    type_reason = next(r for r in reasons.index if r.startswith("request type not in"))
    assert reasons.loc[type_reason, "rows"] == 1
    assert "求助咨询" in reasons.loc[type_reason, "examples"]
    days = _estimate(result, "observed period", "days")
    assert days == DAYS


def test_map_naming_a_missing_column_is_an_error(model_log, tmp_path: Path) -> None:
    """A map column the log lacks is an error naming the map field, the column and a suggestion."""
    _, path = model_log
    text = MAP.read_text(encoding="utf-8").replace('closed = "办结时间"', 'closed = "办结时"')
    bad_map = tmp_path / "bad_map.toml"
    bad_map.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        fit_logs(
            path, bad_map, base=str(SCENARIOS_FOLDER / "baseline.toml"), out=tmp_path / "x.toml"
        )
    message = str(caught.value)
    assert "columns.closed" in message and "'办结时'" in message and "办结时间" in message


def test_map_with_an_unknown_case_type_names_the_field(tmp_path: Path) -> None:
    """A request type mapped to a case type that does not exist names the map field."""
    text = MAP.read_text(encoding="utf-8").replace('"求助" = "help"', '"求助" = "hlep"')
    bad_map = tmp_path / "bad_map.toml"
    bad_map.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"case_types\.'求助'.*'hlep'.*did you mean 'help'"):
        load_map(bad_map)


def test_unreadable_time_column_names_row_and_column(model_log, tmp_path: Path) -> None:
    """When no row of a time column can be read, the error names the first row and the column."""
    _, path = model_log
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["派单时间"] = "01/02/2024 10:00"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(InputError, match=r"row 2, column '派单时间' = '01/02/2024 10:00'"):
        fit_logs(bad, MAP, out=tmp_path / "x.toml")


def test_cli_writes_a_scenario_and_a_table(model_log, tmp_path: Path, capsys) -> None:
    """`microgov fit-logs` prints the table and writes a valid scenario extending the base."""
    _, path = model_log
    out = tmp_path / "street_fitted.toml"
    status = main(["fit-logs", str(path), "--map", str(MAP), "--out", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "arrival rate per day" in printed and str(out) in printed
    scenario = load_scenario(out)
    assert scenario.parameters.population.communities_per_street == 16, "extends the baseline"
    accuracy = scenario.parameters.coordination.classification_accuracy
    assert 0.0 <= accuracy <= 1.0 and not math.isnan(accuracy)


def test_work_content_from_staffing_figures(model_log, tmp_path: Path) -> None:
    """With [staffing], staff-hours per case = utilisation × staff × working hours / orders."""
    cases, path = model_log
    staffing = "\n[staffing]\nutilisation = 0.5\nstaff = { urban_management = 4.0 }\n"
    text = MAP.read_text(encoding="utf-8") + staffing
    staffed = tmp_path / "staffed.toml"
    staffed.write_text(text, encoding="utf-8")
    result = fit_logs(path, staffed, out=tmp_path / "fitted.toml")
    orders = int((cases["category"].astype(str) == "urban_management").sum())
    expected = 0.5 * 4.0 * 8.0 * (DAYS * 5 / 7) / orders
    got = _estimate(result, "work content (staff-hours per case)", "urban_management")
    assert got == pytest.approx(expected)
    written = load_scenario(result.scenario_file).parameters.departments["urban_management"]
    assert written.work_hours_mean == pytest.approx(expected)
    assert written.staff_per_100k_residents == pytest.approx(4.0 / 49440 * 100_000)


def test_recovers_shares_the_model_reports(model_log, tmp_path: Path) -> None:
    """On-time, resolution and satisfaction shares from the export equal the case log's own."""
    cases, path = model_log
    result = fit_logs(path, MAP, out=tmp_path / "fitted.toml")
    closed = cases[cases["status"].astype(str) == "closed"]
    on_time = (closed["closed"] <= closed["deadline"]).mean()
    assert _estimate(result, "on-time share", "") == pytest.approx(on_time, abs=0.01)
    resolved = closed["resolved"].astype(bool).mean()
    assert _estimate(result, "resolution share", "") == pytest.approx(resolved, abs=1e-9)
    rated = cases["satisfied"].dropna()
    assert _estimate(result, "satisfaction share", "") == pytest.approx((rated == 1).mean())


@pytest.mark.parametrize(
    ("old", "new", "field", "said"),
    [
        ('encoding = "utf-8"', 'encoding = "klingon"', "file.encoding", "unknown text encoding"),
        (
            'time_format = "%Y-%m-%d %H:%M:%S"',
            'time_format = "%Q"',
            "file.time_format",
            "not a strptime format",
        ),
    ],
)
def test_map_file_settings_are_checked_where_they_are_written(
    tmp_path: Path, old: str, new: str, field: str, said: str
) -> None:
    """An unknown encoding or a time format with a bad directive is the map's error, named
    by its field — not the CSV's (the encoding was blamed on the log) nor an unexpected
    ValueError from pandas (the format)."""
    bad_map = tmp_path / "bad_map.toml"
    bad_map.write_text(MAP.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError, match=said) as caught:
        load_map(bad_map)
    assert caught.value.file == str(bad_map) and field in str(caught.value), str(caught.value)


def test_a_missing_base_scenario_is_the_maps_base(model_log, tmp_path: Path) -> None:
    _, path = model_log
    bad_map = tmp_path / "bad_map.toml"
    text = MAP.read_text(encoding="utf-8").replace('base = "baseline"', 'base = "nothere"', 1)
    bad_map.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="no such scenario file") as caught:
        fit_logs(path, bad_map, out=tmp_path / "fitted.toml")
    assert caught.value.file == str(bad_map) and caught.value.field == "base"


def test_out_never_replaces_a_file_microgov_did_not_write(model_log, tmp_path: Path) -> None:
    """``--out`` onto a hand-written scenario (or a shipped one) is refused before the log
    is read, and the file is kept; a file an earlier fit-logs wrote is refreshed; a path
    inside a file or a folder is named as such (it was "File exists")."""
    _, path = model_log
    precious = tmp_path / "precious.toml"
    precious.write_text('name = "precious"\n', encoding="utf-8")
    with pytest.raises(InputError, match="not written by microgov") as caught:
        fit_logs(path, MAP, out=precious)
    assert caught.value.field == "--out"
    assert precious.read_text(encoding="utf-8") == 'name = "precious"\n'
    fitted = tmp_path / "fitted.toml"
    fit_logs(path, MAP, out=fitted)
    fit_logs(path, MAP, out=fitted)  # its own earlier output: refreshed
    with pytest.raises(InputError, match="which is a file"):
        fit_logs(path, MAP, out=precious / "x.toml")
    with pytest.raises(InputError, match="is a folder"):
        fit_logs(path, MAP, out=tmp_path)
