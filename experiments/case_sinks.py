"""Case sinks: where a run's case log goes while the run goes on.

A model given a case sink (``GovernanceModel(..., case_sink=sink)``, ``run_single(...,
case_sink=sink)``) retires finished cases from its case table in blocks and calls the sink
with each block as a case-log frame, then with the remaining cases when its output is
made: every case exactly once, so memory stays flat in the number of simulated days
(docs/design.md "A case log that does not grow"). The model does no file I/O; the sinks
that write or summarise live here.
"""

from __future__ import annotations

from typing import TextIO

import pandas as pd


class CsvCaseSink:
    """Appends each frame to an open text file as CSV (the header once, before the first).

    The file reads as ``RunOutput.cases.to_csv(index=False)`` of a run without a sink
    would, with the rows in the order the cases were retired (each block in case-number
    order); sort by ``case_id`` for the order of creation.
    """

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.rows = 0
        self._header = True

    def __call__(self, frame: pd.DataFrame) -> None:
        if frame.empty and not self._header:
            return
        frame.to_csv(self.handle, index=False, header=self._header)
        self._header = False
        self.rows += len(frame)


class HistogramCaseSink:
    """Keeps only the histogram of closed cases' resolution times (the results store's
    ``distributions`` table, ``experiments.runner.distribution_rows``), frame by frame."""

    def __init__(self) -> None:
        self.cases = 0
        self._counts: dict[tuple[str, float], int] = {}

    def __call__(self, frame: pd.DataFrame) -> None:
        from experiments.runner import distribution_rows  # the runner imports this module

        self.cases += len(frame)
        for variable, upper, n in distribution_rows(frame):
            key = (variable, upper)
            self._counts[key] = self._counts.get(key, 0) + n

    def rows(self) -> list[tuple[str, float, int]]:
        """The histogram as ``distribution_rows`` of every case sunk would give it."""
        ordered = sorted(self._counts, key=lambda k: (k[0] != "resolution_time_days", k[0]))
        return [(variable, upper, self._counts[(variable, upper)]) for variable, upper in ordered]
