"""Every plot function draws a non-empty PNG whose axes carry readable labels with units."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from analysis_fixtures import FakeResults, write_compare, write_sensitivity, write_sweep
from matplotlib.figure import Figure

from analysis import plots
from analysis import statistics as st
from analysis.results import Results, load_results

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def compare(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """Stored results of a small compare experiment."""
    fake: FakeResults = write_compare(tmp_path_factory.mktemp("plots") / "compare", days=10)
    return load_results(fake.path)


def _check_png(figure: Figure, tmp_path: Path, name: str) -> None:
    """The figure saves as a non-empty PNG file."""
    path = plots.save_png(figure, tmp_path / f"{name}.png")
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC), f"{name}: not a PNG file"
    assert len(data) > 5_000, f"{name}: PNG suspiciously small ({len(data)} bytes)"


def _labels(figure: Figure) -> tuple[str, str, str]:
    axes = figure.axes[0]
    return axes.get_xlabel(), axes.get_ylabel(), axes.get_title()


def test_resolution_ecdf(compare: Results, tmp_path: Path) -> None:
    """ECDF of resolution times: days on x, cumulative share on y, one line per scenario."""
    pooled = st.pooled_distribution(compare.distributions("resolution_time_days"))
    figure = plots.plot_resolution_ecdf(pooled)
    _check_png(figure, tmp_path, "ecdf")
    x, y, _ = _labels(figure)
    assert "Resolution time" in x and "(days" in x, f"x label {x!r}"
    assert y == "Closed cases resolved within that time (%)", f"y label {y!r}"
    assert len(figure.axes[0].get_lines()) == 3, "one line per scenario"


def test_backlog_bands(compare: Results, tmp_path: Path) -> None:
    """Backlog over time: day on x, open cases on y, a band per scenario."""
    bands = st.timeseries_bands(compare.timeseries(["backlog"]), "backlog")
    figure = plots.plot_backlog(bands)
    _check_png(figure, tmp_path, "backlog")
    x, y, _ = _labels(figure)
    assert x == "Simulated day (days since start)", f"x label {x!r}"
    assert y == "Open cases", f"y label {y!r}"
    assert len(figure.axes[0].collections) == 3, "one confidence band per scenario"


def test_weekly_bands_in_one_colour_per_scenario(compare: Results, tmp_path: Path) -> None:
    """Weekly means are drawn per week, bands never below zero, colours fixed per scenario."""
    weekly = st.period_means(compare.timeseries(["backlog"]), 7)
    assert set(weekly["day"]) == {0}, "days 0-6 of a 10-day run; the short week 7-9 is left out"
    bands = st.timeseries_bands(weekly, "backlog")
    colours = plots.scenario_colours(["whistle", "integrated", "baseline"])  # not plot order
    figure = plots.plot_timeseries_bands(bands, "backlog", colours=colours, period_days=7)
    _check_png(figure, tmp_path, "weekly")
    x, y, _ = _labels(figure)
    assert x == "Week of the run" and y == "Open cases, weekly mean", f"labels {x!r}, {y!r}"
    for line in figure.axes[0].get_lines():
        assert line.get_color() == colours[line.get_label()], f"{line.get_label()} recoloured"
    effects = st.paired_differences(
        compare.outcomes(wide=True), "baseline", names=["on_time_share"]
    )
    forest = plots.plot_forest(effects, "baseline", colours=colours)
    drawn = {c.get_label(): tuple(c.get_facecolor()[0]) for c in forest.axes[0].collections if
             not c.get_label().startswith("_") and len(c.get_facecolor())}  # fmt: skip
    for scenario, colour in drawn.items():
        assert colour == tuple(colours[scenario]), f"forest recolours {scenario}"


def test_forest_plot(compare: Results, tmp_path: Path) -> None:
    """Forest plot: relative change in % on x, one tick per outcome."""
    names = ["resolution_time_median_days", "on_time_share", "participation_share"]
    effects = st.paired_differences(compare.outcomes(wide=True), "baseline", names=names)
    figure = plots.plot_forest(effects, "baseline")
    _check_png(figure, tmp_path, "forest")
    x, y, _ = _labels(figure)
    assert x == "Change against baseline (% of the reference mean)", f"x label {x!r}"
    assert y == "", f"the outcome ticks need no y label, got {y!r}"
    ticks = [t.get_text().replace("\n", " ") for t in figure.axes[0].get_yticklabels()]
    assert ticks == [plots.outcome_label(n, unit=False) for n in names], f"ticks {ticks}"


def test_forest_intervals_cut_to_the_outcomes_range() -> None:
    """Two replications give a share's difference a t interval far beyond ±100 pp; the
    forest draws it cut to ±100 pp (the report table's rule) over the reference mean, and
    an outcome whose range is unbounded keeps its interval as computed."""
    wide = pd.DataFrame(
        {
            "scenario": ["baseline", "baseline", "reform", "reform"],
            "replication": [0, 1, 0, 1],
            "on_time_share": [0.50, 0.60, 0.10, 0.95],
            "backlog_mean": [100.0, 120.0, 20.0, 190.0],
        }
    )
    effects = st.paired_differences(wide, "baseline", names=["on_time_share", "backlog_mean"])
    share = effects.set_index("outcome").loc["on_time_share"]
    assert share["ci_low"] < -1 and share["ci_high"] > 1, "the interval must pass ±100 pp"
    figure = plots.plot_forest(effects, "baseline")
    (bars,) = [c for c in figure.axes[0].collections if type(c).__name__ == "LineCollection"]
    # one horizontal bar per outcome, in the order of the ticks (on_time_share, backlog_mean)
    extents = [(float(seg[:, 0].min()), float(seg[:, 0].max())) for seg in bars.get_segments()]
    reference = 0.55
    assert extents[0] == pytest.approx((-100 / reference, 100 / reference)), extents
    backlog = effects.set_index("outcome").loc["backlog_mean"]
    assert backlog["ci_low"] / 110 < -2, "a count's interval is not cut above −100 %…"
    assert extents[1] == pytest.approx(
        (100 * backlog["relative_low"], 100 * backlog["relative_high"])
    ), "…but a difference of counts has no bound: drawn as computed"


def test_participation_by_group(compare: Results, tmp_path: Path) -> None:
    """Participation bars by age group and party membership, in percent."""
    table = st.participation_table(st.summarise(compare.outcomes()))
    figure = plots.plot_participation(table)
    _check_png(figure, tmp_path, "participation")
    x, y, _ = _labels(figure)
    assert "age in years" in x and "party membership" in x, f"x label {x!r}"
    assert y == "Took part in consultations (% of group)", f"y label {y!r}"
    ticks = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert ticks == [
        "age 18–29",
        "age 30–49",
        "age 50–69",
        "age 70+",
        "Party members",
        "Non-members",
    ], f"ticks {ticks}"


def test_sweep_curve(tmp_path: Path) -> None:
    """Sweep curve: the swept field on x, the outcome with its unit on y."""
    results = load_results(write_sweep(tmp_path / "sweep").path)
    curves = st.sweep_curves(results.outcomes(), results.point_parameters())
    factor = "offices.grid_workers_per_grid"
    figure = plots.plot_sweep(curves, factor, "resolution_time_mean_days")
    _check_png(figure, tmp_path, "sweep")
    x, y, _ = _labels(figure)
    assert x == "Grid workers (per grid)", f"x label {x!r}"
    assert y == "Resolution time, mean (days)", f"y label {y!r}"
    line = figure.axes[0].get_lines()[0]
    assert list(line.get_xdata()) == [1, 2, 3, 4], "one point per sweep level"


def test_sobol_bars(tmp_path: Path) -> None:
    """Sobol bars: S1 and ST per factor with interval bars."""
    results = load_results(write_sensitivity(tmp_path / "sobol", method="sobol").path)
    table = st.sobol_table(results.sensitivity())
    figure = plots.plot_sobol(table, "resolution_time_mean_days")
    _check_png(figure, tmp_path, "sobol")
    x, y, title = _labels(figure)
    assert x.startswith("Sobol index (share of output variance"), f"x label {x!r}"
    assert y == "", f"the factor ticks need no y label, got {y!r}"
    ticks = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert ticks == ["Classification accuracy", "Grid workers (per grid)"], f"ticks {ticks}"
    assert "Resolution time, mean (days)" in title, f"title {title!r}"
    assert len(figure.axes[0].patches) == 4, "2 factors × (S1, ST) bars"


def test_morris_scatter(tmp_path: Path) -> None:
    """Morris scatter: μ* on x and σ on y, in the outcome's unit."""
    results = load_results(write_sensitivity(tmp_path / "morris", method="morris").path)
    table = st.morris_table(results.sensitivity())
    figure = plots.plot_morris(table, "resolution_time_mean_days")
    _check_png(figure, tmp_path, "morris")
    x, y, _ = _labels(figure)
    assert x == "μ*, mean absolute elementary effect (days)", f"x label {x!r}"
    assert y == "σ, spread of elementary effects (days)", f"y label {y!r}"


def _small_network() -> nx.Graph:
    """Centre → 2 streets → 2 communities each → 2 grids each, plus 2 departments."""
    graph = nx.Graph()
    graph.add_node(("centre", 0), level="centre")
    for s in range(2):
        graph.add_node(("street", s), level="street")
        graph.add_edge(("centre", 0), ("street", s))
        for c in range(2):
            community = ("community", 2 * s + c)
            graph.add_node(community, level="community")
            graph.add_edge(("street", s), community)
            for g in range(2):
                grid = ("grid", 4 * s + 2 * c + g)
                graph.add_node(grid, level="grid")
                graph.add_edge(community, grid)
    for d in range(2):
        graph.add_node(("department", d), level="department")
        graph.add_edge(("centre", 0), ("department", d))
    return graph


def test_network_picture(tmp_path: Path) -> None:
    """The network is drawn level by level, coloured by the value, with a labelled colour bar."""
    graph = _small_network()
    values = {node: float(i) for i, node in enumerate(graph.nodes) if node[0] != "department"}
    figure = plots.plot_network(graph, values, "Backlog by unit", "Backlog (open cases)")
    _check_png(figure, tmp_path, "network")
    axes, colour_bar = figure.axes[0], figure.axes[1]
    assert axes.get_title() == "Backlog by unit", f"title {axes.get_title()!r}"
    assert axes.get_ylabel() == "Hierarchy level", f"y label {axes.get_ylabel()!r}"
    assert colour_bar.get_ylabel() == "Backlog (open cases)", "colour bar label"
    ticks = [t.get_text() for t in axes.get_yticklabels()]
    assert ticks == ["centre", "department", "street", "community", "grid"], f"levels {ticks}"


def test_networks_share_one_scale(tmp_path: Path) -> None:
    """Every scenario's network is one figure; each variable has one colour scale, at least
    as wide as its minimum span."""
    graph = _small_network()
    low = {n: 0.50 for n in graph.nodes}
    high = {n: 0.51 for n in graph.nodes}
    figure = plots.plot_networks(
        [("a", graph, {"trust": low}), ("b", graph, {"trust": high})],
        {"trust": "Mean trust"},
        {"trust": 0.1},
    )
    _check_png(figure, tmp_path, "networks")
    norms = [c.norm for a in figure.axes[:2] for c in a.collections if c.get_array() is not None]
    assert len(norms) == 2 and norms[0] is norms[1], "both scenarios use one colour scale"
    assert norms[0].vmax - norms[0].vmin == pytest.approx(0.1), "span widened to 0.1"


def test_network_from_stored_units(tmp_path: Path) -> None:
    """Stored unit rows rebuild the hierarchy and its per-unit means."""
    fake = write_compare(tmp_path / "u", scenarios=("baseline", "integrated"), units=True)
    units = load_results(fake.path).units()
    rows = units[units["scenario"] == "baseline"]
    graph = plots.network_from_units(rows)
    assert graph.number_of_nodes() == 8 and nx.is_tree(graph), "8 units in one tree"
    assert graph.has_edge(("community", 0), ("grid", 2)), "grid 2 hangs off community 0"
    means = plots.unit_means(rows, "trust")
    expected = rows[(rows["node"] == "grid:1") & (rows["variable"] == "trust")]["value"].mean()
    assert means[("grid", 1)] == pytest.approx(expected), "mean over replications"


def test_network_layout_is_deterministic() -> None:
    """The same graph always gets the same positions (no unseeded random layout)."""
    first = plots.network_layout(_small_network())
    second = plots.network_layout(_small_network())
    assert all((first[n] == second[n]).all() for n in first), "positions differ between calls"
    assert first[("centre", 0)][1] > first[("grid", 0)][1], "the centre is drawn above the grids"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("resolution_time_median_days", "Resolution time, median (days)"),
        ("resolution_time_p90_days_help", "Resolution time, 90th percentile — help cases (days)"),
        ("participation_share_age_70_plus", "Participation, age 70+ (share of the age group)"),
        ("participation_share_non_member", "Participation, non-members (share of non-members)"),
        ("staff_hours_per_case", "Staff time per case (staff-hours per case)"),
    ],
)
def test_outcome_labels_carry_units(name: str, label: str) -> None:
    """Outcome names become readable labels with units."""
    assert plots.outcome_label(name) == label, f"{name} → {plots.outcome_label(name)!r}"
