"""An unfinished experiment says so: report, export and status count the planned runs against
the stored ones and name the command that finishes it (review of the command line)."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import standins

from analysis.report import write_report
from analysis.results import load_results
from app.cli import main
from experiments import runs
from experiments.runner import run_experiment

SOBOL_FACTORS = (
    "coordination.classification_accuracy",
    "feedback.callback_share",
    "handling.dispute_probability",
)


def _interrupted(path: Path, out: Path, run: Callable[..., Any], after: int) -> Path:
    with pytest.raises(KeyboardInterrupt):
        run_experiment(path, out, workers=1, run_fn=standins.StopAfter(run, after))
    return out


@pytest.fixture(scope="module")
def partial_compare(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A serial compare of the real model (2 tiny scenarios × 4 replications) stopped after
    its first run: 1 of 8 runs stored, none of the second scenario."""
    root = tmp_path_factory.mktemp("unfinished")
    path = standins.write_experiment(root, "tiny_compare", standins.compare_text(replications=4))
    return path, _interrupted(path, root / "out", runs.run_single, after=1)


def test_report_says_unfinished_on_its_first_screen(partial_compare, tmp_path):
    """Both reports open (before the answer box) with planned against stored runs, the
    scenario with no run yet and the command that finishes the experiment."""
    path, folder = partial_compare
    paths = write_report(folder, tmp_path / "report")
    command = f"microgov compare {shlex.quote(str(path.resolve()))} --out {folder} --resume"
    html = paths.html.read_text(encoding="utf-8")
    markdown = paths.markdown.read_text(encoding="utf-8")
    for text, answer in ((html, 'id="answer"'), (markdown, "## Answer")):
        said = text.find("Unfinished experiment: 1 of 8 planned runs stored")
        assert 0 <= said < text.index(answer), "the warning comes before the answer box"
        assert "7 not run" in text, "the runs never made are counted"
        assert "No successful run yet of tiny_integrated" in text, "the empty scenario is named"
        assert command in text, "the command that finishes it"
        assert "4 replications per scenario planned, only 1 of 8 runs stored" in text, (
            "the scale line does not claim the planned replications were run"
        )
    assert "| Not run | 7 (unfinished) |" in markdown, "the runs table counts them too"
    assert "| Planned runs | 8 (2 points × 4 replications) |" in markdown


def test_resume_command_in_the_report_finishes_the_experiment(partial_compare, tmp_path, capsys):
    """The named command really continues the folder (a copy); then the warning is gone."""
    _, original = partial_compare
    folder = tmp_path / "copy"
    shutil.copytree(original, folder)
    command = load_results(folder).resume_command()
    assert command is not None and command.startswith("microgov compare ")
    assert command.endswith(f"--out {folder} --resume"), command
    assert main([*shlex.split(command)[1:], "--workers", "1", "--no-progress"]) == 0
    progress = load_results(folder).progress()
    assert (progress.planned, progress.ok, progress.not_run) == (8, 8, 0), progress
    paths = write_report(folder, tmp_path / "report")
    assert "Unfinished" not in paths.html.read_text(encoding="utf-8"), "finished: no warning"


def test_export_says_unfinished(partial_compare, capsys):
    """`microgov export` says how many runs its files hold of how many planned, and how to
    finish; a finished folder's export says nothing of the kind."""
    path, folder = partial_compare
    assert main(["export", str(folder), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "unfinished experiment: 1 of 8 planned runs stored (1 ok, 0 failed; 7 not run)" in out
    assert f"microgov compare {shlex.quote(str(path.resolve()))} --out {folder} --resume" in out


def test_status_names_the_resume_command(partial_compare, capsys):
    """`microgov status` counts as before and names the command that finishes it."""
    path, folder = partial_compare
    assert main(["status", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "runs: 1 ok, 0 failed, 7 not run of 8 planned" in out
    assert f"unfinished: finish it with `microgov compare {path.resolve()}" in out


def test_unfinished_sensitivity_report_and_export(tmp_path, capsys):
    """A Sobol' experiment stopped after 10 of its 40 runs says so in its report and export."""
    factors = "".join(
        f'[[sensitivity.factors]]\nname = "{name}"\nlower = 0.0\nupper = 1.0\n\n'
        for name in SOBOL_FACTORS
    )
    text = (
        'name = "ishigami"\nkind = "sensitivity"\nscenario = "../scenarios/tiny.toml"\n'
        f'seed = 3\nreplications = 1\ndays = 2\n[sensitivity]\nmethod = "sobol"\nsamples = 8\n'
        f"{factors}"
    )
    path = standins.write_experiment(tmp_path, "ishigami", text)
    folder = _interrupted(path, tmp_path / "out", standins.ishigami_run, after=10)
    markdown = write_report(folder, tmp_path / "report").markdown.read_text(encoding="utf-8")
    assert "Unfinished experiment: 10 of 40 planned runs stored" in markdown
    assert "30 not run" in markdown
    assert f"microgov sensitivity {path.resolve()} --out {folder} --resume" in markdown
    assert main(["export", str(folder), "--format", "csv"]) == 0
    assert "unfinished experiment: 10 of 40 planned runs stored" in capsys.readouterr().out


def test_finished_experiment_is_not_called_unfinished(tmp_path, capsys):
    """A finished experiment's report, export and status say nothing about unfinished runs."""
    path = standins.write_experiment(tmp_path, "c", standins.compare_text(replications=2))
    folder = tmp_path / "out"
    run_experiment(path, folder, workers=1, run_fn=standins.fake_run)
    markdown = write_report(folder, tmp_path / "report").markdown.read_text(encoding="utf-8")
    assert "Unfinished" not in markdown and "| Not run | 0 |" in markdown
    assert main(["export", str(folder), "--format", "csv"]) == 0
    assert main(["status", str(folder)]) == 0
    assert "unfinished" not in capsys.readouterr().out
