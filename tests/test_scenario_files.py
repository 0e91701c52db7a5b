"""Scenario files: the shipped files, extends merging, error messages, overrides, digests."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.errors import InputError
from experiments.scenario_files import (
    Scenario,
    apply_overrides,
    check_field_path,
    describe_field,
    field_paths,
    field_value,
    iter_scenario_files,
    load_scenario,
    merge_tables,
    parameters_mapping,
    resolve_scenario_path,
    scenario_digest,
    scenario_from_mapping,
)
from model.parameters import ModelParameters
from model.policies.accountability import NoAccountability
from model.policies.consultation import CouncilConsultation
from model.policies.immediate import ImmediateRouting
from model.policies.routing import IntegratedRouting

SHIPPED = sorted(p.name for p in iter_scenario_files())
# A value line is "key = value"; these keys need no cited source (kind is the choice studied).
_NO_SOURCE_NEEDED = {"name", "title", "description", "extends", "kind"}
_VALUE_LINE = re.compile(r"^\s*([A-Za-z0-9_\"'.-]+)\s*=")
# "fitted ≈" and "settled:": values `microgov calibrate` wrote; their sources are the target
# file named in the file's header (scenarios/baseline_calibrated.toml); "experiment
# override": a value the calibration took from its experiment file, named in the header,
# which cites it (scenarios/yongchuan_baseline_calibrated.toml)
_SOURCE = re.compile(
    r"#.*(\bF\d+(\.\d+)?|\bM\d+\b|\bseed\b|assumption|derived|fitted ≈|settled:|experiment override)",
    re.IGNORECASE,
)


def error_text(excinfo: pytest.ExceptionInfo[InputError]) -> str:
    return str(excinfo.value)


# ---------------------------------------------------------------------------
# The shipped scenario files
# ---------------------------------------------------------------------------


def test_the_four_required_scenarios_are_shipped() -> None:
    """classroom, baseline, integrated and yongchuan exist in scenarios/."""
    for name in ("classroom.toml", "baseline.toml", "integrated.toml", "yongchuan.toml"):
        assert name in SHIPPED, f"scenarios/{name} is missing; found {SHIPPED}"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_validates(scenarios_dir: Path, name: str) -> None:
    """Every file in scenarios/ loads and validates, and its name defaults sensibly."""
    scenario = load_scenario(scenarios_dir / name)
    assert isinstance(scenario.parameters, ModelParameters), "parameters must be validated"
    assert scenario.name == Path(name).stem, "shipped scenarios are named after their file"
    assert scenario.parameters.name == scenario.name, "parameters carry the scenario name"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_value_cites_its_source(scenarios_dir: Path, name: str) -> None:
    """Each value line has a comment citing a stylized fact, the seed, or 'assumption'."""
    lines = (scenarios_dir / name).read_text(encoding="utf-8").splitlines()
    assert lines and lines[0].startswith("#"), f"{name} must open with a header comment"
    missing = [
        line
        for line in lines
        if (match := _VALUE_LINE.match(line))
        and match.group(1) not in _NO_SOURCE_NEEDED
        and not _SOURCE.search(line)
    ]
    assert not missing, f"{name}: values without a cited source: {missing}"


def test_shipped_scenarios_have_the_intended_sizes_and_policies(scenarios_dir: Path) -> None:
    """Sizes and policies match the brief: classroom small, baseline ≈50k, Yongchuan ≈1.15 M."""
    found = {p.stem: load_scenario(p) for p in iter_scenario_files(scenarios_dir)}
    classroom, baseline = found["classroom"], found["baseline"]
    integrated, yongchuan = found["integrated"], found["yongchuan"]
    assert 1_000 <= classroom.residents <= 5_000, f"classroom has {classroom.residents} residents"
    assert classroom.consultation_kind == "council", "the classroom shows a council"
    assert 45_000 <= baseline.residents <= 55_000, f"baseline has {baseline.residents} residents"
    assert (baseline.routing_kind, baseline.consultation_kind) == ("hierarchical", "none"), (
        "the baseline is pre-reform"
    )
    assert integrated.routing_kind == "integrated", "integrated.toml switches the routing"
    assert integrated.residents == baseline.residents, (
        "integrated differs from baseline in routing only"
    )
    assert integrated.consultation_kind == baseline.consultation_kind, (
        "same consultation as baseline"
    )
    assert yongchuan.parameters.population.streets == 23, "F6.1: 7 streets and 16 towns"
    assert abs(yongchuan.residents - 1_148_896) / 1_148_896 < 0.01, (
        f"Yongchuan should have ≈1,148,896 residents (F6.1), has {yongchuan.residents}"
    )
    assert yongchuan.routing_kind == "integrated", "Yongchuan is post-reform"


def test_integrated_differs_from_baseline_only_in_routing_and_catalogue(
    scenarios_dir: Path,
) -> None:
    """Apart from name, description, routing and the single catalogue (一组库), integrated's
    parameters equal the fitted baseline's (it extends baseline_calibrated and adds the reform)."""
    base = parameters_mapping(load_scenario(scenarios_dir / "baseline_calibrated.toml").parameters)
    integrated = parameters_mapping(load_scenario(scenarios_dir / "integrated.toml").parameters)
    different = sorted(k for k in base if base[k] != integrated[k])
    assert different == ["coordination", "description", "name", "routing", "title"], (
        f"unexpected differences: {different}"
    )
    changed = sorted(
        k for k in base["coordination"] if base["coordination"][k] != integrated["coordination"][k]
    )
    assert changed == ["catalogue_departments"], f"coordination differs in {changed}"


