"""The garbage collector's settings inside and after a run."""

from __future__ import annotations

import gc

import pytest

from experiments.scenario_files import Scenario
from model.collector import YOUNG_THRESHOLD, quiet_collector
from model.governance import GovernanceModel


def test_inside_existing_objects_are_frozen_and_young_collections_rarer() -> None:
    """quiet_collector freezes what exists and raises the young threshold; exit undoes both."""
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with quiet_collector():
        assert gc.get_freeze_count() > frozen, "objects existing on entry are frozen"
        assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:], "older generations keep their thresholds"
    assert gc.get_threshold() == before and gc.get_freeze_count() <= frozen


def test_settings_are_restored_after_an_error() -> None:
    """An exception inside leaves the collector as it found it."""
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError), quiet_collector():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before and gc.get_freeze_count() <= frozen


def test_a_collector_disabled_by_threshold_stays_disabled() -> None:
    """A young threshold of 0 (collection off) is not turned on inside."""
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with quiet_collector():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_cycles_made_during_a_run_are_still_collected(classroom: Scenario) -> None:
    """A reference cycle made inside is collected once the collector runs after the run."""
    model = GovernanceModel(classroom.parameters, seed=1)
    thresholds = gc.get_threshold()
    with quiet_collector():
        cycle: list[object] = []
        cycle.append(cycle)
        ident = id(cycle)
        del cycle
        model.run(days=1)
    gc.collect()
    assert all(id(o) != ident for o in gc.get_objects()), "the cycle was freed"
    assert gc.get_threshold() == thresholds, "run() restored the thresholds"


def test_nested_blocks_restore_only_when_the_last_one_leaves() -> None:
    """A block inside another (a model built during a run) leaves the outer's settings alone."""
    before = gc.get_threshold()
    with quiet_collector():
        frozen = gc.get_freeze_count()
        with quiet_collector():
            pass
        assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD) or before[0] == 0, (
            "the inner block's exit kept the outer's raised threshold"
        )
        assert gc.get_freeze_count() >= frozen, "the inner block's exit unfroze nothing"
    assert gc.get_threshold() == before, "the outer block's exit restored the thresholds"
