"""The classroom web view: its HTTP API, the page, the tree layout and `microgov view`.

The hardening tests (worker limits, Host check, load, bad bodies) are in
tests/test_webview_limits.py.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import build_parser, main
from app.view_runs import MAX_FRAMES, TRUST_BINS, frame_days, play_run, tree_layout
from app.webview import (
    CONTROL_NAMES,
    MAX_BODY_BYTES,
    STATIC_FILES,
    ViewServer,
    check_settings,
    view_config,
)
from experiments.errors import InputError
from experiments.runs import run_single
from experiments.scenario_files import Scenario
from model.network import build_hierarchy
from model.parameters import PopulationParameters
from model.policies.registry import policy_kind

ROOT = Path(__file__).resolve().parents[1]
DAYS = 20
# Never send requests for 127.0.0.1 through a proxy from the environment.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def server(classroom: Scenario) -> Iterator[ViewServer]:
    """A view server on a free port of 127.0.0.1, serving the classroom scenario."""
    with ViewServer(classroom, port=0) as running:
        yield running


def get(server: ViewServer, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET a path; return status, headers and body (errors included)."""
    try:
        with OPENER.open(server.url.rstrip("/") + path, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def post(
    server: ViewServer,
    body: Any,
    *,
    path: str = "/api/run",
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    """POST settings (a dict is sent as JSON, bytes as they are); return status and JSON."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        server.url.rstrip("/") + path,
        data=data,
        headers={"Content-Type": content_type},
        method="POST",
    )
    try:
        with OPENER.open(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def result(server: ViewServer) -> dict[str, Any]:
    """One run of the classroom scenario for DAYS days, through the HTTP API."""
    status, data = post(server, {"days": DAYS, "seed": 0})
    assert status == 200, f"a valid run should answer 200, got {status}: {data}"
    return data


@pytest.mark.parametrize("path", sorted(STATIC_FILES))
def test_page_is_served_self_contained(server: ViewServer, path: str) -> None:
    """The page's files are served with a policy that forbids anything from elsewhere."""
    status, headers, body = get(server, path)
    text = body.decode("utf-8")
    assert status == 200, f"GET {path} should answer 200, got {status}"
    kind = {"css": "text/css", "js": "text/javascript"}.get(path.rpartition(".")[2], "text/html")
    assert headers["Content-Type"].startswith(kind), f"{path}: {headers['Content-Type']}"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy, policy
    external = text.replace("http://www.w3.org/2000/svg", "")
    assert "http://" not in external and "https://" not in external, (
        f"{path} must not load anything from another site (the class may be offline)"
    )


def test_page_files_are_package_data() -> None:
    """Every file of app/static is declared as package data (so an installed view works)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    setuptools = project["tool"]["setuptools"]
    # a data-only package, listed as one (else setuptools warns at every install that it
    # would be ignored, and a later setuptools may ignore it)
    assert "app.static" in setuptools["packages"], setuptools["packages"]
    patterns = setuptools["package-data"]["app.static"]
    static = sorted(p.name for p in (ROOT / "app" / "static").iterdir())
    assert {"view.html", "view.css", "view.js"} <= set(static), static
    for name in static:
        assert any(Path(name).match(p) for p in patterns), f"{name} not in {patterns}"
    page = (ROOT / "app" / "static" / "view.html").read_text("utf-8")
    assert 'id="run"' in page and 'src="view.js"' in page and 'href="view.css"' in page


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to check the script")
def test_page_script_parses() -> None:
    """`node --check` accepts view.js (a syntax error would leave the page dead)."""
    script = ROOT / "app" / "static" / "view.js"
    done = subprocess.run(
        ["node", "--check", str(script)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"view.js does not parse: {done.stderr}"
    assert "/api/run" in script.read_text("utf-8"), "the script should post to /api/run"


def test_config_lists_controls_and_scenario_defaults(
    server: ViewServer, classroom: Scenario
) -> None:
    """GET /api/config lists every control, the policy kinds and the scenario's own values."""
    status, _, body = get(server, "/api/config")
    config = json.loads(body)
    assert status == 200, f"GET /api/config should answer 200, got {status}"
    assert [c["name"] for c in config["controls"]] == list(CONTROL_NAMES), "controls differ"
    options = {c["name"]: c.get("options") for c in config["controls"]}
    assert {"hierarchical", "integrated"} <= set(options["routing"]), "routing kinds missing"
    assert {"none", "council"} <= set(options["consultation"]), "consultation kinds missing"
    defaults = config["defaults"]
    assert defaults["routing"] == classroom.routing_kind, "default routing is not the scenario's"
    assert defaults["consultation"] == classroom.consultation_kind, "default consultation differs"
    assert defaults["classification_accuracy"] == pytest.approx(
        classroom.parameters.coordination.classification_accuracy
    ), "default accuracy is not the scenario's"
    assert "invitations_per_member" in config["consultation_fields"]["council"], (
        "the council's invitations field should be listed"
    )
    assert config["consultation_fields"]["none"] == [], "'none' has no parameters"


def test_run_returns_outcomes_series_and_network(result: dict[str, Any]) -> None:
    """A run returns key outcomes with units, daily series and the network with positions."""
    assert set(result) >= {"summary", "outcomes", "timeseries", "network", "settings"}, (
        f"missing keys in {sorted(result)}"
    )
    assert result["settings"]["days"] == DAYS, "the run should echo its settings"
    series = result["timeseries"]
    for name in ("day", "backlog", "trust_mean", "cases_closed", "cases_closed_per_day"):
        assert len(series[name]) == DAYS, f"series {name} should have one value per day"
    assert all(v >= 0 for v in series["cases_closed_per_day"]), "closings per day are counts"
    assert sum(series["cases_closed_per_day"]) == pytest.approx(series["cases_closed"][-1]), (
        "daily closings should add up to the cumulative count"
    )
    assert all(0 <= v <= 1 for v in series["trust_mean"]), "trust lies in [0, 1]"
    rows = result["outcomes"]
    names = [row["name"] for row in rows]
    assert "resolution_time_mean_days" in names and "trust_mean" in names, "key outcomes missing"
    assert any(n.startswith("participation_share_age_") for n in names), "age groups missing"
    assert "participation_share_party_member" in names, "party membership missing"
    for row in rows:
        assert row["label"] and row["unit"], f"outcome {row['name']} needs a label and a unit"
        assert row["value"] is None or math.isfinite(row["value"]), f"{row['name']} not finite"
    network = result["network"]
    ids = {node["id"] for node in network["nodes"]}
    assert len(ids) == 1 + 8 + 1 + 1 + 6, f"classroom has 17 units, got {len(ids)}"
    assert all(a in ids and b in ids for a, b in network["edges"]), "edge to an unknown node"
    for node in network["nodes"]:
        assert 0 <= node["x"] <= 1 and 0 <= node["y"] <= 1, f"{node['id']} outside the picture"
    assert result["bands"] == {}, "one seed draws no bands"


def test_run_returns_a_daily_playback(result: dict[str, Any], classroom: Scenario) -> None:
    """Each day has a frame: open cases and trust per unit and the residents' trust histogram."""
    frames, nodes = result["frames"], result["network"]["nodes"]
    assert frames["day"] == list(range(1, DAYS + 1)), "a short run keeps every day"
    centre = [n["id"] for n in nodes].index("centre-0")
    for f, day in enumerate(frames["day"]):
        backlog, trust = frames["backlog"][f], frames["trust"][f]
        assert len(backlog) == len(trust) == len(nodes), "one value per unit and frame"
        assert backlog[centre] == result["timeseries"]["backlog"][day - 1], (
            f"day {day}: the centre's open cases should be the whole backlog"
        )
        for node, b, t in zip(nodes, backlog, trust, strict=True):
            assert b is not None and b >= 0, f"{node['id']}: open cases are counts"
            assert (t is None) == (node["level"] == "department"), (
                f"only departments lack a trust value ({node['id']})"
            )
            assert t is None or 0 <= t <= 1, f"{node['id']}: trust {t} outside [0, 1]"
        histogram = frames["trust_histogram"][f]
        assert len(histogram) == TRUST_BINS == result["trust_bins"], "one count per bin"
        assert sum(histogram) == classroom.residents, "the histogram counts every resident"
    assert frames["backlog"][0] != frames["backlog"][-1], "the picture should change over days"


def test_several_seeds_give_bands(server: ViewServer, classroom: Scenario) -> None:
    """seeds = 3 gives mean series with lowest and highest seed around them, and outcome ranges."""
    status, data = post(server, {"days": 6, "seeds": 3, "seed": 4})
    assert status == 200, f"several seeds should run: {data}"
    assert data["settings"]["seeds"] == 3, "the run should echo its seeds"
    band = data["bands"]["backlog"]
    for low, mean, high in zip(
        band["low"], data["timeseries"]["backlog"], band["high"], strict=True
    ):
        assert low <= mean <= high, f"the mean {mean} should lie in its band [{low}, {high}]"
    assert any(h > lo for lo, h in zip(band["low"], band["high"], strict=True)), (
        "three seeds should differ somewhere"
    )
    rows = {row["name"]: row for row in data["outcomes"]}
    cases = rows["cases_generated"]
    assert cases["low"] <= cases["value"] <= cases["high"], f"range around the mean: {cases}"
    from experiments.scenario_files import apply_overrides

    no_warmup = apply_overrides(classroom, {"simulation.warmup_days": 0})  # as the view runs
    singles = [run_single(no_warmup, s, days=6).summary["cases_generated"] for s in (4, 5, 6)]
    assert cases["value"] == pytest.approx(sum(singles) / 3), "the value is the mean of the seeds"


def test_frames_are_thinned_to_a_few_hundred() -> None:
    """Long runs keep at most MAX_FRAMES evenly spaced days, always the first and the last."""
    assert frame_days(20, 17) == list(range(1, 21)), "short runs keep every day"
    for days, nodes in [(730, 17), (365, 17), (241, 17), (730, 5000), (2, 10**6)]:
        kept = frame_days(days, nodes)
        assert len(kept) <= MAX_FRAMES, f"{days} days: {len(kept)} frames"
        assert kept[-1] == days and kept == sorted(set(kept)), f"{days} days: {kept[:5]}…"
        assert kept[0] == 1 or len(kept) == 1, "the first day is a frame"
    assert len(frame_days(730, 5000)) < len(frame_days(730, 17)), "large networks get fewer"


def test_run_matches_microgov_run(result: dict[str, Any], classroom: Scenario) -> None:
    """The view's run equals run_single with the same seed and no warm-up (the view shows
    every day from the start)."""
    from experiments.scenario_files import apply_overrides

    expected = run_single(
        apply_overrides(classroom, {"simulation.warmup_days": 0}), 0, days=DAYS
    ).summary
    for name, value in result["summary"].items():
        if value is None:
            assert math.isnan(expected[name]), f"{name}: view has no value, run_single has one"
        else:
            assert value == pytest.approx(expected[name]), f"{name} differs from run_single"


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"classification_accuracy": 1.5}, "classification_accuracy", "from 0 to 1"),
        ({"days": 0}, "days", "from 1 to 730"),
        ({"days": 10**400}, "days", "from 1 to 730"),
        ({"days": 2.5}, "days", "a whole number"),
        ({"seeds": 9}, "seeds", "from 1 to 5"),
        ({"staff_multiplier": 0}, "staff_multiplier", "from 0.1 to 5"),
        ({"handoff_delay_hours": -2}, "handoff_delay_hours", "from 0 to 48"),
        ({"handoff_delay_hours": 1e300, "days": 5}, "handoff_delay_hours", "from 0 to 48"),
        ({"invitations_per_member": 1e9}, "invitations_per_member", "from 0 to 10"),
        ({"routing": "integrate"}, "routing", "did you mean 'integrated'"),
        ({"routing": "this:X"}, "routing", "hierarchical, immediate, integrated"),
        ({"consultation": "os:system"}, "consultation", "council"),
        ({"routing": ["integrated"]}, "routing", "hierarchical"),
        (
            {"consultation": "none", "invitations_per_member": 3},
            "invitations_per_member",
            "council",
        ),
        ({"seed": "x"}, "seed", "must be a number"),
        ({"seed": -1}, "seed", "a whole number from 0 to 4294967295"),
    ],
)
def test_bad_value_gives_400_naming_the_field(
    server: ViewServer, settings: dict[str, Any], field: str, words: str
) -> None:
    """A bad setting is refused with HTTP 400 and a message naming the field and what is allowed."""
    status, data = post(server, settings)
    assert status == 400, f"{settings} should be refused with 400, got {status}"
    assert field in data["error"], f"the message should name {field}: {data['error']!r}"
    assert words in data["error"], f"the message should say {words!r}: {data['error']!r}"
    assert data["fields"] == [field], f"the page should highlight {field}, got {data['fields']}"


