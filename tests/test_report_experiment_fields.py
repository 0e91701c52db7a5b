"""The experiment-file keys the report answers with: question, main_outcomes, thresholds,
sensitivity_results (validated once, at the boundary)."""

from __future__ import annotations

from pathlib import Path

import pytest
import standins

from experiments.errors import InputError
from experiments.experiment_files import load_experiment

FIELDS = """\
question = "Which routing closes cases sooner?"
main_outcomes = ["resolution_time_median_days", "participation_share_age_70_plus"]
sensitivity_results = "../results/sobol"
[thresholds]
resolution_time_median_days = 1.0
"""


def _error(tmp_path: Path, extra: str) -> str:
    path = standins.write_experiment(tmp_path, "bad", standins.compare_text(extra=extra))
    with pytest.raises(InputError) as info:
        load_experiment(path)
    return str(info.value)


def test_report_keys_are_read(tmp_path: Path) -> None:
    """Question, main outcomes (families included), thresholds and the folder are kept."""
    path = standins.write_experiment(tmp_path, "ok", standins.compare_text(extra=FIELDS))
    spec = load_experiment(path).spec
    assert spec.question == "Which routing closes cases sooner?"
    assert spec.main_outcomes == [
        "resolution_time_median_days",
        "participation_share_age_70_plus",
    ]
    assert spec.thresholds == {"resolution_time_median_days": 1.0}
    assert spec.sensitivity_results == "../results/sobol"


def test_unknown_main_outcome_is_named(tmp_path: Path) -> None:
    """A misspelt main outcome is an error naming the file, the key and a suggestion."""
    message = _error(tmp_path, 'main_outcomes = ["on_time_shar"]\n')
    assert "bad.toml" in message and "main_outcomes[0]" in message, message
    assert "'on_time_share'" in message, f"no suggestion in {message!r}"


def test_thresholds_must_be_known_and_positive(tmp_path: Path) -> None:
    """A threshold for an unknown outcome, or one that is not positive, is rejected."""
    message = _error(tmp_path, "[thresholds]\nwait_days = 1.0\n")
    assert "thresholds.wait_days" in message, message
    message = _error(tmp_path, "[thresholds]\non_time_share = 0\n")
    assert "thresholds" in message and "on_time_share" in message, message


def test_at_most_four_main_outcomes(tmp_path: Path) -> None:
    """The summary box has room for four main outcomes; a fifth is an error."""
    five = ", ".join(
        f'"{n}"'
        for n in (
            "on_time_share",
            "trust_mean",
            "satisfaction_share",
            "returns_share",
            "participation_share",
        )
    )
    message = _error(tmp_path, f"main_outcomes = [{five}]\n")
    assert "main_outcomes" in message, message
