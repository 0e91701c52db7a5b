"""Case types, sources and the columnar case table.

A case is identified by an integer id; its attributes and timestamped history
live in columns of :class:`CaseTable` (numpy arrays), which keeps a district of
a million residents within memory (docs/design.md "Scale targets").
"""

from __future__ import annotations

# 咨询 inquiry, 求助 help, 投诉 complaint, 举报 report, 建议 suggestion (F2); plus problems
# found by grid-worker patrols and by sensors, which no resident reported (F1.4, F6.6).
CASE_TYPES: tuple[str, ...] = (
    "inquiry",
    "help",
    "complaint",
    "report",
    "suggestion",
    "patrol",
    "sensor",
)
REPORTED_TYPES: tuple[str, ...] = CASE_TYPES[:5]
SOURCES: tuple[str, ...] = ("hotline", "grid_worker", "party_member", "patrol", "sensor")