def test_unknown_setting_is_named_with_suggestion(server: ViewServer) -> None:
    """A misspelt setting is refused with the closest valid name."""
    status, data = post(server, {"sead": 1})
    assert status == 400, f"an unknown setting should be refused, got {status}"
    assert "sead" in data["error"] and "did you mean 'seed'" in data["error"], data["error"]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "expected"),
    [
        ("/api/run", b"{not json", "application/json", 400),
        ("/api/run", b"[1, 2]", "application/json", 400),
        ("/api/run", b"{}", "text/plain", 415),
        ("/api/run", b" " * (MAX_BODY_BYTES + 1), "application/json", 413),
        ("/api/run", b"[" * 30_000, "application/json", 413),
        ("/api/run", b"[" * 10_000, "application/json", 400),
        ("/api/run", b'{"days": 1' + b"0" * 5000 + b"}", "application/json", 400),
        ("/api/run", b"\xff\xfe", "application/json", 400),
        ("/api/other", b"{}", "application/json", 404),
    ],
)
def test_bad_requests_get_clear_errors(
    server: ViewServer, path: str, body: bytes, content_type: str, expected: int
) -> None:
    """Malformed requests get the right status and a JSON error message, never a crash."""
    status, data = post(server, body, path=path, content_type=content_type)
    assert status == expected, f"{path} {content_type} {body[:20]!r}: expected {expected}"
    assert isinstance(data.get("error"), str) and data["error"], "an error needs a message"


