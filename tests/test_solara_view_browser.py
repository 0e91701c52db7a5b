"""The SolaraViz page served by `solara run` works offline in headless Chromium (slow).

Kept out of CI (``slow``: starting solara and a browser takes about a minute); run with
``pytest -m slow tests/test_solara_view_browser.py``. It found that solara without
``solara-assets`` loads its front end from a CDN (blank page offline) and that Mesa
3.5's plot grid needs Vue 2 widgets (pyproject.toml, the ``[viz]`` extra).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("solara", reason="solara is not installed (pip install -e '.[viz]')")
websocket = pytest.importorskip("websocket", reason="websocket-client (dev extra) drives Chromium")

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
WAIT_S = 120.0
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs headless Chromium at /usr/bin/chromium"
    ),
]


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Any, what: str) -> Any:
    """Poll ``check()`` until it returns something truthy, or fail after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


@contextlib.contextmanager
def process(arguments: list[str], **options: Any) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process in its own group; stop the group afterwards."""
    started = subprocess.Popen(
        arguments,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        **options,
    )
    try:
        yield started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started.pid, signal.SIGTERM)
        try:
            started.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(started.pid, signal.SIGKILL)
            started.wait(timeout=20)


def reachable(url: str) -> bool:
    """Whether ``url`` answers 200."""
    try:
        with OPENER.open(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class Page:
    """A minimal DevTools client for one page target; keeps the events it reads."""

    def __init__(self, port: int) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT"
        )
        with OPENER.open(request, timeout=10) as response:
            target = json.load(response)
        self.socket = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=WAIT_S, suppress_origin=True
        )
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result."""
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, f"{method}: {message['error']}"
                return dict(message.get("result", {}))
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def exceptions(self) -> list[str]:
        """Uncaught JavaScript exceptions so far."""
        return [
            str(e["params"]["exceptionDetails"].get("exception", {}).get("description", ""))[:300]
            for e in self.events
            if e.get("method") == "Runtime.exceptionThrown"
        ]


CLICK_STEP = """(() => {
  const step = [...document.querySelectorAll('button')]
    .find(b => b.innerText.trim().toUpperCase() === 'STEP');
  if (!step) return false;
  step.click();
  return true;
})()"""


def test_page_steps_and_plots_offline(tmp_path: Path) -> None:
    """The served page shows its sliders, steps the model and draws the two plots."""
    port = free_port()
    server = [sys.executable, "-m", "solara", "run", "app/solara_view.py", "--host", "127.0.0.1"]
    server += ["--port", str(port), "--no-open"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with process(server, cwd=ROOT, env=env), tempfile.TemporaryDirectory() as profile:
        url = f"http://127.0.0.1:{port}/"
        wait_until(lambda: reachable(url), "solara to serve the page")
        browser = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu"]
        browser += ["--no-first-run", "--window-size=1280,900", f"--user-data-dir={profile}"]
        browser += ["--remote-debugging-port=0", "about:blank"]
        with process(browser):
            port_file = Path(profile) / "DevToolsActivePort"
            wait_until(lambda: port_file.exists() and port_file.read_text().strip(), "Chromium")
            page = Page(int(port_file.read_text().splitlines()[0]))
            page.call("Runtime.enable")
            page.call("Page.enable")
            page.call("Page.navigate", url=url)
            text = "document.body ? document.body.innerText : ''"
            wait_until(lambda: "routing policy" in (page.evaluate(text) or ""), "the sliders")
            for _ in range(3):
                assert page.evaluate(CLICK_STEP), "the Step button is on the page"
                time.sleep(1.0)
            wait_until(lambda: "Time: 3.0" in (page.evaluate(text) or ""), "three steps")
            plots = "document.querySelectorAll('img, canvas, svg.main-svg').length"
            wait_until(lambda: (page.evaluate(plots) or 0) >= 2, "the backlog and trust plots")
            assert not page.exceptions(), f"JavaScript errors: {page.exceptions()}"
            page.socket.close()
