"""The classroom web view: a small browser page with sliders that runs one scenario.

The page (``app/static/view.html``, ``view.css`` and ``view.js``, package data) is
served by the standard library's ``ThreadingHTTPServer``; it loads nothing from other
sites (no CDN: the machines of a class may be offline), and its Content-Security-Policy
forbids it to. Endpoints:

- ``GET /`` — the page; ``GET /view.css`` and ``GET /view.js`` its style and script.
  Query parameters preset the controls, e.g. ``/?routing=integrated&days=90&autorun=1``
  (``autorun=1`` runs once on load), so a teacher can share a link to one setting; the
  page refuses a link with an unknown name or value, naming what is allowed.
- ``GET /api/config`` — the controls: kinds, ranges and the scenario's own values.
- ``POST /api/run`` — JSON settings (below) in, one run's trajectory out as JSON (see
  :func:`app.view_runs.play_run`). Bad settings give HTTP 400 with
  ``{"error": <message naming the field>, "fields": [...]}``.

Settings (every key optional; a missing key keeps the scenario's value)::

    {"routing": "integrated", "consultation": "council", "accountability": "ranking",
     "organisation": "party_building", "mediation": "joint_platform",
     "projects": "micro_renewal", "staff_multiplier": 1.5,
     "classification_accuracy": 0.8, "handoff_delay_hours": 2, "invitations_per_member": 3,
     "days": 365, "seed": 0, "seeds": 1}

``staff_multiplier`` scales every department's ``staff_per_100k_residents``;
``invitations_per_member`` exists only for consultation kinds with that field; ``seeds``
runs that many seeds (``seed``, ``seed + 1``, …) to draw bands. Policy kinds are only
the registered ones (``available_kinds``) and the scenario's own: a request can never
name a ``module:Class`` to import.

Each run is one model (one per seed) in its own worker process with a time and a memory
limit (:mod:`app.view_worker`): a run that takes too long or grows too large is killed
and answered with a JSON error, and the server goes on. The server binds to 127.0.0.1
unless told otherwise: it has no authentication, and it answers only requests whose
``Host`` header names it (no DNS rebinding).
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import json
import logging
import math
import socket
import socketserver
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from app.view_runs import play_run
from app.view_worker import RunRefused, RunWorkers
from experiments.errors import InputError, closest
from experiments.scenario_files import Scenario, apply_overrides
from model.policies.registry import (
    FAMILIES,
    Family,
    PolicyError,
    available_kinds,
    policy_class,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# A run answers one HTTP request, so it must stay short: two classroom years take a
# few seconds (assumption: longer runs belong to `microgov run`).
MAX_DAYS = 730
MAX_SEED = 2**32 - 1
# Seeds of one request: enough to see the spread, few enough to stay quick (assumption).
MAX_SEEDS = 5
STAFF_MULTIPLIER_RANGE = (0.1, 5.0)
MAX_BODY_BYTES = 16 * 1024
# Two cores on the class machine: more parallel runs would only slow each other down.
MAX_CONCURRENT_RUNS = 2
# Requests that may wait for a run slot; more get 503 at once (a class of ~30 students).
MAX_WAITING_RUNS = 32
# A run's wall-clock time and the memory it may add to the model's start (assumption:
# 5 seeds × 730 days of the classroom take ≈10 s on a free core; a street-scale scenario
# needs a few hundred MB).
TIME_LIMIT_SECONDS = 60.0
MEMORY_LIMIT_MB = 2048.0
# Connections the kernel queues before the server accepts them (default 5: a class
# opening the page at once got connection resets).
LISTEN_BACKLOG = 128
# Above this many residents a run no longer takes "about a second" (docs/design.md "Scale targets").
LARGE_SCENARIO_RESIDENTS = 50_000

STATIC_FILES: dict[str, tuple[str, str]] = {
    "/": ("view.html", "text/html; charset=utf-8"),
    "/index.html": ("view.html", "text/html; charset=utf-8"),
    "/view.css": ("view.css", "text/css; charset=utf-8"),
    "/view.js": ("view.js", "text/javascript; charset=utf-8"),
}
PAGE_HEADERS = {
    # Nothing may come from elsewhere (the class may be offline), nothing inline.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
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
        "accountability",
        "Accountability",
        "select",
        "accountability.kind",
        help="ranking = departments ranked on their rates (考核), which some answer by gaming",
    ),
    Control(
        "organisation",
        "Party organisation",
        "select",
        "organisation.kind",
        help="party_building = 党建引领: members in the grids, a duty roster, follow-ups",
    ),
    Control(
        "mediation",
        "Disputes",
        "select",
        "mediation.kind",
        help="joint_platform = the street's joint mediation platform (三官一律)",
    ),
    Control(
        "projects",
        "Micro-space projects",
        "select",
        "projects.kind",
        help="micro_renewal = spaces residents decide on and build (needs a consultation)",
    ),
    Control(
        "staff_multiplier",
        "Department staff ×",
        "number",
        "departments.*.staff_per_100k_residents",
        *STAFF_MULTIPLIER_RANGE,
        0.05,
        help="scales every department's staff per 100k residents (the head count for this "
        "scenario's residents is shown beside it)",
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
        help="delay each time a case passes between units (一张网 shortens it)",
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
    Control(
        "seeds",
        "Seeds",
        "integer",
        "",
        1,
        MAX_SEEDS,
        1,
        help="runs seed, seed + 1, …: the charts show the spread as a band",
    ),
)
CONTROL_NAMES: tuple[str, ...] = tuple(c.name for c in CONTROLS)
_BY_NAME = {c.name: c for c in CONTROLS}


def consultation_fields(kind: str) -> list[str]:
    """Parameter names of a consultation kind ([] when the kind cannot be loaded)."""
    return list(_consultation_fields(kind))


@functools.cache
def _consultation_fields(kind: str) -> tuple[str, ...]:
    # Only kinds of allowed_kinds() get here from a request (checked before), so the
    # cache stays small and no request imports a module.
    try:
        return tuple(f.name for f in dataclasses.fields(policy_class("consultation", kind)))
    except PolicyError:
        return ()


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
            return float(field.default)
    return None


def default_settings(scenario: Scenario) -> dict[str, Any]:
    """The settings that reproduce ``scenario`` as it is (seed 0)."""
    p = scenario.parameters
    return {
        **{family: scenario.policy_kind(family) for family in FAMILIES},
        "staff_multiplier": 1.0,
        "classification_accuracy": p.coordination.classification_accuracy,
        "handoff_delay_hours": p.coordination.handoff_delay_hours,
        "invitations_per_member": _invitations_default(scenario, scenario.consultation_kind),
        "days": min(p.simulation.days, MAX_DAYS),
        "seed": 0,
        "seeds": 1,
    }


def allowed_kinds(scenario: Scenario, family: Family) -> list[str]:
    """Policy kinds a request may choose: the registered ones and the scenario's own.

    The scenario's own kind is offered even when it is a 'package.module:Class' reference
    that no registry lists (the scenario file is trusted input and already loaded it):
    otherwise the page would switch policy without being asked. No other reference is
    accepted, so a request never imports code.
    """
    return sorted({*registered_kinds(family), scenario.policy_kind(family)})


@functools.cache
def registered_kinds(family: Family) -> tuple[str, ...]:
    """``available_kinds(family)``, read once per process: scanning the entry points takes
    tens of milliseconds, and a newly installed plug-in needs a restart of the view anyway."""
    return tuple(available_kinds(family))


def view_config(scenario: Scenario) -> dict[str, Any]:
    """What ``GET /api/config`` returns: the scenario, its controls and their defaults."""
    kinds = {family: allowed_kinds(scenario, family) for family in FAMILIES}
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
        # Head counts beside the staff slider: staff = per 100k × multiplier × residents / 100k.
        "staff_per_100k_residents": {
            name: department.staff_per_100k_residents
            for name, department in scenario.parameters.departments.items()
        },
        "controls": controls,
        "defaults": default_settings(scenario),
        "consultation_fields": {kind: consultation_fields(kind) for kind in kinds["consultation"]},
        "invitations_defaults": {
            kind: _invitations_default(scenario, kind) for kind in kinds["consultation"]
        },
    }


def _number(name: str, value: Any) -> float:
    """A number within the control's range (JSON integers of any size included)."""
    control = _BY_NAME[name]
    low, high = control.minimum or 0.0, control.maximum or 0.0
    shown = value if not isinstance(value, int) or abs(value) < 10**20 else _short(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError("must be a number", field=name, value=shown, allowed=_allowed(name))
    # Compare before converting: float(10**400) would overflow.
    if not (isinstance(value, int) or math.isfinite(value)) or not low <= value <= high:
        raise InputError("is out of range", field=name, value=shown, allowed=_allowed(name))
    return float(value)


def _short(value: int) -> str:
    digits = str(abs(value)) if value.bit_length() < 10_000 else ""
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[:6]}… ({len(digits)} digits)" if digits else "a huge number"