def test_unknown_page_is_404(server: ViewServer) -> None:
    """GET of an unknown path answers 404."""
    status, _, _ = get(server, "/nothing-here")
    assert status == 404, f"expected 404, got {status}"


def test_settings_become_scenario_overrides(server: ViewServer, classroom: Scenario) -> None:
    """Staff ×2 doubles every department's staff; routing and invitations are applied."""
    settings = {
        "days": 5,
        "routing": "integrated",
        "staff_multiplier": 2,
        "invitations_per_member": 4,
    }
    status, data = post(server, settings)
    assert status == 200, f"valid settings should run: {data}"
    assert data["scenario"]["routing"] == "integrated", "routing was not switched"
    assert data["settings"]["invitations_per_member"] == 4, "invitations were not applied"
    overrides = data["overrides"]
    for name, department in classroom.parameters.departments.items():
        key = f"departments.{name}.staff_per_100k_residents"
        assert overrides[key] == pytest.approx(2 * department.staff_per_100k_residents), key
    assert data["scenario"]["digest"] != classroom.digest, "a changed scenario needs a new digest"


def test_switching_consultation_uses_its_own_defaults(server: ViewServer) -> None:
    """Switching to another consultation kind without invitations keeps that kind's default."""
    status, data = post(server, {"days": 3, "consultation": "online"})
    assert status == 200, f"switching consultation should run: {data}"
    assert data["scenario"]["consultation"] == "online", "consultation was not switched"
    assert data["overrides"] == {"consultation.kind": "online"}, "only the kind should change"
    status, data = post(server, {"days": 3, "consultation": "none"})
    assert status == 200 and data["settings"]["invitations_per_member"] is None, (
        "'none' has no invitations"
    )


