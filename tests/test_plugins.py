"""Third-party policies plug in both ways: a "package.module:Class" kind and an entry point.

The example package lives in tests/plugin_pkg. The entry-point test really installs
it (pip, no network, no build isolation) into a temporary folder put on sys.path, so
the shared virtual environment is never changed.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

import model.policies.registry as registry
from model.parameters import ModelParameters
from model.policies.base import CaseView, ConsultationPolicy, RoutingPolicy
from model.policies.registry import PolicyError, available_kinds, resolve_policy

PLUGIN_DIR = Path(__file__).parent / "plugin_pkg"
PACKAGE = "microgov_example_policies"


@pytest.fixture
def fresh_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget any earlier import of the example package, so each test imports its own copy."""
    monkeypatch.delitem(sys.modules, PACKAGE, raising=False)


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example package installed by pip into a temporary target folder."""
    source = tmp_path_factory.mktemp("plugin_src") / "plugin_pkg"
    shutil.copytree(
        PLUGIN_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    target = tmp_path_factory.mktemp("plugin_site")
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--target",
        str(target),
    ]
    if importlib.util.find_spec("setuptools") is not None:
        # build with the environment's setuptools: offline and about 4 s
        command += ["--no-index", "--no-build-isolation"]
    command.append(str(source))
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"pip install of the example plug-in failed:\n{result.stderr}"
    return target


def test_reference_kind_loads_a_policy_from_a_module_on_the_path(
    monkeypatch: pytest.MonkeyPatch, fresh_import: None
) -> None:
    """kind = "package.module:Class" builds a third-party policy with validated parameters."""
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    policy = resolve_policy(
        "routing", {"kind": f"{PACKAGE}:DirectRouting", "coordination_hours": 0.8}
    )
    assert isinstance(policy, RoutingPolicy), f"not a routing policy: {policy!r}"
    assert policy.coordination_hours == 0.8, "the parameter should be passed through"
    consultation = resolve_policy("consultation", {"kind": f"{PACKAGE}:LotteryConsultation"})
    assert isinstance(consultation, ConsultationPolicy), (
        f"not a consultation policy: {consultation!r}"
    )
    with pytest.raises(PolicyError) as info:
        resolve_policy("routing", {"kind": f"{PACKAGE}:DirectRouting", "coordination_hours": 50})
    assert "coordination_hours" in str(info.value), (
        f"bounds of plug-in fields are checked: {info.value}"
    )


def test_reference_kind_works_from_scenario_parameters(
    monkeypatch: pytest.MonkeyPatch, fresh_import: None
) -> None:
    """A scenario's [routing] block may name a plug-in class by reference, also as grid_first's inner."""
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    parameters = ModelParameters.model_validate(
        {"routing": {"kind": "grid_first", "inner": {"kind": f"{PACKAGE}:DirectRouting"}}}
    )
    assert type(parameters.routing.inner).__name__ == "DirectRouting", (
        f"inner: {parameters.routing.inner!r}"
    )


def test_entry_points_register_installed_plugins(
    installed_plugin: Path, monkeypatch: pytest.MonkeyPatch, fresh_import: None
) -> None:
    """An installed package's microgov.* entry points become kinds usable from a scenario."""
    monkeypatch.syspath_prepend(str(installed_plugin))
    importlib.invalidate_caches()
    assert "example_direct" in available_kinds("routing"), (
        f"routing kinds: {available_kinds('routing')}"
    )
    assert "example_lottery" in available_kinds("consultation"), "consultation entry point missing"
    parameters = ModelParameters.model_validate(
        {
            "routing": {"kind": "example_direct"},
            "consultation": {"kind": "example_lottery", "cycle_days": 30},
        }
    )
    module = sys.modules[PACKAGE]
    assert Path(module.__file__ or "").is_relative_to(installed_plugin), (
        f"loaded from {module.__file__}"
    )
    case = CaseView(1, "help", "hotline", (0, 2), 0, 0, 0, False, False, False, 0.5, 7.0, 0)
    route = parameters.routing.route(case, None, np.random.default_rng(0))
    assert [v.unit.index for v in route.stages[0].visits] == [0, 2], (
        f"direct route expected: {route}"
    )
    assert parameters.consultation.meets_on(30), "the plug-in's cycle_days parameter should apply"


def test_broken_entry_point_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plug-in whose entry point cannot be imported raises PolicyError, not a traceback."""
    broken = EntryPoint(
        name="broken", value="no_such_plugin_module:Policy", group="microgov.routing"
    )

    def fake_entry_points(group: str) -> list[EntryPoint]:
        return [broken] if group == "microgov.routing" else []

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    with pytest.raises(PolicyError) as info:
        resolve_policy("routing", {"kind": "broken"})
    assert "cannot load routing plug-in 'broken'" in str(info.value), f"unclear error: {info.value}"


def test_entry_point_to_a_non_policy_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry point naming something that is not a policy class is refused with a clear error."""
    wrong = EntryPoint(
        name="wrong", value="model.policies.routing:intake_unit", group="microgov.routing"
    )
    monkeypatch.setattr(
        registry, "entry_points", lambda group: [wrong] if group == "microgov.routing" else []
    )
    with pytest.raises(PolicyError) as info:
        resolve_policy("routing", {"kind": "wrong"})
    assert "not a dataclass policy class" in str(info.value), f"unclear error: {info.value}"


def test_adding_a_policy_page_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/adding_a_policy.md: its policy module, its unit test and its scenario block all work."""
    page = (Path(__file__).parents[1] / "docs" / "adding_a_policy.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(\w+)\n(.*?)```", page, flags=re.DOTALL)
    python = {
        code.splitlines()[0].lstrip("# ").strip(): code for lang, code in blocks if lang == "python"
    }
    assert set(python) == {"my_policies.py", "test_my_policies.py"}, (
        f"python blocks: {sorted(python)}"
    )
    (tmp_path / "my_policies.py").write_text(python["my_policies.py"], encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_policies", raising=False)
    namespace: dict[str, object] = {}
    exec(compile(python["test_my_policies.py"], "test_my_policies.py", "exec"), namespace)
    test = namespace["test_severe_cases_get_more_priority"]
    assert callable(test), "the page's test function is missing"
    test()
    scenario = next(
        tomllib.loads(code)
        for lang, code in blocks
        if lang == "toml" and "scenarios/severity_first.toml" in code
    )
    parameters = ModelParameters.model_validate(
        {key: scenario[key] for key in ("routing", "consultation") if key in scenario}
    )
    assert type(parameters.routing).__name__ == "SeverityFirstRouting", (
        f"routing: {parameters.routing!r}"
    )
    assert parameters.routing.queue_discipline == "deadline", (
        "the example asks for deadline-first queues"
    )
    with pytest.raises(PolicyError) as info:
        resolve_policy("routing", {"kind": "my_policies:SeverityFirstRouting", "priority_day": 1})
    assert "did you mean 'priority_days_per_severity'" in str(info.value), f"error: {info.value}"
