"""A station's desks from its staff: one rule for the Python and the compiled station."""

from __future__ import annotations

import math


def desks(name: str, staff: float) -> tuple[float, int, float]:
    """``(staff, servers, slowdown)`` of a station: ``servers`` desks, each staffed
    staff/servers of the time, so a desk hour takes ``slowdown`` staff-hour units."""
    if not staff > 0 or not math.isfinite(staff):
        raise ValueError(f"station {name} needs a positive, finite staff, got {staff}")
    staff = float(staff)
    servers = math.ceil(staff - 1e-9)
    return staff, servers, servers / staff
