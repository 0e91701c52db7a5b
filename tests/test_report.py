"""The report: HTML and Markdown written, every scenario and outcome listed, CLI and store contract."""

from __future__ import annotations

import html
import json
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from analysis_fixtures import (
    FakeResults,
    write_compare,
    write_sensitivity,
    write_sweep,
)

from analysis import answer
from analysis.formatting import format_effect, outcome_label
from analysis.report import ReportPaths, scenario_settings, write_report
from analysis.results import load_results
from app.cli import main

QUESTION = "Which reform closes cases fastest?"
MAIN = ("resolution_time_mean_days", "on_time_share", "cases_closed")
EXPERIMENT_KEYS = (
    f'question = "{QUESTION}"\nmain_outcomes = {list(MAIN)!r}\n'.replace("'", '"')
    + "[thresholds]\non_time_share = 0.001\n"
)
TITLES = {"integrated": "Integrated dispatch · 大综合一体化"}


@pytest.fixture(scope="module")
def compare_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[FakeResults, ReportPaths]:
    """A compare experiment (one failed run) and its report, written once for this module."""
    fake = write_compare(
        tmp_path_factory.mktemp("report") / "compare",
        failed=[("whistle", 4)],
        experiment_keys=EXPERIMENT_KEYS,
        titles=TITLES,
    )
    return fake, write_report(fake.path)


def _texts(paths: ReportPaths) -> tuple[str, str]:
    """The HTML (entities decoded) and Markdown texts."""
    return (
        html.unescape(paths.html.read_text(encoding="utf-8")),
        paths.markdown.read_text(encoding="utf-8"),
    )


def test_report_files_are_written(compare_report: tuple[FakeResults, ReportPaths]) -> None:
    """report.html and report.md are written in <results>/report with PNG figures beside."""
    fake, paths = compare_report
    assert paths.html == fake.path / "report" / "report.html", f"HTML at {paths.html}"
    assert paths.markdown.is_file() and paths.html.is_file(), "both files exist"
    assert len(paths.figures) >= 4, f"forest, ECDF, backlog, participation: {paths.figures}"
    assert all(p.is_file() and p.stat().st_size > 1000 for p in paths.figures), "PNG files"


def test_report_lists_every_scenario_and_outcome(
    compare_report: tuple[FakeResults, ReportPaths],
) -> None:
    """Both versions name every scenario and every stored outcome of the experiment."""
    fake, paths = compare_report
    outcomes = load_results(fake.path).outcome_names()
    for text, kind in zip(_texts(paths), ("HTML", "Markdown"), strict=True):
        for scenario in fake.scenarios:
            assert scenario in text, f"{kind}: scenario {scenario} missing"
        missing = [o for o in outcomes if outcome_label(o) not in text]
        assert not missing, f"{kind}: outcomes missing: {missing}"


def test_detail_table_has_every_effect(compare_report: tuple[FakeResults, ReportPaths]) -> None:
    """The detail table has a row per reform × outcome of interest, with its interval."""
    fake, paths = compare_report
    markdown = paths.markdown.read_text(encoding="utf-8")
    detail = markdown.split("## Reform effects in detail")[1].split("### Scenario means")[0]
    for scenario in fake.scenarios[1:]:
        label = TITLES.get(scenario, scenario)
        for outcome in fake.outcomes:
            pattern = rf"\| {re.escape(outcome_label(outcome))} \| {re.escape(label)} \|.*\[.*\]"
            assert re.search(pattern, detail), f"no detail row for {scenario} × {outcome}"
    assert "whistle/r0004" in markdown, "the failed run is reported"


def test_answer_comes_first(compare_report: tuple[FakeResults, ReportPaths]) -> None:
    """The question is the title and the answer box, with every scenario, opens the report."""
    fake, paths = compare_report
    markdown = paths.markdown.read_text(encoding="utf-8")
    assert markdown.startswith(f"# {QUESTION}\n"), markdown[:80]
    box = markdown.split("## Answer")[1].split("\n## ")[0]
    assert markdown.index("## Answer") < markdown.index("## Reform effects in detail"), "order"
    for scenario in fake.scenarios:
        assert TITLES.get(scenario, scenario) in box, f"{scenario} missing from the answer box"
    assert "does best" in box, "the lead sentence names the best reform"
    assert "no warm-up" in box and "residents per scenario" in box, "scale and warm-up"
    assert "sensitivity" in box, "the box says what the ranking rests on (or why not)"
    assert "its 95 % interval" in box, "the legend names the confidence level"


