"""Case types, sources and the columnar case table.

A case is identified by an integer id; its attributes and timestamped history
live in columns of :class:`CaseTable` (numpy arrays), which keeps a district of
a million residents within memory (docs/design.md "Scale targets").
"""

from __future__ import annotations

# 咨询 inquiry, 求助 help, 投诉 complaint, 举报 report, 建议 suggestion (F2); plus problems
# found by grid-worker patrols and by sensors, which no resident reported (F1.4, F6.6); and
# neighbourhood disputes, an additional demand with a path of their own (not in the F2 mix).
CASE_TYPES: tuple[str, ...] = (
    "inquiry",
    "help",
    "complaint",
    "report",
    "suggestion",
    "patrol",
    "sensor",
    "neighbour_dispute",  # 矛盾纠纷: a dispute between neighbours, mediated (model.policies.mediation)
)
REPORTED_TYPES: tuple[str, ...] = CASE_TYPES[:5]
SOURCES: tuple[str, ...] = ("hotline", "grid_worker", "party_member", "patrol", "sensor")
