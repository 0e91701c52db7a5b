"""The classroom view in a real browser: headless Chromium driven over the DevTools protocol.

The test clicks Run like a user (a mouse event at the button), waits for the page's
``render-marker`` to say ``done``, checks the charts, the network and the outcomes
table, plays the days back, compares two runs, shows a refused setting and a bad link,
and fails on any script error, console error or resource the page could not load (so
view.js must parse and run cleanly).

A screenshot of the page after playback at 1280×800 is written to docs/images/view.png
when ``MICROGOV_DOCS_SCREENSHOTS=1`` (to the test's temporary folder otherwise, so a
test run does not change the repository).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.webview import ViewServer
from experiments.scenario_files import Scenario

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1280,1400",
    "--remote-debugging-port=0",
)
DAYS = 20
WAIT_S = 60.0
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "images" / "view.png"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs headless Chromium at /usr/bin/chromium "
        "(apt-get install -y chromium chromium-driver)",
    ),
]


class DevTools:
    """A minimal Chrome DevTools protocol client for one page, collecting its errors."""

    def __init__(self, websocket_url: str) -> None:
        import websocket  # websocket-client (dev extra)

        # Chromium refuses DevTools connections that carry an Origin header it did not allow.
        self.socket = websocket.create_connection(
            websocket_url, timeout=WAIT_S, suppress_origin=True
        )
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self.next_id += 1
        wanted = self.next_id
        self.socket.send(json.dumps({"id": wanted, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == wanted:
                if "error" in message:
                    raise AssertionError(f"DevTools {method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaits promises)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = WAIT_S) -> Any:
        """Poll until ``expression`` is truthy; fail naming ``what`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        state = self.evaluate("document.getElementById('render-marker').dataset.state")
        error = self.evaluate("document.getElementById('error').textContent")
        raise AssertionError(
            f"timed out waiting for {what} (page state {state!r}, error {error!r})"
        )

    def click(self, selector: str) -> None:
        """Click the centre of an element with real mouse events, as a user would."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2, r.width, r.height]; })()"
        )
        assert box[2] > 0 and box[3] > 0, f"{selector} is not visible"
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box[0],
                y=box[1],
                button="left",
                clickCount=1,
            )

    def problems(self, allow: tuple[str, ...] = ()) -> list[str]:
        """Script exceptions, console errors and failed loads seen so far (then forgotten);
        entries containing one of ``allow`` are expected and left out."""
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                found.append(f"exception: {text}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                found.append(f"console.{params['type']}: {args}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                found.append(f"log ({entry.get('source')}): {entry['text']} {entry.get('url', '')}")
        self.events.clear()
        return [p for p in found if not any(a in p for a in allow)]

    def close(self) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def server(classroom: Scenario) -> Iterator[ViewServer]:
    """The view server on a free port of 127.0.0.1."""
    with ViewServer(classroom, port=0) as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[str]:
    """Headless Chromium with remote debugging; yields the HTTP address of its DevTools."""
    profile = tempfile.mkdtemp(prefix="microgov-chromium-")
    process = subprocess.Popen(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its helper processes can be ended with it
    )
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + WAIT_S
        while not (port_file.exists() and port_file.read_text().strip()):
            assert process.poll() is None, f"Chromium exited with {process.returncode}"
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(chromium: str) -> Iterator[DevTools]:
    """A DevTools session on the browser's page, with errors and logs being collected."""
    with OPENER.open(f"{chromium}/json/list", timeout=30) as response:
        targets = json.loads(response.read())
    target = next(t for t in targets if t.get("type") == "page")
    tools = DevTools(target["webSocketDebuggerUrl"])
    for domain in ("Runtime", "Log", "Page"):
        tools.call(f"{domain}.enable")
    # Enabling replays what earlier tests left in the page's log: start from a clean page.
    tools.call("Page.navigate", url="about:blank")
    tools.call("Log.clear")
    tools.evaluate("1")
    tools.events.clear()
    try:
        yield tools
    finally:
        tools.close()


def open_page(page: DevTools, url: str) -> None:
    """Load ``url`` and wait until the page has built its controls."""
    page.call("Page.navigate", url=url)
    page.wait_for(
        "document.getElementById('render-marker')?.dataset.state === 'ready' "
        "|| document.getElementById('render-marker')?.dataset.state === 'done'",
        "the controls",
    )


def set_control(page: DevTools, name: str, value: Any) -> None:
    """Set a control's value and fire its change event, as a user's edit would."""
    page.evaluate(
        f"(() => {{ const e = document.getElementById('in-{name}'); e.value = {json.dumps(value)};"
        " e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); })()"
    )


def run_and_wait(page: DevTools, runs: int) -> None:
    """Click Run and wait until run number ``runs`` is drawn."""
    page.click("#run")
    page.wait_for(
        "document.getElementById('render-marker').dataset.state === 'done' && "
        f"document.getElementById('render-marker').dataset.runs === '{runs}'",
        f"run {runs} to be drawn",
    )


DRAWN = """(() => {
  const q = (s) => document.querySelectorAll(s);
  const path = (id, cls) => document.querySelector(`#${id} path.series.${cls}`);
  const length = (p) => p ? p.getAttribute('d').split('L').length : 0;
  const marker = document.getElementById('render-marker');
  return {
    backlog: length(path('chart-backlog', 'current')),
    trust: length(path('chart-trust', 'current')),
    closed: length(path('chart-closed', 'current')),
    previous: length(path('chart-backlog', 'previous')),
    bands: q('#chart-backlog path.band').length,
    nodes: q('#network circle.node').length,
    names: [...q('#network text.node-name')].map((t) => t.textContent),
    fills: [...q('#network circle.node')].map((c) => c.getAttribute('fill')),
    tiles: [...q('#grid-map rect.tile')].map((c) => c.getAttribute('fill')),
    bars: [...q('#trust-histogram rect.bar')].map((c) => c.getAttribute('height')),
    legend: [...q('#legend text')].map((t) => t.textContent),
    rows: [...q('#outcomes tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent)),
    errorShown: !document.getElementById('error').hidden,
    warningShown: !document.getElementById('seed-warning').hidden,
    day: marker.dataset.day,
    dayLabel: document.getElementById('day-label').textContent,
    staff: document.getElementById('staff-count').textContent,
  };
})()"""


def test_page_runs_and_draws_results(page: DevTools, server: ViewServer) -> None:
    """Run draws charts, network and table without JS errors; a second run sits beside it."""
    open_page(page, server.url)
    assert page.problems() == [], "errors while loading the page"
    set_control(page, "days", DAYS)
    run_and_wait(page, 1)
    drawn = page.evaluate(DRAWN)
    assert drawn["backlog"] == DAYS and drawn["trust"] == DAYS, f"one point per day: {drawn}"
    assert drawn["closed"] == DAYS, "the closings chart should have one point per day"
    assert drawn["previous"] == 0, "no previous run yet"
    assert drawn["bands"] == 0, "one seed draws no band"
    assert drawn["nodes"] == 17, f"the classroom network has 17 units, drew {drawn['nodes']}"
    assert {"district centre", "street 0", "community 0", "grid 5", "urban"} <= set(
        drawn["names"]
    ), f"the network's nodes should be labelled: {drawn['names']}"
    assert len(drawn["tiles"]) == 6, f"the classroom has 6 grids, drew {len(drawn['tiles'])}"
    assert len(drawn["bars"]) == 20, "the trust histogram should have its 20 bars"
    assert drawn["day"] == str(DAYS) and drawn["dayLabel"] == f"day {DAYS} of {DAYS}", (
        f"after a run the picture shows the last day: {drawn['dayLabel']}"
    )
    assert not drawn["errorShown"], "no error should be shown after a good run"
    rows = {cells[0]: cells for cells in drawn["rows"]}
    assert "Resolution time, mean" in rows, f"outcomes table lacks resolution time: {list(rows)}"
    assert rows["Resolution time, mean"][1] == "days", "resolution time is shown in days"
    assert any(label.startswith("Participation, age") for label in rows), (
        "participation by age missing"
    )
    for label, cells in rows.items():
        assert all(c not in ("NaN", "undefined", "null", "") for c in cells[2:3]), (
            f"the value of {label!r} is not shown properly: {cells}"
        )

    backlog_fills = drawn["fills"]
    page.click('input[name="colour"][value="trust"]')
    drawn = page.evaluate(DRAWN)
    assert drawn["fills"] != backlog_fills, "colouring by trust should change the node colours"
    assert "relative scale" in " ".join(drawn["legend"]), f"the legend should say so: {drawn}"
    low, high = (float(v) for v in drawn["legend"][:2])
    assert 0 <= low < high <= 1, f"the legend should show the lowest and highest trust: {drawn}"

    set_control(page, "routing", "integrated")
    set_control(page, "staff_multiplier", 1.5)
    set_control(page, "seeds", 2)
    run_and_wait(page, 2)
    drawn = page.evaluate(DRAWN)
    assert drawn["previous"] == DAYS, "the previous run should be drawn beside the new one"
    assert drawn["bands"] == 1, "two seeds draw a band (the previous single seed none)"
    assert drawn["warningShown"], "comparing with a single-seed run should show the warning"
    assert all(len(cells) == 5 for cells in drawn["rows"]), "table needs previous and change"
    runs = page.evaluate("document.getElementById('runs').textContent")
    assert "routing integrated" in runs and "routing hierarchical" in runs, runs
    assert "seeds 0–1" in runs, f"the run should name its seeds: {runs}"
    assert page.problems() == [], "script or console errors during the runs"


def test_head_count_follows_the_staff_slider(
    page: DevTools, server: ViewServer, classroom: Scenario
) -> None:
    """Beside the staff slider: the department staff it means for this scenario, one decimal."""
    open_page(page, server.url)
    per_100k = sum(d.staff_per_100k_residents for d in classroom.parameters.departments.values())
    for multiplier in (1, 2.5):
        set_control(page, "staff_multiplier", multiplier)
        text = page.evaluate("document.getElementById('staff-count').textContent")
        expected = per_100k * multiplier * classroom.residents / 100_000
        assert text.startswith(f"= {expected:,.1f} department staff"), (
            f"×{multiplier} should read {expected:.1f} staff: {text!r}"
        )
        assert f"{classroom.residents:,} residents" in text, text


def test_playback_steps_through_the_days(page: DevTools, server: ViewServer) -> None:
    """Play advances the day and changes the picture's colours; pause stops; step adds a day."""
    open_page(page, server.url)
    set_control(page, "days", DAYS)
    run_and_wait(page, 1)
    last = page.evaluate(DRAWN)
    page.click("#play")
    page.wait_for(
        "Number(document.getElementById('render-marker').dataset.day) >= 5 && "
        f"Number(document.getElementById('render-marker').dataset.day) < {DAYS}",
        "the playback to reach day 5",
    )
    page.click("#play")  # pause
    paused = page.evaluate(DRAWN)
    day = int(paused["day"])
    time.sleep(0.5)
    assert page.evaluate(DRAWN)["day"] == str(day), "pause should stop the days"
    assert paused["dayLabel"] == f"day {day} of {DAYS}", paused["dayLabel"]
    assert (paused["fills"], paused["tiles"], paused["bars"]) != (
        last["fills"],
        last["tiles"],
        last["bars"],
    ), "the picture on an early day should differ from the last day"
    page.click("#step")
    assert page.evaluate(DRAWN)["day"] == str(day + 1), "step should go one day further"
    page.click("#play")
    page.wait_for(
        f"document.getElementById('render-marker').dataset.day === '{DAYS}' && "
        "document.getElementById('play').textContent.includes('Play')",
        "the playback to end on the last day",
    )
    assert page.evaluate(DRAWN)["fills"] == last["fills"], "the last day looks as after the run"
    assert page.problems() == [], "script or console errors during the playback"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("routing=integrate", "routing = 'integrate' is not allowed; allowed: grid_first, "),
        ("days=5000", "days = '5000' is not allowed; allowed: a whole number from 1 to 730"),
        ("dayz=5", "'dayz' is not a setting of this view"),
        ("colour=green", "colour = 'green' is not allowed; allowed: backlog, trust"),
    ],
)
def test_bad_link_is_refused_with_the_allowed_values(
    page: DevTools, server: ViewServer, query: str, words: str
) -> None:
    """A shared link with an unknown name or value shows what is allowed and runs nothing."""
    page.call("Page.navigate", url=f"{server.url}?{query}&autorun=1")
    page.wait_for(
        "document.getElementById('render-marker')?.dataset.state === 'error'", "the link error"
    )
    message = page.evaluate("document.getElementById('error').textContent")
    assert words in message, f"the message should say {words!r}: {message!r}"
    time.sleep(0.3)
    assert page.evaluate("document.getElementById('render-marker').dataset.runs") == "0", (
        "a bad link must not run anything"
    )
    name = query.split("=")[0]
    if name in ("routing", "days"):
        marked = page.evaluate(
            "[...document.querySelectorAll('.control.invalid')].map(e => e.dataset.name)"
        )
        assert marked == [name], f"the {name} control should be marked, got {marked}"
    assert page.problems() == [], "script or console errors with a bad link"