def test_every_policy_family_is_a_choice(server: ViewServer, classroom: Scenario) -> None:
    """Party organisation, disputes, projects and accountability are chosen like routing:
    their registered kinds are offered, the scenario's own is the default, a choice runs."""
    _, _, body = get(server, "/api/config")
    config = json.loads(body)
    options = {c["name"]: c.get("options") for c in config["controls"]}
    chosen = {
        "accountability": "ranking",
        "organisation": "party_building",
        "mediation": "joint_platform",
        "projects": "micro_renewal",
    }
    for family, kind in chosen.items():
        own = policy_kind(getattr(classroom.parameters, family))
        assert {own, kind} <= set(options[family]), (family, options[family])
        assert config["defaults"][family] == own, family
    status, data = post(server, {"days": 5, "consultation": "council", **chosen})
    assert status == 200, f"the families should run: {data}"
    assert {f: data["scenario"][f] for f in chosen} == chosen, data["scenario"]
    assert {f"{f}.kind": k for f, k in chosen.items()}.items() <= data["overrides"].items()
    status, data = post(server, {"days": 5, "mediation": "lawyers_only"})
    assert status == 400 and "mediation" in data["fields"], data
    assert "joint_platform" in data["error"], "the allowed kinds are named"


def test_concurrent_runs_are_independent(server: ViewServer) -> None:
    """Parallel requests with the same seed give identical results (one model per request)."""
    answers: list[dict[str, Any]] = []
    lock = threading.Lock()

    def one() -> None:
        status, data = post(server, {"days": 15, "seed": 7, "routing": "integrated"})
        with lock:
            answers.append(data if status == 200 else {"status": status, **data})

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 4, f"every request should be answered, got {len(answers)}"
    assert all("summary" in a for a in answers), f"a run failed: {answers}"
    assert all(a["summary"] == answers[0]["summary"] for a in answers), (
        "the same settings and seed must give the same results under concurrency"
    )


