"""Experiment files: schema, clear errors before any run, points, seeds (issue 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import standins

from experiments.errors import InputError
from experiments.experiment_files import (
    EXPERIMENTS_FOLDER,
    load_experiment,
    resolve_experiment_path,
)
from experiments.seeds import replication_seed, replication_seeds, seed_from_json, seed_json


def _error(tmp_path: Path, text: str) -> str:
    path = standins.write_experiment(tmp_path, "bad", text)
    with pytest.raises(InputError) as info:
        load_experiment(path)
    return str(info.value)


def test_compare_points_and_reference(tmp_path):
    """A compare file gives one point per scenario, named after it, with the reference kept."""
    exp = load_experiment(standins.write_experiment(tmp_path, "c", standins.compare_text()))
    assert [p.point_id for p in exp.points] == ["tiny", "tiny_integrated"], (
        "points are the scenarios"
    )
    assert exp.reference == "tiny", "reference scenario as declared"
    assert all(p.parameters == {} for p in exp.points), "compare points have no own parameters"
    assert exp.points[1].built.routing_kind == "integrated", "the second scenario keeps its routing"


def test_sweep_grid_is_cartesian_product(tmp_path):
    """A grid sweep has one point per combination, each with its overrides applied."""
    exp = load_experiment(
        standins.write_experiment(tmp_path, "s", standins.sweep_text(staff=(10, 20, 30)))
    )
    assert len(exp.points) == 6, "3 staff values × 2 delays"
    staff = [
        p.built.parameters.departments["urban_management"].staff_per_100k_residents
        for p in exp.points
    ]
    assert sorted(set(staff)) == [10, 20, 30], "each staff value is applied to the built scenario"
    assert exp.points[0].point_id == "p0000", "sweep points are numbered"


def test_overrides_nested_tables_merge(tmp_path):
    """An override written as a nested table changes only the named key (deep merge)."""
    text = standins.compare_text(extra="overrides = { population = { residents_per_grid = 40 } }")
    exp = load_experiment(standins.write_experiment(tmp_path, "c", text))
    population = exp.points[0].built.parameters.population
    assert population.residents_per_grid == 40, "override applied"
    assert population.grids_per_community == 2, "the scenario's other population keys are kept"


def test_unknown_key_names_file_and_suggests(tmp_path):
    """A typo in a top-level key is named with the file and the closest valid key."""
    message = _error(tmp_path, standins.compare_text().replace("replications =", "replicatons ="))
    assert "bad.toml" in message and "replicatons" in message, f"file and key named: {message}"
    assert "did you mean 'replications'" in message, f"closest key suggested: {message}"


def test_unknown_kind(tmp_path):
    """An unknown kind lists the allowed kinds."""
    message = _error(
        tmp_path, standins.compare_text().replace('kind = "compare"', 'kind = "comparison"')
    )
    assert "compare, sweep, sensitivity" in message, f"allowed kinds listed: {message}"


def test_missing_scenario_file(tmp_path):
    """A scenario path that does not exist is reported with where it was looked for."""
    message = _error(
        tmp_path, standins.compare_text().replace("tiny_integrated.toml", "nowhere.toml")
    )
    assert "scenarios[1].path" in message and "nowhere.toml" in message, (
        f"entry and file named: {message}"
    )


def test_every_compare_entry_s_problem_is_reported_at_once(tmp_path):
    """A compare file with several bad entries names each of them in one error (a count,
    then one indented line an entry's first problem), so a user fixes them in one pass;
    its good entries are not named."""
    text = standins.compare_text().replace("tiny_integrated.toml", "nowhere.toml")
    text += (
        '[[scenarios]]\npath = "../scenarios/tiny.toml"\nname = "odd"\n'
        '[scenarios.overrides]\n"routing.kind" = "nonsense"\n'
        '[[scenarios]]\npath = "../scenarios/tiny.toml"\nname = "fine"\n'
        '[[scenarios]]\npath = "../scenarios/tiny.toml"\nname = "tiny"\n'
        '[scenarios.overrides]\n"routing.kind" = "nonsense"\n'
    )
    lines = _error(tmp_path, text).splitlines()
    assert lines[0] == "3 problems:", lines
    assert all(line.startswith("  ") for line in lines[1:]), lines
    assert [line.split(": ")[1] for line in lines[1:]] == [
        "scenarios[1].path",
        "scenarios[2].overrides",
        "scenarios[4]",
    ], lines
    assert "nowhere.toml" in lines[1] and "'nonsense'" in lines[2], lines
    # a repeated name is the entry's first problem, before its overrides are read
    assert "'tiny' appears twice" in lines[3], lines


def test_a_bad_file_level_override_is_reported_once(tmp_path):
    """The file's own [overrides] apply to every entry: a bad one is one problem, named
    once, not once an entry; an entry's own problem is still named beside it."""
    text = standins.compare_text(extra='[overrides]\n"routing.kind" = "nonsense"\n')
    text += '[[scenarios]]\npath = "../scenarios/nowhere.toml"\nname = "third"\n'
    text += '[[scenarios]]\npath = "../scenarios/tiny.toml"\nname = "fourth"\n'
    lines = _error(tmp_path, text).splitlines()
    assert lines[0] == "2 problems:", lines
    assert [line.split(": ")[1] for line in lines[1:]] == ["overrides", "scenarios[2].path"], lines
    assert "'nonsense'" in lines[1] and "nowhere.toml" in lines[2], lines


def test_a_scenario_path_that_is_a_folder_is_named_as_one(tmp_path):
    """A scenario path naming a folder is not 'not found': the message says it is a
    folder, where, and what is allowed."""
    (tmp_path / "scenarios" / "scenarios_folder").mkdir(parents=True)  # beside the scenarios
    message = _error(
        tmp_path,
        standins.compare_text().replace("tiny_integrated.toml", "scenarios_folder"),
    )
    assert "scenarios[1].path" in message and "scenarios_folder' is a folder" in message, message
    assert "not found" not in message and "allowed: a scenario .toml file" in message, message


def test_bad_dotted_field_in_grid(tmp_path):
    """A sweep field that is not in the scenario schema fails before any run, with a suggestion."""
    text = standins.sweep_text().replace("staff_per_100k_residents", "staff_per_100k_resident")
    message = _error(tmp_path, text)
    assert "staff_per_100k_resident" in message and "grid" in message, (
        f"field and key named: {message}"
    )
    assert "staff_per_100k_residents" in message, f"closest valid field suggested: {message}"


def test_bad_value_in_grid(tmp_path):
    """A sweep value the schema rejects names the point and the field."""
    message = _error(tmp_path, standins.sweep_text(delays=(1.0, -2.0)))
    assert "handoff_delay_hours" in message and "-2" in message, f"field and value named: {message}"


def test_reference_must_be_a_scenario(tmp_path):
    """A reference that is not one of the scenarios lists the allowed names."""
    message = _error(
        tmp_path, standins.compare_text().replace('reference = "tiny"', 'reference = "tyni"')
    )
    assert "tyni" in message and "tiny, tiny_integrated" in message, (
        f"allowed names listed: {message}"
    )


def test_unknown_outcome(tmp_path):
    """An outcome of interest that no run reports is an error with a suggestion."""
    message = _error(
        tmp_path, standins.compare_text().replace('"participation_share"]', '"participation"]')
    )
    assert "outcomes[1]" in message and "participation_share" in message, (
        f"closest outcome: {message}"
    )


def test_sweep_needs_grid_or_points(tmp_path):
    """A sweep with neither grid nor points says what it needs."""
    text = standins.sweep_text().split("[grid]")[0]
    message = _error(tmp_path, text)
    assert "exactly one of 'grid'" in message, f"grid or points required: {message}"


def _morris_text(factor: str) -> str:
    """A Morris experiment on the tiny scenario with one factor (its TOML lines)."""
    return (
        'name = "sa"\nkind = "sensitivity"\nscenario = "../scenarios/tiny.toml"\n'
        f'[sensitivity]\nmethod = "morris"\nsamples = 2\n[[sensitivity.factors]]\n{factor}\n'
    )


def test_sensitivity_integer_field_needs_integer_flag(tmp_path):
    """An integer scenario field as a factor must say integer = true."""
    message = _error(
        tmp_path, _morris_text('name = "population.residents_per_grid"\nlower = 40\nupper = 80')
    )
    assert "integer = true" in message and "residents_per_grid" in message, (
        f"integer hint: {message}"
    )


def test_sensitivity_factor_that_is_a_policy_kind_shows_its_value(tmp_path):
    """A policy's kind as a factor is refused as not numeric, showing the kind it holds."""
    message = _error(tmp_path, _morris_text('name = "routing.kind"\nlower = 0\nupper = 1'))
    assert "'routing.kind' holds 'hierarchical'" in message, message
    assert "numeric scenario field" in message and "None" not in message, message


@pytest.mark.parametrize(
    ("bounds", "named", "words"),
    [
        ("lower = -0.5\nupper = 0.9", "sensitivity.factors[0].lower", "from 0 to 1"),
        ("lower = 0.5\nupper = 1.5", "sensitivity.factors[0].upper", "from 0 to 1"),
        (
            'lower = 0.2\nupper = 1.5\ndistribution = "triangular"',
            "sensitivity.factors[0].upper",
            "from 0 to 1",
        ),
        ("lower = 0.9\nupper = 0.5", "sensitivity.factors[0].upper = 0.5", "above lower = 0.9"),
        # Morris's grid runs from lower to upper whatever the distribution
        (
            'lower = 0.5\nupper = 1.5\ndistribution = "lognormal"',
            "sensitivity.factors[0].upper",
            "from 0 to 1",
        ),
    ],
)
def test_sensitivity_factor_bounds_are_named_by_their_key(tmp_path, bounds, named, words):
    """A factor's bound the field does not allow, or bounds in the wrong order, are refused
    naming the factor's key in the file and the field's range, not a design point."""
    message = _error(
        tmp_path, _morris_text(f'name = "coordination.classification_accuracy"\n{bounds}')
    )
    assert named in message and words in message, message
    assert "design point" not in message, message


def test_an_integer_factor_s_fractional_bound_is_named_by_its_own_key(tmp_path):
    """Of an integer factor's bounds, the one that is not a whole number is named."""
    message = _error(
        tmp_path,
        _morris_text(
            'name = "population.residents_per_grid"\nlower = 40\nupper = 80.5\ninteger = true'
        ),
    )
    assert "sensitivity.factors[0].upper = 80.5" in message, message
    assert "whole-number bounds" in message, message


def test_sobol_samples_power_of_two(tmp_path):
    """Sobol' sample sizes that are not powers of two are rejected with alternatives."""
    text = """\
name = "sa"
kind = "sensitivity"
scenario = "../scenarios/tiny.toml"
[sensitivity]
method = "sobol"
samples = 100
[[sensitivity.factors]]
name = "coordination.classification_accuracy"
lower = 0.5
upper = 0.9
"""
    message = _error(tmp_path, text)
    assert "power of two" in message and "bad.toml" in message, (
        f"power-of-two rule named: {message}"
    )


def test_resolve_experiment_by_name(tmp_path, monkeypatch):
    """A bare name finds experiments/<name>.toml; an unknown one lists the known names."""
    path = standins.write_experiment(tmp_path, "mine", standins.compare_text())
    monkeypatch.chdir(tmp_path)
    assert resolve_experiment_path("mine").resolve() == path.resolve(), "bare name resolves"
    with pytest.raises(InputError, match="no such experiment file"):
        resolve_experiment_path("mien")


def test_seed_rule_matches_spawn():
    """Replication i's seed equals child i of SeedSequence(root).spawn(R), whatever R is."""
    spawned = np.random.SeedSequence(42).spawn(5)
    ours = replication_seeds(42, 5)
    for a, b in zip(spawned, ours, strict=True):
        assert a.generate_state(4).tolist() == b.generate_state(4).tolist(), "same state as spawn()"
    assert replication_seed(42, 3).spawn_key == (3,), "spawn key is the replication index"
    again = seed_from_json(seed_json(42, 3))
    assert again.generate_state(2).tolist() == spawned[3].generate_state(2).tolist(), (
        "stored seed round-trips"
    )


def test_bundled_experiments_validate():
    """Every experiment file shipped in experiments/ validates, scenarios included."""
    files = sorted(EXPERIMENTS_FOLDER.glob("*.toml"))
    assert files, "experiments/*.toml exist"
    for path in files:
        exp = load_experiment(path)
        # a calibration proposes its points while it runs (experiments/calibration.py)
        assert exp.points or exp.kind == "calibrate", f"{path.name} defines points"


def test_sweep_points_may_switch_policy_kind(tmp_path):
    """A point that changes routing.kind may set the new kind's parameters; typos still fail."""
    points = """points = [
  { "routing.kind" = "hierarchical" },
  { "routing.kind" = "integrated", "routing.joint_coordination_hours" = 0.3 },
]
"""
    text = standins.sweep_text().split("[grid]")[0] + points
    exp = load_experiment(standins.write_experiment(tmp_path, "k", text))
    assert exp.points[1].built.routing_kind == "integrated", "kind switched at point 1"
    assert exp.points[1].built.parameters.routing.joint_coordination_hours == 0.3, (
        "new kind's parameter set"
    )
    message = _error(tmp_path, text.replace("joint_coordination_hours", "joint_coordination_hour"))
    assert "points[1]" in message and "joint_coordination_hour" in message, (
        f"typo caught: {message}"
    )


def _factor_extremes(factor) -> tuple[float, float]:
    """The extreme values a sensitivity design can give a factor: its bounds for uniform and
    triangular factors; for normal and lognormal ones (bounds = central 95 % interval) 4.5
    standard deviations out (beyond any sampled point)."""
    if factor.distribution in ("uniform", "triangular"):
        low, high = factor.lower, factor.upper
    else:
        log = factor.distribution == "lognormal"
        a, b = (np.log(factor.lower), np.log(factor.upper)) if log else (factor.lower, factor.upper)
        mean, sd = (a + b) / 2, (b - a) / (2 * 1.96)
        low, high = mean - 4.5 * sd, mean + 4.5 * sd
        if log:
            low, high = float(np.exp(low)), float(np.exp(high))
    if factor.integer:
        return float(round(low)), float(round(high))
    return float(low), float(high)


def test_bundled_experiment_extremes_are_within_the_ranges():
    """The parameter ranges contain every bound of the shipped sweeps and sensitivity designs.

    Each factor at its extremes (alone, and all factors at their lower or upper ends
    together); each sweep field at its smallest and largest value. Loading a file builds
    and validates every point too.
    """
    from experiments.scenario_files import apply_overrides, field_value

    checked = 0
    for path in sorted(EXPERIMENTS_FOLDER.glob("*.toml")):
        exp = load_experiment(path)
        base = next(iter(exp.scenarios.values()))
        extremes: list[dict[str, float]] = []
        if exp.kind == "sensitivity":
            factors = exp.spec.sensitivity.factors
            ends = {f.name: _factor_extremes(f) for f in factors}
            extremes += [{name: end[i]} for name, end in ends.items() for i in (0, 1)]
            extremes += [{name: end[i] for name, end in ends.items()} for i in (0, 1)]
        elif exp.kind == "sweep" and exp.spec.grid:
            extremes += [
                {name: pick(values) for name, values in exp.spec.grid.items()}
                for pick in (min, max)
            ]
        for values in extremes:
            values = {
                k: int(v) if isinstance(field_value(base, k), int) else v for k, v in values.items()
            }
            apply_overrides(base, values)  # raises InputError when a bound is outside a range
            checked += 1
    assert checked >= 30, f"the shipped designs have many extreme points, checked {checked}"
