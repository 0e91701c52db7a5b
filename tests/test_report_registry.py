"""The outcome registry (model/outcomes.py) covers every outcome a run reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from experiments.runs import run_single
from experiments.scenario_files import load_scenario
from model.outcomes import (
    DISPLAYS,
    GROUPS,
    OUTCOME_FAMILIES,
    OUTCOME_NAMES,
    OUTCOMES,
    find_outcome,
    outcome,
    outcome_registry_json,
)

CLASSROOM = Path(__file__).resolve().parents[1] / "scenarios" / "classroom.toml"


@pytest.fixture(scope="module")
def classroom_summary() -> dict[str, float]:
    """The summary of the classroom scenario after a few simulated days."""
    return run_single(load_scenario(CLASSROOM), seed=3, days=6).summary


def test_every_summary_key_has_a_registry_entry(classroom_summary: dict[str, float]) -> None:
    """Each key of a real run's summary resolves to an outcome registry entry."""
    missing = [name for name in classroom_summary if find_outcome(name) is None]
    assert not missing, (
        "summary keys without an entry in the outcome registry (add them to "
        f"model/outcomes.py OUTCOMES or OUTCOME_FAMILIES): {', '.join(missing)}"
    )


def test_every_fixed_outcome_is_in_the_summary(classroom_summary: dict[str, float]) -> None:
    """OUTCOME_NAMES, derived from the registry, lists only keys a run reports."""
    absent = [name for name in OUTCOME_NAMES if name not in classroom_summary]
    assert not absent, f"registry outcomes a run does not report: {absent}"


def test_entries_are_well_formed() -> None:
    """Every entry names a known group and display, a positive threshold and a direction."""
    for entry in OUTCOMES:
        assert entry.group in GROUPS, f"{entry.name}: group {entry.group!r}"
        assert entry.display in DISPLAYS, f"{entry.name}: display {entry.display!r}"
        assert entry.threshold > 0, f"{entry.name}: threshold {entry.threshold}"
        assert entry.direction in ("higher", "lower", None), f"{entry.name}: {entry.direction}"
        assert entry.label and entry.chinese and entry.unit, f"{entry.name}: empty text"
        if entry.name.endswith("_days"):
            assert entry.display == "duration", f"{entry.name} is a duration"
        if entry.name.endswith("_share"):
            assert entry.display == "share", f"{entry.name} is a share"
    assert len(OUTCOME_NAMES) == len(set(OUTCOME_NAMES)), "names are unique"


@pytest.mark.parametrize(
    ("name", "label", "chinese"),
    [
        ("resolution_time_p90_days_help", "Resolution time, 90th percentile — help cases", "求助"),
        ("participation_share_age_70_plus", "Participation, age 70+", "70+"),
        ("participation_share_age_18_29", "Participation, age 18–29", "18–29"),
        ("department_utilisation_urban_management", "Staff busy — urban management", "负荷率"),
    ],
)
def test_families_match_by_pattern(name: str, label: str, chinese: str) -> None:
    """Per-type, per-age-group and per-department outcomes resolve through their family."""
    entry = outcome(name)
    assert entry.name == name and entry.label == label, f"{name} → {entry.label!r}"
    assert chinese in entry.chinese, f"{name} → {entry.chinese!r}"


def test_unknown_outcome_error_names_it() -> None:
    """An unknown outcome raises a KeyError naming it and the file to extend."""
    with pytest.raises(KeyError, match=r"'wait_time_days'.*model/outcomes.py"):
        outcome("wait_time_days")
    assert find_outcome("department_utilisation_") is None, "a family needs a key"


def test_registry_json_round_trips() -> None:
    """The JSON export holds every entry and family, with patterns JavaScript can use."""
    data = json.loads(json.dumps(outcome_registry_json(), ensure_ascii=False))
    assert [o["name"] for o in data["outcomes"]] == list(OUTCOME_NAMES)
    assert len(data["families"]) == len(OUTCOME_FAMILIES)
    for family in data["families"]:
        python_pattern = family["pattern"].replace("(?<", "(?P<")
        assert re.fullmatch(python_pattern, family["example"]), family["pattern"]
        assert "(?P<" not in family["pattern"], "JavaScript named groups are (?<name>…)"
