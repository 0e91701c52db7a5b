"""Golden summaries: seeded runs still give the stored outcomes (tests/golden_summaries.py).

On a failure after an intentional behaviour change: ``python tests/golden/update.py``,
commit the new goldens and explain in the commit which outcomes moved and why.
"""

from __future__ import annotations

import math
import warnings

import golden_summaries as golden
import pytest
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize("case", golden.CASES, ids=lambda case: case.name)
def test_seeded_run_matches_its_golden(case: golden.GoldenCase) -> None:
    """Re-running a golden case gives its stored summary, outcome by outcome, within the tolerance."""
    assert case.path.is_file(), f"{case.path} missing: run python tests/golden/update.py"
    differences = golden.compare(golden.read(case), golden.compute(case))
    if differences.added:
        warnings.warn(
            f"{case.name}: outcomes not in the golden (regenerate after merging): "
            f"{', '.join(differences.added)}",
            stacklevel=1,
        )
    assert not differences.behaviour_changed, (
        f"{case.name} ({case.scenario}, seed {case.seed}, {case.days} days) no longer matches "
        f"its golden (tolerance {golden.RELATIVE_TOLERANCE:g} relative):\n"
        f"{differences.describe()}\n"
        "If the change is intended: python tests/golden/update.py, and explain it in the commit."
    )


def test_goldens_hold_finite_counts() -> None:
    """Every golden stores a run that produced cases (a golden of an empty run would guard nothing)."""
    for case in golden.CASES:
        summary = golden.read(case)
        assert summary["cases_generated"] > 100, case.name
        assert summary["cases_closed"] > 0, case.name


def test_compare_names_changed_missing_and_added_outcomes() -> None:
    """A moved value, a dropped outcome and a new one are each reported under their own name."""
    old = {"a": 1.0, "b": 2.0, "c": float("nan"), "gone": 3.0}
    new = {"a": 1.0, "b": 2.0 + 1e-6, "c": float("nan"), "fresh": 4.0}
    differences = golden.compare(old, new)
    assert set(differences.changed) == {"b"}
    assert differences.missing == ("gone",)
    assert differences.added == ("fresh",)
    assert differences.behaviour_changed
    text = differences.describe()
    assert "changed b" in text and "missing gone" in text and "added fresh" in text


def test_added_outcome_alone_is_not_a_behaviour_change() -> None:
    """Only new outcomes, the old ones unchanged: reported, but not a change of behaviour."""
    differences = golden.compare({"a": 1.0}, {"a": 1.0, "new": 2.0})
    assert not differences.behaviour_changed and differences.added == ("new",)


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.floats(min_value=-1e-11, max_value=1e-11),
)
def test_reordered_sum_noise_is_within_tolerance(value: float, noise: float) -> None:
    """A relative perturbation of 1e-11 (far above float reordering noise) counts as the same."""
    assert golden.same(value, value * (1.0 + noise))


@given(st.floats(min_value=1.0, max_value=1e8), st.integers(min_value=1, max_value=1000))
def test_one_case_more_is_a_change(total: float, delta: int) -> None:
    """A count that moves by a whole unit (counts up to 1e8, ten times the tolerance) is a change."""
    count = math.floor(total)
    assert not golden.same(float(count), float(count + delta))


def test_golden_file_round_trips_nan_and_infinity(tmp_path, monkeypatch) -> None:
    """NaN and infinite outcomes are stored as strings and read back as the same floats."""
    monkeypatch.setattr(golden, "GOLDEN_FOLDER", tmp_path)
    case = golden.GoldenCase("toy", "classroom", seed=1, days=1)
    stored = {"x": float("nan"), "y": float("inf"), "z": 0.1 + 0.2}
    golden.write(case, stored)
    read = golden.read(case)
    assert math.isnan(read["x"]) and read["y"] == math.inf and read["z"] == 0.1 + 0.2


def test_golden_of_another_case_is_refused(tmp_path, monkeypatch) -> None:
    """A golden written for another seed is refused with the file and field named."""
    monkeypatch.setattr(golden, "GOLDEN_FOLDER", tmp_path)
    golden.write(golden.GoldenCase("toy", "classroom", seed=1, days=1), {"x": 1.0})
    with pytest.raises(ValueError, match=r"toy\.json: field 'seed'"):
        golden.read(golden.GoldenCase("toy", "classroom", seed=2, days=1))
