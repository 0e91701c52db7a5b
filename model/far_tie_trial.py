"""Whether a population's far ties are gathered before the trust step's sums or read in
place: chosen by timing the step's first days on the machine that runs it (issue 11,
thirty-sixth round; docs/design.md "The far ties' layout chosen by timing the first days").

The two layouts (:class:`model.trust_diffusion.TiesByDegree` with far ties as slots filled
each day, or with every tie its resident's row) give the same bits — each row's terms and
their order are the same — so which one runs changes a run's speed and never its results.
Which is faster has moved from machine to machine and round to round: the gather paid for
itself on the twenty-fourth round's machine (23 → 21 ms a district day), was even with
reading in place on the twenty-seventh's, and cost a third of the step on the
thirty-sixth's (10.6 against 7.4 ms; the same class of machine as the twenty-seventh's) —
as the cache and the rest of the day's work have it (docs/performance.md). The step runs
on each layout in turn for :data:`TRIAL_CALLS` calls each, then keeps the one whose median
call was shorter (the first call of each, which touches its work space for the first time,
is not counted) and lets the other go. A population without far ties has nothing to
choose."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from model.trust_diffusion import TiesByDegree

TRIAL_CALLS = 6
"""How many of the first steps each layout runs before the choice (the first not counted
where there are more)."""

clock: Callable[[], float] = time.perf_counter
"""The clock the trial reads (a test gives it another)."""


@dataclass(eq=False, slots=True)
class FarTieTrial:
    """The two layouts of one grouping on trial: ``gathered`` (far ties as slots) and
    ``in_place`` (every tie its row), the seconds of each one's calls so far, and the one
    chosen once both have run :data:`TRIAL_CALLS` times (None until then)."""

    gathered: TiesByDegree
    in_place: TiesByDegree
    seconds: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    chosen: TiesByDegree | None = None

    def turn(self) -> TiesByDegree:
        """The layout the next call runs on: the chosen one, or the one with fewer calls
        (the gathered one first)."""
        if self.chosen is not None:
            return self.chosen
        gathered, in_place = self.seconds
        return self.gathered if len(gathered) <= len(in_place) else self.in_place

    def took(self, layout: TiesByDegree, seconds: float) -> TiesByDegree | None:
        """Count a call of ``layout`` that took ``seconds``; the layout chosen once both
        have their calls (the in-place one only if its median was shorter), else None."""
        if self.chosen is None:
            if layout is not self.gathered and layout is not self.in_place:
                raise ValueError("FarTieTrial.took: a layout that is not on trial")
            self.seconds[layout is self.in_place].append(seconds)
            if min(len(s) for s in self.seconds) >= TRIAL_CALLS:
                gathered, in_place = (statistics.median(s[1:] or s) for s in self.seconds)
                self.chosen = self.in_place if in_place < gathered else self.gathered
        return self.chosen
