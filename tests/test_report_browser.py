"""The HTML report renders in headless Chromium with no console error and every image loaded.

Chromium is driven over the DevTools protocol (websocket-client), with every network
feature that could download something switched off; the page itself must load nothing
but its own file and embedded ``data:`` images.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket
from analysis_fixtures import write_compare, write_sensitivity, write_sweep

from analysis import statistics as st
from analysis.formatting import format_effect
from analysis.report import write_report
from analysis.results import load_results

CHROMIUM = Path("/usr/bin/chromium")
STARTUP_SECONDS = 30.0
LOAD_SECONDS = 30.0
LONG_FACTOR = "departments.urban_management.staff_per_100k_residents"
WIDTH, HEIGHT = 1280, 800  # a laptop browser window: the answer must fit in it
SCENARIOS = ("baseline", "integrated", "whistle", "council", "immediate", "grid_first")
MAIN = ("resolution_time_p90_days", "on_time_share", "satisfaction_share", "cases_closed")
TITLES = {
    "integrated": "Integrated dispatch · 大综合一体化",
    "whistle": "Blow the whistle · 吹哨报到",
    "grid_first": "Small matters stay in the grid · 小事不出网格",
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is absent (Debian package 'chromium'; CI installs it)",
    ),
]


@contextlib.contextmanager
def _chromium(profile: Path) -> Iterator[int]:
    """Start headless Chromium with a throw-away profile; yield its DevTools port."""
    arguments = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--no-first-run",
        "--no-default-browser-check",
        "--mute-audio",
        f"--user-data-dir={profile}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    process = subprocess.Popen(
        arguments,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped as a whole below
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None:
                pytest.fail(f"chromium exited with status {process.returncode} before starting")
            if time.monotonic() > deadline:
                pytest.fail(f"chromium wrote no DevTools port within {STARTUP_SECONDS:.0f} s")
            time.sleep(0.1)
        yield int(port_file.read_text().splitlines()[0])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


class _Page:
    """A minimal DevTools-protocol client for one page target."""

    def __init__(self, port: int) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            target = json.load(response)
        self.socket = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=LOAD_SECONDS, suppress_origin=True
        )
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method} failed: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, event: str) -> None:
        """Read messages until ``event`` arrives (or the socket times out)."""
        deadline = time.monotonic() + LOAD_SECONDS
        while not any(e.get("method") == event for e in self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {event} within {LOAD_SECONDS:.0f} s")
            self.events.append(json.loads(self.socket.recv()))

    def close(self) -> None:
        self.socket.close()


def _console_errors(events: list[dict[str, Any]]) -> list[str]:
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(str(params.get("exceptionDetails", {}).get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(json.dumps(params.get("args")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(str(params["entry"].get("text")))
    return errors


def _load(page: _Page, path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Navigate to ``path``; return the page state and the protocol events of that load."""
    page.call(
        "Emulation.setDeviceMetricsOverride",
        width=WIDTH,
        height=HEIGHT,
        deviceScaleFactor=1,
        mobile=False,
    )
    page.events.clear()
    page.call("Page.navigate", url=path.resolve().as_uri())
    page.wait_for("Page.loadEventFired")
    expression = (
        "JSON.stringify({title: document.title, "
        "images: Array.from(document.images).map(i => "
        "({complete: i.complete, width: i.naturalWidth})), "
        "tables: document.querySelectorAll('table').length, "
        "overflow: document.documentElement.scrollWidth - window.innerWidth, "
        "answer: (() => { const box = document.getElementById('answer'); if (!box) return null; "
        "const r = box.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, "
        "rows: Array.from(box.querySelectorAll('tr[data-scenario]')).map(tr => ({"
        "scenario: tr.dataset.scenario, "
        "label: tr.querySelector('td.scenario').firstChild.textContent, "
        "effects: Array.from(tr.querySelectorAll('td.effect')).map(td => "
        "td.firstChild.textContent)}))}; })()})"
    )
    result = page.call("Runtime.evaluate", expression=expression, returnByValue=True)
    return json.loads(result["result"]["value"]), list(page.events)