def test_answer_effects_in_natural_units(compare_report: tuple[FakeResults, ReportPaths]) -> None:
    """Each main effect appears formatted in its unit with its interval (pp, days, cases)."""
    fake, paths = compare_report
    box = paths.markdown.read_text(encoding="utf-8").split("## Answer")[1].split("\n## ")[0]
    for outcome, unit in zip(MAIN, ("days", "pp", "cases"), strict=True):
        differences = [
            fake.series("integrated", outcome)[r] - fake.series("baseline", outcome)[r]
            for r in range(fake.replications)
        ]
        mean = sum(differences) / len(differences)
        reference = fake.series("baseline", outcome)
        level = sum(reference) / len(reference)
        text = format_effect(outcome, mean, mean - 1, mean + 1, level)
        centre = text.split(" [")[0]
        assert centre.endswith(unit), f"{outcome}: {text!r} lacks its unit {unit}"
        assert centre in box, f"{outcome}: effect {centre!r} not in the answer box"
    assert "e+0" not in box and "e-0" not in box, "no exponent notation"


def test_html_is_self_contained(compare_report: tuple[FakeResults, ReportPaths]) -> None:
    """Every figure is embedded as base64 PNG; nothing is loaded from elsewhere; no script."""
    _, paths = compare_report
    page = paths.html.read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert len(sources) == len(paths.figures), f"{len(sources)} images, {len(paths.figures)} PNGs"
    assert all(s.startswith("data:image/png;base64,") for s in sources), "images are embedded"
    assert not re.search(r'(src|href)="(https?:|//|file:)', page), "no external resources"
    assert "<script" not in page, "no script in the report"


def test_markdown_images_exist(compare_report: tuple[FakeResults, ReportPaths]) -> None:
    """Every Markdown image link points at a PNG written beside the report."""
    _, paths = compare_report
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", paths.markdown.read_text(encoding="utf-8"))
    assert links, "the Markdown report shows figures"
    assert all((paths.markdown.parent / link).is_file() for link in links), f"links {links}"


def test_scenario_differences_and_manifest(
    compare_report: tuple[FakeResults, ReportPaths],
) -> None:
    """The report lists settings that differ between scenarios and the reproduction facts."""
    _, paths = compare_report
    markdown = paths.markdown.read_text(encoding="utf-8")
    assert "| routing.kind | hierarchical | integrated | whistle |" in markdown, "routing row"
    assert "| offices.grid_workers_per_grid | (default) | (default) | 3 |" in markdown, "override"
    for fact in ("20260101", "0123456789abcdef0123456789abcdef01234567", "mesa 3.5.1"):
        assert fact in markdown, f"manifest fact {fact} missing"
    assert "microgov compare" in markdown, "the command to re-run is given"


def test_settings_fall_back_to_the_experiment_text(tmp_path: Path) -> None:
    """Without stored scenario settings, the experiment file's scenario entries are used."""
    fake = write_compare(tmp_path / "c", store_raw=False)
    settings = scenario_settings(load_results(fake.path))
    assert settings["integrated"]["scenario file"] == "../scenarios/integrated.toml", settings


def test_network_pictures_when_units_are_stored(tmp_path: Path) -> None:
    """With the optional units table, one appendix figure draws every scenario's network."""
    fake = write_compare(tmp_path / "u", scenarios=("baseline", "integrated"), units=True)
    markdown = write_report(fake.path).markdown.read_text(encoding="utf-8")
    assert "## Appendix: the governance network" in markdown, "network section"
    assert markdown.count("figures/network") == 1, "one network figure for every scenario"
    assert markdown.index("## Appendix: the governance network") > markdown.index(
        "## Reform effects in detail"
    ), "the network is in an appendix"


