"""The optional SolaraViz page (app/solara_view.py; the [viz] extra) builds and runs its model."""

from __future__ import annotations

import pytest

solara = pytest.importorskip(
    "solara", reason="solara is not installed (pip install -e '.[viz]' for the SolaraViz page)"
)


@pytest.fixture(scope="module")
def view():
    """The page module, imported as `solara run` imports it."""
    import app.solara_view as module

    return module


def test_page_is_a_solaraviz_element(view):
    """The module exposes `page`: SolaraViz with the sliders and the two line plots."""
    from mesa.visualization import SolaraViz

    assert view.page.component.f is SolaraViz.f, "page is a SolaraViz element"
    params = view.page.kwargs["model_params"]
    assert {"seed", "routing__kind", view.STAFF, view.ACCURACY, "simulation__days"} <= set(params)
    assert "integrated" in params["routing__kind"]["values"], "every routing kind selectable"
    assert len(view.page.kwargs["components"]) == 2, "backlog and trust plots"
    box, _ = solara.render(view.page, handle_error=False)  # renders without a server
    assert box is not None, "the page renders"


def test_model_runs_and_stops(view):
    """The page's model steps, collects backlog and trust, and stops after its days."""
    model = view.ClassroomModel(seed=1, simulation__days=5)
    while model.running:
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 5, "one row per day, then the model stops"
    assert {"backlog", "trust_mean"} <= set(frame.columns), "the plotted measures are collected"


def test_reset_with_slider_values(view):
    """SolaraViz's reset builds the model from the slider values, without a Mesa Scenario."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

    params = view.model_parameters()
    first = view.ClassroomModel()
    _check_model_params(first, params)  # what the page checks when it renders
    values = {
        "seed": 3,
        "routing__kind": "integrated",
        view.STAFF: params[view.STAFF].value * 2,
        view.ACCURACY: 0.9,
        "simulation__days": 30,
    }
    # The same call SolaraViz's reset button makes (Mesa 3.5).
    kwargs = _build_model_init_kwargs(
        first,
        values,
        add_scenario_when_empty=True,
        require_model_accepts_scenario=True,
    )
    assert "scenario" not in kwargs, "no Mesa Scenario passed where the base scenario goes"
    model = view.ClassroomModel(**kwargs)
    assert model.built_scenario.routing_kind == "integrated", "the routing slider applies"
    assert model.parameters.coordination.classification_accuracy == 0.9, "accuracy applies"
    assert model.parameters.simulation.days == 30, "days apply"
