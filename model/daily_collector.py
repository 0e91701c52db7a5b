"""The model's data collector: Mesa's, with a cheaper day for plain numbers (issue 11).

``mesa.DataCollector.collect`` checks each model reporter's kind and stores a
``copy.deepcopy`` of its value, every day. The daily reporters are functions of the
model returning an int, a float or a bool, whose deep copy is the value itself; this
collector stores such values as they are and deep-copies anything else, so the table is
the one Mesa's collector makes (tests/test_daily_collector.py). Anything else — the first
collection (Mesa validates the reporters then), agent or agent-type reporters, or a model
reporter that is not a function — goes through Mesa's own ``collect``.
"""

from __future__ import annotations

import types
from copy import deepcopy
from typing import Any

import mesa

_ATOMIC = (int, float, bool)  # exact types: their deep copy is the value itself


class DailyCollector(mesa.DataCollector):
    """A ``mesa.DataCollector`` whose ``collect`` stores plain numbers without deep copies."""

    # (model reporters counted, whether all are plain functions); (-1, False): not yet
    _checked: tuple[int, bool] = (-1, False)

    def collect(self, model: Any) -> None:
        """Collect the day's row (as Mesa's ``collect`` does)."""
        reporters = self.model_reporters
        checked = self._checked  # checked again when a reporter is added
        if checked[0] != len(reporters):
            checked = self._check(reporters)
        if (
            not self._validated
            or self.agent_reporters
            or self.agenttype_reporters
            or not checked[1]
        ):
            super().collect(model)
            return
        self._collection_steps.append(model.time)
        columns = self.model_vars
        for var, reporter in reporters.items():
            value = reporter(model)
            columns[var].append(value if type(value) in _ATOMIC else deepcopy(value))

    def _check(self, reporters: dict[str, Any]) -> tuple[int, bool]:
        """How many model reporters there are, and whether each is a plain function."""
        functions = bool(reporters) and all(
            type(r) is types.FunctionType for r in reporters.values()
        )
        self._checked = (len(reporters), functions)
        return self._checked
