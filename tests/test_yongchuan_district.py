"""The Yongchuan district before and after the reform: yongchuan_baseline.toml holds the
places and the street baseline's pre-reform settings, its fitted version keeps up, and
yongchuan.toml extends it with the reform only."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from backlog_trend import Trend, weekly_backlog_trend

from experiments.runs import run_single
from experiments.scenario_files import (
    OWN_KEYS,
    apply_overrides,
    load_mapping,
    load_scenario,
    parameters_mapping,
    scenario_from_mapping,
)
from model.mechanisms import POLICY_BLOCKS

logger = logging.getLogger(__name__)

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FITTED = SCENARIOS / "yongchuan_baseline_calibrated.toml"

# yongchuan.toml as it was before it extended the pre-reform district (commit 81dee1e),
# comments dropped: its merged parameters must stay these, except DELIBERATE and what the
# fitted pre-reform district sets.
OLD_YONGCHUAN = tomllib.loads(
    """
name = "yongchuan"
[simulation]
days = 365
[population]
streets = 23
street_types = { urban_street = 7, rural_town = 16 }
[community_types.urban_street]
communities_per_street = 37
grids_per_community = 6
residents_per_grid = 507
community_shares = { old_compound = 0.2, urban_village = 0.1 }
[community_types.rural_town]
communities_per_street = 11
grids_per_community = 5
residents_per_grid = 392
residents_per_building = 10
age_group_shares = { "18-29" = 0.12, "30-49" = 0.28, "50-69" = 0.36, "70+" = 0.24 }
grid_travel_hours = 0.5
department_travel_hours = 1.5
need_rate_multiplier = 0.8
public_problem_rate_multiplier = 0.7
case_type_multipliers = { inquiry = 1.1, help = 1.2, complaint = 0.6, report = 0.8, suggestion = 1.0 }
[community_types.old_compound]
age_group_shares = { "18-29" = 0.10, "30-49" = 0.25, "50-69" = 0.37, "70+" = 0.28 }
need_rate_multiplier = 1.2
public_problem_rate_multiplier = 1.6
case_type_multipliers = { help = 1.3, complaint = 1.3 }
[community_types.urban_village]
residents_per_grid = 600
age_group_shares = { "18-29" = 0.28, "30-49" = 0.40, "50-69" = 0.22, "70+" = 0.10 }
public_problem_rate_multiplier = 1.8
case_type_multipliers = { complaint = 1.5, report = 1.5, inquiry = 0.9 }
[offices]
centre_staff = 138
[coordination]
catalogue_departments = [
    "urban_management", "public_security", "transport", "housing_construction", "market_regulation"
]
[routing]
kind = "integrated"
[consultation]
kind = "council"
cycle_days = 91
"""
)

# Changed on purpose when yongchuan.toml came to extend the pre-reform district:
# street offices sized for an urban street (unused by integrated routing), the
# population-level community count, which no typed street reads; and 一件事 as the
# mechanism (the inherited 0.25 share of linked requests, bundled) where the standalone
# file set no linked requests at all.
DELIBERATE = frozenset(
    {
        "offices.street_staff",
        "population.communities_per_street",
        "demand.linked_request_share",
        "intake.one_thing_bundles",
        "intake.bundle_coordination_hours",
    }
)

# What yongchuan.toml may set on top of the pre-reform district: the reform.
REFORM_KEYS = frozenset(
    {
        "extends",
        "name",
        "title",
        "description",
        "routing",
        "consultation",
        "coordination.catalogue_departments",
        "intake.one_thing_bundles",
        "intake.bundle_coordination_hours",
    }
)


def _flat(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys down to policies and community types (compared whole)."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        dotted = f"{prefix}{key}"
        whole = dotted in POLICY_BLOCKS or dotted.startswith("community_types.")
        if isinstance(value, Mapping) and value and not whole:
            out.update(_flat(value, f"{dotted}."))
        else:
            out[dotted] = value
    return out


def _merged(scenario: Any) -> dict[str, Any]:
    """The merged parameters, flat; a file's own name, title and description left out."""
    mapping = parameters_mapping(scenario.parameters)
    return _flat({k: v for k, v in mapping.items() if k not in OWN_KEYS})


def _fitted_fields() -> set[str]:
    """The fields the fitted pre-reform district sets itself (fitted values, overrides)."""
    own = tomllib.loads(FITTED.read_text(encoding="utf-8"))
    own = {k: v for k, v in own.items() if k not in ("extends", *OWN_KEYS)}
    return set(_flat(own))


def test_yongchuan_keeps_its_parameters_except_the_deliberate_changes() -> None:
    """yongchuan.toml's merged parameters are those of the standalone file it was, except
    the deliberate changes and the fields the fitted pre-reform district sets."""
    old = _merged(scenario_from_mapping(OLD_YONGCHUAN))
    new = _merged(load_scenario(SCENARIOS / "yongchuan.toml"))
    changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    allowed = DELIBERATE | _fitted_fields()
    assert changed <= allowed, {k: (old.get(k), new.get(k)) for k in sorted(changed - allowed)}
    assert new["offices.street_staff"] == 18.5, "street offices sized for an urban street"


