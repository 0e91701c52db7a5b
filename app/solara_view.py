"""Mesa's own viewer (SolaraViz) over the classroom scenario — an optional extra.

For those who prefer Mesa's tools to ``microgov view``::

    pip install -e ".[viz]"
    solara run app/solara_view.py

The page has a few sliders (seed, routing policy, urban-management staff, classification
accuracy at dispatch, days), step / play / reset controls, and line plots of the backlog
and of residents' mean trust. Each slider is a keyword of
:class:`experiments.keywords.KeywordGovernanceModel` (dotted field with ``.`` written
``__``), so the page runs the same validated model as every other entry point; the
model stops after ``simulation.days``. ``microgov view`` remains the classroom view
(offline, no extra packages, shareable links); this page is for Mesa users.

Solara serves the module-level ``page``. Importing this module needs ``solara``
(the ``[viz]`` extra); it builds the first model (a fraction of a second). The extra
installs ``solara-assets`` so that the page works offline, and Vue 2 widgets
(``ipyvuetify<3``), which Mesa 3.5's plot grid needs (pyproject.toml says why).
"""

from __future__ import annotations

from typing import Any

from mesa.visualization import Slider, SolaraViz, make_plot_component

from experiments.keywords import KeywordGovernanceModel, base_scenario
from experiments.scenario_files import field_value
from model.policies.registry import available_kinds

SCENARIO = "classroom"
STAFF = "departments__urban_management__staff_per_100k_residents"
ACCURACY = "coordination__classification_accuracy"
DAYS = 180  # half a year: long enough to see trust move, short enough to play through


class ClassroomModel(KeywordGovernanceModel):
    """The classroom scenario with the page's sliders as its only keywords.

    SolaraViz rebuilds the model with the sliders' values on reset; an explicit signature
    (no ``scenario`` and no ``**fields``) keeps SolaraViz from passing a Mesa ``Scenario``
    where the keyword model expects the base scenario.
    """

    def __init__(
        self,
        seed: int = 0,
        routing__kind: str | None = None,
        departments__urban_management__staff_per_100k_residents: float | None = None,
        coordination__classification_accuracy: float | None = None,
        simulation__days: int = DAYS,
    ) -> None:
        given = {
            "routing__kind": routing__kind,
            STAFF: departments__urban_management__staff_per_100k_residents,
            ACCURACY: coordination__classification_accuracy,
            "simulation__days": simulation__days,
        }
        # None: the classroom scenario's own value
        fields = {name: value for name, value in given.items() if value is not None}
        # the page shows every day from the start, as `microgov view` does: no warm-up
        fields["simulation__warmup_days"] = 0
        super().__init__(seed=seed, scenario=SCENARIO, **fields)


def model_parameters() -> dict[str, Any]:
    """The page's inputs, starting at the classroom scenario's values."""
    classroom = base_scenario(SCENARIO)
    staff = float(field_value(classroom, STAFF.replace("__", ".")))
    accuracy = float(field_value(classroom, ACCURACY.replace("__", ".")))
    return {
        "seed": Slider("seed", value=0, min=0, max=99, step=1),
        "routing__kind": {
            "type": "Select",
            "value": classroom.routing_kind,
            "values": list(available_kinds("routing")),
            "label": "routing policy",
        },
        STAFF: Slider(
            "urban management staff /100k",
            value=staff,
            min=staff,
            max=5 * staff,
            step=staff,
        ),
        ACCURACY: Slider("classification accuracy", value=accuracy, min=0.3, max=1.0, step=0.05),
        "simulation__days": Slider("days", value=DAYS, min=30, max=365, step=5),
    }


def build_page() -> Any:
    """The SolaraViz page element over a first classroom model."""
    return SolaraViz(
        ClassroomModel(),
        components=[
            make_plot_component("backlog"),
            make_plot_component("trust_mean"),
        ],
        model_params=model_parameters(),
        name="microgov classroom (Mesa SolaraViz)",
        play_interval=50,
    )


page = build_page()