def _whole(name: str, value: Any) -> int:
    number = _number(name, value)
    if not number.is_integer():
        raise InputError("must be a whole number", field=name, value=value, allowed=_allowed(name))
    return int(number)


def _allowed(name: str) -> str:
    control = _BY_NAME[name]
    if control.kind == "integer":  # 4294967295, not 4.29497e+09
        return f"a whole number from {int(control.minimum or 0)} to {int(control.maximum or 0)}"
    return f"a number from {control.minimum:g} to {control.maximum:g}"


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
            if name in FAMILIES:
                chosen[name] = _kind(scenario, name, value)
            elif _BY_NAME[name].kind == "integer":
                chosen[name] = _whole(name, value)
            else:
                chosen[name] = _number(name, value)
        except InputError as exc:
            problems.append(exc)
    invitations = settings.get("invitations_per_member")
    if invitations is not None and not problems:
        kinds = [k for k in registered_kinds("consultation") if _has_invitations(k)]
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


def _kind(scenario: Scenario, family: Family, value: Any) -> str:
    """A policy kind a request may choose; anything else is refused before any import."""
    allowed = allowed_kinds(scenario, family)
    if isinstance(value, str) and value in allowed:
        return value
    text = value if isinstance(value, str) else None
    raise InputError(
        "is not a policy kind of this view",
        field=family,
        value=value if text is None or len(text) <= 80 else text[:80] + "…",
        allowed=", ".join(allowed),
        suggestion=closest(text, allowed) if text else None,
    )


