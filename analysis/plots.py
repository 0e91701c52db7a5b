"""Figures of stored results (matplotlib, explicit Figure/Axes, Agg canvas, no pyplot state).

Every function takes DataFrames from :mod:`analysis.results` / :mod:`analysis.statistics`
(not file paths) and returns a :class:`matplotlib.figure.Figure`; :func:`figure_png` and
:func:`save_png` turn one into PNG bytes or a file. Axis labels name the quantity and its
unit; outcome names become readable labels through :func:`outcome_label`.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from analysis.formatting import (
    axis_scale,
    axis_unit,
    outcome_label,
    parameter_label,
    within_range,
)
from model.outcomes import find_outcome

PNG_DPI = 110
# Rows of the network picture, top first (model/network.py): departments hang off the
# district centre, so they sit just below it, above the street → community → grid tree.
NETWORK_LEVELS: tuple[str, ...] = ("centre", "department", "street", "community", "grid")

# One colour per scenario in every figure of a report: pass the mapping of
# :func:`scenario_colours` (built from the experiment's scenario order) to each plot.
Colours = Mapping[Hashable, tuple[float, float, float, float]]


def outcome_unit(name: str) -> str:
    """The unit of an outcome (registry) or of a dotted parameter (from its name)."""
    entry = find_outcome(name)
    if entry is not None:
        return entry.unit
    label = parameter_label(name)
    return label[label.rfind("(") + 1 : -1] if label.endswith(")") else ""


# ---------------------------------------------------------------------- figure helpers
def new_figure(width: float = 7.0, height: float = 4.2) -> Figure:
    """A Figure with an Agg canvas and constrained layout (no pyplot)."""
    figure = Figure(figsize=(width, height), layout="constrained", dpi=PNG_DPI)
    FigureCanvasAgg(figure)
    return figure


def figure_png(figure: Figure, dpi: int = PNG_DPI) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_png(figure: Figure, path: str | Path, dpi: int = PNG_DPI) -> Path:
    """Write the figure as a PNG file and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(figure_png(figure, dpi=dpi))
    return path


def group_colours(names: Sequence[Hashable]) -> dict[Hashable, tuple[float, float, float, float]]:
    """One colour per scenario (or group), stable for a given order of names."""
    palette = mpl.colormaps["tab10"]
    return {name: palette(i % 10) for i, name in enumerate(dict.fromkeys(names))}


def scenario_colours(scenarios: Sequence[Hashable]) -> dict[Hashable, tuple[float, ...]]:
    """The colour of each scenario for every figure of one report (experiment order)."""
    return dict(group_colours(scenarios))


def _colours_for(names: Sequence[Hashable], colours: Colours | None) -> Colours:
    """``colours`` when it covers ``names``, else a fresh mapping (standalone figures)."""
    if colours is not None and all(n in colours for n in names):
        return colours
    return group_colours(names)


def _legend_names(names: Sequence[Hashable], labels: Mapping[Hashable, str] | None) -> dict:
    return {n: (labels or {}).get(n, str(n)) for n in names}


def _empty(axes: Axes, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes)


# ---------------------------------------------------------------------- distributions
def plot_resolution_ecdf(
    pooled: pd.DataFrame,
    by: str = "scenario",
    colours: Colours | None = None,
    labels: Mapping[Hashable, str] | None = None,
) -> Figure:
    """Empirical CDF of case resolution times per scenario, from pooled histograms.

    Args:
        pooled: :func:`analysis.statistics.pooled_distribution` output.
        by: the group column.
        colours: scenario → colour (one per scenario across a report).
        labels: scenario → legend text (default: the name).
    """
    figure = new_figure()
    axes = figure.add_subplot()
    names = list(dict.fromkeys(pooled[by])) if by in pooled else []
    colour_of = _colours_for(names, colours)
    legend = _legend_names(names, labels)
    finite_uppers = []
    for group, frame in pooled.groupby(by, sort=False):
        frame = frame.sort_values("bin_upper")
        uppers = frame["bin_upper"].to_numpy(dtype=float)
        cumulative = frame["cumulative_share"].to_numpy(dtype=float)
        keep = np.isfinite(uppers) & (uppers > 0)
        if not keep.any():
            continue
        finite_uppers.extend(uppers[keep])
        cases = int(frame["count"].sum())
        # The share is known exactly at bin edges only; straight lines join the edges.
        axes.plot(
            uppers[keep],
            100 * cumulative[keep],
            marker="o",
            markersize=3,
            color=colour_of[group],
            label=f"{legend[group]} ({cases:,} cases)",
            linewidth=1.8,
        )
    if finite_uppers:
        axes.set_xscale("log")
        axes.xaxis.set_major_formatter(ScalarFormatter())
        axes.legend(loc="lower right", fontsize="small")
    else:
        _empty(axes, "no resolution times stored")
    axes.set_ylim(0, 102)
    axes.set_xlabel("Resolution time, report to closure (days, log scale)")
    axes.set_ylabel("Closed cases resolved within that time (%)")
    axes.set_title("How long cases take (pooled over replications)")
    axes.grid(True, which="both", alpha=0.3)
    return figure


