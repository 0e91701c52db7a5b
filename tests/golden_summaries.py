"""Golden summaries: the outcomes of a few seeded runs, stored to catch behaviour changes.

Each golden case is a shipped scenario run with a fixed seed for a fixed number of
measured days (after the scenario's own warm-up); its summary (every outcome of
``RunOutput.summary``) is stored in ``tests/golden/<case>.json``.
``tests/test_golden_summaries.py`` re-runs every case and compares with
:func:`compare`:

- an outcome stored in the golden and missing now, or whose value moved beyond the
  tolerance, is a **change** (the test fails and names each one);
- an outcome that is new (not in the golden) is **added**: reported as a warning, not a
  failure, so that a new outcome that leaves the others unchanged does not block a merge
  (the goldens are regenerated after the merge anyway).

Tolerance: values equal within ``RELATIVE_TOLERANCE`` of the larger magnitude (or within
``ABSOLUTE_TOLERANCE`` near zero), NaN equal to NaN. 1e-9 is far above the rounding
noise of reordering a floating-point sum (≈1e-16 per term, ≈1e-12 for a million terms)
and far below any real change: one case more or less among 40,000 moves a count by
2.5e-5.

Regenerate after an intentional behaviour change with one command, and explain the
difference in the commit message::

    python tests/golden/update.py            # every case
    python tests/golden/update.py --check    # only compare, print the differences
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOLDEN_FOLDER = Path(__file__).resolve().parent / "golden"
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-12
FORMAT = "microgov-golden/1"


@dataclass(frozen=True)
class GoldenCase:
    """One seeded run whose summary is stored."""

    name: str
    scenario: str  # a shipped scenario, by name (scenarios/<scenario>.toml)
    seed: int
    days: int  # measured days, after the scenario's warm-up

    @property
    def path(self) -> Path:
        """Where its golden summary is stored."""
        return GOLDEN_FOLDER / f"{self.name}.json"


# Classroom (small, every practice of the default street), the street baseline
# (pre-reform routing at the scale of the demo) and one reform (接诉即办 with the
# ranking regime: direct dispatch, lead responsibility, league-table pressure).
CASES: tuple[GoldenCase, ...] = (
    GoldenCase("classroom_60d", "classroom", seed=11, days=60),
    GoldenCase("baseline_60d", "baseline", seed=11, days=60),
    GoldenCase("reform_immediate_60d", "reform_immediate", seed=11, days=60),
)


def compute(case: GoldenCase) -> dict[str, float]:
    """Run the case and return its summary (outcome → float)."""
    from experiments.runs import run_single
    from experiments.scenario_files import load_scenario, resolve_scenario_path

    scenario = load_scenario(resolve_scenario_path(case.scenario))
    output = run_single(scenario, case.seed, days=case.days)
    return {str(name): float(value) for name, value in output.summary.items()}


def _encode(value: float) -> float | str:
    """JSON has no NaN or infinity: store them as strings."""
    return value if math.isfinite(value) else repr(value)


def _decode(value: float | str) -> float:
    return float(value)


def write(case: GoldenCase, summary: Mapping[str, float]) -> Path:
    """Store ``summary`` as the case's golden (sorted keys, full float precision)."""
    document = {
        "format": FORMAT,
        "case": case.name,
        "scenario": case.scenario,
        "seed": case.seed,
        "days": case.days,
        "regenerate": "python tests/golden/update.py",
        "summary": {name: _encode(summary[name]) for name in sorted(summary)},
    }
    case.path.parent.mkdir(parents=True, exist_ok=True)
    case.path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return case.path


def read(case: GoldenCase) -> dict[str, float]:
    """The case's stored summary.

    Raises:
        FileNotFoundError: the golden was never written (run the update script).
        ValueError: the file is not a golden of this case.
    """
    document: dict[str, Any] = json.loads(case.path.read_text("utf-8"))
    if document.get("format") != FORMAT:
        raise ValueError(f"{case.path}: not a {FORMAT} file (field 'format')")
    for key in ("scenario", "seed", "days"):
        if document.get(key) != getattr(case, key):
            raise ValueError(
                f"{case.path}: field {key!r} is {document.get(key)!r} but the case says "
                f"{getattr(case, key)!r}; regenerate with python tests/golden/update.py"
            )
    return {name: _decode(value) for name, value in document["summary"].items()}


def same(expected: float, actual: float) -> bool:
    """Equal within the stated tolerance (NaN equals NaN; infinities must match exactly)."""
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    if math.isinf(expected) or math.isinf(actual):
        return expected == actual
    return math.isclose(expected, actual, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


@dataclass(frozen=True)
class Differences:
    """How a summary differs from its golden."""

    changed: dict[str, tuple[float, float]]  # outcome → (golden, now)
    missing: tuple[str, ...]  # in the golden, not produced now
    added: tuple[str, ...]  # produced now, not in the golden

    @property
    def behaviour_changed(self) -> bool:
        """A changed or a missing outcome (added ones alone do not count)."""
        return bool(self.changed or self.missing)

    def describe(self) -> str:
        """One line per difference, for people."""
        lines = []
        for name, (old, new) in sorted(self.changed.items()):
            if math.isfinite(old) and math.isfinite(new) and old != 0:
                moved = f" ({(new - old) / abs(old):+.3g} relative)"
            else:
                moved = ""
            lines.append(f"  changed {name}: golden {old!r}, now {new!r}{moved}")
        lines += [f"  missing {name} (in the golden, not produced now)" for name in self.missing]
        lines += [f"  added {name} (not in the golden)" for name in self.added]
        return "\n".join(lines)


def compare(expected: Mapping[str, float], actual: Mapping[str, float]) -> Differences:
    """Outcome by outcome: which changed beyond the tolerance, which are missing or added."""
    changed = {
        name: (expected[name], actual[name])
        for name in expected
        if name in actual and not same(expected[name], actual[name])
    }
    return Differences(
        changed=changed,
        missing=tuple(sorted(set(expected) - set(actual))),
        added=tuple(sorted(set(actual) - set(expected))),
    )
