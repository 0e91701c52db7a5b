"""Small results folders written with sqlite3, following docs/design.md's store schema exactly.

The analysis tests must not depend on the experiments layer, so they build their own
folders here with known numbers. Every writer returns a :class:`FakeResults` holding the
values it stored, so statistics can be checked independently (e.g. with scipy).
Test modules wrap the writers in their own (module-scoped) fixtures.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model.outcomes import OUTCOME_NAMES, group_key, per_type_outcomes

SCHEMA_SQL = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE points(point_id TEXT PRIMARY KEY, scenario TEXT, parameters TEXT);
CREATE TABLE runs(run_key TEXT PRIMARY KEY, point_id TEXT, scenario TEXT, replication INTEGER,
                  seed TEXT, status TEXT, error TEXT, started_at TEXT, finished_at TEXT,
                  duration_s REAL, worker TEXT);
CREATE TABLE outcomes(run_key TEXT, outcome TEXT, value REAL, PRIMARY KEY (run_key, outcome));
CREATE TABLE timeseries(run_key TEXT, day INTEGER, variable TEXT, value REAL,
                        PRIMARY KEY (run_key, day, variable));
CREATE TABLE distributions(run_key TEXT, variable TEXT, bin_upper REAL, count INTEGER,
                           PRIMARY KEY (run_key, variable, bin_upper));
CREATE TABLE sensitivity(method TEXT, outcome TEXT, factor TEXT, index_name TEXT, value REAL,
                         conf REAL);
"""

AGE_GROUPS = ("18-29", "30-49", "50-69", "70+")
PARTICIPATION_GROUPS = (
    *(f"participation_share_age_{group_key(g)}" for g in AGE_GROUPS),
    "participation_share_party_member",
    "participation_share_non_member",
)
# run facts (the warm-up and the measured days) are not outcomes to draw at random
RUN_FACTS = ("warmup_days", "measured_days")
ALL_OUTCOMES = tuple(
    name
    for name in dict.fromkeys((*OUTCOME_NAMES, *per_type_outcomes(), *PARTICIPATION_GROUPS))
    if name not in RUN_FACTS
)
RESOLUTION_VARIABLE = "resolution_time_days"
BIN_UPPERS = (0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, math.inf)
DAILY_VARIABLES = ("backlog", "cases_reported", "cases_closed", "trust_mean")
ROOT_SEED = 20260101


@dataclass
class FakeResults:
    """A results folder written by this module and the numbers stored in it."""

    path: Path
    kind: str
    scenarios: tuple[str, ...]
    reference: str | None
    replications: int
    outcomes: tuple[str, ...]
    # (point_id, replication) -> outcome -> value, only for ok runs
    values: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    # point_id -> scenario / parameters
    point_scenario: dict[str, str] = field(default_factory=dict)
    point_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: tuple[tuple[str, int], ...] = ()
    # (point_id, replication) -> bin counts (aligned with BIN_UPPERS)
    histograms: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    sensitivity_rows: list[tuple[str, str, str, str, float, float | None]] = field(
        default_factory=list
    )

    def series(self, point_id: str, outcome: str) -> list[float]:
        """Values of ``outcome`` at ``point_id`` in replication order (ok runs only)."""
        keys = sorted(k for k in self.values if k[0] == point_id)
        return [self.values[k][outcome] for k in keys]


def _outcome_value(name: str, level: float, noise: float) -> float:
    """A plausible value for ``name``: shares stay in [0, 1], counts and times positive."""
    if name.endswith("_share") or "participation_share" in name or name == "representativeness":
        return float(min(max(0.3 + 0.1 * level + 0.05 * noise, 0.0), 1.0))
    if name == "trust_mean":
        return float(min(max(0.5 + 0.05 * level + 0.02 * noise, 0.0), 1.0))
    if name == "trust_change":
        return float(0.02 * level + 0.01 * noise)
    return float(max(10.0 + 3.0 * level + 1.5 * noise, 0.01))


