"""Where each resident, grid and community sits in the district's hierarchy: plain data the
case path looks places up in, and the one placement rule of public-space problems.

Apart from :mod:`model.units` (the agents that handle cases, which import Mesa) so that
reading and checking a scenario (:mod:`model.places`, ``experiments.scenario_files``)
imports no Mesa (issue 11: a command's start-up)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Geography:
    """Where each resident, grid and community sits in the hierarchy (plain lists: fast
    scalar lookups on the case path; each resident's grid also as the population's int32
    array, ``resident_grids``, which the compiled engine reads)."""

    resident_grid: list[int]
    grid_community: list[int]
    community_street: list[int]
    resident_grids: np.ndarray  # the same as ``resident_grid``: int32, C-contiguous
    # community types (model/places.py): per grid, the extra travel of a grid worker and of
    # a department to a site there; and where public-space problems arise (cumulative weight
    # over grids; empty: evenly)
    grid_travel_hours: list[float] = field(default_factory=list)
    department_travel_hours: list[float] = field(default_factory=list)
    public_grid_cdf: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_grids(self) -> int:
        return len(self.grid_community)

    @property
    def travels(self) -> bool:
        """Whether some place has travel time beyond the street baseline's."""
        return bool(self.grid_travel_hours or self.department_travel_hours)

    def public_grids(self, numbers: np.ndarray) -> np.ndarray:
        """Grids of public-space problems: a fixed hash of each one's number among the
        non-dispute needs (exogenous), in proportion to each grid's public-problem weight
        when places differ. The one placement rule of casework and the projects' rate hook."""
        hashed = np.asarray(numbers, dtype=np.int64) * 2654435761
        if self.public_grid_cdf.shape[0]:
            u = (hashed % 4294967296) / 4294967296.0
            g = np.searchsorted(self.public_grid_cdf, u * self.public_grid_cdf[-1], "right")
            return np.minimum(g, self.n_grids - 1).astype(np.int64)
        return hashed % self.n_grids
