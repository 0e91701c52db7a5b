"""SharedSwitch: one process-wide setting held by every open block, restored by the last."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.process_switch import SharedSwitch


@given(st.integers(1, 6))
def test_nested_blocks_switch_once_and_restore_once(depth: int) -> None:
    """However deep the nesting, the setting is switched on entry of the first and restored last."""
    calls: list[str] = []
    shared = SharedSwitch()

    def enter(level: int) -> None:
        if level == depth:
            assert calls == ["switch"], "switched once, not restored while blocks are open"
            return
        with shared.held(lambda: calls.append("switch") or "before", calls.append):
            enter(level + 1)

    enter(0)
    assert calls == ["switch", "before"], "restored once, with what the switch returned"


def test_an_error_inside_still_restores() -> None:
    """A block left by an exception closes like any other: the last one out restores."""
    restored: list[int] = []
    shared = SharedSwitch()
    with pytest.raises(RuntimeError, match="inside"):
        with shared.held(lambda: 7, restored.append):
            raise RuntimeError("inside")
    with shared.held(lambda: 8, restored.append):
        pass
    assert restored == [7, 8], "each outermost block restored its own saved value"
