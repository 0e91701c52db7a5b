"""One run of the classroom view: the model stepped day by day, its trajectory as JSON.

:func:`play_run` runs in a worker process of :mod:`app.view_worker` (never in the
server's own process), so it may take time and memory only within the view's limits.
It returns what the page plays back: per simulated day (thinned to at most
:data:`MAX_FRAMES` frames) the open cases and the mean trust at each unit of the
governance network and the residents' trust distribution; the daily series; the key
outcomes. With several seeds the models run one after the other; series and outcomes
become the mean with the lowest and highest seed as a band, and the playback shows the
first seed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import networkx as nx

    from model.parameters import ModelParameters

# A frame is one day of the playback: every day up to this many days, then evenly thinned
# (assumption: a few hundred frames play smoothly and keep the answer small).
MAX_FRAMES = 240
# Unit values per measure over all frames: large networks get fewer frames.
FRAME_VALUES_BUDGET = 120_000
MIN_FRAMES = 20
# Bins of the residents' trust distribution on [0, 1].
TRUST_BINS = 20

# Key outcomes of the table, in order; labels, units and directions come from the one
# outcome registry (model/outcomes.py), so the view and the report never disagree.
KEY_OUTCOMES: tuple[str, ...] = (
    "resolution_time_mean_days",
    "resolution_time_median_days",
    "resolution_time_p90_days",
    "on_time_share",
    "resolution_share",
    "on_the_spot_share",
    "returns_share",
    "parked_share",
    "repeat_contact_share",
    "cases_generated",
    "backlog_final",
    "unreported_share",
    "satisfaction_share",
    "trust_mean",
    "trust_change",
    "department_utilisation",
    "community_overload_share",
    "staff_hours_per_case",
    "meetings_held",
    "decisions_made",
    "participation_share",
    "participation_share_party_member",
    "participation_share_non_member",
    "representativeness",
)
# How each registry display is shown in the table: scale (value × scale) and digits.
_DISPLAY_FORMAT: dict[str, tuple[float, int]] = {
    "share": (100, 1),
    "duration": (1, 2),
    "hours": (1, 2),
    "count": (1, 0),
    "index": (1, 3),
    "ratio": (1, 2),
}


def _table_spec(name: str) -> tuple[str, str, str, float, int, str | None]:
    """name, label, unit, scale, digits and better direction of one outcome, from the registry."""
    from model.outcomes import outcome  # imported when a run is done

    entry = outcome(name)
    scale, digits = _DISPLAY_FORMAT.get(entry.display, (1, 2))
    unit = entry.unit.replace("share of ", "% of ") if entry.display == "share" else entry.unit
    return name, entry.label, unit, scale, digits, entry.direction


SERIES: tuple[str, ...] = ("backlog", "trust_mean", "cases_closed", "participants")
# Rows of the tree picture, top to bottom; departments hang off the centre (model.network).
LEVEL_ROWS: dict[str, int] = {"centre": 0, "department": 1, "street": 1, "community": 2, "grid": 3}


def outcome_rows(
    summaries: Sequence[Mapping[str, float]], age_groups: list[str]
) -> list[dict[str, Any]]:
    """The outcomes table: one row per key outcome, with per-age-group participation.

    ``value`` is the mean over the seeds' ``summaries``; with several seeds ``low`` and
    ``high`` are the lowest and highest seed (None when there is one seed).
    """
    from model.outcomes import group_key  # pandas: imported when a run is done

    spec = [_table_spec(name) for name in KEY_OUTCOMES]
    at = next(i for i, row in enumerate(spec) if row[0] == "participation_share") + 1
    for group in reversed(age_groups):
        spec.insert(at, _table_spec(f"participation_share_age_{group_key(group)}"))
    rows = []
    for name, label, unit, scale, digits, better in spec:
        if name not in summaries[0]:
            continue
        values = np.array([float(s[name]) for s in summaries])
        finite = values[np.isfinite(values)]
        several = len(summaries) > 1 and finite.size > 0
        rows.append(
            {
                "name": name,
                "label": label,
                "unit": unit,
                "scale": scale,
                "digits": digits,
                "better": better,
                # NaN in one seed (e.g. no case closed yet) leaves it out of the mean.
                "value": _finite(finite.mean()) if finite.size else None,
                "low": _finite(finite.min()) if several else None,
                "high": _finite(finite.max()) if several else None,
            }
        )
    return rows


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _finite_or_none(value: Any) -> float | None:
    return None if value is None else _finite(value)


def tree_layout(graph: nx.Graph) -> dict[Any, tuple[float, float]]:
    """A deterministic tidy-tree layout of the governance hierarchy, in [0, 1]².

    The root is the centre; rows follow :data:`LEVEL_ROWS`. Leaves take consecutive
    slots left to right in node order (departments first, then streets' subtrees);
    a parent sits at the mean of its children. No randomness, no force layout
    (docs/design.md "Notes on the libraries": spring layouts are slow and unseeded).
    """
    if graph.number_of_nodes() == 0:
        return {}
    root = ("centre", 0) if ("centre", 0) in graph else min(graph.nodes, key=_node_order)
    slots: dict[Any, float] = {}
    depth: dict[Any, int] = {root: 0}
    next_slot = 0.0

    # Iterative post-order walk (deep or wide trees must not hit the recursion limit).
    stack: list[tuple[Any, Any, bool]] = [(root, None, False)]
    children: dict[Any, list[Any]] = {}
    while stack:
        node, parent, expanded = stack.pop()
        if not expanded:
            kids = sorted((n for n in graph.neighbors(node) if n != parent), key=_node_order)
            kids = [k for k in kids if k not in depth]
            children[node] = kids
            for kid in kids:
                depth[kid] = depth[node] + 1
            stack.append((node, parent, True))
            stack.extend((kid, node, False) for kid in reversed(kids))
        elif children[node]:
            slots[node] = sum(slots[k] for k in children[node]) / len(children[node])
        else:
            slots[node] = next_slot
            next_slot += 1.0
    # Nodes not connected to the root (none in a model hierarchy) go to the right.
    for node in sorted(set(graph.nodes) - set(slots), key=_node_order):
        slots[node] = next_slot
        depth[node] = 0
        next_slot += 1.0
    width = max(next_slot - 1.0, 1.0)
    rows = {node: _row(graph, node, depth[node]) for node in slots}
    height = max(max(rows.values()), 1)
    return {
        node: (
            0.5 if next_slot <= 1 else slots[node] / width,
            rows[node] / height,
        )
        for node in slots
    }


def _node_order(node: Any) -> tuple[int, bool, Any]:
    level = node[0] if isinstance(node, tuple) and node else str(node)
    index = node[1] if isinstance(node, tuple) and len(node) > 1 else 0
    return (LEVEL_ROWS.get(str(level), 9), str(level) != "department", index)


def _row(graph: nx.Graph, node: Any, depth: int) -> int:
    level = graph.nodes[node].get("level")
    return LEVEL_ROWS.get(level, depth) if isinstance(level, str) else depth


def _node_id(node: Any) -> str:
    if isinstance(node, tuple):
        return "-".join(str(part) for part in node)
    return str(node)


def frame_days(days: int, nodes: int) -> list[int]:
    """The days (1 to ``days``) kept as playback frames: all, or evenly spaced with the last.

    At most :data:`MAX_FRAMES`, and fewer for large networks (:data:`FRAME_VALUES_BUDGET`).
    """
    count = min(days, MAX_FRAMES, max(MIN_FRAMES, FRAME_VALUES_BUDGET // max(nodes, 1)))
    if count <= 1:
        return [days]
    return sorted({round(1 + i * (days - 1) / (count - 1)) for i in range(count)})


def network_nodes(graph: nx.Graph) -> list[Any]:
    """The network's nodes in drawing order (row by row, left to right)."""
    positions = tree_layout(graph)
    return sorted(graph.nodes, key=lambda n: (positions[n][1], positions[n][0]))


def network_payload(graph: nx.Graph, nodes: list[Any]) -> dict[str, Any]:
    """Nodes (id, level, name, position) in ``nodes`` order and the edges of the network."""
    positions = tree_layout(graph)
    payload = []
    for node in nodes:
        attributes = graph.nodes[node]
        x, y = positions[node]
        payload.append(
            {
                "id": _node_id(node),
                "level": attributes.get("level", ""),
                "name": attributes.get("name", _node_id(node)),
                "x": round(x, 4),
                "y": round(y, 4),
            }
        )
    edges = sorted((_node_id(a), _node_id(b)) for a, b in graph.edges)
    return {"nodes": payload, "edges": [list(edge) for edge in edges]}


def _rounded(values: Any, digits: int) -> list[float | None]:
    return [None if not math.isfinite(v) else round(float(v), digits) for v in values]


def play_run(parameters: ModelParameters, seed: int, seeds: int, days: int) -> dict[str, Any]:
    """Run ``seeds`` models (seeds ``seed``, ``seed + 1``, …) for ``days`` days each.

    Seed ``s`` is ``SeedSequence(s)``, as in ``microgov run --seed s``. The view shows every
    day from the start, so it runs without a warm-up (``simulation.warmup_days = 0``): one
    seed gives the same results as ``run_single`` of the scenario with no warm-up, and the
    outcomes cover every day shown (docs/design.md "Warm-up").

    Returns:
        ``timeseries`` (mean over seeds, day 1 = the end of the first day), ``bands``
        (lowest and highest seed per series, empty for one seed), ``outcomes`` and
        ``summary`` (means), ``network`` and ``frames`` (the first seed's playback).
    """
    # Imported here: the server's own process never builds a model.
    from experiments.runs import as_seed_sequence
    from model.governance import GovernanceModel

    simulation = parameters.simulation.model_copy(update={"warmup_days": 0})
    parameters = parameters.model_copy(update={"simulation": simulation})
    started = time.perf_counter()
    summaries = []
    series_runs: list[dict[str, np.ndarray]] = []
    playback: dict[str, Any] = {}
    network: dict[str, Any] = {}
    for index in range(seeds):
        model = GovernanceModel(parameters, seed=as_seed_sequence(seed + index))
        if index == 0:
            nodes = network_nodes(model.graph)
            network = network_payload(model.graph, nodes)
            kept = set(frame_days(days, len(nodes)))
            playback = {"day": [], "backlog": [], "trust": [], "trust_histogram": []}
        for day in range(1, days + 1):
            model.step()
            if index == 0 and day in kept:
                backlog = model.unit_values("backlog")
                trust = model.unit_values("trust")
                histogram, _ = np.histogram(model.population.trust, TRUST_BINS, (0.0, 1.0))
                playback["day"].append(day)
                playback["backlog"].append(_rounded((backlog[n] for n in nodes), 1))
                playback["trust"].append(_rounded((trust[n] for n in nodes), 4))
                playback["trust_histogram"].append(histogram.tolist())
        output = model.output()
        summaries.append(output.summary)
        series_runs.append(_daily_series(output.timeseries))
    timeseries: dict[str, list[float | None]] = {"day": list(range(1, days + 1))}
    bands: dict[str, dict[str, list[float | None]]] = {}
    for name in series_runs[0]:
        stacked = np.vstack([run[name] for run in series_runs])
        timeseries[name] = _rounded(stacked.mean(axis=0), 4)
        if seeds > 1:
            bands[name] = {
                "low": _rounded(stacked.min(axis=0), 4),
                "high": _rounded(stacked.max(axis=0), 4),
            }
    rows = outcome_rows(summaries, list(parameters.population.age_group_shares))
    return {
        "elapsed_seconds": round(time.perf_counter() - started, 3),
        "summary": {row["name"]: row["value"] for row in rows},
        "outcomes": rows,
        "timeseries": timeseries,
        "bands": bands,
        "network": network,
        "frames": playback,
        "trust_bins": TRUST_BINS,
    }


def _daily_series(daily: Any) -> dict[str, np.ndarray]:
    """The charted columns of one run's daily time series (closings per day added)."""
    series = {name: daily[name].to_numpy(dtype=float) for name in SERIES if name in daily.columns}
    if "cases_closed" in series:  # the model's column is cumulative
        series["cases_closed_per_day"] = np.diff(series["cases_closed"], prepend=0.0)
    return series