def test_screenshot_after_playback(page: DevTools, server: ViewServer, tmp_path: Path) -> None:
    """At 1280×800 after playback nothing overflows; the screenshot goes to the docs."""
    page.call(
        "Emulation.setDeviceMetricsOverride",
        width=1280,
        height=800,
        deviceScaleFactor=1,
        mobile=False,
    )
    try:
        open_page(page, f"{server.url}?days=120&seeds=3")
        run_and_wait(page, 1)
        set_control(page, "routing", "integrated")
        run_and_wait(page, 2)
        page.click("#play")
        page.wait_for(
            "Number(document.getElementById('render-marker').dataset.day) >= 70",
            "the playback to reach day 70",
        )
        page.click("#play")  # pause
        page.evaluate("window.scrollTo(0, 0)")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, f"the page overflows 1280 px horizontally ({width} px)"
        shot = base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"])
    finally:
        page.call("Emulation.clearDeviceMetricsOverride")
    assert shot[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot should be a PNG"
    assert int.from_bytes(shot[16:20], "big") == 1280, "the screenshot should be 1280 px wide"
    target = SCREENSHOT if os.environ.get("MICROGOV_DOCS_SCREENSHOTS") == "1" else None
    (target or tmp_path / "view.png").parent.mkdir(parents=True, exist_ok=True)
    (target or tmp_path / "view.png").write_bytes(shot)
    assert page.problems() == [], "script or console errors during the screenshot"


def test_refused_setting_is_shown_in_the_page(page: DevTools, server: ViewServer) -> None:
    """A value the server refuses shows its message in the page and marks the control."""
    open_page(page, server.url)
    set_control(page, "days", 5000)
    page.click("#run")
    page.wait_for("document.getElementById('render-marker').dataset.state === 'error'", "the error")
    message = page.evaluate("document.getElementById('error').textContent")
    assert "days" in message and "730" in message, f"the message should name days: {message!r}"
    assert "hierarchical" not in message, "only the bad setting should be named"
    marked = page.evaluate(
        "[...document.querySelectorAll('.control.invalid')].map(e => e.dataset.name)"
    )
    assert marked == ["days"], f"the days control should be marked, got {marked}"
    # Chromium logs the refused request itself (HTTP 400); anything else is a defect.
    assert page.problems(allow=("status of 400",)) == [], "unexpected errors in the page"


def test_autorun_link_presets_and_runs(page: DevTools, server: ViewServer) -> None:
    """A shared link with ?autorun=1 and preset controls runs on load with those settings."""
    page.call("Page.navigate", url=f"{server.url}?autorun=1&days=10&consultation=online")
    page.wait_for(
        "document.getElementById('render-marker')?.dataset.state === 'done'", "the autorun"
    )
    settings = page.evaluate("document.getElementById('runs').textContent")
    assert "consultation online" in settings and "10 days" in settings, settings
    visible = page.evaluate(
        "!document.querySelector('.control[data-name=\"invitations_per_member\"]').hidden"
    )
    assert visible, "online consultation has invitations: the slider should be shown"
    set_control(page, "consultation", "none")
    hidden = page.evaluate(
        "document.querySelector('.control[data-name=\"invitations_per_member\"]').hidden"
    )
    assert hidden, "'none' invites nobody: the invitations slider should be hidden"
    assert page.problems() == [], "script or console errors during the autorun"