def _manifest(
    name: str,
    kind: str,
    scenarios: dict[str, dict[str, Any]],
    replications: int,
    reference: str | None = None,
    points: int = 0,
    text: str = "",
) -> dict:
    """A manifest shaped like experiments/runner.py's ``_start_manifest``."""
    return {
        "format": "microgov-results/1",
        "experiment": {
            "name": name,
            "kind": kind,
            "file": f"/work/main/experiments/{name}.toml",
            "sha256": "ab" * 32,
            "text": text,
        },
        "scenarios": scenarios,
        "points": points,
        "reference": reference,
        "seeds": {
            "root": ROOT_SEED,
            "replications": replications,
            "rule": "replication i uses numpy.random.SeedSequence(root, spawn_key=(i,))",
        },
        "packages": {"python": "3.12.7", "microgov": "0.1.0", "mesa": "3.5.1", "numpy": "2.3.0"},
        "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": False},
        "machine": {"host": "testhost", "platform": "Linux-x86_64", "cpus": 2},
        "started_at": "2026-11-28T04:00:00.000+00:00",
        "finished_at": "2026-11-28T04:05:00.000+00:00",
        "sessions": [
            {
                "started_at": "2026-11-28T04:00:00.000+00:00",
                "finished_at": "2026-11-28T04:05:00.000+00:00",
                "status": "finished",
                "executor": "process pool",
                "workers": 2,
            }
        ],
    }


def _meta(name: str, kind: str, replications: int, outcomes: Sequence[str], **extra: Any) -> dict:
    """Meta keys shaped like experiments/runner.py's ``_write_meta``."""
    return {
        "schema_version": "1",
        "name": name,
        "kind": kind,
        "description": f"Test {kind} experiment",
        "file_hash": "ab" * 32,
        "experiment_file": f"experiments/{name}.toml",
        "root_seed": ROOT_SEED,
        "seed_rule": "numpy.random.SeedSequence(root_seed, spawn_key=(replication,))",
        "replications_initial": replications,
        "replications": replications,
        "days": None,
        "outcomes": list(outcomes),
        "precision": None,
        "created_at": "2026-11-28T04:00:00.000+00:00",
        **extra,
    }


