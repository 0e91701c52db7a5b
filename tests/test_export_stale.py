"""An export leaves only its own files: an earlier export's files it does not rewrite are
removed, by their known names, and nothing else is touched (review of the command line)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import standins

from app.cli import main
from experiments.runner import run_experiment


@pytest.fixture
def experiment(tmp_path: Path) -> tuple[Path, Path]:
    """A compare of 2 scenarios × 3 replications (stand-in model), stopped after 2 runs."""
    path = standins.write_experiment(tmp_path, "c", standins.compare_text(replications=3))
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_experiment(path, out, workers=1, run_fn=standins.StopAfter(standins.fake_run, 2))
    return path, out


def test_export_after_resume_removes_the_partial_export(experiment, capsys):
    """Parquet of the partial folder, resume to the end, CSV: the partial Parquet files are
    gone (and said so in one line), the CSV holds every run."""
    path, folder = experiment
    exports = folder / "exports"
    assert main(["export", str(folder), "--format", "parquet"]) == 0
    assert pd.read_parquet(exports / "outcomes.parquet")["run_key"].nunique() == 2
    capsys.readouterr()
    run_experiment(path, folder, workers=1, resume=True, run_fn=standins.fake_run)
    assert main(["export", str(folder), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert not list(exports.glob("*.parquet")), "no partial Parquet file left beside the CSV"
    assert pd.read_csv(exports / "outcomes.csv")["run_key"].nunique() == 6, "every run"
    removed = [line for line in out.splitlines() if line.startswith("removed ")]
    assert len(removed) == 1, out
    assert "of an earlier export that this one does not rewrite" in removed[0]
    assert "outcomes.parquet" in removed[0] and "runs.parquet" in removed[0]


def test_export_without_wide_removes_the_earlier_wide_table(experiment, capsys):
    """An export without --wide after one with it leaves no outcomes_wide behind."""
    _, folder = experiment
    exports = folder / "exports"
    assert main(["export", str(folder), "--wide"]) == 0
    assert (exports / "outcomes_wide.csv").is_file() and (
        exports / "outcomes_wide.parquet"
    ).is_file()
    capsys.readouterr()
    assert main(["export", str(folder)]) == 0
    out = capsys.readouterr().out
    assert not (exports / "outcomes_wide.csv").exists()
    assert not (exports / "outcomes_wide.parquet").exists()
    assert "removed 2 file(s)" in out and "outcomes_wide.csv" in out, out


def test_export_removes_only_its_own_files(experiment, capsys):
    """Beside the earlier export's file it removes, files the export does not write (other
    names, other extensions, a folder) stay; the same export again removes nothing."""
    _, folder = experiment
    exports = folder / "exports"
    assert main(["export", str(folder), "--format", "csv", "--wide"]) == 0
    others = [
        exports / "notes.txt",
        exports / "outcomes.xlsx",
        exports / "outcomes_wide.csv.bak",
        exports / "my_outcomes.parquet",
    ]
    for other in others:
        other.write_text("mine", encoding="utf-8")
    (exports / "sensitivity.csv").mkdir()  # a folder under an export's name: not a file of ours
    capsys.readouterr()
    assert main(["export", str(folder), "--format", "csv"]) == 0
    assert "removed 1 file(s)" in capsys.readouterr().out
    assert not (exports / "outcomes_wide.csv").exists(), "the earlier wide table is removed"
    for other in others:
        assert other.read_text(encoding="utf-8") == "mine", f"{other.name} untouched"
    assert (exports / "sensitivity.csv").is_dir()
    assert main(["export", str(folder), "--format", "csv"]) == 0
    assert "removed" not in capsys.readouterr().out, "the same export again removes nothing"
