"""Shared fixtures. Keep this file small; put fixtures used by one file in that file."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from experiments.scenario_files import SCENARIOS_FOLDER, Scenario, load_scenario


@pytest.fixture(scope="session")
def scenarios_dir() -> Path:
    """The project's scenarios/ folder."""
    return SCENARIOS_FOLDER


@pytest.fixture(scope="session")
def classroom(scenarios_dir: Path) -> Scenario:
    """The classroom scenario (≈3,000 residents; a simulated year in about a second)."""
    return load_scenario(scenarios_dir / "classroom.toml")


@pytest.fixture
def write_toml(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a (dedented) TOML text into tmp_path under a file name; return its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="module", params=["compiled", "python"])
def engine_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test module against one engine: its ``EventCalendar`` and ``Station`` names bound
    to the compiled classes or to the pure-Python reference (module-scoped, so hypothesis
    tests may use it; the compiled run is skipped where the extension is not built)."""
    from model.engine_backend import compiled_engine
    from model.events import PythonEventCalendar
    from model.stations import PythonStation

    engine = compiled_engine()
    if request.param == "compiled":
        if engine is None:
            pytest.skip("the compiled engine is not built")
        chosen = {"EventCalendar": engine.EventCalendar, "Station": engine.Station}
    else:
        chosen = {"EventCalendar": PythonEventCalendar, "Station": PythonStation}
    module = request.module
    saved = {name: getattr(module, name) for name in chosen if hasattr(module, name)}
    for name in saved:
        setattr(module, name, chosen[name])
    yield request.param
    for name, value in saved.items():
        setattr(module, name, value)
