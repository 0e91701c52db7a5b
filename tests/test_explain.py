"""`microgov explain`: a reform's effect decomposed by mechanism; `microgov mechanisms` (issue 9)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import explain_toys
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.policies.registry as registry
from analysis.decomposition import (
    ExplainPlan,
    decompose,
    decomposition,
    decomposition_text,
    explain_plan,
)
from analysis.report import write_report
from analysis.results import load_results
from app.cli import main
from experiments.errors import InputError
from experiments.experiment_files import load_experiment
from experiments.explain import build_explain, reform_mechanisms, run_explain
from experiments.scenario_files import SCENARIOS_FOLDER, load_scenario

TESTS = Path(__file__).parent
TOY = "explain_toys:ToyReformRouting"


def _scenario(folder: Path, name: str, body: str) -> Path:
    """Write a scenario extending the classroom one; return its path."""
    path = folder / f"{name}.toml"
    head = f'extends = "{SCENARIOS_FOLDER / "classroom.toml"}"\nname = "{name}"\n'
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.fixture
def toy_pair(tmp_path):
    """A toy reform with both mechanisms on, and the same policy with both neutral."""
    reform = _scenario(tmp_path, "toy_on", f'[routing]\nkind = "{TOY}"\n')
    reference = _scenario(
        tmp_path,
        "toy_off",
        f'[routing]\nkind = "{TOY}"\ndirect_dispatch = false\nreview_hours_multiplier = 1.0\n',
    )
    return load_scenario(reform), load_scenario(reference)


def _rows(table: pd.DataFrame, outcome: str) -> dict[tuple[str, str], pd.Series]:
    frame = table[table["outcome"] == outcome]
    return {(r.term, r.mechanism): r for _, r in frame.iterrows()}


def _explain(reform, reference, out, replications=4, **kwargs):
    report = run_explain(
        reform,
        reference,
        out,
        replications=replications,
        workers=1,
        run_fn=explain_toys.known_run,
        **kwargs,
    )
    assert not report.failed, "no run failed"
    return load_results(out)


# ---------------------------------------------------------------------- the engine
def test_additive_mechanisms_recovered(toy_pair, tmp_path):
    """Two additive mechanisms: effects alone and carried equal the known ones, interaction 0."""
    results = _explain(*toy_pair, tmp_path / "out")
    rows = _rows(decomposition(results), "resolution_time_median_days")
    a, b = explain_toys.A, explain_toys.B * 0.5  # x2 = 1 − 0.5
    total = rows[("total", "")]
    assert total.estimate == pytest.approx(a + b), "total effect = A + B·x2"
    for path, expected in (
        ("routing.direct_dispatch", a),
        ("routing.review_hours_multiplier", b),
    ):
        for term in ("alone", "carried"):
            row = rows[(term, path)]
            assert row.estimate == pytest.approx(expected), f"{term} effect of {path}"
            assert row.share == pytest.approx(expected / (a + b)), f"{term} share of {path}"
    assert rows[("interaction", "")].estimate == pytest.approx(0.0, abs=1e-9), "no interaction"
    assert rows[("structural", "")].estimate == pytest.approx(0.0, abs=1e-9), "same policy kind"


def test_interaction_recovered(toy_pair, tmp_path):
    """Y = C·x1·x2: neither mechanism acts alone; the whole effect is interaction, each carries it."""
    results = _explain(*toy_pair, tmp_path / "out")
    rows = _rows(decomposition(results), "satisfaction_share")
    effect = explain_toys.C * 0.5
    assert rows[("total", "")].estimate == pytest.approx(effect), "total effect = C·x1·x2"
    for path in ("routing.direct_dispatch", "routing.review_hours_multiplier"):
        assert rows[("alone", path)].estimate == pytest.approx(0.0, abs=1e-9), f"{path} alone"
        assert rows[("carried", path)].estimate == pytest.approx(effect), f"{path} carries all"
    assert rows[("interaction", "")].share == pytest.approx(1.0), "interaction is the whole effect"


def test_structural_part_and_settings(tmp_path):
    """Against another policy kind the fixed part is structural; a changed setting is a mechanism."""
    reform = load_scenario(
        _scenario(
            tmp_path,
            "toy",
            f'[routing]\nkind = "{TOY}"\n[coordination]\nhandoff_delay_hours = 2.0\n',
        )
    )
    reference = load_scenario(SCENARIOS_FOLDER / "classroom.toml")
    found = reform_mechanisms(reform, reference)
    assert [m.path for m in found.active] == [
        "routing.direct_dispatch",
        "routing.review_hours_multiplier",
        "coordination.handoff_delay_hours",
    ], "two declared mechanisms and the changed setting"
    assert [f.path for f in found.fixed] == ["routing.kind"], "the policy kind cannot be switched"
    results = _explain(reform, reference, tmp_path / "out", replications=3)
    table = decomposition(results)
    on_time = _rows(table, "on_time_share")
    assert on_time[("structural", "")].estimate == pytest.approx(explain_toys.STRUCTURAL)
    assert on_time[("alone", "routing.direct_dispatch")].estimate == pytest.approx(0.1)
    trust = _rows(table, "trust_mean")
    assert trust[("alone", "coordination.handoff_delay_hours")].estimate == pytest.approx(0.02)
    for outcome, frame in table.groupby("outcome"):
        parts = frame[frame["term"].isin(["structural", "alone", "interaction"])]["estimate"].sum()
        total = frame[frame["term"] == "total"]["estimate"].iloc[0]
        assert parts == pytest.approx(total), f"{outcome}: structural + alone + interaction = total"


def test_interval_covers_truth_with_own_noise(toy_pair, tmp_path):
    """With noise of each variant's own, the paired interval of an effect covers the true one."""
    results = _explain(*toy_pair, tmp_path / "out", replications=8)
    rows = _rows(decomposition(results, ["staff_hours_per_case"]), "staff_hours_per_case")
    alone = rows[("alone", "routing.direct_dispatch")]
    assert alone.ci_low < 2.0 < alone.ci_high, "the interval covers the true effect 2"
    assert alone.ci_high - alone.ci_low > 0, "noise gives a real interval"
    assert alone.share_low < alone.share < alone.share_high, "the share has an interval too"


