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
_UNCHECKED = (-1, False)


class DailyCollector(mesa.DataCollector):
    """A ``mesa.DataCollector`` whose ``collect`` stores plain numbers without deep copies."""

    def collect(self, model: Any) -> None:
        """Collect the day's row (as Mesa's ``collect`` does)."""
        reporters = self.model_reporters
        if (
            not self._validated
            or self.agent_reporters
            or self.agenttype_reporters
            or not self._functions_only(reporters)
        ):
            super().collect(model)
            return
        self._collection_steps.append(model.time)
        columns = self.model_vars
        for var, reporter in reporters.items():
            value = reporter(model)
            columns[var].append(value if type(value) in _ATOMIC else deepcopy(value))

    def _functions_only(self, reporters: dict[str, Any]) -> bool:
        """Whether every model reporter is a plain function (checked again when one is added)."""
        count, functions = getattr(self, "_checked", _UNCHECKED)
        if count != len(reporters):
            functions = bool(reporters) and all(
                type(r) is types.FunctionType for r in reporters.values()
            )
            self._checked = (len(reporters), functions)
        return functions
