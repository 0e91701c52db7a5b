"""The model's daily collector records the table Mesa's DataCollector records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa

from experiments.scenario_files import load_scenario
from model.daily_collector import DailyCollector
from model.governance import GovernanceModel

CLASSROOM = Path(__file__).resolve().parent.parent / "scenarios" / "classroom.toml"


def test_a_runs_daily_table_is_mesas() -> None:
    """Same seed, 40 days: DailyCollector's columns and steps equal mesa.DataCollector's."""
    p = load_scenario(CLASSROOM).parameters
    ours, mesas = GovernanceModel(p, seed=4), GovernanceModel(p, seed=4)
    assert isinstance(ours.datacollector, DailyCollector)
    mesas.datacollector = mesa.DataCollector(model_reporters=mesas._daily_reporters())
    for _ in range(40):
        ours.step()
        mesas.step()
    assert ours.datacollector.model_vars == mesas.datacollector.model_vars
    assert ours.datacollector._collection_steps == mesas.datacollector._collection_steps
    assert ours.datacollector.get_model_vars_dataframe().equals(
        mesas.datacollector.get_model_vars_dataframe()
    )
    assert len(ours.datacollector.model_vars["trust_mean"]) == 40


class _Toy(mesa.Model):
    def __init__(self) -> None:
        super().__init__()
        self.items: list[int] = [1]
        self.count = 0


def test_values_that_are_not_plain_numbers_are_deep_copied() -> None:
    """A reporter's list is stored as a copy: changing the model's list later leaves the row."""
    toy = _Toy()
    collector = DailyCollector(model_reporters={"items": lambda m: m.items})
    for _ in range(3):
        collector.collect(toy)
        toy.items.append(len(toy.items) + 1)
    assert collector.model_vars["items"] == [[1], [1, 2], [1, 2, 3]]


def test_other_reporters_go_through_mesas_collect() -> None:
    """Attribute-name and method reporters (not functions) are collected as Mesa collects them."""
    toy = _Toy()
    reporters: dict[str, Any] = {"count": "count", "n": lambda m: len(m.items)}
    ours, mesas = DailyCollector(model_reporters=reporters), mesa.DataCollector(reporters)
    for k in range(3):
        toy.count = k
        ours.collect(toy)
        mesas.collect(toy)
    assert ours.model_vars == mesas.model_vars == {"count": [0, 1, 2], "n": [1, 1, 1]}