def _plan(k: int) -> ExplainPlan:
    paths = [f"m{i}" for i in range(k)]
    variants = [
        {"role": "reference", "mechanism": None, "point": "ref"},
        {"role": "reform", "mechanism": None, "point": "reform"},
        {"role": "neutral", "mechanism": None, "point": "neutral"},
    ]
    variants += [{"role": "off", "mechanism": p, "point": f"off.{p}"} for p in paths]
    variants += [{"role": "alone", "mechanism": p, "point": f"alone.{p}"} for p in paths]
    return ExplainPlan.from_meta(
        {
            "reform": "reform",
            "reference": "ref",
            "mechanisms": [{"path": p, "name": p} for p in paths],
            "variants": variants,
        }
    )


@settings(max_examples=40, deadline=None)
@given(
    effects=st.lists(st.floats(-5, 5), min_size=1, max_size=3),
    offset=st.floats(-3, 3),
    noise=st.lists(st.floats(-10, 10), min_size=3, max_size=6),
    pair=st.floats(-2, 2),
)
def test_decompose_identity_and_additivity(effects, offset, noise, pair):
    """For any additive Y plus a pairwise term, total = structural + Σ alone + interaction."""
    k = len(effects)
    plan = _plan(k)
    rows = []
    for point in dict.fromkeys(plan.points.values()):
        on = np.ones(k)
        if point == "ref":
            on, base = np.zeros(k), 0.0
        else:
            base = offset
            if point == "neutral":
                on = np.zeros(k)
            elif point.startswith("off."):
                on[int(point[5:])] = 0
            elif point.startswith("alone."):
                on = np.eye(k)[int(point[7:])]
        y0 = base + float(np.dot(effects, on)) + pair * on[0] * on[-1] * (k > 1)
        for r, n in enumerate(noise):
            rows.append({"point_id": point, "replication": r, "y": y0 + n})
    table = decompose(pd.DataFrame(rows), plan, ["y"])
    got = {(t, m): e for t, m, e in zip(table.term, table.mechanism, table.estimate, strict=True)}
    parts = got[("structural", "")] + got[("interaction", "")]
    parts += sum(got[("alone", f"m{i}")] for i in range(k))
    assert parts == pytest.approx(got[("total", "")], abs=1e-6), "the identity holds"
    assert got[("structural", "")] == pytest.approx(offset, abs=1e-6), "structural = offset"
    for i, effect in enumerate(effects):
        assert got[("alone", f"m{i}")] == pytest.approx(effect, abs=1e-6), f"alone m{i}"
    if k > 1:
        assert got[("interaction", "")] == pytest.approx(pair, abs=1e-6), "interaction = pair"