def test_sweep_report(tmp_path: Path) -> None:
    """A sweep report has its own section with every point and the swept field."""
    fake = write_sweep(tmp_path / "sweep")
    markdown = write_report(fake.path).markdown.read_text(encoding="utf-8")
    assert "## Sweep: response curves" in markdown, "sweep section"
    assert "Grid workers (per grid)" in markdown, "swept field, in words"
    for point in fake.point_parameters:
        assert f"| {point} |" in markdown, f"point {point} missing"
    assert "sweep_00.png" in markdown, "a response-curve figure"
    box = markdown.split("## Answer")[1].split("\n## ")[0]
    assert "| # | Grid workers (per grid) |" in box, (
        "the sweep's answer grid is headed by its factor"
    )
    for point, parameters in fake.point_parameters.items():
        value = parameters["offices.grid_workers_per_grid"]
        assert f"| {value} ({point}) |" in box, f"point {point} missing from the answer grid"
    assert "Grid workers (per grid) = 1" in box, "sentences name the factor and its value"


@pytest.mark.parametrize(("method", "heading"), [("sobol", "Sobol"), ("morris", "Morris")])
def test_sensitivity_report(tmp_path: Path, method: str, heading: str) -> None:
    """A sensitivity report tables and plots its indices."""
    fake = write_sensitivity(tmp_path / method, method=method)
    markdown = write_report(fake.path, tmp_path / "out").markdown.read_text(encoding="utf-8")
    assert "## Sensitivity analysis" in markdown, "sensitivity section"
    assert f"### {heading}" in markdown, f"{heading} table"
    assert "Classification accuracy" in markdown, "factor listed, in words"
    assert f"{method}_00.png" in markdown, f"{heading} figure"
    assert "### Seed noise" in markdown, "the runner's seed-noise table is shown"


def test_report_with_precision_target_and_no_runs(tmp_path: Path) -> None:
    """A stored precision target is used; a folder with only failed runs still reports."""
    precision = {"outcomes": ["on_time_share"], "target": 0.5, "relative": True}
    fake = write_compare(tmp_path / "p", precision=precision, replications=3)
    markdown = write_report(fake.path).markdown.read_text(encoding="utf-8")
    assert "Precision target from the experiment file" in markdown, "stored target named"
    failed = [(s, r) for s in ("baseline", "integrated", "whistle") for r in range(2)]
    empty = write_compare(tmp_path / "e", replications=2, failed=failed)
    text = write_report(empty.path).markdown.read_text(encoding="utf-8")
    assert "No successful runs" in text, "an empty experiment says so"


