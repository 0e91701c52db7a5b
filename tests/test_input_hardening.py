"""Values that passed validation and then hung or crashed a run, and loader hardening (issue 13).

Every numeric field has a finite, physical range; derived quantities (the memory a
population needs) are checked before a run; nonsense such as ``streets = true`` is
refused; deeply nested, huge or foreign files give a clean error that shows none of
their content; ``module:Class`` policy kinds can be refused without importing anything.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import standins
from pydantic import ValidationError

from app.cli import main
from experiments.errors import MAX_SHOWN_PROBLEMS, InputError
from experiments.experiment_files import load_experiment
from experiments.scenario_files import (
    MAX_FILE_BYTES,
    MAX_NESTING,
    SCENARIOS_FOLDER,
    Scenario,
    apply_overrides,
    field_paths,
    field_value,
    load_scenario,
)
from model.bounds import GIB, MEMORY_LIMIT_BYTES, estimated_memory_bytes, max_residents
from model.mechanisms import POLICY_BLOCKS
from model.parameters import ModelParameters
from model.policies.registry import builtin_kinds

# Values no numeric field may take: each is far outside every physical range, or not a number.
IMPOSSIBLE: tuple[Any, ...] = (1e300, -1e300, math.nan, math.inf, -math.inf, True)


def error_text(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    return str(excinfo.value)


def numeric_paths(scenario: Scenario, prefix: str = "") -> list[str]:
    """Dotted paths of the scenario's numeric (int or float, not bool) fields under ``prefix``."""
    paths = []
    for path in field_paths(scenario.parameters):
        if not path.startswith(prefix) or path in ("name", "title", "description"):
            continue
        value = field_value(scenario, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            paths.append(path)
    return paths


def policy_scenarios(classroom: Scenario) -> list[tuple[str, Scenario]]:
    """The classroom scenario under every built-in kind of every policy family."""
    out = []
    for family in POLICY_BLOCKS:
        for kind in builtin_kinds(family):
            out.append((family, apply_overrides(classroom, {f"{family}.kind": kind})))
    return out


# ---------------------------------------------------------------------------
# Finite, physical ranges
# ---------------------------------------------------------------------------


def test_every_numeric_model_field_refuses_impossible_values(classroom: Scenario) -> None:
    """Every numeric field of ModelParameters refuses ±1e300, NaN, ±inf and true, naming the field."""
    paths = numeric_paths(classroom)
    paths = [
        p
        for p in paths
        if not p.startswith(("routing.", "consultation.", "accountability.", "mediation."))
    ]
    assert len(paths) > 60, f"the schema has many numeric fields, found {len(paths)}"
    accepted = []
    for path in paths:
        for value in IMPOSSIBLE:
            try:
                apply_overrides(classroom, {path: value})
            except InputError as exc:
                assert path in str(exc), f"the error for {path} = {value!r} names it: {exc}"
            else:
                accepted.append(f"{path} = {value!r}")
    assert not accepted, f"impossible values accepted: {accepted}"


def test_every_numeric_policy_field_refuses_impossible_values(classroom: Scenario) -> None:
    """Every numeric field of every built-in policy refuses ±1e300, NaN, ±inf and true."""
    accepted = []
    checked = 0
    for family, scenario in policy_scenarios(classroom):
        for path in numeric_paths(scenario, prefix=f"{family}."):
            checked += 1
            for value in IMPOSSIBLE:
                try:
                    apply_overrides(scenario, {path: value})
                except InputError as exc:
                    leaf = path.rsplit(".", 1)[-1]
                    assert leaf in str(exc), f"the error for {path} = {value!r} names it: {exc}"
                else:
                    accepted.append(f"{scenario.routing_kind}/{path} = {value!r}")
    assert checked > 40, f"the built-in policies have many numeric fields, found {checked}"
    assert not accepted, f"impossible values accepted: {accepted}"


@pytest.mark.parametrize(
    ("path", "largest", "too_large"),
    [
        ("departments.urban_management.work_hours_mean", 2000.0, 2000.5),
        ("coordination.handoff_delay_hours", 2000.0, 1e12),
        ("offices.centre_review_hours", 2000.0, 1e15),
        ("time_limits.complaint", 365.0, 366.0),
        ("demand.needs_per_resident_per_year", 100.0, 101.0),
        ("offices.centre_staff", 10_000, 10_001),
        ("calendar.working_hours_per_day", 24.0, 24.5),
    ],
)
def test_ranges_end_at_the_stated_bounds(
    classroom: Scenario, path: str, largest: float, too_large: float
) -> None:
    """Hours end at a working year, time limits at 365 working days, rates at 100, staff at 10,000."""
    built = apply_overrides(classroom, {path: largest})
    assert field_value(built, path) == largest, f"{path} = {largest} is allowed"
    with pytest.raises(InputError, match=re.escape(path)):
        apply_overrides(classroom, {path: too_large})


def test_working_day_is_at_least_half_an_hour(classroom: Scenario) -> None:
    """working_hours_per_day = 1e-300 (which hung the run) is refused; 0.5 h is allowed."""
    with pytest.raises(InputError, match=r"calendar\.working_hours_per_day.*0\.5"):
        apply_overrides(classroom, {"calendar.working_hours_per_day": 1e-300})
    apply_overrides(classroom, {"calendar.working_hours_per_day": 0.5})


def test_summary_of_a_run_with_largest_admin_hours_is_finite(classroom: Scenario) -> None:
    """The largest community_admin_hours_per_day gives a finite summary (inf once broke summary.json)."""
    from experiments.runs import run_single

    tiny = apply_overrides(
        classroom,
        {
            "offices.community_admin_hours_per_day": 2000.0,
            "population.grids_per_community": 1,
            "population.residents_per_grid": 50,
        },
    )
    summary = run_single(tiny, 0, days=3).summary
    infinite = [k for k, v in summary.items() if math.isinf(float(v))]
    assert not infinite, f"outcomes must be finite or NaN, infinite: {infinite}"


# ---------------------------------------------------------------------------
# Derived quantities: memory
# ---------------------------------------------------------------------------

HUGE_POPULATION = """\
[population]
streets = 100
communities_per_street = 200
grids_per_community = 100
residents_per_grid = 20000
"""


def test_population_beyond_memory_is_refused_with_the_estimate(write_toml) -> None:
    """40 billion residents are refused before a run, with the estimate and the largest allowed."""
    path = write_toml("huge.toml", HUGE_POPULATION)
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    text = error_text(excinfo)
    assert "huge.toml" in text, f"the file is named: {text}"
    assert "40,000,000,000 residents" in text, f"the population is stated: {text}"
    estimate = re.search(r"≈([\d,]+) GiB", text)
    assert estimate, f"the memory estimate is shown: {text}"
    assert int(estimate.group(1).replace(",", "")) > 30_000, "40e9 residents need > 30 TiB"
    allowed = re.search(r"at most ([\d,]+) residents", text)
    assert allowed, f"the largest allowed population is shown: {text}"
    assert 5_000_000 < int(allowed.group(1).replace(",", "")) < 40_000_000, text


def test_memory_limit_separates_two_close_populations() -> None:
    """Just under the limit validates; just over it is refused (the check uses the formula)."""

    def population(per_grid: int) -> dict[str, Any]:
        return {
            "population": {
                "streets": 40,
                "communities_per_street": 50,
                "grids_per_community": 10,
                "residents_per_grid": per_grid,
            }
        }

    under = ModelParameters.model_validate(population(900))
    assert estimated_memory_bytes(under) <= MEMORY_LIMIT_BYTES, "18 M residents fit"
    assert max_residents(under) >= under.population.residents, "max_residents agrees"
    with pytest.raises(ValidationError, match="at most"):
        ModelParameters.model_validate(population(1100))


def test_memory_estimate_is_near_the_measured_peak(scenarios_dir: Path) -> None:
    """The estimate for yongchuan is within 1×-2× its measured peak (1,570 MiB, docs/performance.md)."""
    estimate = estimated_memory_bytes(load_scenario(scenarios_dir / "yongchuan.toml").parameters)
    assert 1_570 <= estimate / 2**20 <= 2 * 1_570, f"estimate {estimate / 2**20:.0f} MiB"
    assert MEMORY_LIMIT_BYTES / GIB == 32, "the documented limit"


# ---------------------------------------------------------------------------
# Accepted nonsense
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[population]\nstreets = true\n", "population.streets"),
        ('[population]\nstreets = "2"\n', "population.streets"),
        ("[population]\nstreets = 2.0\n", "population.streets"),
        ("[offices]\ncentre_staff = 1e300\n", "offices.centre_staff"),
        ("[coordination]\nhandoff_delay_hours = true\n", "coordination.handoff_delay_hours"),
        ("[coordination]\nhandoff_delay_hours = inf\n", "coordination.handoff_delay_hours"),
        ("[demand]\nneeds_per_resident_per_year = nan\n", "demand.needs_per_resident_per_year"),
        ("[departments.health]\nwork_hours_mean = inf\n", "departments.health.work_hours_mean"),
        ('[consultation]\nkind = "council"\nbase_logit = nan\n', "base_logit"),
        ('[routing]\nkind = "whistle"\nsummons_hours = inf\n', "summons_hours"),
        ("name = 3\n", "name"),
        ('name = ["a"]\n', "name"),
        # every department's staff moved down leaves a station with no one (found by the fuzzer)
        (
            "[coordination]\nstaff_moved_to_communities_share = 1.0\n",
            "coordination.staff_moved_to_communities_share",
        ),
    ],
)
def test_nonsense_values_are_refused(write_toml, text: str, field: str) -> None:
    """Booleans and strings for numbers, NaN, inf and a non-string name are errors naming the field."""
    path = write_toml("nonsense.toml", text)
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    assert field in error_text(excinfo), f"the error names {field}: {error_text(excinfo)}"