# ---------------------------------------------------------------------- time series
_SERIES_LABELS = {
    "backlog": "Open cases",
    "cases_reported": "Cases reported per day",
    "cases_closed": "Cases closed per day",
    "trust_mean": "Mean trust (0–1 scale)",
}


def plot_timeseries_bands(
    bands: pd.DataFrame,
    variable: str = "backlog",
    by: str = "scenario",
    confidence: float = 0.95,
    colours: Colours | None = None,
    labels: Mapping[Hashable, str] | None = None,
    period_days: int = 1,
) -> Figure:
    """Mean of a daily variable across replications with its confidence band, per scenario.

    Args:
        bands: :func:`analysis.statistics.timeseries_bands` output (of weekly means when
            ``period_days`` is 7: :func:`analysis.statistics.period_means`).
        variable: the variable's name (for the axis label).
        by: the group column.
        confidence: the level of the bands (for the legend text).
        colours: scenario → colour (one per scenario across a report).
        labels: scenario → legend text.
        period_days: the days each point averages (7: weekly means, x axis in weeks).
    """
    figure = new_figure(9.0, 4.2)
    axes = figure.add_subplot()
    names = list(dict.fromkeys(bands[by])) if by in bands else []
    colour_of = _colours_for(names, colours)
    legend = _legend_names(names, labels)
    # counts and trust cannot be negative: a t band of a few replications can dip below 0
    floor = 0.0 if variable in _SERIES_LABELS else -np.inf
    for group, frame in bands.groupby(by, sort=False):
        colour = colour_of[group]
        x = frame["day"].to_numpy(dtype=float) / period_days
        axes.plot(x, frame["mean"], color=colour, label=legend[group], linewidth=1.6)
        axes.fill_between(
            x,
            np.maximum(frame["ci_low"].to_numpy(dtype=float), floor),
            frame["ci_high"].to_numpy(dtype=float),
            color=colour,
            alpha=0.12,
            linewidth=0,
        )
    if bands.empty:
        _empty(axes, f"no daily {variable} stored")
    else:
        axes.legend(
            title=f"mean, {round(confidence * 100)} % band",
            fontsize="small",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    label = _SERIES_LABELS.get(variable, outcome_label(variable))
    axes.set_xlabel("Week of the run" if period_days == 7 else f"Period of {period_days} days")
    if period_days == 1:
        axes.set_xlabel("Simulated day (days since start)")
    axes.set_ylabel(label if period_days == 1 else f"{label}, {_PERIOD_WORD[period_days]} mean")
    axes.set_title(f"{label.split(' (')[0]} over time")
    axes.grid(True, alpha=0.3)
    return figure


_PERIOD_WORD = {1: "daily", 7: "weekly", 30: "monthly"}


def plot_backlog(bands: pd.DataFrame, by: str = "scenario", confidence: float = 0.95) -> Figure:
    """Backlog of open cases over time with confidence bands (see :func:`plot_timeseries_bands`)."""
    return plot_timeseries_bands(bands, "backlog", by=by, confidence=confidence)


# ---------------------------------------------------------------------- paired effects
def plot_forest(
    effects: pd.DataFrame,
    reference: str | None = None,
    confidence: float = 0.95,
    colours: Colours | None = None,
    labels: Mapping[Hashable, str] | None = None,
) -> Figure:
    """Forest plot of paired reform effects: relative change against the reference per outcome.

    Args:
        effects: :func:`analysis.statistics.paired_differences` output.
        reference: the reference scenario's label (for the axis label).
        confidence: the level of the intervals (for the legend).
        colours: scenario → colour (one per scenario across a report).
        labels: scenario → legend text.

    Filled markers: the interval excludes zero. Rows whose reference mean is 0 (no relative
    change) are left out. Each interval is cut as the report's table cuts it: a difference
    of two levels within ± the width of the outcome's range (``Outcome.level_range``; a
    share's within ±100 pp), then scaled by the reference mean.
    """
    data = (
        effects[np.isfinite(effects["relative_change"].astype(float))] if len(effects) else effects
    )
    outcomes = list(dict.fromkeys(data["outcome"])) if len(data) else []
    scenarios = list(dict.fromkeys(data["scenario"])) if len(data) else []
    figure = new_figure(9.0, max(2.6, 0.5 * len(outcomes) * max(1, len(scenarios)) ** 0.5 + 1.6))
    axes = figure.add_subplot()
    colour_of = _colours_for(scenarios, colours)
    legend = _legend_names(scenarios, labels)
    step = 0.7 / max(1, len(scenarios))
    for s, scenario in enumerate(scenarios):
        rows = data[data["scenario"] == scenario]
        positions = (
            np.array([outcomes.index(o) for o in rows["outcome"]], dtype=float)
            + (s - (len(scenarios) - 1) / 2) * step
        )
        centre = 100 * rows["relative_change"].to_numpy(dtype=float)
        low, high = _relative_bounds(rows)
        error = np.vstack([np.nan_to_num(centre - low), np.nan_to_num(high - centre)])
        colour = colour_of[scenario]
        axes.errorbar(centre, positions, xerr=error, fmt="none", ecolor=colour, capsize=3)
        excludes = rows["excludes_zero"].to_numpy(dtype=bool)
        axes.scatter(
            centre[excludes],
            positions[excludes],
            color=colour,
            marker="o",
            zorder=3,
            label=legend[scenario] if excludes.any() else None,
        )
        axes.scatter(
            centre[~excludes],
            positions[~excludes],
            facecolor="white",
            edgecolor=colour,
            marker="o",
            zorder=3,
            label=None if excludes.any() else legend[scenario],
        )
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_yticks(
        range(len(outcomes)), [_wrap(outcome_label(o, unit=False), 34) for o in outcomes]
    )
    axes.invert_yaxis()
    against = f"against {reference}" if reference else "against the reference"
    axes.set_xlabel(f"Change {against} (% of the reference mean)")
    axes.set_title(f"Paired reform effects, {round(confidence * 100)} % intervals")
    if scenarios:
        axes.legend(
            title="filled: excludes 0",
            fontsize="small",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    else:
        _empty(axes, "no paired effects")
    axes.grid(True, axis="x", alpha=0.3)
    return figure


def _relative_bounds(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The paired effects' intervals in % of |reference mean| (``paired_differences``'
    ``relative_low`` and ``relative_high``), each difference's interval first cut to ± its
    outcome's range width (``within_range``, the report table's rule)."""
    low, high = [], []
    for outcome, reference, ci_low, ci_high in zip(
        rows["outcome"],
        rows["reference_mean"].to_numpy(dtype=float),
        rows["ci_low"].to_numpy(dtype=float),
        rows["ci_high"].to_numpy(dtype=float),
        strict=True,
    ):
        cut_low, cut_high = within_range(find_outcome(outcome), ci_low, ci_high, difference=True)
        low.append(100 * cut_low / abs(reference))
        high.append(100 * cut_high / abs(reference))
    return np.array(low, dtype=float), np.array(high, dtype=float)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


# ---------------------------------------------------------------------- participation
def plot_participation(
    table: pd.DataFrame,
    by: str = "scenario",
    confidence: float = 0.95,
    colours: Colours | None = None,
    labels: Mapping[Hashable, str] | None = None,
) -> Figure:
    """Participation in consultations by age group and party membership, per scenario.

    Args:
        table: :func:`analysis.statistics.participation_table` output (summary rows with
            ``group`` and ``family`` columns); pass only scenarios that hold consultations.
        by: the scenario column.
        confidence: the level of the error bars (for the legend).
        colours: scenario → colour (one per scenario across a report).
        labels: scenario → legend text.
    """
    figure = new_figure(8.0, 4.2)
    axes = figure.add_subplot()
    groups = list(dict.fromkeys(table["group"])) if len(table) else []
    scenarios = list(dict.fromkeys(table[by])) if len(table) else []
    colour_of = _colours_for(scenarios, colours)
    legend = _legend_names(scenarios, labels)
    width = 0.8 / max(1, len(scenarios))
    for s, scenario in enumerate(scenarios):
        rows = table[table[by] == scenario].set_index("group").reindex(groups)
        x = np.arange(len(groups)) + (s - (len(scenarios) - 1) / 2) * width
        mean = 100 * rows["mean"].to_numpy(dtype=float)
        low = 100 * rows["ci_low"].to_numpy(dtype=float).clip(min=0)
        high = 100 * rows["ci_high"].to_numpy(dtype=float)
        error = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
        axes.bar(x, mean, width=width, color=colour_of[scenario], label=legend[scenario])
        axes.errorbar(x, mean, yerr=error, fmt="none", ecolor="black", capsize=2, linewidth=0.8)
    family_of = dict(zip(table["group"], table["family"], strict=True)) if len(table) else {}
    ticks = [f"age {g}" if family_of[g] == "age" else g for g in groups]
    axes.set_xticks(range(len(groups)), ticks)
    ages = sum(1 for g in groups if family_of[g] == "age")
    if 0 < ages < len(groups):
        axes.axvline(ages - 0.5, color="grey", linewidth=0.8, linestyle="--")
    axes.set_xlabel("Resident group (age in years; party membership)")
    axes.set_ylabel("Took part in consultations (% of group)")
    axes.set_title(f"Who takes part, mean with {round(confidence * 100)} % intervals")
    if scenarios:
        axes.legend(fontsize="small", loc="best")
    else:
        _empty(axes, "no scenario holds consultations")
    axes.grid(True, axis="y", alpha=0.3)
    return figure


# ---------------------------------------------------------------------- sweeps
def plot_sweep(curves: pd.DataFrame, factor: str, outcome: str, confidence: float = 0.95) -> Figure:
    """Response curve of ``outcome`` against sweep ``factor`` with its confidence band.

    Args:
        curves: :func:`analysis.statistics.sweep_curves` output.
        factor: the dotted field on the x axis.
        outcome: the outcome on the y axis.
        confidence: the level of the band (for the legend).

    Other factors that vary between points give one line per combination of their values.
    Shares are drawn in %, counts and durations in their units (registry).
    """
    figure = new_figure()
    axes = figure.add_subplot()
    data = curves[curves["outcome"] == outcome]
    scale = axis_scale(outcome)
    # Parameter columns are dotted scenario fields; lines differ in the other varying ones.
    parameter_columns = [c for c in curves.columns if "." in c or c == factor]
    others = [c for c in parameter_columns if c != factor and data[c].astype(str).nunique() > 1]
    groups = list(data.groupby(others, sort=False)) if others else [((), data)]
    colours = group_colours([str(key) for key, _ in groups])
    for key, frame in groups:
        frame = frame.sort_values(factor)
        x = pd.to_numeric(frame[factor], errors="coerce").to_numpy(dtype=float)
        key_values = key if isinstance(key, tuple) else (key,)
        label = (
            ", ".join(
                f"{parameter_label(c)} = {v}" for c, v in zip(others, key_values, strict=False)
            )
            or "mean"
        )
        colour = colours[str(key)]
        axes.plot(x, scale * frame["mean"], marker="o", color=colour, label=_wrap(label, 40))
        axes.fill_between(
            x,
            scale * frame["ci_low"].to_numpy(dtype=float),
            scale * frame["ci_high"].to_numpy(dtype=float),
            color=colour,
            alpha=0.25,
            linewidth=0,
        )
    if data.empty:
        _empty(axes, f"no results for {outcome}")
    else:
        axes.legend(title=f"{round(confidence * 100)} % band", fontsize="small", loc="best")
    axes.set_xlabel(parameter_label(factor))
    unit = axis_unit(outcome)
    name = outcome_label(outcome, unit=False)
    axes.set_ylabel(_wrap(f"{name} ({unit})" if unit else name, 40))
    axes.set_title(_wrap(name, 60))
    axes.grid(True, alpha=0.3)
    return figure


# ---------------------------------------------------------------------- sensitivity
def plot_sobol(table: pd.DataFrame, outcome: str) -> Figure:
    """First-order and total Sobol indices of ``outcome`` per factor, with interval bars.

    Args:
        table: :func:`analysis.statistics.sobol_table` output.
        outcome: which outcome's indices to draw.
    """
    rows = table[table["outcome"] == outcome].reset_index(drop=True)
    figure = new_figure(7.5, max(2.6, 0.55 * len(rows) + 1.4))
    axes = figure.add_subplot()
    y = np.arange(len(rows))
    for offset, index, colour in ((-0.2, "S1", "tab:blue"), (0.2, "ST", "tab:orange")):
        values = rows[index].to_numpy(dtype=float)
        conf = np.nan_to_num(rows[f"{index}_conf"].to_numpy(dtype=float))
        name = "first-order S1" if index == "S1" else "total ST"
        axes.barh(y + offset, values, height=0.38, xerr=conf, color=colour, capsize=3, label=name)
    axes.set_yticks(y, [_wrap(parameter_label(str(f)), 30) for f in rows["factor"]])
    axes.invert_yaxis()
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel("Sobol index (share of output variance, bars: 95 % bootstrap interval)")
    axes.set_title(_wrap(f"Sobol indices: {outcome_label(outcome)}", 60))
    if len(rows):
        axes.legend(fontsize="small", loc="best")
    else:
        _empty(axes, f"no Sobol indices for {outcome}")
    axes.grid(True, axis="x", alpha=0.3)
    return figure


def plot_morris(table: pd.DataFrame, outcome: str) -> Figure:
    """Morris screening of ``outcome``: μ* against σ per factor (σ = μ* line for reference).

    Args:
        table: :func:`analysis.statistics.morris_table` output.
        outcome: which outcome's indices to draw.
    """
    rows = table[table["outcome"] == outcome].reset_index(drop=True)
    figure = new_figure()
    axes = figure.add_subplot()
    unit = outcome_unit(outcome)
    in_units = f"{unit}" if unit else "outcome units"
    mu_star = rows["mu_star"].to_numpy(dtype=float)
    sigma = rows["sigma"].to_numpy(dtype=float)
    conf = np.nan_to_num(rows["mu_star_conf"].to_numpy(dtype=float))
    # the interval cut at 0 below, as morris_table cuts it (μ* is never negative)
    below = np.minimum(conf, np.nan_to_num(mu_star - rows["mu_star_low"].to_numpy(dtype=float)))
    axes.errorbar(mu_star, sigma, xerr=[below, conf], fmt="o", color="tab:blue", capsize=3)
    for x, y, name in zip(mu_star, sigma, rows["factor"], strict=True):
        axes.annotate(
            parameter_label(str(name)),
            (x, y),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize="small",
        )
    finite = np.concatenate([mu_star[np.isfinite(mu_star)], sigma[np.isfinite(sigma)]])
    top = float(finite.max()) * 1.15 if finite.size and finite.max() > 0 else 1.0
    axes.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=0.8, label="σ = μ*")
    axes.set_xlim(0, top)
    axes.set_ylim(0, top)
    axes.set_xlabel(f"μ*, mean absolute elementary effect ({in_units})")
    axes.set_ylabel(f"σ, spread of elementary effects ({in_units})")
    axes.set_title(f"Morris screening: {outcome_label(outcome, unit=False)}")
    axes.legend(fontsize="small", loc="upper left")
    if not len(rows):
        _empty(axes, f"no Morris indices for {outcome}")
    axes.grid(True, alpha=0.3)
    return figure


# ---------------------------------------------------------------------- network
def network_layout(graph: nx.Graph) -> dict[Hashable, np.ndarray]:
    """Deterministic positions: one row per hierarchy level (no random layout).

    Nodes with a known ``level`` attribute are placed in rows, top to bottom in the order
    of :data:`NETWORK_LEVELS`; a graph without levels falls back to a spring layout with a
    fixed seed.
    """
    levels = nx.get_node_attributes(graph, "level")
    if not levels:
        return nx.spring_layout(graph, seed=0)
    order = {level: i for i, level in enumerate(NETWORK_LEVELS)}
    extra = sorted({str(v) for v in levels.values() if v not in order})
    for level in extra:
        order[level] = len(order)
    layers: dict[int, list[Hashable]] = {}
    for node in graph.nodes:
        layers.setdefault(order.get(levels.get(node, "other"), len(order)), []).append(node)
    positions: dict[Hashable, np.ndarray] = {}
    for row, nodes in sorted(layers.items()):
        nodes = sorted(nodes, key=_node_sort_key)
        xs = np.linspace(0.0, 1.0, len(nodes) + 2)[1:-1]
        for x, node in zip(xs, nodes, strict=True):
            positions[node] = np.array([x, -float(row)])
    return positions


def _node_sort_key(node: Hashable) -> tuple[str, float | str]:
    if isinstance(node, tuple) and len(node) == 2:
        index = node[1]
        return str(node[0]), float(index) if isinstance(index, int | float) else str(index)
    return str(node), 0.0


def _unit_node(text: str) -> tuple[str, int | str]:
    """A stored ``"level:index"`` as the graph's ``(level, index)`` node."""
    level, _, index = str(text).rpartition(":")
    return (level, int(index)) if index.lstrip("-").isdigit() else (level, index)


def network_from_units(units: pd.DataFrame) -> nx.Graph:
    """The governance network rebuilt from stored unit rows (``Results.units()``).

    Nodes become ``(level, index)`` tuples as in GovernanceModel.graph, with attributes
    ``level`` and ``name``; each node is joined to its ``parent``.
    """
    graph = nx.Graph()
    rows = units.drop_duplicates("node")
    for row in rows.itertuples(index=False):
        graph.add_node(_unit_node(row.node), level=str(row.level), name=str(row.name or row.node))
    for row in rows.itertuples(index=False):
        if isinstance(row.parent, str) and row.parent:
            graph.add_edge(_unit_node(row.parent), _unit_node(row.node))
    return graph


def unit_means(units: pd.DataFrame, variable: str) -> dict[Hashable, float]:
    """Mean of ``variable`` per node over the runs in ``units`` (keys as in the graph)."""
    means = units[units["variable"] == variable].groupby("node", sort=False)["value"].mean()
    return {_unit_node(str(k)): float(v) for k, v in means.items() if np.isfinite(v)}


def _draw_network(
    axes: Axes,
    graph: nx.Graph,
    values: Mapping[Hashable, float],
    norm: Normalize,
    colour_map: Any,
    positions: Mapping[Hashable, np.ndarray],
    row_labels: bool = True,
    unit_names: bool = True,
) -> None:
    """Draw ``graph`` on ``axes``, nodes coloured by ``values`` on the shared ``norm``."""
    for u, v in graph.edges:
        (x0, y0), (x1, y1) = positions[u], positions[v]
        axes.plot([x0, x1], [y0, y1], color="#bbbbbb", linewidth=0.6, zorder=1)
    known = [n for n in graph.nodes if n in values and math.isfinite(float(values[n]))]
    unknown = [n for n in graph.nodes if n not in known]
    sizes = {"centre": 180, "street": 120, "community": 80, "department": 80, "grid": 40}
    levels = nx.get_node_attributes(graph, "level")
    if known:
        axes.scatter(
            [positions[n][0] for n in known],
            [positions[n][1] for n in known],
            c=[float(values[n]) for n in known],
            cmap=colour_map,
            norm=norm,
            s=[sizes.get(levels.get(n, ""), 40) for n in known],
            edgecolors="black",
            linewidths=0.4,
            zorder=2,
        )
    if unknown:
        axes.scatter(
            [positions[n][0] for n in unknown],
            [positions[n][1] for n in unknown],
            color="#dddddd",
            s=[sizes.get(levels.get(n, ""), 40) for n in unknown],
            edgecolors="grey",
            linewidths=0.4,
            zorder=2,
            label="no value",
        )
        axes.legend(fontsize="small", loc="upper right")
    names = nx.get_node_attributes(graph, "name")
    if unit_names and graph.number_of_nodes() <= 60:  # small views: name the departments
        for node in graph.nodes:
            if levels.get(node) == "department" and node in names:
                x, y = positions[node]
                axes.annotate(
                    str(names[node]).replace("_", "\n").replace(" ", "\n"),
                    (x, y),
                    textcoords="offset points",
                    xytext=(0, -10),
                    ha="center",
                    va="top",
                    fontsize="x-small",
                )
    if levels:
        rows = sorted({float(p[1]) for p in positions.values()}, reverse=True)
        row_names: dict[float, str] = {}
        for node, (_, y) in positions.items():
            row_names.setdefault(float(y), str(levels.get(node, "other")))
        axes.set_yticks(rows, [row_names[r] for r in rows] if row_labels else [])
        axes.margins(y=0.12)
        axes.set_xticks([])
        for side in ("top", "right", "bottom"):
            axes.spines[side].set_visible(False)
    else:
        axes.set_axis_off()


def _norm(values: Sequence[Mapping[Hashable, float]], min_span: float = 0.0) -> Normalize:
    """One colour scale over every mapping in ``values``, at least ``min_span`` wide (so
    that differences smaller than what matters do not fill the whole colour range)."""
    data = np.array([float(v) for m in values for v in m.values() if math.isfinite(float(v))])
    low, high = (float(data.min()), float(data.max())) if data.size else (0.0, 1.0)
    if high - low < min_span:
        middle = (low + high) / 2
        low, high = middle - min_span / 2, middle + min_span / 2
    return Normalize(vmin=low, vmax=high if high > low else low + 1.0)


def plot_network(
    graph: nx.Graph,
    values: Mapping[Hashable, float],
    title: str,
    value_label: str | None = None,
) -> Figure:
    """The governance network of a small scenario, nodes coloured by a value.

    Args:
        graph: networkx graph whose nodes are ``(level, index)`` tuples with attribute
            ``level`` (GovernanceModel.graph).
        values: node → value, e.g. ``GovernanceModel.unit_values("backlog")``; nodes without
            a value are grey.
        title: the figure title.
        value_label: the colour bar label (default: the title).
    """
    figure = new_figure(8.0, 5.0)
    axes = figure.add_subplot()
    norm = _norm([values])
    colour_map = mpl.colormaps["viridis"]
    _draw_network(axes, graph, values, norm, colour_map, network_layout(graph))
    if nx.get_node_attributes(graph, "level"):
        axes.set_ylabel("Hierarchy level")
    colour_bar = figure.colorbar(ScalarMappable(norm=norm, cmap=colour_map), ax=axes)
    colour_bar.set_label(value_label or title)
    axes.set_title(title)
    return figure


def plot_networks(
    panels: Sequence[tuple[str, nx.Graph, Mapping[str, Mapping[Hashable, float]]]],
    variables: Mapping[str, str],
    min_spans: Mapping[str, float] | None = None,
) -> Figure:
    """Every scenario's network in one figure: a row per scenario, a column per variable,
    each column on ONE colour scale shared by all scenarios (so noise does not look like a
    pattern).

    Args:
        panels: (scenario label, graph, variable → node values) per scenario.
        variables: variable → colour bar label, in column order.
        min_spans: variable → the narrowest colour range (e.g. 0.1 for trust on a 0–1
            scale, so that noise of ±0.005 shows as one colour, not as a pattern).
    """
    columns = list(variables)
    figure = new_figure(4.6 * max(1, len(columns)), 1.9 * max(1, len(panels)) + 1.2)
    grid = figure.subplots(max(1, len(panels)), max(1, len(columns)), squeeze=False)
    colour_map = mpl.colormaps["viridis"]
    for c, variable in enumerate(columns):
        norm = _norm(
            [values.get(variable, {}) for _, _, values in panels],
            (min_spans or {}).get(variable, 0.0),
        )
        for r, (label, graph, values) in enumerate(panels):
            axes = grid[r][c]
            _draw_network(
                axes,
                graph,
                values.get(variable, {}),
                norm,
                colour_map,
                network_layout(graph),
                row_labels=c == 0,
                unit_names=r == 0,
            )
            axes.set_title(f"{label}: {variables[variable]}", fontsize="small")
        colour_bar = figure.colorbar(
            ScalarMappable(norm=norm, cmap=colour_map),
            ax=[grid[r][c] for r in range(len(panels))],
            location="bottom",
            shrink=0.8,
            aspect=30,
        )
        colour_bar.set_label(f"{variables[variable]} (one scale for all scenarios)")
    if not panels:
        _empty(grid[0][0], "no unit values stored")
    return figure