def _has_invitations(kind: str) -> bool:
    return "invitations_per_member" in consultation_fields(kind)


def settings_overrides(scenario: Scenario, chosen: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted scenario overrides for checked settings (only what differs from the scenario)."""
    p = scenario.parameters
    overrides: dict[str, Any] = {}
    for family in FAMILIES:
        if chosen[family] != scenario.policy_kind(family):
            overrides[f"{family}.kind"] = chosen[family]
    consultation_changes = "consultation.kind" in overrides
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
# One request → one run in a worker
# ---------------------------------------------------------------------------


def run_view(scenario: Scenario, settings: Any, workers: RunWorkers) -> dict[str, Any]:
    """Check ``settings``, run ``scenario`` with them in a worker and return the page's JSON.

    The same seed gives the same results as ``microgov run --seed`` with the same
    overrides (the seed becomes ``SeedSequence(seed)`` in both).

    Raises:
        InputError: for bad settings (naming the setting or scenario field).
        RunRefused: when the server is busy, or the run broke the time or memory limit.
    """
    chosen = check_settings(scenario, settings)
    overrides = settings_overrides(scenario, chosen)
    varied = apply_overrides(scenario, overrides)
    result = workers.run(
        play_run, varied.parameters, chosen["seed"], chosen["seeds"], chosen["days"]
    )
    invitations = getattr(varied.parameters.consultation, "invitations_per_member", None)
    chosen["invitations_per_member"] = None if invitations is None else float(invitations)
    return {
        "scenario": {
            "name": scenario.name,
            "residents": varied.residents,
            **{family: varied.policy_kind(family) for family in FAMILIES},
            "digest": varied.digest,
        },
        "settings": chosen,
        "overrides": overrides,
        **result,
    }


# ---------------------------------------------------------------------------
# HTTP server
# ---------------------------------------------------------------------------


def _static_file(name: str) -> bytes:
    return resources.files("app").joinpath("static", name).read_bytes()


def host_names(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The ``Host`` header values the server answers: its own names, with the port.

    127.0.0.1, localhost and ::1 always; the bound address; and ``extra`` names (how
    other machines reach a server bound to 0.0.0.0). Names are compared lowercased.
    """
    names = {"127.0.0.1", "localhost", "[::1]", host, *extra}
    if host in ("0.0.0.0", "::", ""):  # all interfaces: the machine's own name too
        names.add(socket.gethostname())
    allowed = set()
    for name in names:
        if not name:
            continue
        name = name.lower()
        if ":" in name and not name.startswith("["):
            name = f"[{name}]"  # an IPv6 address in a Host header
        allowed.add(f"{name}:{port}")
        if port == 80:
            allowed.add(name)
    return frozenset(allowed)


class ViewServer(ThreadingHTTPServer):
    """The view's HTTP server: one thread per request, one worker process per run.

    Use as a context manager (``with ViewServer(scenario) as server: ...``) to serve in
    a background thread and stop cleanly, or call :meth:`serve_forever` yourself and
    :meth:`close` at the end (which also kills runs still going).
    """

    daemon_threads = True  # a request still waiting never blocks the exit
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        scenario: Scenario,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        max_concurrent_runs: int = MAX_CONCURRENT_RUNS,
        *,
        time_limit_seconds: float = TIME_LIMIT_SECONDS,
        memory_limit_mb: float = MEMORY_LIMIT_MB,
        max_waiting_runs: int = MAX_WAITING_RUNS,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.scenario = scenario
        self.config = view_config(scenario)
        self.static = {
            path: (_static_file(name), kind) for path, (name, kind) in STATIC_FILES.items()
        }
        self._thread: threading.Thread | None = None
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), ViewRequestHandler)
        self.host_names = host_names(host, self.server_port, allowed_hosts)
        self.workers = RunWorkers(
            max_concurrent_runs,
            max_waiting_runs,
            time_limit_seconds,
            memory_limit_mb,
            # A waiting request gives up after the runs ahead of it could have finished.
            wait_limit_seconds=time_limit_seconds * (1 + max_waiting_runs / max_concurrent_runs),
        )

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
        """Stop serving (if started with :meth:`start`), kill running runs, close the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.close()

    def close(self) -> None:
        """Kill the runs still going and close the socket."""
        self.workers.close()
        self.server_close()

    def __enter__(self) -> ViewServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def make_server(
    scenario: Scenario,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    **options: Any,
) -> ViewServer:
    """A :class:`ViewServer` bound to ``host:port`` (port 0: any free port).

    ``options`` are the limits of :class:`ViewServer` (``time_limit_seconds``, …).

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
        return ViewServer(scenario, host, port, **options)
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
        if not self._host_allowed():
            return
        path = urlsplit(self.path).path
        if path in self.server.static:
            body, content_type = self.server.static[path]
            self._send(HTTPStatus.OK, body, content_type)
        elif path == "/api/config":
            self._send_json(HTTPStatus.OK, self.server.config)
        elif path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})

    def do_POST(self) -> None:
        if not self._host_allowed():
            return
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
            self.close_connection = True  # the unread body must not be taken for a request
            self._send_json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": f"the settings must be at most {MAX_BODY_BYTES} bytes"},
            )
            return
        body = self.rfile.read(length)
        try:
            settings = json.loads(body.decode("utf-8")) if body.strip() else {}
        except RecursionError:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "the body is nested too deeply"})
            return
        except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, too many digits
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": f"the body is not JSON: {exc}"})
            return
        try:
            result = run_view(self.server.scenario, settings, self.server.workers)
        except InputError as exc:
            self._send_json(
                HTTPStatus.BAD_REQUEST, {"error": str(exc), "fields": _setting_names(exc)}
            )
            return
        except RunRefused as exc:
            self._send_json(HTTPStatus(exc.status), {"error": str(exc), "fields": []})
            return
        except Exception as exc:  # one failed request must not stop the class's server
            log.exception("request failed for settings %r", settings)
            self._send_json(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"error": f"the run failed: {type(exc).__name__}: {exc}", "fields": []},
            )
            return
        self._send_json(HTTPStatus.OK, result)

    def _host_allowed(self) -> bool:
        """Answer 403 unless the Host header names this server (a DNS-rebinding guard)."""
        host = (self.headers.get("Host") or "").strip().lower()
        if host in self.server.host_names:
            return True
        log.warning("refused a request for host %r (allowed: %s)", host, self.server.host_names)
        self._send_json(
            HTTPStatus.FORBIDDEN,
            {
                "error": f"this server answers only for {', '.join(sorted(self.server.host_names))}"
                " (start it with --allow-host NAME to add a name)"
            },
        )
        return False

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
            if status == HTTPStatus.SERVICE_UNAVAILABLE:
                self.send_header("Retry-After", "5")
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the browser went away
            log.debug("client closed the connection before the answer to %s", self.path)

    def log_message(self, format: str, *args: Any) -> None:
        # Requests go to logging (shown with `microgov -v view`), not to stderr.
        log.info("%s %s", self.address_string(), format % args)
