"""Property-based fuzz test of the scenario loader (issue 13).

Mutations of the shipped scenario files — values set to extremes, wrong types, NaN and
infinities, keys deleted, duplicated or unknown, values nested deep, policy kinds and
``extends`` changed — written as TOML and loaded. Every outcome must be either a clean
:class:`InputError` naming the file (and, for a bad value, the field), or a scenario
that runs: shrunk to a classroom-sized population, a run of a few days finishes within
a time budget with the accounting identities holding. A run that hangs is a failure.

CI runs 300 derandomized examples; ``-m slow`` runs a larger random budget.
"""

from __future__ import annotations

import atexit
import copy
import json
import math
import shutil
import signal
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from experiments.errors import InputError
from experiments.runs import run_single
from experiments.scenario_files import (
    SCENARIOS_FOLDER,
    Scenario,
    apply_overrides,
    field_paths,
    field_value,
    load_scenario,
    read_toml,
)
from model.policies.registry import builtin_kinds

# A test-only scenario beside the shipped ones: the party organisation, building heads and
# social workers (reform_multi_actor) in streets and towns of different sizes with old
# compounds (community types, model/places.py), micro-space projects and the joint
# mediation platform — practices no shipped file combines.
TEST_ONLY = {
    "test_party_places.toml": """\
extends = "reform_multi_actor.toml"
name = "test_party_places"

[population]
streets = 2
street_types = { street = 1, town = 1 }

[community_types.street]
communities_per_street = 2
grids_per_community = 2
residents_per_grid = 60
community_shares = { compound = 0.5 }

[community_types.town]
communities_per_street = 1
grids_per_community = 1
residents_per_grid = 40
grid_travel_hours = 0.5

[community_types.compound]
public_problem_rate_multiplier = 1.6

[projects]
kind = "micro_renewal"
monthly_topic = true

[mediation]
kind = "joint_platform"
""",
}
SHIPPED = tuple(sorted([*(p.name for p in SCENARIOS_FOLDER.glob("*.toml")), *TEST_ONLY]))
RUN_DAYS = 5  # days a valid mutant runs
RUN_TIMEOUT_S = 20.0  # a run of a classroom-sized population for 5 days takes well under 1 s
MUTANT = "mutant.toml"

# ---------------------------------------------------------------------------
# A small TOML writer (tomllib only reads): every table as an inline table
# ---------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    """``value`` as a TOML value (inline tables for mappings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
            + "}"
        )
    raise TypeError(f"no TOML for {value!r}")


def toml_document(mapping: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(str(k))} = {toml_value(v)}\n" for k, v in mapping.items())


# ---------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------


@cache
def sources() -> Path:
    """A folder holding copies of the shipped scenarios and the test-only ones (removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="fuzz-sources-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for path in SCENARIOS_FOLDER.glob("*.toml"):
        shutil.copy(path, folder / path.name)
    for name, text in TEST_ONLY.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@cache
def shipped(file_name: str) -> Scenario:
    """A shipped (or test-only) scenario, loaded once."""
    return load_scenario(sources() / file_name)


@cache
def own_mapping(file_name: str) -> dict[str, Any]:
    """A shipped file's own mapping (``extends`` kept, nothing inherited); copy before changing."""
    return read_toml(sources() / file_name)


@cache
def schema_paths(file_name: str) -> tuple[str, ...]:
    """Every settable dotted field of a shipped scenario (policy parameters of its kinds too)."""
    scenario = shipped(file_name)
    skip = ("name", "title", "description")
    return ("extends", "name", *(p for p in field_paths(scenario.parameters) if p not in skip))


def own_paths(node: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every key of a file's own mapping (tables included)."""
    paths = []
    if isinstance(node, dict):
        for key, child in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.append(path)
            paths += own_paths(child, path)
    return paths


EXTREMES = st.sampled_from(
    [
        0, 1, -1, 2, 7, 0.5, 1e-300, -1e-300, 1e300, -1e300, 1e12, 1e15, 2000, 2000.5, 365,
        366, 3650, 3651, 100, 101, 10_000, 10_001, 20_000, 2**63, 2**64, 10**400,
        math.nan, math.inf, -math.inf, True, False, "", "3", "text", [1], [], {"x": 1}, {},
    ]
)  # fmt: skip
# Values at the ends of many fields' ranges (cast to the field's type): mostly valid mutants
# that push a run to an extreme (e.g. 2,000 h of work per case, 365-day time limits).
EDGES = st.sampled_from([0, 1, 2, 0.5, 0.9, 0.999, 24, 100, 365, 2000, 3650])
KINDS = st.sampled_from(
    [
        *builtin_kinds("routing"),
        *builtin_kinds("consultation"),
        *builtin_kinds("organisation"),
        *builtin_kinds("projects"),
        *builtin_kinds("mediation"),
        "nonsense",
        "",
        "json:JSONDecoder",
        "collections:OrderedDict",
        "model.policies.routing:IntegratedRouting",
        "no_such_module:X",
    ]
)
EXTENDS = st.sampled_from(
    [*SHIPPED, MUTANT, "missing.toml", "/etc/passwd", "../scenarios", "baseline.toml "]
)
VALUES = st.one_of(
    EXTREMES,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=8),
)


