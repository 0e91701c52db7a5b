"""Shared fixtures. Keep this file small; put fixtures used by one file in that file."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
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