def test_bad_name_is_reported_with_the_other_problems(write_toml) -> None:
    """A non-string name is one problem among the file's others (every problem at once)."""
    path = write_toml("two.toml", "name = 3\n[population]\nstreets = true\n")
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    fields = [p.field for p in excinfo.value.all_problems()]
    assert fields == ["name", "population.streets"], f"both problems: {fields}"


def test_all_report_weights_zero_is_refused(write_toml) -> None:
    """All reporting weights 0 is an error (it used to fall back to the hotline silently)."""
    path = write_toml(
        "silent.toml",
        "[reporting]\nhotline_weight = 0\ngrid_worker_weight = 0\nparty_member_weight = 0\n",
    )
    with pytest.raises(InputError, match=r"reporting: .*all 0"):
        load_scenario(path)


# ---------------------------------------------------------------------------
# The loader: nesting, size, error count, no echo of contents
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 5000 + "1" + "]" * 5000 + "\n",
        "a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n",
        "population." + ".".join(["x"] * 3000) + " = 1\n",
        "population." + ".".join(["x"] * (MAX_NESTING + 1)) + " = 1\n",
    ],
    ids=["arrays", "inline-tables", "dotted-keys", "just-too-deep"],
)
def test_deeply_nested_toml_is_a_clean_error(write_toml, text: str) -> None:
    """Deep nesting says how deep is allowed (it was 'unexpected RecursionError')."""
    path = write_toml("deep.toml", text)
    with pytest.raises(InputError, match=rf"deep\.toml: .*nested more than {MAX_NESTING} levels"):
        load_scenario(path)