def test_cli_report_command(
    compare_report: tuple[FakeResults, ReportPaths],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`microgov report DIR --out OUT` writes the report; a bad folder exits 2 with a message."""
    fake, _ = compare_report
    out = tmp_path / "out"
    assert main(["report", str(fake.path), "--out", str(out)]) == 0, "report command failed"
    assert (out / "report.html").is_file() and (out / "report.md").is_file(), "files in --out"
    assert str(out / "report.html") in capsys.readouterr().out, "the HTML path is printed"
    status = main(["report", str(tmp_path / "nowhere")])
    error = capsys.readouterr().err
    assert status == 2, f"exit status {status}"
    assert "error:" in error and "no such results folder" in error, f"stderr {error!r}"


def test_reads_a_folder_written_by_the_store(tmp_path: Path) -> None:
    """Contract: a folder written by experiments.store is read and reported by analysis."""
    store_module = pytest.importorskip("experiments.store")
    folder = tmp_path / "stored"
    store = store_module.ResultStore.prepare(
        folder,
        name="contract",
        kind="compare",
        file_hash="f" * 64,
        point_digests={"a": "1", "b": "2"},
        resume=False,
    )
    store.set_meta({"name": "contract", "kind": "compare", "reference": "a", "outcomes": []})
    store.write_points([("a", "a", "{}", "1"), ("b", "b", "{}", "2")])
    for scenario, shift in (("a", 0.0), ("b", -1.0)):
        for replication in range(3):
            store.record(
                store_module.RunRecord(
                    run_key=store_module.run_key(scenario, replication),
                    point_id=scenario,
                    scenario=scenario,
                    replication=replication,
                    seed=json.dumps({"root": 1, "replication": replication}),
                    status="ok",
                    error=None,
                    started_at="2026-11-28T00:00:00",
                    finished_at="2026-11-28T00:00:01",
                    duration_s=1.0,
                    worker="test",
                    summary={"resolution_time_median_days": 5.0 + shift + 0.1 * replication},
                    timeseries=[(day, "backlog", 10.0 + day) for day in range(3)],
                    distributions=[
                        ("resolution_time_days", 1.0, 3),
                        ("resolution_time_days", 2.0, 1),
                    ],
                )
            )
    store.write_manifest({"experiment": {"name": "contract", "kind": "compare"}})
    store.close()
    results = load_results(folder)
    wide = results.outcomes(wide=True)
    assert len(wide) == 6 and results.reference == "a", f"{len(wide)} runs, ref {results.reference}"
    markdown = write_report(folder).markdown.read_text(encoding="utf-8")
    assert (
        "| Resolution time, median (days) | b | 5.1 days | 4.1 days | −1.0 days [−1.0, −1.0] |"
        in markdown
    ), "the paired difference of exactly −1 is reported"


def test_a_shared_ranking_source_is_said_once(tmp_path: Path) -> None:
    """The assumptions a sensitivity folder ranks share one source: the answer box says it
    once, before the list, in both versions — and that the indices come from a scenario
    this comparison does not hold."""
    sobol = write_sensitivity(tmp_path / "sobol")  # computed on "baseline"
    keys = f'sensitivity_results = "{sobol.path}"\n' + EXPERIMENT_KEYS  # before [thresholds]
    fake = write_compare(
        tmp_path / "compare", scenarios=("street", "street_integrated"), experiment_keys=keys
    )
    page, markdown = _texts(write_report(fake.path))
    source = (
        "(each: Sobol total-order index, sensitivity results sobol, computed on the baseline "
        "scenario — not one compared here)"
    )
    box_html = page.split('class="rests"')[1].split("</p>")[0]
    box_markdown = markdown.split("**Rests most on**")[1].split("\n## ")[0].split("**⚠")[0]
    for box in (box_html, box_markdown):
        assert box.count("Sobol total-order index") == 1, box
        # the shared source comes first, so it reads as every factor's, not the last one's
        assert box.index(source) < box.index("weight 0.70") < box.index("weight 0.30"), box
        assert "weight 0.70 [0.66, 0.74]" in box, "each weight with its interval"
        assert "above 1" not in box, "no index above 1, no caveat about one"


@pytest.mark.parametrize(
    ("weight", "conf", "text"),
    [
        (0.7, 0.04, "weight 0.70 [0.66, 0.74]"),
        (0.3, 0.5, "weight 0.30 [0.00, 0.80]"),  # cut at 0: a weight is never negative
        (0.3, None, "weight 0.30"),
        (-0.05, 0.03, "weight -0.05 [-0.08, -0.02]"),  # a negative estimate: not cut
    ],
)
def test_an_assumption_s_weight_shows_its_interval_cut_at_zero(
    weight: float, conf: float | None, text: str
) -> None:
    """The answer box gives a weight's interval as the sensitivity table does: cut at 0."""
    from analysis.answer import Assumption
    from analysis.report import weight_text

    assert weight_text(Assumption("f", weight, "o", "s", conf)) == text


def test_a_total_order_index_above_one_is_explained(tmp_path: Path) -> None:
    """A small design's total-order estimate can exceed 1, which no share can: the box
    says that it is the estimate's error, in both versions; Morris weights get no such
    sentence (μ* is scaled to the largest, so 1 is its top)."""
    for method in ("sobol", "morris"):
        sensitivity = write_sensitivity(tmp_path / method, method=method)
        index = "ST" if method == "sobol" else "mu_star"
        database = sqlite3.connect(sensitivity.path / "results.sqlite")
        with database:  # the first factor's estimate reads 1.4 on every outcome
            database.execute(
                "UPDATE sensitivity SET value = 1.4 WHERE index_name = ? AND factor = ?",
                (index, "coordination.classification_accuracy"),
            )
        database.close()
        keys = f'sensitivity_results = "{sensitivity.path}"\n' + EXPERIMENT_KEYS
        fake = write_compare(tmp_path / f"compare_{method}", experiment_keys=keys)
        page, markdown = _texts(write_report(fake.path))
        for text in (page.split('class="rests"')[1].split("</p>")[0], markdown):
            top = "weight 1.40" if method == "sobol" else "weight 1.00"  # μ* scaled to its top
            assert "Rests most on" in text and top in text, (method, text[:400])
            said = "A total-order index above 1 is the estimate's error" in text
            assert said == (method == "sobol"), (method, text[:400])


def test_the_reports_default_precision_is_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An experiment file that asks for no precision gets the report's default target
    (±10 % of the reference level, said in the report): an interval wider than that is a
    note in the log, not a WARNING about a 'requested' precision nobody requested."""
    fake = write_compare(tmp_path / "compare", scenarios=("street", "street_integrated"))
    with caplog.at_level("INFO", logger="analysis.statistics"):
        write_report(fake.path)
    precision = [r for r in caplog.records if "precision" in r.getMessage()]
    assert precision, "the fixture's intervals miss the default target"
    assert all(r.levelname == "INFO" for r in precision), [r.getMessage() for r in precision]
    assert all("miss the default precision" in r.getMessage() for r in precision)
    assert not any("requested" in r.getMessage() for r in precision)


@pytest.mark.parametrize(
    ("verdicts", "says"),
    [
        ([answer.UNCLEAR, answer.BETTER], "on time: b (+5 pp)"),
        ([answer.NO_DATA, answer.NO_DATA], "on time: no data"),
        ([answer.NO_PRACTICAL_DIFFERENCE] * 2, "on time: none makes a practical difference"),
        ([answer.UNCLEAR, answer.NO_PRACTICAL_DIFFERENCE], "on time: none is clearly better"),
        ([answer.WORSE, answer.NO_DATA], "on time: none is clearly better"),
    ],
)
def test_best_on_each_says_why_none_is_best(verdicts: list[str], says: str) -> None:
    """The answer's 'Best on each' names the best reform, or why there is none: an outcome
    no run measured (a short run's censored percentile) reads "no data", not "none makes a
    practical difference", nor does one whose intervals span zero."""
    from analysis.report import _best_per_outcome

    frame = pd.DataFrame(
        {
            "outcome": ["on_time_share"] * 2,
            "scenario": ["a", "b"][: len(verdicts)],
            "verdict": verdicts,
            "difference": [0.01, 0.05],
        }
    )
    text = _best_per_outcome(frame, ["on_time_share"], {}, lambda s, o: "+5 pp")
    label = outcome_label("on_time_share", unit=False).lower()
    assert text == "Best on each: " + says.replace("on time", label) + ".", text


def test_the_legend_says_why_a_cell_has_no_data(
    compare_report: tuple[FakeResults, ReportPaths], tmp_path: Path
) -> None:
    """Where an answer cell has no data (e.g. a short run's censored percentile, stored as
    NULL), the legend says what that means and what measures it; where every cell has a
    value, it says nothing of the kind."""
    note = "– no data: no pair of runs gave the outcome a value"
    html_text, markdown = _texts(compare_report[1])
    assert note not in html_text and note not in markdown, "no cell lacks data here"
    fake = write_compare(tmp_path / "compare", experiment_keys=EXPERIMENT_KEYS)
    with sqlite3.connect(fake.path / "results.sqlite") as db:
        blanked = db.execute(
            "UPDATE outcomes SET value = NULL WHERE outcome = 'on_time_share'"
        ).rowcount
    assert blanked > 0, "the fixture stores the outcome the answer shows"
    html_text, markdown = _texts(write_report(fake.path))
    assert "on time" in markdown.lower()
    for text in (html_text, markdown):
        assert note in text and "a longer run measures it" in text, text[:2000]