def test_server_binds_loopback_and_stops_cleanly(classroom: Scenario) -> None:
    """By default the server listens on 127.0.0.1 only; stop() frees the port."""
    view = ViewServer(classroom, port=0)
    host, port = view.server_address[:2]
    assert host == "127.0.0.1", f"the default address should be 127.0.0.1, got {host}"
    thread = view.start()
    assert get(view, "/")[0] == 200, "the started server should answer"
    view.stop()
    assert not thread.is_alive(), "the serving thread should end on stop()"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_tree_layout_is_deterministic_and_tidy() -> None:
    """Tree layout: levels in rows, parents centred over children, no overlaps, order-free."""
    population = PopulationParameters(streets=2, communities_per_street=3, grids_per_community=4)
    graph = build_hierarchy(population, ["a", "b", "c"])
    layout = tree_layout(graph)
    shuffled = nx.Graph()
    shuffled.add_nodes_from(sorted(graph.nodes(data=True), key=lambda n: repr(n[0]))[::-1])
    shuffled.add_edges_from(list(graph.edges)[::-1])
    assert tree_layout(shuffled) == layout, "the layout must not depend on insertion order"
    assert len(set(layout.values())) == len(layout), "two nodes share a position"
    rows = {"centre": 0.0, "department": 1 / 3, "street": 1 / 3, "community": 2 / 3, "grid": 1.0}
    for node, (x, y) in layout.items():
        assert 0 <= x <= 1, f"{node} x outside [0, 1]"
        assert y == pytest.approx(rows[graph.nodes[node]["level"]]), f"{node} in the wrong row"
    for street in range(2):
        kids = [layout[("community", c)][0] for c in range(street * 3, street * 3 + 3)]
        x = layout[("street", street)][0]
        assert x == pytest.approx(sum(kids) / len(kids)), "a parent sits above its children"


def test_view_command_is_registered() -> None:
    """`microgov view` parses with the classroom scenario, port 8765 and 127.0.0.1 by default."""
    args = build_parser().parse_args(["view"])
    assert args.scenario == "classroom", f"default scenario should be classroom: {args.scenario}"
    assert (args.port, args.host, args.no_browser) == (8765, "127.0.0.1", False), "bad defaults"
    assert (args.time_limit_seconds, args.memory_limit_mb, args.allow_host) == (60, 2048, []), (
        "bad default limits"
    )


