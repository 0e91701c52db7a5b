"""Retiring finished cases from the case table, so that a long run's memory stays flat.

Without it the case table keeps one row per case of the run (≈0.5 kB each, ≈0.9 kB more
in the case log at the end): memory grows with the number of simulated days. With a
**case sink** — a callable the experiments layer passes to ``GovernanceModel`` (the model
does no file I/O) — finished cases leave the table in blocks: each block's rows are folded
into the run's :class:`~model.case_tallies.CaseTallies` (what the summary needs of them),
handed to the sink as a case-log frame (``model.outcomes.case_log`` columns), and their
rows are freed for new cases (docs/design.md "A case log that does not grow").

A case can be retired once nothing can read or change its row again:

- it is closed or parked (a closed case is never reopened: reopening happens at
  verification or call-back, before closure);
- no repeat contact about it is still to come (``CaseTable.followups``: the repeat
  contact copies the parent's row when it happens);
- its deadline has passed the last urging check (``Casework.urge_overdue`` holds the
  row of every resident's open case until its deadline), so no urging call looks at
  the row after another case took it; and so, for a parked case, it already counts as
  overdue in the on-time share, as it would at the end of the run.

Retirement is generic over the columns of ``CaseTable._SPEC``: freeing a row resets every
column to its default in bulk (but the finish times, reset when the row is reused), and
the sink's frame and the tallies read any column by name.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from model.case_tallies import CaseRows, CaseTallies
from model.outcomes import case_log, text_column

if TYPE_CHECKING:
    from model.governance import GovernanceModel

CaseSink = Callable[[pd.DataFrame], None]
RETIRE_BLOCK = 4096  # cases retired at a time (fewer, larger frames for the sink)
_FINISHED = ("closed", "parked")  # a retired case's status: parked if it never closed
logger = logging.getLogger(__name__)


class CaseRetirement:
    """Moves finished cases out of a model's case table into tallies and a sink.

    Args:
        model: the model whose cases are retired.
        sink: called with each block of retired cases as a case-log frame, and with the
            live cases when the run's output is made (every case exactly once).
        block: retire when at least this many cases can go (default ``RETIRE_BLOCK``).
    """

    def __init__(self, model: GovernanceModel, sink: CaseSink, block: int | None = None) -> None:
        block = RETIRE_BLOCK if block is None else block
        if block < 1:
            raise ValueError(f"block must be at least 1, got {block}")
        self.model = model
        self.sink = sink
        self.block = block
        self.tallies = CaseTallies()
        self.retired = 0  # cases retired so far
        self.finished = False  # the live cases went to the sink (output made)
        self._forgot_at = -math.inf  # when old needs' report times were last dropped

    def retirable(self, horizon: float) -> np.ndarray:
        """The rows whose cases can be retired once urging has been checked up to ``horizon``."""
        cases = self.model.casework.cases
        col = cases.column
        done = ~np.isnan(col("closed")) | ~np.isnan(col("parked"))
        ready = done & (col("number") >= 0) & (col("followups") == 0)
        ready &= col("deadline") < horizon
        return np.flatnonzero(ready)

    def unretired_finished(self) -> int:
        """An upper bound on the cases :meth:`retirable` can return, without scanning the
        table: the cases closed or parked so far (every finished case was counted once,
        by ``Casework._close`` or ``_park``) less those retired. A day whose bound is under
        a block skips the scan (issue 11, twelfth round: the scan's numpy calls were ≈ 5 %
        of a classroom year, most of whose days retire nothing)."""
        casework = self.model.casework
        return casework.closed_total + casework.parked_total - self.retired

    def step(self, horizon: float) -> int:
        """Retire a block of finished cases if there are enough; return how many went.

        ``horizon``: the time up to which overdue cases have been urged (the day's end).
        """
        if self.finished:
            raise RuntimeError("the run's output was made: its cases went to the sink")
        if self.unretired_finished() < self.block:
            return 0  # fewer cases than a block can go: no scan of the table
        rows = self.retirable(horizon)
        if rows.size < self.block:
            return 0
        self.retire(rows)
        self._forget_old_needs()
        return int(rows.size)

    def retire(self, rows: np.ndarray) -> None:
        """Fold ``rows`` (finished cases) into the tallies, hand them to the sink, free them."""
        model = self.model
        model.projects.tally()  # the month's problem counts read new cases' rows (每月一题)
        cases = model.casework.cases
        order = rows[np.argsort(cases.column("number")[rows], kind="stable")]
        block = CaseRows(cases, order, model.events.now, model.warmup_days)
        self.tallies.add(block)
        status = text_column(_FINISHED, np.isnan(block["closed"]).astype(np.int8))
        self.sink(case_log(model, status, block))
        cases.release(order.tolist())
        self.retired += int(order.size)
        logger.debug("retired %d cases (%d so far)", order.size, self.retired)

    def finish(self, frame: pd.DataFrame) -> None:
        """Hand the live cases' frame to the sink (once, when the output is made)."""
        if self.finished:
            raise RuntimeError("the run's output was already made: its cases went to the sink")
        self.finished = True
        self.sink(frame)

    def _forget_old_needs(self) -> None:
        """Drop the last-report times of needs older than the repeat-complaint window: they
        can no longer mark a case as a repeat (``Casework._create`` compares each with the
        window), and kept they grow with every resident × category ever reported. At most
        once per half window: a district retires a block every day or two, and a scan of
        every entry each time was ≈ 0.7 % of its year (issue 11, eighteenth round); between
        scans the entries are at most one and a half windows old. When they are dropped
        changes no result."""
        casework = self.model.casework
        window = casework.p.demand.repeat_complaint_window_days
        now = self.model.events.now
        if not math.isfinite(window) or now - self._forgot_at < window / 2:
            return
        self._forgot_at = now
        last = casework.last_need
        for key in [key for key, t in last.items() if now - t > window]:
            del last[key]