def test_one_mechanism_shares_points(tmp_path):
    """One mechanism against the same policy: 'off' and 'all neutral' are the reference and
    'alone' is the reform, so only two points run."""
    reform = load_scenario(_scenario(tmp_path, "a", f'[routing]\nkind = "{TOY}"\n'))
    reference = load_scenario(
        _scenario(tmp_path, "b", f'[routing]\nkind = "{TOY}"\ndirect_dispatch = false\n')
    )
    experiment = build_explain(reform, reference, replications=2)
    assert [p.point_id for p in experiment.points] == ["b", "a"], "variants share points"
    inactive = [m for m in experiment.spec.plan["inactive"] if m["path"].startswith("routing.")]
    assert inactive == [
        {
            "path": "routing.review_hours_multiplier",
            "name": "review_speedup",
            "reason": "as in the reference",
        }
    ], "a mechanism the reference shares is not switched"
    results = _explain(reform, reference, tmp_path / "out", replications=2)
    rows = _rows(decomposition(results), "resolution_time_median_days")
    assert rows[("alone", "routing.direct_dispatch")].share == pytest.approx(1.0)


def test_more_replications_on_resume(toy_pair, tmp_path):
    """Resuming with more replications runs only the new ones for every point."""
    _explain(*toy_pair, tmp_path / "out", replications=2)
    report = run_explain(
        *toy_pair,
        tmp_path / "out",
        replications=3,
        workers=1,
        resume=True,
        run_fn=explain_toys.known_run,
    )
    assert report.ran == len(build_explain(*toy_pair).points), "one new run per point"
    assert report.skipped == 2 * report.ran, "the stored replications were kept"


def test_changed_settings_on_resume_name_the_settings_not_a_file(toy_pair, tmp_path):
    """An explanation resumed with other --days is refused naming its settings: it has no
    experiment file to restore."""
    _explain(*toy_pair, tmp_path / "out", replications=2)
    with pytest.raises(InputError, match="explanation's settings") as refused:
        run_explain(
            *toy_pair, tmp_path / "out", replications=2, days=7, workers=1, resume=True,
            run_fn=explain_toys.known_run,
        )  # fmt: skip
    assert "experiment file" not in str(refused.value) and "--out" in str(refused.value)


# ---------------------------------------------------------------------- end to end
def test_kill_and_resume_on_the_model(tmp_path):
    """The toy reform on the classroom model: killed part-way, resumed, every run stored once."""
    reform = _scenario(tmp_path, "toy", f'[routing]\nkind = "{TOY}"\n')
    out = tmp_path / "out"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import explain_toys; from experiments.explain import run_explain;"
        "from experiments.scenario_files import load_scenario as L;"
        "run_explain(L(sys.argv[2]), L(sys.argv[3]), sys.argv[4], replications=2, days=5,"
        " workers=1, run_fn=explain_toys.slow_model_run)"
    )
    classroom = SCENARIOS_FOLDER / "classroom.toml"
    env = {**os.environ, "MICROGOV_EXPLAIN_SLEEP": "0.3"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(TESTS), str(reform), str(classroom), str(out)],
        env=env,
        start_new_session=True,
    )
    database = out / "results.sqlite"
    deadline = time.monotonic() + 120
    stored = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if database.exists():
                try:
                    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
                    stored = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                    con.close()
                except sqlite3.OperationalError:
                    stored = 0
            if stored >= 3:
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the group we started
        proc.wait(timeout=30)
    total = 2 * 5  # 5 points (two mechanisms: 'alone' of one is 'off' of the other) × 2
    assert 3 <= stored < total, f"killed part-way (stored {stored} of {total})"
    con = sqlite3.connect(database)
    before = dict(con.execute("SELECT run_key, started_at FROM runs"))
    con.close()
    report = run_explain(
        load_scenario(reform),
        load_scenario(classroom),
        out,
        replications=2,
        days=5,
        workers=1,
        resume=True,
        run_fn=explain_toys.slow_model_run,
    )
    assert report.ran == total - len(before), "only the missing runs ran on resume"
    con = sqlite3.connect(database)
    after = dict(con.execute("SELECT run_key, started_at FROM runs"))
    con.close()
    assert len(after) == total, "every run stored once"
    assert all(after[k] == v for k, v in before.items()), "no stored run ran again"
    results = load_results(out)
    table = decomposition(results)
    assert set(table["mechanism"]) >= {"routing.direct_dispatch", "routing.review_hours_multiplier"}
    text = decomposition_text(table, explain_plan(results))
    assert "direct_dispatch" in text and "routing.kind" in text, "mechanisms and fixed part shown"


