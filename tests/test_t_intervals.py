"""The t intervals of ``compare``'s closing table and of the precision target, computed
without importing ``scipy.stats`` (issue 11, sixteenth round; docs/design.md "A quick start
and a quick exit"): the same numbers as ``scipy.stats.t.ppf`` gave, and no ``scipy.stats``
loaded by either."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import standins
from scipy import stats

from app.console import format_value
from app.experiment_commands import _means_text
from experiments.experiment_files import load_experiment
from experiments.runner import precision_status, run_experiment
from experiments.store import ResultStore

ROOT = Path(__file__).resolve().parents[1]
PRECISION = """\
[precision]
outcomes = ["resolution_time_median_days"]
target = 0.5
confidence = 0.9
relative = false
batch = 1
max_replications = 4
"""


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A compare experiment of the stand-in runs (four replications), and its results folder."""
    folder = tmp_path_factory.mktemp("t_intervals")
    path = standins.write_experiment(
        folder, "t", standins.compare_text(name="t", replications=4, extra=PRECISION)
    )
    run_experiment(path, folder / "out", workers=1, run_fn=standins.fake_run)
    return path, folder / "out"


def _values(out: Path, point: str, outcome: str) -> pd.Series:
    """The stored values, as the closing table and the precision check read them."""
    with ResultStore.open(out) as store:
        table = store.outcome_table([outcome])
    rows = table[(table["point_id"] == point) & (table["outcome"] == outcome)]
    return rows["value"][np.isfinite(rows["value"])]


def _classroom_compare(
    folder: Path,
    name: str,
    variants: dict[str, str],
    replications: int,
    days: int,
    reference: bool = True,
) -> Path:
    """A compare file of the classroom (its reference, named by ``reference = `` when asked)
    against copies of it, ``variants``: name → routing kind; its outcome on_time_share."""
    classroom = (ROOT / "scenarios" / "classroom.toml").as_posix()
    text = (
        f'name = "{name}"\nkind = "compare"\nseed = 5\nreplications = {replications}\n'
        f"days = {days}\n"
        + ('reference = "classroom"\n' if reference else "")
        + 'outcomes = ["on_time_share"]\n'
        + f'[[scenarios]]\npath = "{classroom}"\n'
    )
    for variant, routing in variants.items():
        text += (
            f'[[scenarios]]\npath = "{classroom}"\nname = "{variant}"\n'
            f'[scenarios.overrides]\n"routing.kind" = "{routing}"\n'
        )
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_closing_table_intervals_are_scipy_stats_t_intervals(stored: tuple[Path, Path]) -> None:
    """Each line's interval is mean ± t.ppf(0.975, n − 1)·s/√n, as printed before the change."""
    _, out = stored
    outcome = "resolution_time_median_days"
    text = _means_text(out, [outcome], {"tiny": "", "tiny_integrated": ""})
    for point in ("tiny", "tiny_integrated"):
        values = _values(out, point, outcome)
        n = len(values)
        assert n == 4
        mean = float(values.mean())
        half = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
        expected = f"[{format_value(outcome, mean - half)}, {format_value(outcome, mean + half)}]"
        line = next(li for li in text.splitlines() if li.strip().startswith(point + " "))
        assert expected in line, (expected, line)


def test_closing_table_paired_differences_are_the_report_s(tmp_path: Path) -> None:
    """With a reference, the closing table gives each other point's paired difference and
    interval as the report computes them (analysis.statistics.paired_differences), on real
    runs whose differences vary from seed to seed."""
    from analysis.formatting import format_effect
    from analysis.results import Results
    from analysis.statistics import paired_differences

    path = _classroom_compare(tmp_path, "paired", {"integrated": "integrated"}, 3, 20)
    out = tmp_path / "out"
    run_experiment(path, out, workers=1)
    outcome = "on_time_share"
    text = _means_text(out, [outcome], {"classroom": "", "integrated": ""}, "classroom")
    row = paired_differences(Results(out).outcomes(), "classroom", [outcome]).iloc[0]
    assert row["ci_high"] > row["ci_low"], "the differences vary: an interval of some width"
    level = float(_values(out, "classroom", outcome).mean())
    expected = format_effect(outcome, row["difference"], row["ci_low"], row["ci_high"], level)
    lines = text.splitlines()
    block = lines.index("    difference from classroom (paired on common seeds) [95 % interval]")
    assert lines[block + 1].split() == ["integrated", *expected.split(), "(pairs", "=", "3)"], (
        expected,
        lines[block + 1],
    )


