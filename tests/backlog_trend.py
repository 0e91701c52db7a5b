"""The settling check shared by the street and district stability tests (issue 12).

A baseline has settled when its weekly mean backlog has no trend: the least-squares
slope's 95 % interval includes zero, or the drift it implies over the measured years
stays under 5 % of the mean backlog (the stated tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from scipy import stats

DRIFT_TOLERANCE = 0.05  # of the mean backlog, over the measured years


@dataclass(frozen=True)
class Trend:
    """The weekly mean backlog's least-squares slope (cases a week), its 95 % half-width
    and the mean, over ``years`` measured years."""

    slope: float
    half_width: float
    mean: float
    years: int

    @property
    def settled(self) -> bool:
        drift = abs(self.slope) * 52 * self.years
        return abs(self.slope) <= self.half_width or drift < DRIFT_TOLERANCE * self.mean

    def __str__(self) -> str:
        return (
            f"weekly backlog slope {self.slope:.3f} ± {self.half_width:.3f} "
            f"on a mean of {self.mean:.0f}"
        )


def weekly_backlog_trend(timeseries: pd.DataFrame, years: int) -> Trend:
    """The trend of a run's daily ``backlog`` (a ``day`` column) by weeks."""
    weekly = timeseries.groupby(timeseries["day"] // 7)["backlog"].mean()
    fit = stats.linregress(weekly.index.to_numpy(), weekly.to_numpy())
    half_width = stats.t.ppf(0.975, len(weekly) - 2) * fit.stderr
    return Trend(float(fit.slope), float(half_width), float(weekly.mean()), years)