# ---------------------------------------------------------------------------
# extends
# ---------------------------------------------------------------------------


def test_extends_child_keys_win_and_tables_merge(write_toml) -> None:
    """A child's keys override the parent's; the parent's other keys in the table are kept."""
    write_toml(
        "parent.toml",
        """
        name = "parent"
        description = "the parent"
        [population]
        streets = 2
        residents_per_grid = 300
        """,
    )
    child = write_toml(
        "child.toml",
        """
        extends = "parent.toml"
        [population]
        streets = 3
        """,
    )
    scenario = load_scenario(child)
    population = scenario.parameters.population
    assert population.streets == 3, "the child's value wins"
    assert population.residents_per_grid == 300, "the parent's other keys are kept"
    assert scenario.name == "child", "name is not inherited: it defaults to the child's stem"
    assert scenario.parameters.description == "", "description is not inherited"
    assert "extends" not in scenario.raw, "the merged mapping has no extends key"


def test_extends_chain_of_three_files(write_toml) -> None:
    """A grandchild sees the grandparent's values through its parent."""
    write_toml("a.toml", "[population]\nstreets = 2\nresidents_per_grid = 300\n")
    write_toml("b.toml", 'extends = "a.toml"\n[population]\nstreets = 3\n')
    grandchild = write_toml("sub/c.toml", 'extends = "../b.toml"\n[simulation]\ndays = 10\n')
    parameters = load_scenario(grandchild).parameters
    assert (parameters.population.streets, parameters.population.residents_per_grid) == (3, 300), (
        "values flow down the chain, nearest file winning"
    )
    assert parameters.simulation.days == 10, "the grandchild's own value is set"


def test_policy_kind_switch_replaces_the_parent_block(write_toml) -> None:
    """A child that changes the routing kind does not inherit the old policy's parameters."""
    write_toml("parent.toml", '[routing]\nkind = "integrated"\njoint_coordination_hours = 2.0\n')
    child = write_toml("child.toml", 'extends = "parent.toml"\n[routing]\nkind = "immediate"\n')
    routing = load_scenario(child).parameters.routing
    assert isinstance(routing, ImmediateRouting), "the child's kind wins"
    assert routing == ImmediateRouting(), "no parameter of the parent's policy leaks in"


def test_policy_block_without_kind_changes_parameters_only(write_toml) -> None:
    """A child block without kind keeps the parent's policy and changes one parameter."""
    write_toml("parent.toml", '[consultation]\nkind = "council"\nquorum = 7\n')
    child = write_toml("child.toml", 'extends = "parent.toml"\n[consultation]\ncycle_days = 30\n')
    policy = load_scenario(child).parameters.consultation
    assert policy == CouncilConsultation(quorum=7, cycle_days=30), (
        f"parameters should merge within the same kind, got {policy}"
    )