def test_precision_half_widths_are_scipy_stats_t_half_widths(stored: tuple[Path, Path]) -> None:
    """The precision target's half-widths are t.ppf(0.5 + c/2, n − 1)·s/√n, bit for bit."""
    path, out = stored
    experiment = load_experiment(path)
    with ResultStore.open(out) as store:
        status = precision_status(store, experiment, 4)
    assert status["rows"], status
    for row in status["rows"]:
        values = _values(out, row["point_id"], row["outcome"])
        n = len(values)
        expected = float(stats.t.ppf(0.5 + 0.9 / 2, n - 1)) * float(values.std(ddof=1))
        assert row["half_width"] == expected / math.sqrt(n)


def test_neither_interval_imports_scipy_stats(stored: tuple[Path, Path]) -> None:
    """In a fresh interpreter the closing table and the precision check load no ``scipy.stats``
    (≈ 0.45 s of every ``compare``'s end before)."""
    path, out = stored
    code = (
        "import sys\n"
        "from app.experiment_commands import _means_text\n"
        "from experiments.experiment_files import load_experiment\n"
        "from experiments.runner import precision_status\n"
        "from experiments.store import ResultStore\n"
        f"_means_text(__import__('pathlib').Path({str(out)!r}), "
        "['resolution_time_median_days'], {'tiny': '', 'tiny_integrated': ''}, 'tiny')\n"
        f"with ResultStore.open({str(out)!r}) as store:\n"
        f"    precision_status(store, load_experiment({str(path)!r}), 4)\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_closing_table_columns_hold_a_long_scenario_name(tmp_path: Path) -> None:
    """A scenario's name longer than the name column widens it: the name keeps a space
    before its numbers, and each block's numbers start in one column for every point."""
    long_name = "integrated_dispatch_with_a_long_name"
    variants = {long_name: "integrated", "whistle": "whistle"}
    path = _classroom_compare(tmp_path, "wide", variants, 2, 5)
    out = tmp_path / "out"
    run_experiment(path, out, workers=1)
    names = ("classroom", long_name, "whistle")
    text = _means_text(out, ["on_time_share"], dict.fromkeys(names, ""), "classroom")
    lines = text.splitlines()
    block = lines.index("    difference from classroom (paired on common seeds) [95 % interval]")
    means = [li for li in lines[:block] if li.strip().split(" ")[0] in names]
    paired = lines[block + 1 :]
    assert len(means) == 3 and len(paired) == 2, text

    def after_name(line: str) -> int:
        """Where the text after the line's name and its padding starts."""
        name = line.split()[0]
        assert line.strip().startswith(name + " "), line
        end = line.index(name) + len(name)
        return end + len(line[end:]) - len(line[end:].lstrip())

    # the means' numbers right-aligned in one column: their intervals start in one column
    assert len({li.index("[") for li in means}) == 1, text
    assert len({after_name(li) for li in paired}) == 1, text
    for line in means:  # each mean's name keeps a space before its number
        after_name(line)


def test_closing_table_pairs_against_the_first_scenario_when_none_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A compare file without ``reference =`` is paired against its first scenario, as the
    report pairs it: the compare command's closing table gives that paired block too."""
    from app.cli import main

    path = _classroom_compare(
        tmp_path, "unnamed", {"integrated": "integrated"}, 2, 5, reference=False
    )
    out = tmp_path / "out"
    assert main(["compare", str(path), "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "    difference from classroom (paired on common seeds) [95 % interval]" in printed, (
        printed
    )
    assert "(pairs = 2)" in printed, printed