@st.composite
def mutations(draw: st.DrawFn, file_name: str, own: dict[str, Any]) -> tuple[str, str, Any]:
    """One mutation: (what, dotted path, value)."""
    what = draw(
        st.sampled_from(["set", "set", "edge", "edge", "scale", "delete", "unknown", "nest"])
    )
    existing = own_paths(own)
    if what in ("delete", "nest") and existing:
        return what, draw(st.sampled_from(existing)), draw(st.integers(1, 15))
    if what == "unknown":
        tables = ["", *(p for p in existing if isinstance(lookup(own, p), dict))]
        key = draw(st.sampled_from(["zzz", "streetz", "kindd", "days ", "inner", "1"]))
        return what, ".".join(p for p in (draw(st.sampled_from(tables)), key) if p), 1
    path = draw(st.sampled_from(schema_paths(file_name)))
    if what == "scale":
        return what, path, draw(st.sampled_from([0.0, -1.0, 0.001, 10.0, 1000.0, 1e6]))
    if what == "edge" and not path.endswith(".kind") and path not in ("extends", "name"):
        return what, path, draw(EDGES)
    if path == "extends":
        return "set", path, draw(EXTENDS)
    if path.endswith(".kind"):
        return "set", path, draw(KINDS)
    return "set", path, draw(VALUES)


def lookup(mapping: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a plain mapping, or None."""
    node: Any = mapping
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def apply(own: dict[str, Any], mutation: tuple[str, str, Any], reference: Scenario) -> None:
    """Apply one mutation to a file's own mapping, in place."""
    what, path, value = mutation
    parts = path.split(".")
    table = own
    for depth, part in enumerate(parts[:-1]):
        child = table.get(part)
        if not isinstance(child, dict):
            if what in ("delete", "nest"):
                return
            child = {}
            if depth == 0 and part in ("routing", "consultation"):
                # a policy block the file inherits: keep the kind so the new key belongs to it
                child["kind"] = getattr(reference, f"{part}_kind")
            table[part] = child
        table = child
    last = parts[-1]
    if what == "delete":
        table.pop(last, None)
    elif what == "nest":
        if last not in table:
            return
        nested = table[last]
        for level in range(value):
            nested = [nested] if level % 2 else {"x": nested}
        table[last] = nested
    elif what == "unknown":
        table.setdefault(last, value)
    elif what == "edge":
        current = table.get(last, lookup_value(reference, path))
        if isinstance(current, int | float) and not isinstance(current, bool):
            table[last] = type(current)(value)
    elif what == "scale":
        current = table.get(last, lookup_value(reference, path))
        if isinstance(current, int | float) and not isinstance(current, bool):
            table[last] = type(current)(current * value) if math.isfinite(current * value) else 0
    else:
        table[last] = value


def lookup_value(scenario: Scenario, path: str) -> Any:
    """The scenario's value at ``path``, or None when the path is not one of its fields."""
    try:
        return field_value(scenario, path)
    except InputError:
        return None


@st.composite
def mutants(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str, Any]]]:
    """(source file, TOML text of the mutant, the mutations applied)."""
    file_name = draw(st.sampled_from(SHIPPED))
    own = own_mapping(file_name)
    reference = shipped(file_name)
    applied = draw(st.lists(mutations(file_name, own), min_size=1, max_size=2))
    mutant = copy.deepcopy(own)
    for mutation in applied:
        apply(mutant, mutation, reference)
    text = toml_document(mutant)
    if draw(st.integers(0, 9)) == 0 and text:
        line = draw(st.sampled_from(text.splitlines()))
        text += line + "\n"  # a duplicate key: a TOML error
        applied.append(("duplicate", line.split(" = ")[0], None))
    return file_name, text, applied


# ---------------------------------------------------------------------------
# The property
# ---------------------------------------------------------------------------


class RunTimeout(Exception):
    """A run took longer than its budget: a hang."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise RunTimeout in this (main) thread after ``seconds`` (SIGALRM; Linux/Unix).

    pytest-timeout's own alarm, if any, is restored afterwards.
    """

    def expire(signum: int, frame: Any) -> None:
        raise RunTimeout(f"no result after {seconds} s")

    previous_handler = signal.signal(signal.SIGALRM, expire)
    previous_delay, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        remaining, _ = signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:
            used = seconds - remaining
            signal.setitimer(signal.ITIMER_REAL, max(previous_delay - used, 0.001))


