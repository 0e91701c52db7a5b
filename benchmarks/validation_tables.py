"""The tables of docs/validation.md from a results folder of experiments/validation.toml.

    python benchmarks/validation_tables.py results/validation

Levels per scenario (mean ± 95 % t half-width over replications), baseline utilisation
per department, and paired differences against the baseline on common seeds.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ORDER = (
    "baseline_calibrated",  # the reference (experiments/validation.toml)
    "integrated",
    "reform_whistle",
    "reform_immediate",
    "reform_grid_first",
    "reform_sinking",
    "reform_digital",
)
OUTCOMES = (
    ("resolution_share", "Resolution", 100),
    ("satisfaction_share", "Satisfaction", 100),
    ("on_time_share", "On time", 100),
    ("resolution_time_median_days", "Median time (days)", 1),
    ("resolution_time_p90_days", "p90 time (days)", 1),
    ("requests_per_resident_per_year", "Requests / resident / year", 1),
    ("returns_per_case", "Returns per case", 1),
    ("parked_share", "Parked (挂账)", 100),
    ("repeat_contact_share", "Repeat contacts", 100),
    ("department_utilisation_max", "Busiest department", 100),
)


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and 95 % t half-width of the finite values."""
    v = np.array([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean()), float(half)


def cell(mean: float, half: float, scale: float, signed: bool = False) -> str:
    digits = 2 if scale == 1 else 1
    sign = "+" if signed else ""
    return f"{mean * scale:{sign}.{digits}f} ± {half * scale:.{digits}f}"


def main(folder: str) -> None:
    connection = sqlite3.connect(f"file:{Path(folder) / 'results.sqlite'}?mode=ro", uri=True)
    rows = connection.execute(
        "select r.scenario, r.replication, o.outcome, o.value "
        "from outcomes o join runs r using (run_key) where r.status = 'ok'"
    ).fetchall()
    data: dict[str, dict[str, dict[int, float]]] = {}
    for scenario, replication, outcome, value in rows:
        data.setdefault(scenario, {}).setdefault(outcome, {})[replication] = value
    order = [s for s in ORDER if s in data]
    print("| outcome | " + " | ".join(order) + " |")
    print("|---" * (len(order) + 1) + "|")
    for key, label, scale in OUTCOMES:
        cells = [cell(*interval(list(data[s].get(key, {}).values())), scale) for s in order]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    base = data[ORDER[0]]
    print("| department | utilisation (baseline) |\n|---|---|")
    for key in sorted(base):
        if key.startswith("department_utilisation_") and key != "department_utilisation_max":
            name = key.removeprefix("department_utilisation_")
            print(f"| {name} | {cell(*interval(list(base[key].values())), 100)} |")
    print()
    print("| reform − baseline (paired) | " + " | ".join(order[1:]) + " |")
    print("|---" * len(order) + "|")
    for key, label, scale in OUTCOMES[:6]:
        cells = []
        for scenario in order[1:]:
            mine = data[scenario].get(key, {})
            pairs = [
                mine[r] - base[key][r]
                for r in base.get(key, {})
                if mine.get(r) is not None and base[key][r] is not None
            ]
            cells.append(cell(*interval(pairs), scale, signed=True))
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/validation")