def test_extends_cycle_is_detected(write_toml) -> None:
    """a extends b extends a is an error naming the cycle."""
    a = write_toml("a.toml", 'extends = "b.toml"\n')
    write_toml("b.toml", 'extends = "a.toml"\n')
    with pytest.raises(InputError) as excinfo:
        load_scenario(a)
    assert "extends cycle: a.toml → b.toml → a.toml" in error_text(excinfo), error_text(excinfo)


def test_extending_itself_is_a_cycle(write_toml) -> None:
    """A file that extends itself is reported as a cycle."""
    path = write_toml("self.toml", 'extends = "self.toml"\n')
    with pytest.raises(InputError, match="extends cycle"):
        load_scenario(path)


def test_missing_extends_file_names_the_closest_file(write_toml) -> None:
    """extends pointing at a missing file names the field, the value and a suggestion."""
    write_toml("baseline.toml", "")
    path = write_toml("child.toml", 'extends = "basline.toml"\n')
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    text = error_text(excinfo)
    assert "child.toml: extends = 'basline.toml': no such file" in text, text
    assert "did you mean 'baseline.toml'?" in text, text


def test_extends_must_be_a_string(write_toml) -> None:
    """extends = 3 is rejected with what is allowed."""
    path = write_toml("child.toml", "extends = 3\n")
    with pytest.raises(InputError, match=r"extends = 3: must be a file name; allowed: a \.toml"):
        load_scenario(path)


def test_merge_tables_rules() -> None:
    """merge_tables: top wins, tables merge, kind change replaces, inputs untouched."""
    base = {"a": 1, "t": {"x": 1, "y": 2}, "p": {"kind": "k1", "q": 1}, "s": {"kind": "k", "q": 1}}
    top = {"a": 2, "t": {"y": 3}, "p": {"kind": "k2"}, "s": {"q": 2}}
    merged = merge_tables(base, top)
    assert merged == {
        "a": 2,
        "t": {"x": 1, "y": 3},
        "p": {"kind": "k2"},
        "s": {"kind": "k", "q": 2},
    }, f"unexpected merge result {merged}"
    assert base["t"] == {"x": 1, "y": 2}, "the base mapping must not be modified"


def test_one_department_can_be_changed_alone(write_toml) -> None:
    """[departments.<name>] with one key keeps the other default departments."""
    path = write_toml("d.toml", "[departments.health]\nstaff_per_100k_residents = 20\n")
    parameters = load_scenario(path).parameters
    assert parameters.departments["health"].staff_per_100k_residents == 20, "the key is set"
    assert set(parameters.departments) == set(ModelParameters().departments), (
        "the other departments must be kept"
    )


# ---------------------------------------------------------------------------
# Bad input: each kind has its clear message
# ---------------------------------------------------------------------------


