"""`microgov export --wide`: one row per run with its parameters and outcomes (issue 14)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import standins

from app.cli import main
from experiments.export import WIDE_RUN_COLUMNS, export_results, load_tables
from experiments.runner import run_experiment
from model.outcomes import OUTCOME_NAMES

STAFF = "departments.urban_management.staff_per_100k_residents"
ROUTING = "routing.kind"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A small real sweep (the model itself, tiny scenario): 2 × 2 points × 2 replications."""
    root = tmp_path_factory.mktemp("wide")
    text = f"""\
name = "wide_sweep"
kind = "sweep"
scenario = "../scenarios/tiny.toml"
seed = 7
replications = 2
days = 8
[grid]
"{STAFF}" = [20, 60]
"{ROUTING}" = ["hierarchical", "integrated"]
"""
    path = standins.write_experiment(root, "wide_sweep", text)
    out = root / "out"
    report = run_experiment(path, out, workers=1)
    assert not report.failed, "the real model runs the small sweep"
    return out


def test_wide_table_one_row_per_run(folder):
    """Each run is one row: run columns, then parameters, then every outcome, in that order."""
    wide = load_tables(folder, wide=True)["outcomes_wide"]
    assert len(wide) == 8, "4 points × 2 replications"
    assert wide["run_key"].is_unique, "one row per run"
    columns = list(wide.columns)
    assert columns[: len(WIDE_RUN_COLUMNS)] == list(WIDE_RUN_COLUMNS), "run columns first"
    assert set(columns[5:7]) == {STAFF, ROUTING}, f"parameter columns next: {columns[:8]}"
    outcomes = columns[7:]
    assert outcomes[: len(OUTCOME_NAMES)] == list(OUTCOME_NAMES), "outcomes in the model's order"
    assert (wide["seed_root"] == 7).all(), "the experiment's root seed"
    assert sorted(wide["replication"].unique()) == [0, 1], "replications 0 and 1"
    assert set(wide[ROUTING]) == {"hierarchical", "integrated"}, "the swept routing kinds"


def test_wide_agrees_with_long(folder):
    """Every cell of the wide table equals the long table's value for that run and outcome."""
    tables = load_tables(folder, wide=True)
    long, wide = tables["outcomes"], tables["outcomes_wide"]
    melted = wide.melt(
        id_vars=["run_key"], value_vars=sorted(set(long["outcome"])), var_name="outcome"
    )
    merged = long.merge(melted, on=["run_key", "outcome"], suffixes=("_long", "_wide"))
    assert len(merged) == len(long), "every long row has a wide cell"
    same = (merged["value_long"] == merged["value_wide"]) | (
        merged["value_long"].isna() & merged["value_wide"].isna()
    )
    assert same.all(), f"values differ:\n{merged[~same].head()}"
    runs = tables["runs"].set_index("run_key")
    for row in wide.itertuples(index=False):
        seed = json.loads(runs.loc[row.run_key, "seed"])
        assert (seed["root"], seed["replication"]) == (row.seed_root, row.replication), (
            "seed_root and replication identify the run's seed"
        )


def test_wide_cli_writes_csv_and_parquet(folder, capsys):
    """`microgov export DIR --wide` writes the wide table in both formats beside the long ones."""
    assert main(["export", str(folder), "--wide"]) == 0, "export succeeds"
    printed = capsys.readouterr().out
    for name in ("outcomes_wide.csv", "outcomes_wide.parquet", "outcomes.csv"):
        assert name in printed, f"{name} written and listed"
    csv = pd.read_csv(folder / "exports" / "outcomes_wide.csv")
    parquet = pd.read_parquet(folder / "exports" / "outcomes_wide.parquet")
    assert list(csv.columns) == list(parquet.columns), "the same columns in CSV and Parquet"
    assert len(csv) == len(parquet) == 8, "the same rows"
    pd.testing.assert_series_equal(
        csv["resolution_time_mean_days"], parquet["resolution_time_mean_days"], check_dtype=False
    )


def test_no_wide_table_without_the_flag(folder):
    """Without --wide the export is today's long tables only."""
    written = {p.name for p in export_results(folder, formats=("csv",))}
    assert "outcomes.csv" in written and "outcomes_wide.csv" not in written, sorted(written)


def test_wide_compare_and_failed_runs(tmp_path):
    """A compare experiment has no parameter columns; failed runs are left out of the wide table."""
    path = standins.write_experiment(
        tmp_path, "s", standins.sweep_text(replications=2, delays=(1.0, 13.0))
    )
    out = tmp_path / "out"
    run_experiment(path, out, workers=1, run_fn=standins.fake_run)
    wide = load_tables(out, wide=True)["outcomes_wide"]
    assert len(wide) == 4, "only the 4 successful runs (delay 13 fails by the stand-in's hook)"
    assert (wide["coordination.handoff_delay_hours"] == 1.0).all(), "failed points left out"

    compare = standins.write_experiment(tmp_path, "c", standins.compare_text())
    out = tmp_path / "compare"
    run_experiment(compare, out, workers=1, run_fn=standins.fake_run)
    wide = load_tables(out, wide=True)["outcomes_wide"]
    assert set(wide["scenario"]) == {"tiny", "tiny_integrated"}, "scenario names identify points"
    assert list(wide.columns[:5]) == list(WIDE_RUN_COLUMNS), "no parameter columns in between"
    assert wide.columns[5] == OUTCOME_NAMES[0], "outcomes follow the run columns"
