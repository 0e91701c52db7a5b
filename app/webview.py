"""The classroom web view: a small browser page with sliders that runs one scenario.

The page (:data:`app.webview_page.PAGE`) is served by the standard library's
``ThreadingHTTPServer``; it loads nothing from other sites (no CDN: the machines of a
class may be offline), and its Content-Security-Policy forbids it to. Endpoints:

- ``GET /`` — the page. Query parameters preset the controls, e.g.
  ``/?routing=integrated&days=90&autorun=1`` (``autorun=1`` runs once on load), so a
  teacher can share a link to one setting.
- ``GET /api/config`` — the controls: kinds, ranges and the scenario's own values.
- ``POST /api/run`` — JSON settings (below) in, one run's results out as JSON: key
  outcomes with units, daily series and the governance network with a tree layout.
  Bad settings give HTTP 400 with ``{"error": <message naming the field>, "fields": [...]}``.

Settings (every key optional; a missing key keeps the scenario's value)::

    {"routing": "integrated", "consultation": "council", "staff_multiplier": 1.5,
     "classification_accuracy": 0.8, "handoff_delay_hours": 2, "invitations_per_member": 3,
     "days": 365, "seed": 0}

``staff_multiplier`` scales every department's ``staff_per_100k_residents``;
``invitations_per_member`` exists only for consultation kinds with that field.

Each request builds its own model, so concurrent requests share nothing mutable; at
most :data:`MAX_CONCURRENT_RUNS` run at once (the others wait). The server binds to
127.0.0.1 unless told otherwise: it has no authentication.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import math
import socket
import socketserver
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from app.webview_page import PAGE
from experiments.errors import InputError, closest
from experiments.scenario_files import Scenario, apply_overrides
from model.policies.registry import PolicyError, available_kinds, policy_class

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# A run answers one HTTP request, so it must stay short: two classroom years take a
# few seconds (assumption: longer runs belong to `microgov run`).
MAX_DAYS = 730
MAX_SEED = 2**32 - 1
STAFF_MULTIPLIER_RANGE = (0.1, 5.0)
MAX_BODY_BYTES = 64 * 1024
# Two cores on the class machine: more parallel runs would only slow each other down.
MAX_CONCURRENT_RUNS = 2
# Above this many residents a run no longer takes "about a second" (docs/design.md "Scale targets").
LARGE_SCENARIO_RESIDENTS = 50_000

PAGE_HEADERS = {
    # Everything is inline; nothing may come from elsewhere (the class may be offline).
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


# ---------------------------------------------------------------------------
# Controls and settings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Control:
    """One control of the page.

    Attributes:
        name: key in the settings JSON (and id of the page's input).
        label: what the page shows.
        kind: 'select' (a policy kind), 'number' (slider) or 'integer' (whole number box).
        field: the scenario field it sets, as a dotted path ('' when it is derived).
        minimum, maximum, step: range of a slider or box (None for a select).
        help: one line shown under the control.
    """

    name: str
    label: str
    kind: str
    field: str
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    help: str = ""


CONTROLS: tuple[Control, ...] = (
    Control(
        "routing",
        "Case routing",
        "select",
        "routing.kind",
        help="hierarchical = 层层上报 (before the reform); integrated = 大综合一体化",
    ),
    Control(
        "consultation",
        "Consultation",
        "select",
        "consultation.kind",
        help="how collective issues are deliberated (议事协商)",
    ),
    Control(
        "staff_multiplier",
        "Department staff ×",
        "number",
        "departments.*.staff_per_100k_residents",
        *STAFF_MULTIPLIER_RANGE,
        0.05,
        # The model rounds staff to whole people, at least one per department: in the
        # classroom community (≈3,100 residents) every department has one at ×1 and ×0.5.
        help="scales every department's staff per 100k residents; staff are whole people "
        "(at least one per department), so a small community needs a large step",
    ),
    Control(
        "classification_accuracy",
        "Classification accuracy",
        "number",
        "coordination.classification_accuracy",
        0.0,
        1.0,
        0.01,
        help="share of cases the dispatcher sends to the right department (F3.6: >0.7)",
    ),
    Control(
        "handoff_delay_hours",
        "Hand-off delay (hours)",
        "number",
        "coordination.handoff_delay_hours",
        0.0,
        48.0,
        0.5,
        help="delay each time a case passes between units (管执联动)",
    ),
    Control(
        "invitations_per_member",
        "Invitations per party member",
        "number",
        "consultation.invitations_per_member",
        0.0,
        10.0,
        0.5,
        help="neighbours each party member invites to a meeting (mobilisation)",
    ),
    Control(
        "days",
        "Days",
        "integer",
        "simulation.days",
        1,
        MAX_DAYS,
        1,
        help=f"simulated days (at most {MAX_DAYS} here)",
    ),
    Control("seed", "Seed", "integer", "", 0, MAX_SEED, 1, help="same seed, same residents"),
)
CONTROL_NAMES: tuple[str, ...] = tuple(c.name for c in CONTROLS)
_BY_NAME = {c.name: c for c in CONTROLS}


def consultation_fields(kind: str) -> list[str]:
    """Parameter names of a consultation kind ([] when the kind cannot be loaded)."""
    try:
        return [f.name for f in dataclasses.fields(policy_class("consultation", kind))]
    except PolicyError:
        return []


def _invitations_default(scenario: Scenario, kind: str) -> float | None:
    """The scenario's value when it uses ``kind``, else the kind's own default."""
    if kind == scenario.consultation_kind:
        value = getattr(scenario.parameters.consultation, "invitations_per_member", None)
        return None if value is None else float(value)
    try:
        cls = policy_class("consultation", kind)
    except PolicyError:
        return None
    for field in dataclasses.fields(cls):
        if field.name == "invitations_per_member" and field.default is not dataclasses.MISSING:
            return float(field.default)  # type: ignore[arg-type]
    return None


def default_settings(scenario: Scenario) -> dict[str, Any]:
    """The settings that reproduce ``scenario`` as it is (seed 0)."""
    p = scenario.parameters
    return {
        "routing": scenario.routing_kind,
        "consultation": scenario.consultation_kind,
        "staff_multiplier": 1.0,
        "classification_accuracy": p.coordination.classification_accuracy,
        "handoff_delay_hours": p.coordination.handoff_delay_hours,
        "invitations_per_member": _invitations_default(scenario, scenario.consultation_kind),
        "days": min(p.simulation.days, MAX_DAYS),
        "seed": 0,
    }


def view_config(scenario: Scenario) -> dict[str, Any]:
    """What ``GET /api/config`` returns: the scenario, its controls and their defaults."""
    # The scenario's own kinds are always offered, even a 'package.module:Class' reference
    # that no registry lists: otherwise the page would switch policy without being asked.
    consultation_kinds = sorted({*available_kinds("consultation"), scenario.consultation_kind})
    routing_kinds = sorted({*available_kinds("routing"), scenario.routing_kind})
    kinds = {"routing": routing_kinds, "consultation": consultation_kinds}
    controls = []
    for control in CONTROLS:
        entry = {k: v for k, v in dataclasses.asdict(control).items() if v is not None}
        if control.kind == "select":
            entry["options"] = kinds[control.name]
        controls.append(entry)
    return {
        "scenario": {
            "name": scenario.name,
            "description": scenario.parameters.description,
            "residents": scenario.residents,
            "digest": scenario.digest,
        },
        "controls": controls,
        "defaults": default_settings(scenario),
        "consultation_fields": {kind: consultation_fields(kind) for kind in consultation_kinds},
        "invitations_defaults": {
            kind: _invitations_default(scenario, kind) for kind in consultation_kinds
        },
    }


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError("must be a number", field=name, value=value, allowed=_allowed(name))
    return float(value)


def _whole(name: str, value: Any) -> int:
    number = _number(name, value)
    control = _BY_NAME[name]
    if not number.is_integer() or not (control.minimum or 0) <= number <= (control.maximum or 0):
        raise InputError(field=name, value=value, allowed=_allowed(name))
    return int(number)


def _allowed(name: str) -> str:
    control = _BY_NAME[name]
    noun = "a whole number" if control.kind == "integer" else "a number"
    return f"{noun} from {control.minimum:g} to {control.maximum:g}"


def check_settings(scenario: Scenario, settings: Any) -> dict[str, Any]:
    """Complete and check the settings of one run (types and the view's own ranges).

    Scenario fields are checked again by the schema when they are applied
    (:func:`settings_overrides` → ``apply_overrides``).

    Raises:
        InputError: naming every bad setting at once (unknown keys with the closest name).
    """
    if not isinstance(settings, Mapping):
        raise InputError(
            "the request body must be a JSON object of settings",
            allowed=", ".join(CONTROL_NAMES),
        )
    problems: list[InputError] = []
    for key in settings:
        if key not in _BY_NAME:
            problems.append(
                InputError(
                    "unknown setting",
                    field=str(key),
                    allowed=", ".join(CONTROL_NAMES),
                    suggestion=closest(str(key), CONTROL_NAMES),
                )
            )
    chosen = default_settings(scenario)
    if "consultation" in settings and settings["consultation"] != chosen["consultation"]:
        chosen["invitations_per_member"] = None  # the new kind's own default applies
    for name, value in settings.items():
        if name not in _BY_NAME or value is None:
            continue
        try:
            if name in ("routing", "consultation"):
                if not isinstance(value, str) or not value:
                    raise InputError(
                        "must be a policy kind",
                        field=name,
                        value=value,
                        allowed=", ".join(available_kinds(name)),  # type: ignore[arg-type]
                    )
                chosen[name] = value
            elif name in ("days", "seed"):
                chosen[name] = _whole(name, value)
            elif name == "staff_multiplier":
                low, high = STAFF_MULTIPLIER_RANGE
                number = _number(name, value)
                if not low <= number <= high:
                    raise InputError(field=name, value=value, allowed=_allowed(name))
                chosen[name] = number
            else:
                chosen[name] = _number(name, value)
        except InputError as exc:
            problems.append(exc)
    invitations = settings.get("invitations_per_member")
    if invitations is not None and not problems:
        kinds = [k for k in available_kinds("consultation") if _has_invitations(k)]
        if not _has_invitations(chosen["consultation"]):
            problems.append(
                InputError(
                    f"consultation kind {chosen['consultation']!r} invites nobody",
                    field="invitations_per_member",
                    value=invitations,
                    allowed=f"no value (null), or choose one of: {', '.join(kinds)}",
                )
            )
    if problems:
        raise InputError.combine(problems)
    return chosen


def _has_invitations(kind: str) -> bool:
    return "invitations_per_member" in consultation_fields(kind)


def settings_overrides(scenario: Scenario, chosen: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted scenario overrides for checked settings (only what differs from the scenario)."""
    p = scenario.parameters
    overrides: dict[str, Any] = {}
    if chosen["routing"] != scenario.routing_kind:
        overrides["routing.kind"] = chosen["routing"]
    consultation_changes = chosen["consultation"] != scenario.consultation_kind
    if consultation_changes:
        overrides["consultation.kind"] = chosen["consultation"]
    for name in ("classification_accuracy", "handoff_delay_hours"):
        if chosen[name] != getattr(p.coordination, name):
            overrides[f"coordination.{name}"] = chosen[name]
    invitations = chosen["invitations_per_member"]
    current = getattr(p.consultation, "invitations_per_member", None)
    if invitations is not None and (consultation_changes or invitations != current):
        overrides["consultation.invitations_per_member"] = invitations
    if chosen["staff_multiplier"] != 1.0:
        for name, department in p.departments.items():
            overrides[f"departments.{name}.staff_per_100k_residents"] = (
                department.staff_per_100k_residents * chosen["staff_multiplier"]
            )
    return overrides


def _setting_names(error: InputError) -> list[str]:
    """The page controls an error is about (to highlight them)."""
    names = []
    for problem in error.all_problems():
        field = problem.field or ""
        for control in CONTROLS:
            head, _, tail = control.field.partition("*")
            if (
                field == control.name
                or (control.field and field in (control.field, control.field.removesuffix(".kind")))
                or (tail and field.startswith(head) and field.endswith(tail))
            ):
                names.append(control.name)
    return sorted(set(names), key=CONTROL_NAMES.index)


# ---------------------------------------------------------------------------
# One run → JSON
# ---------------------------------------------------------------------------

# Key outcomes of the table: name, label, unit, scale (value × scale is shown), digits,
# and which direction is better (None: neither). Names are model.outcomes.OUTCOME_NAMES.
KEY_OUTCOMES: tuple[tuple[str, str, str, float, int, str | None], ...] = (
    ("resolution_time_mean_days", "Resolution time, mean", "days", 1, 2, "lower"),
    ("resolution_time_median_days", "Resolution time, median", "days", 1, 2, "lower"),
    ("resolution_time_p90_days", "Resolution time, 90th percentile", "days", 1, 2, "lower"),
    ("on_time_share", "Closed on time", "% of closed cases", 100, 1, "higher"),
    ("resolution_share", "Resolved", "% of cases", 100, 1, "higher"),
    ("on_the_spot_share", "Settled on the spot", "% of cases", 100, 1, "higher"),
    ("returns_share", "Misrouted and returned (退件)", "% of dispatched", 100, 1, "lower"),
    ("cases_generated", "Cases reported", "cases", 1, 0, None),
    ("backlog_final", "Open cases at the end", "cases", 1, 0, "lower"),
    ("unreported_share", "Needs never reported", "% of needs", 100, 1, "lower"),
    ("satisfaction_share", "Satisfied ratings", "% of ratings", 100, 1, "higher"),
    ("trust_mean", "Trust, mean", "0–1 scale", 1, 3, "higher"),
    ("trust_change", "Trust, change over the run", "0–1 scale", 1, 3, "higher"),
    ("department_utilisation", "Department staff busy", "% of working hours", 100, 1, None),
    ("community_overload_share", "Communities overloaded (小马拉大车)", "% of communities", 100, 1,
     "lower"),
    ("staff_hours_per_case", "Staff time per case", "hours", 1, 2, "lower"),
    ("meetings_held", "Consultation meetings", "meetings", 1, 0, None),
    ("decisions_made", "Decisions made", "decisions", 1, 0, None),
    ("participation_share", "Residents who took part", "% of residents", 100, 1, "higher"),
    ("participation_share_party_member", "… party members", "% of members", 100, 1, None),
    ("participation_share_non_member", "… non-members", "% of non-members", 100, 1, None),
    ("representativeness", "Representativeness of participants", "0–1 (1 = like the population)",
     1, 3, "higher"),
)  # fmt: skip
SERIES: tuple[str, ...] = ("backlog", "trust_mean", "cases_closed", "participants")
# Rows of the tree picture, top to bottom; departments hang off the centre (model.network).
LEVEL_ROWS: dict[str, int] = {"centre": 0, "department": 1, "street": 1, "community": 2, "grid": 3}


def outcome_rows(summary: Mapping[str, float], age_groups: list[str]) -> list[dict[str, Any]]:
    """The outcomes table: one row per key outcome, with per-age-group participation."""
    from model.outcomes import group_key  # pandas: imported when a run is done

    spec = list(KEY_OUTCOMES)
    at = next(i for i, row in enumerate(spec) if row[0] == "participation_share") + 1
    for group in reversed(age_groups):
        name = f"participation_share_age_{group_key(group)}"
        spec.insert(at, (name, f"… aged {group}", "% of the age group", 100, 1, None))
    rows = []
    for name, label, unit, scale, digits, better in spec:
        if name not in summary:
            continue
        rows.append(
            {
                "name": name,
                "label": label,
                "unit": unit,
                "scale": scale,
                "digits": digits,
                "better": better,
                "value": _finite(summary[name]),
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


def network_payload(
    graph: nx.Graph, backlog: Mapping[Any, float], trust: Mapping[Any, float]
) -> dict[str, Any]:
    """Nodes (level, position, backlog, trust) and edges of the governance network."""
    positions = tree_layout(graph)
    nodes = []
    for node in sorted(graph.nodes, key=lambda n: (positions[n][1], positions[n][0])):
        attributes = graph.nodes[node]
        x, y = positions[node]
        nodes.append(
            {
                "id": _node_id(node),
                "level": attributes.get("level", ""),
                "name": attributes.get("name", _node_id(node)),
                "x": round(x, 4),
                "y": round(y, 4),
                "backlog": _finite(backlog.get(node, math.nan)),
                "trust": _finite(trust.get(node, math.nan)),
            }
        )
    edges = sorted((_node_id(a), _node_id(b)) for a, b in graph.edges)
    return {"nodes": nodes, "edges": [list(edge) for edge in edges]}


def run_view(scenario: Scenario, settings: Any) -> dict[str, Any]:
    """Check ``settings``, run ``scenario`` with them and return the page's JSON.

    The same seed gives the same results as ``microgov run --seed`` with the same
    overrides (the seed becomes ``SeedSequence(seed)`` in both).

    Raises:
        InputError: for bad settings (naming the setting or scenario field).
    """
    # Imported when first needed: `microgov --help` must not wait for Mesa.
    from experiments.runs import as_seed_sequence
    from model.governance import GovernanceModel

    chosen = check_settings(scenario, settings)
    overrides = settings_overrides(scenario, chosen)
    varied = apply_overrides(scenario, overrides)
    started = time.perf_counter()
    model = GovernanceModel(varied.parameters, seed=as_seed_sequence(chosen["seed"]))
    model.run(chosen["days"])
    output = model.output()
    elapsed = time.perf_counter() - started
    daily = output.timeseries
    series: dict[str, list[float | None]] = {
        "day": [int(d) for d in daily["day"]] if "day" in daily else list(range(1, len(daily) + 1))
    }
    for name in SERIES:
        if name in daily:
            series[name] = [_finite(v) for v in daily[name]]
    if "cases_closed" in daily:  # the model's column is cumulative
        per_day = np.diff(daily["cases_closed"].to_numpy(dtype=float), prepend=0.0)
        series["cases_closed_per_day"] = [_finite(v) for v in per_day]
    chosen["invitations_per_member"] = _finite_or_none(
        getattr(varied.parameters.consultation, "invitations_per_member", None)
    )
    rows = outcome_rows(output.summary, list(varied.parameters.population.age_group_shares))
    return {
        "scenario": {
            "name": scenario.name,
            "residents": varied.residents,
            "routing": varied.routing_kind,
            "consultation": varied.consultation_kind,
            "digest": varied.digest,
        },
        "settings": chosen,
        "overrides": overrides,
        "elapsed_seconds": round(elapsed, 3),
        "summary": {row["name"]: row["value"] for row in rows},
        "outcomes": rows,
        "timeseries": series,
        "network": network_payload(
            model.graph, model.unit_values("backlog"), model.unit_values("trust")
        ),
    }


# ---------------------------------------------------------------------------
# HTTP server
# ---------------------------------------------------------------------------


class ViewServer(ThreadingHTTPServer):
    """The view's HTTP server: one thread and one model per request.

    Use as a context manager (``with ViewServer(scenario) as server: ...``) to serve in
    a background thread and stop cleanly, or call :meth:`serve_forever` yourself.
    """

    daemon_threads = True  # a request still running never blocks the exit

    def __init__(
        self,
        scenario: Scenario,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        max_concurrent_runs: int = MAX_CONCURRENT_RUNS,
    ) -> None:
        self.scenario = scenario
        self.config = view_config(scenario)
        self.run_slots = threading.BoundedSemaphore(max_concurrent_runs)
        self._thread: threading.Thread | None = None
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), ViewRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up (socket.getfqdn), which can hang
        # for seconds on a machine without DNS; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    @property
    def url(self) -> str:
        """The address of the page, e.g. ``http://127.0.0.1:8765/``."""
        host = self.server_name
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server_port}/"

    def start(self) -> threading.Thread:
        """Serve in a background (daemon) thread; :meth:`stop` ends it."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever, name="microgov-view", daemon=True
            )
            self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Stop serving (if started with :meth:`start`) and close the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.server_close()

    def __enter__(self) -> ViewServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def make_server(
    scenario: Scenario, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> ViewServer:
    """A :class:`ViewServer` bound to ``host:port`` (port 0: any free port).

    Raises:
        InputError: when the port is taken or the host cannot be bound.
    """
    if scenario.residents > LARGE_SCENARIO_RESIDENTS:
        log.warning(
            "%s has %s residents: each run in the view will take a while (the classroom "
            "scenario is made for it)",
            scenario.name,
            f"{scenario.residents:,}",
        )
    try:
        return ViewServer(scenario, host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise InputError(
                "is already in use",
                field="--port",
                value=port,
                allowed="a free port, or --port 0 for any free port",
            ) from None
        raise InputError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc})",
            field="--host",
            value=host,
            allowed="an address of this machine, e.g. 127.0.0.1",
        ) from None


class ViewRequestHandler(BaseHTTPRequestHandler):
    """Serves the page, the controls and the runs of one :class:`ViewServer`."""

    server: ViewServer
    server_version = "microgov-view"
    timeout = 60  # seconds a slow or silent client may hold its connection

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, PAGE.encode("utf-8"), "text/html; charset=utf-8")
        elif path == "/api/config":
            self._send_json(HTTPStatus.OK, self.server.config)
        elif path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path != "/api/run":
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {path}"})
            return
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            # Also keeps other web sites from posting here: their JSON needs a CORS preflight.
            self._send_json(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                {"error": "send the settings as Content-Type: application/json"},
            )
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send_json(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length is required"})
            return
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send_json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": f"the settings must be at most {MAX_BODY_BYTES} bytes"},
            )
            return
        body = self.rfile.read(length)
        try:
            settings = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": f"the body is not JSON: {exc}"})
            return
        try:
            with self.server.run_slots:
                result = run_view(self.server.scenario, settings)
        except InputError as exc:
            self._send_json(
                HTTPStatus.BAD_REQUEST, {"error": str(exc), "fields": _setting_names(exc)}
            )
            return
        except Exception as exc:  # one failed run must not stop the class's server
            log.exception("run failed for settings %r", settings)
            self._send_json(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"error": f"the run failed: {type(exc).__name__}: {exc}"},
            )
            return
        self._send_json(HTTPStatus.OK, result)

    def _send_json(self, status: HTTPStatus, data: Any) -> None:
        body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        self._send(status, body.encode("utf-8"), "application/json; charset=utf-8")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in PAGE_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the browser went away
            log.debug("client closed the connection before the answer to %s", self.path)

    def log_message(self, format: str, *args: Any) -> None:
        # Requests go to logging (shown with `microgov -v view`), not to stderr.
        log.info("%s %s", self.address_string(), format % args)