def test_html_report_renders_in_chromium(tmp_path: Path) -> None:
    """The report loads with no console error, all images decoded, nothing fetched remotely."""
    fake = write_compare(tmp_path / "results", replications=3, days=8)
    report = write_report(fake.path)
    # A negative control: the same checks must catch a broken image and a script error.
    broken_page = tmp_path / "broken.html"
    broken_page.write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"><title>broken</title></head>'
        '<body><img src="missing.png"><script>console.error("boom")</script></body></html>',
        encoding="utf-8",
    )
    with _chromium(tmp_path / "profile") as port:
        page = _Page(port)
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                page.call(f"{domain}.enable")
            control, control_events = _load(page, broken_page)
            state, events = _load(page, report.html)
        finally:
            page.close()
    assert control["images"] == [{"complete": True, "width": 0}], f"control images {control}"
    assert len(_console_errors(control_events)) >= 1, "the control's console error was missed"

    assert state["title"] == "microgov report: compare_test", f"title {state['title']!r}"
    assert state["overflow"] <= 0, f"the page is {state['overflow']} px wider than its window"
    assert len(state["images"]) == len(report.figures), f"{len(state['images'])} images"
    broken = [i for i, image in enumerate(state["images"]) if not image["width"]]
    assert not broken, f"images not loaded (naturalWidth 0): {broken}"
    assert state["tables"] >= 4, f"only {state['tables']} tables rendered"
    errors = _console_errors(events)
    assert not errors, f"console errors: {errors}"
    fetched = [
        e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    remote = [url for url in fetched if not url.startswith(("file:", "data:"))]
    assert not remote, f"the report fetched remote resources: {remote}"


def test_answer_box_fits_the_first_screen(tmp_path: Path) -> None:
    """At 1280×800 the answer box is wholly on the first screen, names every scenario by its
    label and shows each main effect with its unit and interval; nothing overflows sideways."""
    keys = (
        'question = "Which reform does best?"\nmain_outcomes = ['
        + ", ".join(f'"{m}"' for m in MAIN)
        + "]\n"
    )
    fake = write_compare(
        tmp_path / "results",
        scenarios=SCENARIOS,
        replications=4,
        days=8,
        experiment_keys=keys,
        titles=TITLES,
        units=True,
    )
    report = write_report(fake.path)
    wide = load_results(fake.path).outcomes(wide=True)
    effects = st.paired_differences(wide, "baseline", names=list(MAIN)).set_index(
        ["scenario", "outcome"]
    )
    with _chromium(tmp_path / "profile") as port:
        page = _Page(port)
        try:
            for domain in ("Page", "Runtime", "Log"):
                page.call(f"{domain}.enable")
            state, events = _load(page, report.html)
        finally:
            page.close()
    assert state["title"] == "Which reform does best?", f"title {state['title']!r}"
    box = state["answer"]
    assert box is not None, "no element with id 'answer'"
    assert 0 <= box["top"] and box["bottom"] <= HEIGHT, f"answer box spans {box} (window {HEIGHT})"
    assert state["overflow"] <= 0, f"the page is {state['overflow']} px wider than its window"
    labels = {row["scenario"]: row["label"] for row in box["rows"]}
    for scenario in SCENARIOS:
        assert labels.get(scenario) == TITLES.get(scenario, scenario), f"{scenario}: {labels}"
    units = {MAIN[0]: "days", MAIN[1]: "pp", MAIN[2]: "pp", MAIN[3]: "cases"}
    for row in box["rows"]:
        if row["scenario"] == "baseline":
            continue
        assert len(row["effects"]) == len(MAIN), f"{row['scenario']}: {row['effects']}"
        for outcome, shown in zip(MAIN, row["effects"], strict=True):
            e = effects.loc[(row["scenario"], outcome)]
            expected = format_effect(
                outcome, e["difference"], e["ci_low"], e["ci_high"], e["reference_mean"]
            )
            assert shown == expected, f"{row['scenario']} × {outcome}: {shown!r} ≠ {expected!r}"
            centre, interval = shown.split(" [")
            assert centre.split()[-1] in (units[outcome], "h", "min"), f"unit of {shown!r}"
            assert interval.endswith("]") and "," in interval, f"interval of {shown!r}"
    broken = [i for i, image in enumerate(state["images"]) if not image["width"]]
    assert state["images"] and not broken, f"images not loaded: {broken}"
    assert not _console_errors(events), "console errors"


def test_sweep_and_sensitivity_reports_fit_1280(tmp_path: Path) -> None:
    """Sweep and sensitivity reports do not scroll sideways at 1280 px; every image loads."""
    reports = [
        write_report(write_sweep(tmp_path / "sweep", factor=LONG_FACTOR).path),
        write_report(write_sensitivity(tmp_path / "sobol").path),
    ]
    with _chromium(tmp_path / "profile") as port:
        page = _Page(port)
        try:
            for domain in ("Page", "Runtime", "Log"):
                page.call(f"{domain}.enable")
            states = [_load(page, report.html)[0] for report in reports]
        finally:
            page.close()
    for report, state in zip(reports, states, strict=True):
        assert state["overflow"] <= 0, f"{report.html}: {state['overflow']} px too wide"
        broken = [i for i, image in enumerate(state["images"]) if not image["width"]]
        assert state["images"] and not broken, f"{report.html}: images not loaded {broken}"