def test_deeply_nested_toml_exits_2_on_the_command_line(write_toml, capsys) -> None:
    """`microgov validate` on deeply nested TOML exits 2 with the message, not 'unexpected'."""
    path = write_toml("deep.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n")
    assert main(["validate", str(path)]) == 2, "bad input exits 2"
    err = capsys.readouterr().err
    assert "nested more than" in err and "unexpected" not in err, err


def test_file_larger_than_the_cap_is_refused_unparsed(write_toml) -> None:
    """A file over 1 MiB is refused with the cap named."""
    path = write_toml("big.toml", "# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(InputError, match=r"big\.toml: is larger than 1 MiB"):
        load_scenario(path)


def test_many_errors_are_counted_not_all_printed(write_toml) -> None:
    """5,000 unknown keys give the first 20 problems and '… and 4,980 more problems', quickly."""
    keys = "".join(f"unknown_{i} = 1\n" for i in range(5000))
    path = write_toml("many.toml", "[population]\n" + keys)
    started = time.perf_counter()
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    elapsed = time.perf_counter() - started
    text = error_text(excinfo)
    lines = text.splitlines()
    assert lines[0] == "5,000 problems:", f"the total is stated: {lines[0]}"
    assert len(lines) == MAX_SHOWN_PROBLEMS + 2, f"20 problems shown, got {len(lines)} lines"
    assert lines[-1].strip() == "… and 4,980 more problems", lines[-1]
    assert elapsed < 20, f"describing the errors took {elapsed:.1f} s"


def test_experiment_file_errors_are_counted(tmp_path: Path) -> None:
    """An experiment file with 500 unknown keys lists 20 and counts the rest."""
    keys = "".join(f"unknown_{i} = 1\n" for i in range(500))
    path = standins.write_experiment(tmp_path, "many", standins.compare_text(extra=keys))
    with pytest.raises(InputError) as excinfo:
        load_experiment(path)
    text = error_text(excinfo)
    assert len(text.splitlines()) == MAX_SHOWN_PROBLEMS + 1, text[:500]
    assert text.splitlines()[-1] == "… and 480 more errors", text.splitlines()[-1]


def test_experiment_file_size_and_nesting_are_capped(tmp_path: Path) -> None:
    """Experiment files have the scenario files' size and nesting caps."""
    big = standins.write_experiment(tmp_path, "big", "# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(InputError, match="larger than 1 MiB"):
        load_experiment(big)
    deep = standins.write_experiment(tmp_path, "deep", "a = " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(InputError, match="nested more than"):
        load_experiment(deep)


@pytest.mark.skipif(not Path("/etc/passwd").is_file(), reason="Linux: needs /etc/passwd")
def test_extends_to_a_system_file_does_not_echo_it(write_toml) -> None:
    """`extends = "/etc/passwd"` names the field and shows none of that file's lines."""
    path = write_toml("probe.toml", 'extends = "/etc/passwd"\n')
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    text = error_text(excinfo)
    assert "extends" in text and "probe.toml" in text, f"file and field are named: {text}"
    first_line = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]
    assert first_line not in text and "root:" not in text, f"no line of /etc/passwd: {text}"


@pytest.mark.parametrize("system_file", ["/etc/passwd", "/proc/self/environ"])
def test_system_files_are_refused_unread(system_file: str, capsys) -> None:
    """`microgov validate /etc/passwd` or `/proc/self/environ` says it is not a scenario, unread."""
    if not Path(system_file).exists():
        pytest.skip(f"Linux: needs {system_file}")
    assert main(["validate", system_file]) == 2, "bad input exits 2"
    err = capsys.readouterr().err
    assert system_file in err and "not a valid scenario" in err, err
    assert "root:" not in err and "PATH=" not in err, f"no content shown: {err}"
    assert os.environ.get("PATH", "PATH") not in err, "the environment is not shown"


def test_extends_to_a_toml_looking_secret_is_refused_unread(write_toml) -> None:
    """A parent that is valid TOML but not a .toml file is refused; its values never appear."""
    write_toml("secret.env", 'password = "hunter2"\n')
    path = write_toml("probe.toml", 'extends = "secret.env"\n')
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    text = error_text(excinfo)
    assert "extends" in text and "hunter2" not in text and "password" not in text, text


# ---------------------------------------------------------------------------
# Registered kinds only
# ---------------------------------------------------------------------------


@pytest.fixture
def no_this_module():
    """Forget the `this` module (importing it prints the Zen of Python), before and after."""
    sys.modules.pop("this", None)
    yield
    sys.modules.pop("this", None)


@pytest.mark.parametrize(
    "data",
    [
        {"routing": {"kind": "this:X"}},
        {"consultation": {"kind": "this:X"}},
        {"routing": {"kind": "grid_first", "inner": "this:X"}},
        {
            "routing": {
                "kind": "grid_first",
                "inner": {"kind": "whistle", "inner": {"kind": "this:X"}},
            }
        },
    ],
    ids=["routing", "consultation", "inner-name", "inner-block"],
)
def test_module_kinds_are_refused_without_import(no_this_module, data: dict[str, Any]) -> None:
    """With allow_imports=False in the validation context, 'this:X' is refused and nothing imported."""
    with pytest.raises(ValidationError, match="only registered kinds"):
        ModelParameters.model_validate(data, context={"allow_imports": False})
    assert "this" not in sys.modules, "the module must not be imported"


def test_registered_only_scenario_and_its_overrides(no_this_module, write_toml) -> None:
    """load_scenario(allow_imports=False) refuses 'this:X', and so do overrides of such a scenario."""
    path = write_toml("plugin.toml", '[routing]\nkind = "this:X"\n')
    with pytest.raises(InputError, match=r"plugin\.toml: routing: .*only registered kinds"):
        load_scenario(path, allow_imports=False)
    assert "this" not in sys.modules, "loading must not import the module"
    clean = write_toml("clean.toml", '[routing]\nkind = "integrated"\n')
    scenario = load_scenario(clean, allow_imports=False)
    assert scenario.routing_kind == "integrated", "built-in kinds still load"
    with pytest.raises(InputError, match="only registered kinds"):
        apply_overrides(scenario, {"routing.kind": "this:X"})
    assert "this" not in sys.modules, "overrides must not import the module"


def test_registered_kinds_only_flag(no_this_module, write_toml, capsys) -> None:
    """`microgov validate --registered-kinds-only` exits 2 on 'this:X' and imports nothing."""
    path = write_toml("plugin.toml", '[consultation]\nkind = "this:X"\n')
    assert main(["validate", "--registered-kinds-only", str(path)]) == 2, "refused"
    err = capsys.readouterr().err
    assert "only registered kinds" in err, err
    assert "this" not in sys.modules, "the CLI must not import the module"


def test_registered_only_experiment(no_this_module, tmp_path: Path) -> None:
    """load_experiment(allow_imports=False) refuses an override to 'this:X' without importing it."""
    text = standins.compare_text(extra='[overrides]\n"routing.kind" = "this:X"')
    path = standins.write_experiment(tmp_path, "plugin", text)
    with pytest.raises(InputError, match="only registered kinds"):
        load_experiment(path, allow_imports=False)
    assert "this" not in sys.modules, "the module must not be imported"


def test_registered_only_calibration(no_this_module, tmp_path: Path) -> None:
    """A calibration's base scenario is loaded with allow_imports=False too: 'this:X' is
    refused before the module is imported (as a compare's scenarios are)."""
    (tmp_path / "plugin.toml").write_text('[routing]\nkind = "this:X"\n', encoding="utf-8")
    path = tmp_path / "fit.toml"
    path.write_text(
        'name = "fit"\nkind = "calibrate"\nscenario = "plugin.toml"\ntargets = "targets.toml"\n'
        "[calibration]\n[[calibration.parameters]]\n"
        'name = "handling.resolution_probability_full_effort"\nlower = 0.1\nupper = 0.9\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"scenario: .*only registered kinds"):
        load_experiment(path, allow_imports=False)
    assert "this" not in sys.modules, "the module must not be imported"


def test_negative_zero_is_zero(tmp_path: Path) -> None:
    """−0.0 passes ``ge=0`` and numpy's draws refused it as a negative scale: the run of a
    scenario that validated failed with an unexpected ValueError. It is read as 0.0."""
    from experiments.runs import run_single
    from experiments.scenario_files import apply_overrides, load_scenario, resolve_scenario_path

    scenario = apply_overrides(
        load_scenario(resolve_scenario_path("classroom")), {"population.initial_trust_sd": -0.0}
    )
    value = scenario.parameters.population.initial_trust_sd
    assert value == 0.0 and math.copysign(1.0, value) == 1.0
    assert math.isfinite(run_single(scenario, 1, days=2).summary["trust_mean"])


@pytest.mark.parametrize("body", ['raise RuntimeError("import-time failure")', "def (:"])
def test_a_plugin_module_that_fails_to_import_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], body: str
) -> None:
    """A ``module:Class`` policy whose module raises or does not compile as it is imported:
    the scenario's file and ``routing.kind`` named, exit 2 (before: "unexpected …", exit 1)."""
    name = f"broken_plugin_{abs(hash(body))}"
    (tmp_path / f"{name}.py").write_text(body + "\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    scenario = tmp_path / "plug.toml"
    scenario.write_text(
        f'extends = "{(SCENARIOS_FOLDER / "classroom.toml").as_posix()}"\nname = "plug"\n'
        f'[routing]\nkind = "{name}:Routing"\n',
        encoding="utf-8",
    )
    assert main(["validate", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert "routing" in err and "failed while it was imported" in err and "unexpected" not in err
    assert str(scenario) in err or "plug.toml" in err, err


def test_a_loop_of_symbolic_links_is_said_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario reached through a loop of links (``extends``, an experiment's scenario, a
    command's argument): the file and field named (before: an unexpected RuntimeError)."""
    (tmp_path / "l1.toml").symlink_to("l2.toml")
    (tmp_path / "l2.toml").symlink_to("l1.toml")
    child = tmp_path / "child.toml"
    child.write_text('extends = "l1.toml"\nname = "child"\n', encoding="utf-8")
    experiment = tmp_path / "e.toml"
    experiment.write_text(
        f'name = "e"\nkind = "sweep"\nscenario = "{(tmp_path / "l1.toml").as_posix()}"\n'
        'replications = 1\ndays = 2\n[grid]\n"population.residents_per_grid" = [400]\n',
        encoding="utf-8",
    )
    for argv, field in (
        (["validate", str(child)], "extends"),
        (["validate", str(experiment)], "scenario"),
        (["run", str(tmp_path / "l1.toml"), "--days", "1", "--no-files"], None),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "loop of symbolic links" in err and "unexpected" not in err, err
        assert field is None or f"{field} =" in err, err


@pytest.mark.parametrize(
    "line", ['replications = "2"', "replications = 2.0", "seed = true", 'days = "5"']
)
def test_experiment_numbers_are_strictly_typed(tmp_path: Path, line: str) -> None:
    """An experiment file's numbers are refused in the wrong type, as a scenario's are
    (before: ``seed = true`` ran as seed 1, ``replications = "2"`` as 2)."""
    path = tmp_path / "e.toml"
    path.write_text(
        f'name = "e"\nkind = "sweep"\nscenario = "{(SCENARIOS_FOLDER / "classroom.toml").as_posix()}"\n'
        f'{line}\n[grid]\n"population.residents_per_grid" = [400]\n',
        encoding="utf-8",
    )
    field = line.split(" =")[0]
    with pytest.raises(InputError, match=field):
        load_experiment(path)


@pytest.mark.parametrize(
    "override",
    [
        {"departments.urban_management.enforcement": "yes"},
        {"coordination.tasks_moved_with_staff": 0},
        {"routing": {"kind": "integrated", "first_unit_leads": "no"}},
    ],
)
def test_flags_are_true_or_false_only(override: dict[str, Any]) -> None:
    """A scenario's or a policy's boolean is true or false: "no" was read as false, "yes"
    as true, 0 as false — silently."""
    from experiments.scenario_files import apply_overrides, load_scenario

    with pytest.raises(InputError, match=r"true or false|valid boolean"):
        apply_overrides(load_scenario(SCENARIOS_FOLDER / "classroom.toml"), override)


def test_an_experiment_file_given_as_a_scenario_is_said_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``microgov run experiments/staffing_sweep.toml`` said "10 problems: kind = 'sweep':
    unknown key …"; now it names the command that runs it. One without its kind is told so."""
    sweep = Path(__file__).resolve().parents[1] / "experiments" / "staffing_sweep.toml"
    assert main(["run", str(sweep), "--days", "1", "--no-files"]) == 2
    err = capsys.readouterr().err
    assert "is an experiment file (kind = 'sweep')" in err and "microgov sweep" in err, err
    bare = tmp_path / "bare.toml"
    bare.write_text(
        'name = "e"\nscenario = "x.toml"\n[grid]\n"population.residents_per_grid" = [400]\n',
        encoding="utf-8",
    )
    assert main(["validate", str(bare)]) == 2
    err = capsys.readouterr().err
    assert "experiment file without its kind" in err and "kind" in err, err


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('[grid]\n"population.residents_per_grid" = [400, 400]\n', "are the same scenario"),
        (
            '[[points]]\n"population.residents_per_grid" = 400\n'
            '[[points]]\n"population.residents_per_grid" = 400\n',
            "are the same scenario",
        ),
        (
            '[overrides]\n"population.residents_per_grid" = 500\n'
            '[grid]\n"population.residents_per_grid" = [400, 450]\n',
            "set in [overrides] and varied in [grid]",
        ),
    ],
)
def test_a_sweep_never_runs_a_point_twice_or_shadows_an_override(
    tmp_path: Path, table: str, said: str
) -> None:
    """A repeated grid value or point ran the same seeds twice and counted the same runs
    twice; a field both overridden and swept had the sweep's values win silently."""
    path = tmp_path / "e.toml"
    path.write_text(
        f'name = "e"\nkind = "sweep"\nscenario = "{(SCENARIOS_FOLDER / "classroom.toml").as_posix()}"\n'
        + table,
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=re.escape(said)):
        load_experiment(path)