class _Writer:
    """Writes rows in the store's schema; one transaction per run, as the store does."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "exports").mkdir(exist_ok=True)
        self.folder = folder
        self.connection = sqlite3.connect(folder / "results.sqlite")
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.executescript(SCHEMA_SQL)

    def meta(self, values: dict[str, Any]) -> None:
        rows = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in values.items()]
        with self.connection:
            self.connection.executemany("INSERT INTO meta VALUES (?, ?)", rows)

    def point(self, point_id: str, scenario: str, parameters: dict[str, Any]) -> None:
        with self.connection:
            self.connection.execute(
                "INSERT INTO points VALUES (?, ?, ?)", (point_id, scenario, json.dumps(parameters))
            )

    def run(
        self,
        point_id: str,
        scenario: str,
        replication: int,
        outcomes: dict[str, float] | None,
        timeseries: dict[str, Sequence[float]] | None = None,
        histogram: Sequence[int] | None = None,
    ) -> None:
        run_key = f"{point_id}/r{replication:04d}"
        seed = json.dumps({"root": ROOT_SEED, "replication": replication}, sort_keys=True)
        failed = outcomes is None
        with self.connection:
            self.connection.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_key,
                    point_id,
                    scenario,
                    replication,
                    seed,
                    "failed" if failed else "ok",
                    "Traceback (most recent call last):\nValueError: boom" if failed else None,
                    "2026-11-28T04:00:00+00:00",
                    "2026-11-28T04:00:01+00:00",
                    1.0,
                    "worker-1",
                ),
            )
            if failed:
                return
            self.connection.executemany(
                "INSERT INTO outcomes VALUES (?, ?, ?)",
                [(run_key, name, value) for name, value in outcomes.items()],
            )
            for variable, series in (timeseries or {}).items():
                self.connection.executemany(
                    "INSERT INTO timeseries VALUES (?, ?, ?, ?)",
                    [(run_key, day, variable, float(v)) for day, v in enumerate(series)],
                )
            if histogram is not None:
                self.connection.executemany(
                    "INSERT INTO distributions VALUES (?, ?, ?, ?)",
                    [
                        (run_key, RESOLUTION_VARIABLE, upper, int(count))
                        for upper, count in zip(BIN_UPPERS, histogram, strict=True)
                    ],
                )

    def sensitivity(self, rows: list[tuple[str, str, str, str, float, float | None]]) -> None:
        with self.connection:
            self.connection.executemany("INSERT INTO sensitivity VALUES (?, ?, ?, ?, ?, ?)", rows)

    def close(self, manifest: dict[str, Any]) -> None:
        self.connection.close()
        (self.folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


# Merged scenario mappings as experiments.scenario_files.Scenario.raw holds them.
SCENARIO_RAW: dict[str, dict[str, Any]] = {
    "baseline": {"name": "baseline", "routing": {"kind": "hierarchical"}},
    "integrated": {"name": "integrated", "routing": {"kind": "integrated"}},
    "whistle": {
        "name": "whistle",
        "routing": {"kind": "whistle", "report_deadline_hours": 24},
        "offices": {"grid_workers_per_grid": 3},
    },
    "council": {
        "name": "council",
        "routing": {"kind": "hierarchical"},
        "consultation": {"kind": "council"},
    },
}


def write_compare(
    folder: Path,
    scenarios: Sequence[str] = ("baseline", "integrated", "whistle"),
    replications: int = 5,
    days: int = 20,
    failed: Sequence[tuple[str, int]] = (),
    outcomes_of_interest: Sequence[str] = (
        "resolution_time_mean_days",
        "on_time_share",
        "participation_share",
        "trust_mean",
    ),
    seed: int = 7,
    precision: dict[str, Any] | None = None,
    store_raw: bool = True,
    units: bool = False,
    experiment_keys: str = "",
    titles: dict[str, str] | None = None,
) -> FakeResults:
    """A compare experiment: scenarios × replications on common random numbers.

    Each scenario has its own level (0, -1, -2, …: later reforms resolve faster) and every
    replication shares a noise term across scenarios, as common random numbers would.
    ``experiment_keys`` is TOML added to the stored experiment text (question,
    main_outcomes, thresholds, sensitivity_results); ``titles`` sets scenarios' ``title``.
    """
    rng = np.random.default_rng(seed)
    writer = _Writer(folder)
    reference = scenarios[0]
    writer.meta(
        _meta(
            "compare_test",
            "compare",
            replications,
            outcomes_of_interest,
            reference=reference,
            precision=precision,
            scenarios=json.dumps({name: f"{i:016x}" for i, name in enumerate(scenarios)}),
        )
    )
    fake = FakeResults(
        path=folder,
        kind="compare",
        scenarios=tuple(scenarios),
        reference=reference,
        replications=replications,
        outcomes=tuple(outcomes_of_interest),
        failed=tuple(failed),
    )
    shared = rng.normal(size=(replications, len(ALL_OUTCOMES)))
    for scenario in scenarios:
        writer.point(scenario, scenario, {})
        fake.point_scenario[scenario] = scenario
        fake.point_parameters[scenario] = {}
    for s, scenario in enumerate(scenarios):
        own = rng.normal(scale=0.5, size=(replications, len(ALL_OUTCOMES)))
        for r in range(replications):
            if (scenario, r) in failed:
                writer.run(scenario, scenario, r, None)
                continue
            values = {
                name: _outcome_value(name, -float(s), shared[r, k] + own[r, k])
                for k, name in enumerate(ALL_OUTCOMES)
            }
            backlog = 50.0 - 5.0 * s + np.arange(days) * (1.0 - 0.2 * s) + rng.normal(size=days)
            series = {
                "backlog": backlog,
                "cases_reported": rng.poisson(20, size=days).astype(float),
                "cases_closed": rng.poisson(18, size=days).astype(float),
                "trust_mean": 0.5 + 0.001 * np.arange(days),
            }
            histogram = [int(c) for c in rng.poisson(np.linspace(30, 5, len(BIN_UPPERS)) / (1 + s))]
            writer.run(scenario, scenario, r, values, series, histogram)
            fake.values[(scenario, r)] = values
            fake.histograms[(scenario, r)] = histogram
    if units:
        _write_units(writer, fake, rng)
    descriptions: dict[str, dict[str, Any]] = {}
    for s, name in enumerate(scenarios):
        descriptions[name] = {"file": f"/work/main/scenarios/{name}.toml", "digest": f"{s:016x}"}
        if store_raw:
            raw = dict(SCENARIO_RAW.get(name, {"name": name}))
            if titles and name in titles:
                raw["title"] = titles[name]
            descriptions[name]["raw"] = raw
    text = "".join(f'[[scenarios]]\npath = "../scenarios/{name}.toml"\n' for name in scenarios)
    text = (
        f'name = "compare_test"\nkind = "compare"\nseed = {ROOT_SEED}\n'
        f"replications = {replications}\n{experiment_keys}\n" + text
    )
    writer.close(
        _manifest(
            "compare_test",
            "compare",
            descriptions,
            replications,
            reference=reference,
            points=len(scenarios),
            text=text,
        )
    )
    return fake


def _unit_rows() -> list[tuple[str, str, str | None, str]]:
    """(node, level, parent, name) of a tiny hierarchy: centre, 2 departments, 1 street,
    1 community, 3 grids."""
    rows: list[tuple[str, str, str | None, str]] = [("centre:0", "centre", None, "centre")]
    rows += [(f"department:{d}", "department", "centre:0", f"dept_{d}") for d in range(2)]
    rows += [("street:0", "street", "centre:0", "street 0")]
    rows += [("community:0", "community", "street:0", "community 0")]
    rows += [(f"grid:{g}", "grid", "community:0", f"grid {g}") for g in range(3)]
    return rows


def _write_units(writer: _Writer, fake: FakeResults, rng: np.random.Generator) -> None:
    """The proposed optional ``units`` table: end-of-run backlog and trust per unit."""
    with writer.connection:
        writer.connection.execute(
            "CREATE TABLE units(run_key TEXT, node TEXT, level TEXT, parent TEXT, name TEXT, "
            "variable TEXT, value REAL, PRIMARY KEY (run_key, node, variable))"
        )
        for point_id, replication in fake.values:
            run_key = f"{point_id}/r{replication:04d}"
            for node, level, parent, name in _unit_rows():
                for variable, value in (
                    ("backlog", float(rng.poisson(5))),
                    ("trust", float(rng.uniform(0.4, 0.6))),
                ):
                    writer.connection.execute(
                        "INSERT INTO units VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (run_key, node, level, parent, name, variable, value),
                    )


def write_sweep(
    folder: Path,
    factor: str = "offices.grid_workers_per_grid",
    levels: Sequence[float] = (1, 2, 3, 4),
    replications: int = 4,
    seed: int = 11,
) -> FakeResults:
    """A one-factor sweep: mean resolution time falls linearly with the factor."""
    rng = np.random.default_rng(seed)
    writer = _Writer(folder)
    outcomes = ("resolution_time_mean_days", "on_time_share", "backlog_mean")
    writer.meta(_meta("sweep_test", "sweep", replications, outcomes))
    fake = FakeResults(
        path=folder,
        kind="sweep",
        scenarios=("baseline",),
        reference=None,
        replications=replications,
        outcomes=outcomes,
    )
    shared = rng.normal(size=(replications, len(outcomes)))
    for i, level in enumerate(levels):
        point_id = f"p{i:04d}"
        parameters = {factor: level}
        writer.point(point_id, "baseline", parameters)
        fake.point_scenario[point_id] = "baseline"
        fake.point_parameters[point_id] = parameters
        for r in range(replications):
            values = {
                name: _outcome_value(name, -0.5 * float(level), shared[r, k])
                for k, name in enumerate(outcomes)
            }
            series = {"backlog": 40.0 - 3.0 * level + rng.normal(size=10)}
            writer.run(point_id, "baseline", r, values, series)
            fake.values[(point_id, r)] = values
    descriptions = {"baseline": {"file": "/work/main/scenarios/baseline.toml", "digest": "cd" * 8}}
    writer.close(_manifest("sweep_test", "sweep", descriptions, replications, points=len(levels)))
    return fake


def write_sensitivity(
    folder: Path,
    method: str = "sobol",
    factors: Sequence[str] = (
        "coordination.classification_accuracy",
        "offices.grid_workers_per_grid",
    ),
    points: int = 6,
    replications: int = 2,
    seed: int = 13,
) -> FakeResults:
    """A sensitivity experiment with stored Sobol (S1/ST) or Morris (mu_star/sigma/mu) rows."""
    rng = np.random.default_rng(seed)
    writer = _Writer(folder)
    outcomes = ("resolution_time_mean_days", "participation_share")
    writer.meta(
        _meta(
            f"{method}_test",
            "sensitivity",
            replications,
            outcomes,
            method=method,
            factors=[{"name": f, "lower": 0.5, "upper": 1.0} for f in factors],
        )
    )
    fake = FakeResults(
        path=folder,
        kind="sensitivity",
        scenarios=("baseline",),
        reference=None,
        replications=replications,
        outcomes=outcomes,
    )
    for i in range(points):
        point_id = f"s{i:05d}"
        parameters = {f: float(rng.uniform(0.5, 1.0)) for f in factors}
        writer.point(point_id, "baseline", parameters)
        fake.point_scenario[point_id] = "baseline"
        fake.point_parameters[point_id] = parameters
        for r in range(replications):
            values = {name: _outcome_value(name, 0.0, float(rng.normal())) for name in outcomes}
            writer.run(point_id, "baseline", r, values)
            fake.values[(point_id, r)] = values
    rows: list[tuple[str, str, str, str, float, float | None]] = []
    for o, outcome in enumerate(outcomes):
        for f, factor in enumerate(factors):
            if method == "sobol":
                s1 = 0.6 - 0.4 * f + 0.05 * o
                rows.append(("sobol", outcome, factor, "S1", s1, 0.05))
                rows.append(("sobol", outcome, factor, "ST", s1 + 0.1, 0.04))
            else:
                mu_star = 3.0 - 2.0 * f + o
                rows.append(("morris", outcome, factor, "mu_star", mu_star, 0.3))
                rows.append(("morris", outcome, factor, "sigma", mu_star / 2, None))
                rows.append(("morris", outcome, factor, "mu", -mu_star, None))
    writer.sensitivity(rows)
    fake.sensitivity_rows = rows
    # An added table the runner writes beside the contract's (experiments/runner.py).
    with writer.connection:
        writer.connection.execute(
            "CREATE TABLE sensitivity_noise(outcome TEXT PRIMARY KEY, points INTEGER, "
            "replications REAL, within_variance REAL, between_variance REAL, noise_share REAL, "
            "noise_share_of_point_means REAL, note TEXT)"
        )
        writer.connection.executemany(
            "INSERT INTO sensitivity_noise VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(o, points, replications, 0.1, 0.9, 0.1, 0.05, "") for o in outcomes],
        )
    descriptions = {"baseline": {"file": "/work/main/scenarios/baseline.toml", "digest": "cd" * 8}}
    writer.close(
        _manifest(f"{method}_test", "sensitivity", descriptions, replications, points=points)
    )
    return fake