def test_yongchuan_extends_the_fitted_pre_reform_district_and_adds_only_the_reform() -> None:
    """yongchuan.toml extends the fitted pre-reform district and sets reform fields only."""
    own = load_mapping(SCENARIOS / "yongchuan.toml")
    with (SCENARIOS / "yongchuan.toml").open("rb") as handle:
        raw = tomllib.load(handle)
    assert raw["extends"] == FITTED.name, raw["extends"]
    keys = {k for k in _flat(raw) if k.split(".")[0] not in POLICY_BLOCKS} | {
        k for k in raw if k in POLICY_BLOCKS
    }
    assert keys <= REFORM_KEYS, sorted(keys - REFORM_KEYS)
    assert own["routing"]["kind"] == "integrated" and own["consultation"]["kind"] == "council"


def test_the_pre_reform_district_has_the_street_baselines_policies_and_the_places() -> None:
    """yongchuan_baseline: yongchuan's places with the street baseline's pre-reform routing,
    consultation, linked requests and (no) catalogue; the fitted district and yongchuan
    share their places."""
    street = load_scenario(SCENARIOS / "baseline.toml").parameters
    pre = load_scenario(SCENARIOS / "yongchuan_baseline.toml")
    before = pre.parameters
    assert before.routing == street.routing and before.consultation == street.consultation
    assert before.demand.linked_request_share == street.demand.linked_request_share == 0.25
    assert before.coordination.catalogue_departments == street.coordination.catalogue_departments
    assert not before.coordination.catalogue_departments, "no 一组库 before the reform"
    old_places = scenario_from_mapping(OLD_YONGCHUAN).parameters.community_types
    assert before.community_types == old_places, "the places moved unchanged"
    assert before.population.street_types == {"urban_street": 7, "rural_town": 16}
    assert abs(pre.residents - 1_148_896) < 11_489, "F6.1: ≈1.15 M residents"
    post = load_scenario(SCENARIOS / "yongchuan.toml")
    fitted = load_scenario(FITTED)
    assert fitted.parameters.community_types == post.parameters.community_types
    assert fitted.parameters.routing == street.routing, "the fitted district is pre-reform"
    assert post.residents == pre.residents


def _scaled_down(file: Path) -> Any:
    """One full urban street and two towns of ``file`` (157,906 residents: about the
    district's 70 % urban share), a short warm-up."""
    return apply_overrides(
        load_scenario(file),
        {
            "population.streets": 3,
            "population.street_types": {"urban_street": 1, "rural_town": 2},
            "simulation.warmup_days": 60,
        },
    )


@pytest.mark.parametrize("file", ["yongchuan_baseline.toml", "yongchuan_baseline_calibrated.toml"])
def test_a_scaled_down_pre_reform_district_loads_runs_and_keeps_up(file: str) -> None:
    """One urban street and two towns of the (fitted) pre-reform district run 60 days after
    a 60-day warm-up with no department above 0.9 and nothing overloaded."""
    scenario = _scaled_down(SCENARIOS / file)
    assert scenario.parameters.routing.__class__.__name__ == "HierarchicalRouting"
    out = run_single(scenario, 1, days=60)
    s = out.summary
    assert s["overloaded"] == 0.0, out.warnings
    assert s["department_utilisation_max"] < 0.9, s["department_utilisation_max"]
    assert not any("above 90 %" in w for w in out.warnings), out.warnings
    assert s["cases_generated"] == s["cases_closed"] + s["cases_parked"] + s["cases_open"]


def _weekly_trend(file: Path, seed: int, years: int) -> Trend:
    """The weekly backlog trend of a run, logged with the yearly backlog and trust."""
    out = run_single(load_scenario(file), seed, days=365 * years)
    trend = weekly_backlog_trend(out.timeseries, years)
    series = out.timeseries
    yearly = series.groupby(series["day"] // 365)[["backlog", "trust_mean"]].mean()
    logger.info(
        "%s seed %d: %s; yearly backlog %s, trust %s; requests growth %.4f; "
        "busiest department %.3f; overloaded %s",
        file.name,
        seed,
        trend,
        yearly["backlog"].round(0).tolist(),
        yearly["trust_mean"].round(4).tolist(),
        out.summary["requests_growth_share"],
        out.summary["department_utilisation_max"],
        out.summary["overloaded"],
    )
    return trend


@pytest.mark.slow
def test_the_fitted_district_settles_over_two_years() -> None:
    """The fitted pre-reform district at full scale: no backlog trend over two measured
    years (slope interval includes zero, or drift under 5 % of the mean; ≈10 min)."""
    trend = _weekly_trend(FITTED, 1, years=2)
    assert trend.settled, str(trend)
