"""The Yongchuan district before the reform, fitted by `microgov calibrate`, and the
post-reform district that extends it and adds only the reform."""

from __future__ import annotations

import pytest
from scipy import stats

from experiments.runs import run_single
from experiments.scenario_files import SCENARIOS_FOLDER, load_scenario, parameters_mapping

BASELINE = SCENARIOS_FOLDER / "yongchuan_baseline.toml"
FITTED = SCENARIOS_FOLDER / "yongchuan_baseline_calibrated.toml"
REFORMED = SCENARIOS_FOLDER / "yongchuan.toml"


def test_the_district_before_the_reform_has_the_districts_places_and_pre_reform_policies() -> None:
    """yongchuan_baseline: yongchuan's population and places, hierarchical routing, no council."""
    before = load_scenario(BASELINE)
    after = load_scenario(REFORMED)
    assert before.residents == after.residents
    layout = ("streets", "street_types", "communities_per_street", "residents_per_grid")
    for field in layout:
        assert getattr(before.parameters.population, field) == getattr(
            after.parameters.population, field
        ), field
    assert before.parameters.community_types == after.parameters.community_types
    assert before.routing_kind == "hierarchical" and before.consultation_kind == "none"
    assert after.routing_kind == "integrated" and after.consultation_kind == "council"
    assert not before.parameters.coordination.catalogue_departments, "no shared catalogue yet"


def test_yongchuan_adds_only_the_reform_to_the_fitted_district() -> None:
    """yongchuan.toml differs from the fitted district in name, routing, consultation and the
    dispatch catalogue only (the reform), never in a fitted value."""
    fitted = parameters_mapping(load_scenario(FITTED).parameters)
    reformed = parameters_mapping(load_scenario(REFORMED).parameters)
    different = sorted(k for k in fitted if fitted[k] != reformed[k])
    assert different == [
        "consultation",
        "coordination",
        "description",
        "name",
        "routing",
        "title",
    ], different
    changed = sorted(
        k
        for k in fitted["coordination"]
        if fitted["coordination"][k] != reformed["coordination"][k]
    )
    assert changed == ["catalogue_departments"], changed


def test_the_fitted_district_was_written_by_the_command() -> None:
    """The shipped fit carries its provenance header and extends the pre-reform district."""
    text = FITTED.read_text(encoding="utf-8")
    assert "written by `microgov calibrate`" in text
    assert "experiments/calibrate_yongchuan.toml" in text
    assert 'extends = "yongchuan_baseline.toml"' in text


@pytest.mark.slow
def test_the_fitted_district_settles_over_two_years() -> None:
    """The fitted district's weekly backlog drifts by under 5 % of its mean over two
    measured years (slow: ≈1.15 M residents)."""
    out = run_single(load_scenario(FITTED), 1, days=730)
    weekly = out.timeseries.groupby(out.timeseries["day"] // 7)["backlog"].mean()
    fit = stats.linregress(weekly.index.to_numpy(), weekly.to_numpy())
    half_width = stats.t.ppf(0.975, len(weekly) - 2) * fit.stderr
    drift = abs(fit.slope) * len(weekly)
    assert abs(fit.slope) <= half_width or drift < 0.05 * weekly.mean(), (
        f"slope {fit.slope:.2f} ± {half_width:.2f} a week on a mean of {weekly.mean():.0f}"
    )
