"""Export of a results folder to tidy CSV and Parquet tables (issue 4)."""

from __future__ import annotations

import pandas as pd
import pytest
import standins

from experiments.errors import InputError
from experiments.export import export_results
from experiments.runner import run_experiment


@pytest.fixture
def folder(tmp_path):
    """A finished tiny sweep with one failing point (stand-in model)."""
    path = standins.write_experiment(
        tmp_path, "s", standins.sweep_text(replications=2, delays=(1.0, 13.0))
    )
    out = tmp_path / "out"
    run_experiment(path, out, workers=1, run_fn=standins.fake_run)
    return out


def test_export_tidy_tables(folder):
    """Outcomes are one row per run × outcome with scenario, point and parameter columns."""
    written = export_results(folder)
    names = sorted(p.name for p in written)
    for table in ("outcomes", "runs", "timeseries", "distributions", "points"):
        assert f"{table}.csv" in names and f"{table}.parquet" in names, f"{table} in both formats"
    outcomes = pd.read_parquet(folder / "exports" / "outcomes.parquet")
    expected = {
        "run_key",
        "point_id",
        "scenario",
        "replication",
        "outcome",
        "value",
        "departments.urban_management.staff_per_100k_residents",
        "coordination.handoff_delay_hours",
    }
    assert expected <= set(outcomes.columns), f"tidy columns: {sorted(outcomes.columns)}"
    assert not outcomes.duplicated(["run_key", "outcome"]).any(), "one row per run × outcome"
    assert outcomes["run_key"].nunique() == 4, "only the 4 successful runs have outcomes"
    assert (outcomes["coordination.handoff_delay_hours"] == 1.0).all(), "parameter column filled"
    csv = pd.read_csv(folder / "exports" / "outcomes.csv")
    assert len(csv) == len(outcomes), "CSV and Parquet hold the same rows"


def test_export_runs_and_series(folder):
    """Runs keep failures with their traceback; time series are a table of their own."""
    export_results(folder, formats=("parquet",))
    runs = pd.read_parquet(folder / "exports" / "runs.parquet")
    assert (runs["status"] == "failed").sum() == 4, "failed runs exported with their status"
    assert runs.loc[runs["status"] == "failed", "error"].str.contains("Traceback").all(), (
        "tracebacks kept"
    )
    series = pd.read_parquet(folder / "exports" / "timeseries.parquet")
    assert {"run_key", "day", "variable", "value", "scenario"} <= set(series.columns), "tidy series"
    assert set(series["variable"]) == {"backlog", "trust_mean"}, "every daily variable exported"


def test_export_cli_and_bad_folder(folder, tmp_path, capsys):
    """`microgov export` writes the files; a folder that is not a results store is exit 2."""
    from app.cli import main

    assert main(["export", str(folder), "--format", "csv"]) == 0, "export succeeds"
    assert "outcomes.csv" in capsys.readouterr().out, "written files listed"
    assert main(["export", str(tmp_path)]) == 2, "not a results folder: bad input"
    assert "not a microgov results folder" in capsys.readouterr().err, "clear message"
    with pytest.raises(InputError, match="allowed: csv, parquet"):
        export_results(folder, formats=("xlsx",))