def tiny(scenario: Scenario) -> Scenario:
    """The scenario on a classroom-sized population (at most 2 grids of 60 residents) and a
    warm-up of at most 5 days."""
    population = scenario.parameters.population
    shrink: dict[str, object] = {
        "simulation.warmup_days": min(scenario.parameters.simulation.warmup_days, 5),
        "population.streets": 1,
        "population.communities_per_street": 1,
        "population.grids_per_community": min(population.grids_per_community, 2),
        "population.residents_per_grid": min(population.residents_per_grid, 60),
    }
    for name, kind in scenario.parameters.community_types.items():  # model/places.py
        for key, most in (
            ("communities_per_street", 1),
            ("grids_per_community", 2),
            ("residents_per_grid", 60),
        ):
            value = getattr(kind, key)
            if value is not None:
                shrink[f"community_types.{name}.{key}"] = min(value, most)
    return apply_overrides(scenario, shrink)


def check_mutant(folder: Path, file_name: str, text: str) -> None:
    """The property: a clean InputError naming the file, or a short run with the identities."""
    path = folder / MUTANT
    path.write_text(text, encoding="utf-8")
    try:
        scenario = load_scenario(path)
    except InputError as exc:
        event("refused")
        message = str(exc)
        assert message.strip(), "an error has a message"
        assert "unexpected" not in message, message
        for problem in exc.all_problems():
            assert problem.file or problem.field, f"each problem names a file or field: {problem}"
        return
    event("valid: ran")
    small = tiny(scenario)
    days = min(RUN_DAYS, small.parameters.simulation.days)
    with time_budget(RUN_TIMEOUT_S):
        summary = run_single(small, 0, days=days).summary
    assert_identities(summary)


def assert_identities(summary: dict[str, Any]) -> None:
    """The accounting identities of a run's summary: needs and cases add up, nothing infinite."""
    needs = (
        summary["needs_reported"]
        + summary["needs_found"]
        + summary["needs_lapsed"]
        + summary["needs_awaiting_patrol"]
    )
    assert summary["needs_generated"] == needs, f"needs identity: {summary}"
    cases = summary["cases_closed"] + summary["cases_open"] + summary["cases_parked"]
    assert summary["cases_generated"] == cases, f"cases identity: {summary}"
    infinite = [k for k, v in summary.items() if math.isinf(float(v))]
    assert not infinite, f"outcomes are finite or NaN: {infinite}"


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding copies of the shipped scenarios, where mutants are written."""
    folder = tmp_path_factory.mktemp("fuzz")
    for name in SHIPPED:
        shutil.copy(sources() / name, folder / name)
    return folder


@pytest.mark.timeout(180)
@settings(
    max_examples=300,
    derandomize=True,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(mutant=mutants())
def test_mutated_scenarios_fail_cleanly_or_run(
    fuzz_folder: Path, mutant: tuple[str, str, list[Any]]
) -> None:
    """300 mutants of the shipped scenarios: each is a clean error or a short run that adds up."""
    file_name, text, _ = mutant
    check_mutant(fuzz_folder, file_name, text)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@settings(
    max_examples=5000,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutant=mutants())
def test_mutated_scenarios_fail_cleanly_or_run_large_budget(
    fuzz_folder: Path, mutant: tuple[str, str, list[Any]]
) -> None:
    """5,000 random mutants (slow): each is a clean error or a short run that adds up."""
    file_name, text, _ = mutant
    check_mutant(fuzz_folder, file_name, text)


def test_party_with_community_types_runs() -> None:
    """The test-only scenario, at its own size (tiny() evens the grids out), runs and adds up."""
    scenario = shipped("test_party_places.toml")
    assert scenario.parameters.community_types, "the scenario has community types"
    with time_budget(RUN_TIMEOUT_S):
        summary = run_single(scenario, 0, days=RUN_DAYS).summary
    assert_identities(summary)


def test_time_budget_stops_a_hanging_run() -> None:
    """The per-run time budget interrupts a loop that never ends (so a hang fails the fuzz)."""
    with pytest.raises(RunTimeout), time_budget(0.2):
        while True:
            pass


def test_toml_writer_round_trips() -> None:
    """The fuzz's TOML writer gives back what it was given (NaN and infinities included)."""
    data = {"a": {"b": [1, 2.5, math.inf], "c": 'x"y\n'}, "d": True, "e.f": 2**64}
    parsed = tomllib.loads(toml_document(data))
    assert parsed == data, f"round trip: {parsed}"
    assert math.isnan(tomllib.loads(toml_document({"n": math.nan}))["n"]), "nan is written as nan"
