"""The report's answer box names the rows with overloaded runs, whose time outcomes are
censored (a newcomer found a sweep whose reference point collapsed in every run, and a
report that never said so)."""

from __future__ import annotations

from pathlib import Path

import standins

from analysis.report import write_report
from analysis.results import load_results
from experiments.runner import run_experiment

ROOT = Path(__file__).resolve().parents[1]


def test_the_answer_names_overloaded_runs_and_counts_them(tmp_path: Path) -> None:
    """A compare on the classroom over 90 days (its market regulation cannot keep up in
    some histories): the answer box says which scenario had how many overloaded runs, as
    the stored outcome counts them; a compare without any says nothing of it."""
    experiment = tmp_path / "overload.toml"
    experiment.write_text(
        'name = "overload"\nkind = "compare"\nreplications = 3\ndays = 90\n'
        'reference = "classroom"\nmain_outcomes = ["resolution_time_median_days"]\n'
        f'[[scenarios]]\npath = "{ROOT / "scenarios" / "classroom.toml"}"\n'
        f'[[scenarios]]\npath = "{ROOT / "scenarios" / "integrated.toml"}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    run_experiment(experiment, out, workers=1)
    stored = load_results(out).outcomes(outcomes=["overloaded"])
    counts = {
        scenario: int((group["value"] >= 1).sum()) for scenario, group in stored.groupby("scenario")
    }
    assert any(counts.values()), f"the classroom overloads in some of these runs: {counts}"
    write_report(out)
    text = (out / "report" / "report.md").read_text(encoding="utf-8")
    html = (out / "report" / "report.html").read_text(encoding="utf-8")
    line = next(row for row in text.splitlines() if "Overloaded runs" in row)
    for scenario, n in counts.items():
        if n:
            assert f" {n} of 3" in line, (scenario, line)
    assert 'class="overloads"' in html and html.index("overloads") < html.index('class="facts"')

    calm = standins.write_experiment(tmp_path, "calm", standins.compare_text(replications=2))
    run_experiment(calm, tmp_path / "calm_out", workers=1, run_fn=standins.fake_run)
    write_report(tmp_path / "calm_out")
    calm_text = (tmp_path / "calm_out" / "report" / "report.md").read_text(encoding="utf-8")
    assert "Overloaded runs" not in calm_text