def test_toml_syntax_error_gives_line_and_column(write_toml) -> None:
    """A TOML syntax error names the file, the line and column, and shows the line."""
    path = write_toml("bad.toml", "[population]\nstreets = = 2\n")
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    text = error_text(excinfo)
    assert "bad.toml: TOML syntax error at line 2, column" in text, text
    assert "'streets = = 2'" in text, f"the offending line should be shown: {text}"


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    """A file saved with a UTF-8 byte-order mark (as Windows editors do) reads as without it."""
    text = "[population]\nstreets = 2\n"
    (tmp_path / "plain").mkdir()
    (tmp_path / "marked").mkdir()
    plain, marked = tmp_path / "plain" / "same.toml", tmp_path / "marked" / "same.toml"
    plain.write_text(text, encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert parameters_mapping(load_scenario(marked).parameters) == parameters_mapping(
        load_scenario(plain).parameters
    )


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A scenario path that does not exist says 'no such file'."""
    with pytest.raises(InputError, match=r"nope\.toml: no such file"):
        load_scenario(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "[population]\nstreetz = 2\n",
            "population.streetz = 2: unknown key; allowed: streets, ",
            id="unknown-key",
        ),
        pytest.param(
            "[populaton]\nstreets = 2\n",
            "populaton: unknown key; allowed: name, title, description, simulation",
            id="unknown-section",
        ),
        pytest.param(
            "[population]\nstreets = 0\n",
            "population.streets = 0: Input should be greater than or equal to 1; "
            "allowed: an integer from 1 to ",
            id="out-of-range",
        ),
        pytest.param(
            '[population]\nstreets = "two"\n',
            "population.streets = 'two': Input should be a valid integer",
            id="wrong-type",
        ),
        pytest.param(
            "[population]\nparty_member_share = 1.5\n",
            "population.party_member_share = 1.5: Input should be less than or equal to 1; "
            "allowed: a number from 0 to 1",
            id="share-above-one",
        ),
        pytest.param(
            "population = 5\n",
            "population = 5: Input should be a valid dictionary",
            id="table-expected",
        ),
        pytest.param(
            '[routing]\nkind = "integrate"\n',
            "routing: unknown routing kind 'integrate' (did you mean 'integrated'?); allowed: ",
            id="unknown-policy-kind",
        ),
        pytest.param(
            "[routing]\njoint_coordination_hours = 2.0\n",
            "routing: the routing block needs a 'kind' key; allowed: ",
            id="missing-kind",
        ),
        pytest.param(
            '[consultation]\nkind = "council"\ncycle_dayz = 30\n',
            "consultation: consultation kind 'council' has no parameter 'cycle_dayz' "
            "(did you mean 'cycle_days'?)",
            id="unknown-policy-parameter",
        ),
        pytest.param(
            '[consultation]\nkind = "council"\ncycle_days = 0\n',
            "consultation: consultation kind 'council': cycle_days: "
            "Input should be greater than or equal to 1",
            id="bad-policy-parameter",
        ),
        pytest.param(
            "[demand.case_type_shares]\ninquiry = 0.9\n",
            "demand.case_type_shares: case type shares must sum to 1 (they sum to 1.3500)",
            id="shares-not-summing-to-one",
        ),
        pytest.param(
            "[population]\nage_group_shares = { young = 0.5, old = 0.5 }\n",
            "population.age_group_shares: unknown age group(s) 'young', 'old'; the age groups "
            "are 18-29, 30-49, 50-69, 70+",
            id="unknown-age-groups",
        ),
        pytest.param(
            '[population]\nage_group_shares = { "18-29" = 0.5, youngish = 0.5 }\n',
            "population.age_group_shares: unknown age group(s) 'youngish'",
            id="an-unknown-age-group-among-known-ones",
        ),
        pytest.param(
            "[departments.health]\ncase_share = 0.5\n",
            "departments: departments' case_share must sum to 1 (they sum to ",
            id="department-shares",
        ),
        pytest.param(
            "[departments.helth]\nstaff_per_100k_residents = 3\n",
            "departments.helth: is not a default department; to add a department, give its "
            "case_share; allowed: urban_management",
            id="misspelt-department",
        ),
        pytest.param(
            '[routing]\nkind = "nope.module:Cls"\n',
            "routing: cannot import module 'nope.module' for kind 'nope.module:Cls'",
            id="unimportable-plugin",
        ),
        pytest.param(
            '[coordination]\nqueue_discipline = "lifo"\n',
            "coordination.queue_discipline = 'lifo': Input should be 'fifo' or 'deadline'; "
            "allowed: 'fifo', 'deadline'",
            id="literal",
        ),
    ],
)
def test_bad_input_has_a_clear_message(write_toml, text: str, expected: str) -> None:
    """Each kind of bad scenario input gives a message naming file, field, value and allowed."""
    path = write_toml("bad.toml", text)
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    message = error_text(excinfo)
    assert f"bad.toml: {expected}" in message, f"expected {expected!r} in:\n{message}"


def test_unknown_key_suggests_the_closest_field(write_toml) -> None:
    """A typo in a key is answered with the closest valid key."""
    path = write_toml("bad.toml", "[population]\nstreetz = 2\n")
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    assert excinfo.value.suggestion == "streets", f"suggestion: {excinfo.value.suggestion!r}"
    assert error_text(excinfo).endswith("(did you mean 'streets'?)"), error_text(excinfo)


def test_every_problem_of_a_file_is_listed(write_toml) -> None:
    """All errors of one file come at once, each on its own line with its field."""
    path = write_toml(
        "bad.toml",
        """
        [population]
        streetz = 2
        communities_per_street = 0
        [routing]
        kind = "integrate"
        """,
    )
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    problems = excinfo.value.all_problems()
    fields = sorted(p.field or "" for p in problems)
    assert fields == ["population.communities_per_street", "population.streetz", "routing"], (
        f"every problem should be listed, got {fields}"
    )
    assert error_text(excinfo).startswith("3 problems:\n"), error_text(excinfo)
    assert all(p.file and p.file.endswith("bad.toml") for p in problems), "each names the file"


def test_input_error_format_and_pickling() -> None:
    """InputError reads as the brief's example and survives pickling (process pools)."""
    error = InputError(
        file="scenarios/foo.toml",
        field="routing.kind",
        value="integrate",
        allowed="hierarchical, integrated",
        suggestion="integrated",
    )
    expected = (
        "scenarios/foo.toml: routing.kind = 'integrate' is not allowed; "
        "allowed: hierarchical, integrated (did you mean 'integrated'?)"
    )
    assert str(error) == expected, f"got {error}"
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == expected and copy.field == "routing.kind", "pickling keeps everything"
    assert str(InputError("plain message")) == "plain message", "a reason alone is the message"


def test_describe_field_in_words() -> None:
    """describe_field says what a field accepts."""
    assert describe_field("population.streets") == "an integer from 1 to 100", "int range"
    assert describe_field("population.party_member_share") == "a number from 0 to 1", "share"
    assert describe_field("departments.health.staff_per_100k_residents") == (
        "a number > 0 and ≤ 100000"
    ), "gt"
    assert describe_field("coordination.queue_discipline") == "'fifo', 'deadline'", "literal"
    assert describe_field("no.such") == "", "unknown paths give an empty description"


# ---------------------------------------------------------------------------
# Overrides and field paths
# ---------------------------------------------------------------------------


def test_apply_overrides_sets_dotted_fields(classroom: Scenario) -> None:
    """Dotted overrides set department, office and policy fields; the original is unchanged."""
    changed = apply_overrides(
        classroom,
        {
            "departments.urban_management.staff_per_100k_residents": 50,
            "offices.community_staff": 4,
            "consultation.cycle_days": 30,
        },
        name="variant",
    )
    p = changed.parameters
    assert p.departments["urban_management"].staff_per_100k_residents == 50, "department field"
    assert p.offices.community_staff == 4, "office field"
    assert p.consultation == CouncilConsultation(cycle_days=30, first_meeting_day=45), "policy"
    assert (changed.name, p.name) == ("variant", "variant"), "the new name is used"
    assert changed.digest != classroom.digest, "different parameters, different digest"
    assert classroom.parameters.offices.community_staff != 4, "the original is not modified"
    assert "offices" not in classroom.raw, "the original raw mapping is not modified"


def test_apply_overrides_kind_switch_then_its_parameters(classroom: Scenario) -> None:
    """routing.kind and the new policy's parameter can be set in one call, in any order."""
    changed = apply_overrides(
        classroom, {"routing.joint_coordination_hours": 0.2, "routing.kind": "integrated"}
    )
    assert changed.parameters.routing == IntegratedRouting(joint_coordination_hours=0.2), (
        f"got {changed.parameters.routing}"
    )


def test_apply_overrides_on_a_default_policy_keeps_its_kind() -> None:
    """Setting one parameter of a policy the file leaves at its default keeps that kind."""
    scenario = scenario_from_mapping({}, name="defaults")
    changed = apply_overrides(scenario, {"accountability.period_days": 10})
    assert changed.parameters.accountability == NoAccountability(period_days=10), (
        f"got {changed.parameters.accountability}"
    )


def test_apply_overrides_accepts_numpy_scalars(classroom: Scenario) -> None:
    """numpy scalars (from SALib samples) are accepted and stored as plain Python numbers."""
    changed = apply_overrides(
        classroom, {"population.streets": np.int64(2), "feedback.callback_share": np.float64(0.2)}
    )
    assert changed.parameters.population.streets == 2, "np.int64 is accepted"
    assert type(changed.raw["feedback"]["callback_share"]) is float, "stored as a Python float"


def test_apply_overrides_bad_path_names_the_closest_path(classroom: Scenario) -> None:
    """A path that is not a field is an error naming the closest valid path."""
    with pytest.raises(InputError) as excinfo:
        apply_overrides(classroom, {"departments.urban_managment.staff_per_100k_residents": 3})
    text = error_text(excinfo)
    assert "departments.urban_managment.staff_per_100k_residents: no such field" in text, text
    assert "did you mean 'departments.urban_management.staff_per_100k_residents'?" in text, text


def test_apply_overrides_bad_policy_parameter_path(classroom: Scenario) -> None:
    """A parameter of another policy kind is not a field of this scenario's policy."""
    with pytest.raises(InputError) as excinfo:
        apply_overrides(classroom, {"routing.joint_coordination_hours": 0.2})
    assert "allowed: routing: kind" in error_text(excinfo), error_text(excinfo)


def test_apply_overrides_bad_value(classroom: Scenario) -> None:
    """An override with an invalid value names the field, the value and what is allowed."""
    with pytest.raises(InputError) as excinfo:
        apply_overrides(classroom, {"population.streets": -1})
    text = error_text(excinfo)
    assert "population.streets = -1" in text and "an integer from 1 to 100" in text, text
    assert "(with overrides)" in text, f"the message says overrides were applied: {text}"


def test_apply_overrides_without_changes_returns_an_equal_scenario(classroom: Scenario) -> None:
    """No overrides and no new name give the same scenario back."""
    assert apply_overrides(classroom, {}) is classroom, "nothing to change"


def test_check_field_path(classroom: Scenario) -> None:
    """check_field_path accepts fields and rejects typos, values and own keys."""
    for ok in (
        "population.streets",
        "routing.kind",
        "consultation.cycle_days",
        "demand.case_type_shares.help",
        "departments.health.case_share",
    ):
        check_field_path(classroom, ok)  # raises on failure
    for bad, why in [
        ("population.streetz", "did you mean 'population.streets'?"),
        ("population.streets.count", "'population.streets' is a value, not a table"),
        ("name", "is not a model parameter"),
        ("population..streets", "is not a dotted field path"),
    ]:
        with pytest.raises(InputError) as excinfo:
            check_field_path(classroom, bad)
        assert why in error_text(excinfo), f"{bad}: {error_text(excinfo)}"


def test_field_paths_lists_settable_fields(classroom: Scenario) -> None:
    """field_paths lists leaves (including policy kinds and parameters)."""
    paths = field_paths(classroom.parameters)
    for expected in (
        "population.streets",
        "routing.kind",
        "consultation.quorum",
        "departments.health.staff_per_100k_residents",
    ):
        assert expected in paths, f"{expected} missing from field_paths"
    assert "population" not in paths, "tables are only listed with tables=True"
    assert "population" in field_paths(classroom.parameters, tables=True), "tables=True adds them"


# ---------------------------------------------------------------------------
# Digests, mappings, file lookup
# ---------------------------------------------------------------------------


def test_digest_identifies_the_parameters(write_toml) -> None:
    """Equal parameters give equal digests whatever the name; a changed value changes it."""
    a = load_scenario(write_toml("a.toml", 'name = "a"\n[population]\nstreets = 2\n'))
    b = load_scenario(write_toml("b.toml", 'description = "x"\n[population]\nstreets = 2\n'))
    c = load_scenario(write_toml("c.toml", "[population]\nstreets = 3\n"))
    assert re.fullmatch(r"[0-9a-f]{16}", a.digest), f"digest is 16 hex digits: {a.digest}"
    assert a.digest == b.digest, "name and description do not enter the digest"
    assert a.digest != c.digest, "a parameter change changes the digest"
    assert scenario_digest(a) == scenario_digest(a.parameters) == a.digest, "same digest helpers"


def test_parameters_mapping_round_trips(scenarios_dir: Path) -> None:
    """parameters_mapping is a valid scenario mapping that validates to the same parameters."""
    scenario = load_scenario(scenarios_dir / "integrated.toml")
    mapping = parameters_mapping(scenario.parameters)
    assert mapping["routing"]["kind"] == "integrated", "policies carry their kind"
    again = scenario_from_mapping(mapping, name=scenario.name)
    assert again.parameters == scenario.parameters, (
        "validating the mapping gives the same parameters"
    )
    assert again.digest == scenario.digest, "and the same digest"


def test_scenario_is_picklable(classroom: Scenario) -> None:
    """Scenarios cross process boundaries (process pools, Dask)."""
    copy = pickle.loads(pickle.dumps(classroom))
    assert copy == classroom and copy.digest == classroom.digest, "pickling keeps the scenario"


def test_resolve_scenario_path_by_name(scenarios_dir: Path) -> None:
    """A bare name finds scenarios/<name>.toml; an unknown one suggests the closest."""
    assert resolve_scenario_path("classroom").name == "classroom.toml", "bare name lookup"
    with pytest.raises(InputError) as excinfo:
        resolve_scenario_path("clasroom")
    assert "did you mean 'classroom'?" in error_text(excinfo), error_text(excinfo)


def test_iter_scenario_files_missing_folder(tmp_path: Path) -> None:
    """A missing folder is an InputError, not an empty list."""
    with pytest.raises(InputError, match="no such folder"):
        list(iter_scenario_files(tmp_path / "nowhere"))


def test_field_value_reads_fields_and_policy_parameters(classroom: Scenario) -> None:
    """field_value reads sections, departments, policy kinds and policy parameters."""
    assert field_value(classroom, "population.grids_per_community") == 6, "section field"
    assert field_value(classroom, "consultation.kind") == "council", "policy kind"
    assert field_value(classroom, "consultation.cycle_days") == 91, "policy parameter"
    health = ModelParameters().departments["health"].case_share
    assert field_value(classroom.parameters, "departments.health.case_share") == health, "dept"
    with pytest.raises(InputError, match=r"did you mean 'consultation\.quorum'"):
        field_value(classroom, "consultation.quorom")


def test_department_share_error_lists_each_share(write_toml) -> None:
    """When departments' shares do not sum to 1, the message lists every department's share."""
    path = write_toml("bad.toml", "[departments.health]\ncase_share = 0.5\n")
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    text = error_text(excinfo)
    assert "case_share now: " in text and "health 0.5" in text, text
    assert all(name in text for name in ModelParameters().departments), f"all listed: {text}"


def test_target_and_map_files_skip_a_byte_order_mark(tmp_path: Path) -> None:
    """Target files and work-order log maps read with a UTF-8 byte-order mark as without."""
    from experiments.log_maps import load_map
    from experiments.targets import load_targets

    root = Path(__file__).resolve().parents[1]
    for load, shipped in (
        (load_targets, root / "scenarios" / "targets" / "pre_reform.toml"),
        (load_map, root / "scenarios" / "maps" / "hotline_12345.toml"),
    ):
        marked = tmp_path / shipped.name
        marked.write_bytes(b"\xef\xbb\xbf" + shipped.read_bytes())
        read, expected = load(marked), load(shipped)
        # a target set also names its file; compare what was read
        assert getattr(read, "targets", read) == getattr(expected, "targets", expected)


def _modules_loaded_by(code: str, names: tuple[str, ...]) -> str:
    """Which of ``names`` a fresh interpreter has imported after running ``code``."""
    probe = code + f"print(sorted(m for m in {names!r} if m in sys.modules))\n"
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", "import sys\n" + probe],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_reading_and_checking_files_imports_no_mesa() -> None:
    """Loading and checking every shipped scenario (the district's layout included) loads no
    Mesa, SciPy or pandas, and every shipped experiment file no Mesa: ``microgov validate``,
    the command line's reading of an experiment and API users pay ≈ 0.2 s for a scenario,
    not the ≈ 0.9 s of the run path's imports (issue 11; the geography apart from the
    agents, model/geography.py). (The outcome registry that experiment files are checked
    against reads pandas' types, and a sensitivity design SALib.)"""
    scenarios = (
        "from pathlib import Path\n"
        "from experiments.scenario_files import load_scenario\n"
        "for path in sorted(Path('scenarios').glob('*.toml')):\n"
        "    load_scenario(path).parameters\n"
    )
    heavy = ("mesa", "scipy", "pandas", "networkx", "model.agents", "model.units")
    assert _modules_loaded_by(scenarios, heavy) == "[]"
    experiments = (
        "from pathlib import Path\n"
        "from experiments.experiment_files import load_experiment\n"
        "for path in sorted(Path('experiments').glob('*.toml')):\n"
        "    load_experiment(path)\n"
    )
    assert _modules_loaded_by(experiments, ("mesa", "model.agents", "model.units")) == "[]"