def test_view_command_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    """A port already in use is a clear error (status 2), not a traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status = main(["view", "--no-browser", "--port", str(port)])
    err = capsys.readouterr().err
    assert status == 2, f"a busy port is bad input (status 2), got {status}"
    assert "--port" in err and "already in use" in err, f"unclear message: {err!r}"


def test_view_command_serves_and_stops_on_ctrl_c() -> None:
    """`microgov view --no-browser --port 0` prints its address, serves, exits 0 on Ctrl+C."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "view", "--no-browser", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" at ", 1)[1].strip() if " at " in line else ""
        assert url.startswith("http://127.0.0.1:"), f"no address printed: {line!r}"
        with OPENER.open(url, timeout=30) as response:
            assert response.status == 200, "the command's server should serve the page"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, f"Ctrl+C should exit 0, got {process.returncode}: {err}"
    assert "Traceback" not in err, f"no traceback on Ctrl+C: {err}"


class _FakeServer:
    """Records what the serving loop asks of a server, and in which thread."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_the_view_by_a_flag_not_an_exception(signum: int) -> None:
    """In the main thread the view serves in the background and the signal only sets a flag:
    no KeyboardInterrupt can land inside the server's own thread starts (where it once
    came out as a RuntimeError that the server reported and served on). The server is
    stopped once and the previous handlers are back."""
    from app.view_commands import _serve_until_stopped

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    server = _FakeServer()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signum))
    timer.start()
    try:
        _serve_until_stopped(server)  # returns on the signal, raises nothing
    finally:
        timer.cancel()
    assert server.calls == ["start", "stop"]
    assert {s: signal.getsignal(s) for s in before} == before


@functools.cache
def config_of(scenario: Scenario) -> dict[str, Any]:
    """The view's controls for a scenario (computed once)."""
    return view_config(scenario)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**500), max_value=10**500)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["integrated", "council", "this:X", "os:system", "none"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from([*CONTROL_NAMES, "sead", "module"]),
        JSON_VALUES,
        max_size=len(CONTROL_NAMES),
    )
)
def test_any_settings_are_either_valid_or_a_clear_error(
    classroom: Scenario, settings_: dict[str, Any]
) -> None:
    """Any JSON settings give checked settings within the controls' ranges, or an InputError
    naming a setting; never another exception (which would be an HTTP 500)."""
    try:
        chosen = check_settings(classroom, settings_)
    except InputError as error:
        named = {problem.field for problem in error.all_problems()}
        assert named and named <= set(settings_), f"the error should name a setting: {error}"
        return
    for control in config_of(classroom)["controls"]:
        value = chosen[control["name"]]
        if control["kind"] == "select":
            assert value in control["options"], f"{control['name']} = {value!r} not offered"
        elif value is not None:
            assert control["minimum"] <= value <= control["maximum"], f"{control['name']} range"


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--time-limit-seconds", "0"), ("--time-limit-seconds", "inf"), ("--memory-limit-mb", "x")],
)
def test_view_command_refuses_bad_limits(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A limit out of its range is refused by the command line (status 2) with the range."""
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["view", flag, value])
    assert stopped.value.code == 2, f"{flag} {value} should be refused"
    err = capsys.readouterr().err
    assert flag in err or "not a number" in err, f"the message should name {flag}: {err!r}"


def test_long_run_payload_stays_small(classroom: Scenario) -> None:
    """A run longer than MAX_FRAMES days is thinned, rounded and stays well below 1 MB."""
    days = MAX_FRAMES + 60
    data = play_run(classroom.parameters, seed=0, seeds=1, days=days)
    frames = data["frames"]
    assert len(frames["day"]) == MAX_FRAMES and frames["day"][-1] == days, "thinned frames"
    assert len(data["timeseries"]["day"]) == days, "the daily series keep every day"
    size = len(json.dumps(data, allow_nan=False))
    assert size < 400_000, f"the answer should stay small, got {size:,} bytes"
    digits = max(len(repr(v).partition(".")[2]) for row in frames["trust"] for v in row if v)
    assert digits <= 4, "trust values should be rounded to 4 decimals"