def test_compare_asks_for_explain(tmp_path, monkeypatch, capsys):
    """A compare with explain = [...] runs the explain too, and its report shows the section."""
    monkeypatch.setattr("experiments.runs.run_single", explain_toys.known_run)
    reform = _scenario(tmp_path, "toy", f'[routing]\nkind = "{TOY}"\n')
    experiment = tmp_path / "c.toml"
    experiment.write_text(
        textwrap.dedent(f"""\
            name = "c"
            kind = "compare"
            replications = 3
            days = 5
            explain = ["toy"]
            [[scenarios]]
            path = "{SCENARIOS_FOLDER / "classroom.toml"}"
            [[scenarios]]
            path = "{reform}"
            """),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    status = main(
        ["compare", str(experiment), "--workers", "1", "--out", str(out), "--no-progress"]
    )
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "Effect of toy against classroom, by mechanism" in printed, "decomposition printed"
    assert (out / "explain" / "toy" / "results.sqlite").is_file(), "explain stored beside"
    paths = write_report(out)
    page = paths.html.read_text(encoding="utf-8")
    assert "Why does toy work? Its effect by mechanism" in page, "the section in the compare report"
    assert any(p.name.startswith("explain_") for p in paths.figures), "a waterfall figure"
    from analysis.answer import key_assumptions

    found, _ = key_assumptions(load_results(out), ["resolution_time_median_days"])
    # resolution time is additive in the two mechanisms (A·x1 + B·x2, no interaction): their
    # carried shares add up to the whole effect, the larger one first
    assert [a.factor for a in found] == [
        "routing.direct_dispatch",
        "routing.review_hours_multiplier",
    ], found
    assert sum(a.weight for a in found) == pytest.approx(1.0, abs=0.02), found
    assert "microgov explain" in page and "direct_dispatch carries" in page, "rests on"
    again = main(
        [
            "compare",
            str(experiment),
            "--workers",
            "1",
            "--out",
            str(out),
            "--no-progress",
            "--resume",
        ]
    )
    assert again == 0 and "(0 run now" in capsys.readouterr().out, "resume runs nothing twice"


# ---------------------------------------------------------------------- the command line
def test_mechanisms_command_lists_the_toy(tmp_path, monkeypatch, capsys):
    """`microgov mechanisms` lists a registered toy policy's mechanisms, and a scenario's."""
    monkeypatch.setitem(registry._REGISTRIES["routing"], "toy", explain_toys.ToyReformRouting)
    assert main(["mechanisms", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    toy = {(r["kind"], r["mechanism"]): r for r in rows if r["kind"] == "toy"}
    assert set(toy) == {("toy", "direct_dispatch"), ("toy", "review_speedup")}
    speedup = toy[("toy", "review_speedup")]
    assert (speedup["parameter"], speedup["neutral"], speedup["default"], speedup["source"]) == (
        "review_hours_multiplier",
        1.0,
        0.5,
        "assumption",
    )
    reform = _scenario(tmp_path, "toy", f'[routing]\nkind = "{TOY}"\n')
    assert main(["mechanisms", str(reform), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("scenario,family,kind,mechanism,parameter,neutral"), lines[0]
    assert any("routing.review_hours_multiplier,1.0,0.5," in line for line in lines), (
        "dotted path, neutral value and the scenario's value"
    )
    assert main(["mechanisms", str(reform)]) == 0
    assert "review_speedup" in capsys.readouterr().out, "the table format lists it too"


def test_unknown_scenario_is_an_error(capsys):
    """An unknown scenario is a clear error, not a traceback."""
    assert main(["explain", "no_such_reform", "--against", "classroom"]) == 2
    err = capsys.readouterr().err
    assert "no such scenario file" in err and "Traceback" not in err, err


def test_nothing_to_decompose(tmp_path, capsys):
    """A reform whose policy declares no mechanism and changes no setting has nothing to decompose."""
    plain = _scenario(tmp_path, "plain", '[routing]\nkind = "explain_toys:PlainRouting"\n')
    status = main(["explain", str(plain), "--against", "classroom", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "nothing to decompose:" in err and "routing.kind" in err, err
    assert not (tmp_path / "o").exists(), "no results folder made"
    assert main(["explain", "classroom", "--against", "classroom"]) == 2
    assert "same parameters" in capsys.readouterr().err, "a scenario against itself"


def test_compare_explain_names_checked(tmp_path):
    """An experiment file's explain list must name a compared scenario other than the reference."""
    path = tmp_path / "c.toml"
    path.write_text(
        textwrap.dedent(f"""\
            name = "c"
            kind = "compare"
            explain = ["classroom"]
            [[scenarios]]
            path = "{SCENARIOS_FOLDER / "classroom.toml"}"
            """),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"explain\[0\]: 'classroom' is not one of the compared"):
        load_experiment(path)
