"""Screenshots of a report (and of the classroom view) for the docs, taken in headless Chromium.

Run by hand after ``make demo`` (or any ``microgov report``)::

    .venv/bin/python docs/screenshots.py results/compare_reforms-latest
    .venv/bin/python docs/screenshots.py results/compare_reforms-latest --view
    .venv/bin/python docs/screenshots.py results/staffing_sweep --name report_sweep

It writes into ``docs/images/``:

- ``report_first_screen.png`` (``--name`` sets the prefix): the report as a 1280×800 browser window first shows it
  (what a reader sees before scrolling: the answer box must be there);
- ``report_page.png``: the whole page at 1280 px wide, scaled down to at most
  ``--max-height`` pixels (to judge its length and figures at a glance);
- with ``--view``: ``view.png``, the classroom view of ``microgov view`` (started here on
  a free local port and stopped afterwards).

Chromium is Debian's ``chromium``; it is driven over the DevTools protocol with every
network feature switched off, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
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

import websocket

WIDTH, HEIGHT = 1280, 800
IMAGES = Path(__file__).resolve().parent / "images"
TIMEOUT_SECONDS = 60.0
VIEW_SETTLE_SECONDS = 12.0  # the view runs one simulated year of the classroom scenario


def chromium_path() -> str:
    """The Chromium executable (Debian's ``chromium``)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("error: no chromium on PATH (Debian: apt-get install chromium)")


@contextlib.contextmanager
def chromium() -> Iterator[int]:
    """Start headless Chromium with a throw-away profile; yield its DevTools port."""
    with tempfile.TemporaryDirectory() as profile:
        process = subprocess.Popen(
            [
                chromium_path(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + TIMEOUT_SECONDS
            while not (port_file.exists() and port_file.read_text().strip()):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("error: chromium did not start")
                time.sleep(0.1)
            yield int(port_file.read_text().splitlines()[0])
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)


class Page:
    """A minimal DevTools-protocol client for one page."""

    def __init__(self, port: int) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            target = json.load(response)
        self.socket = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=TIMEOUT_SECONDS, suppress_origin=True
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
                if "error" in message:
                    raise SystemExit(f"error: {method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def open(self, url: str, settle_seconds: float = 0.5) -> None:
        """Navigate to ``url`` at 1280×800 and wait for the load event."""
        self.call("Page.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise SystemExit(f"error: {url} did not load")
            self.events.append(json.loads(self.socket.recv()))
        time.sleep(settle_seconds)

    def screenshot(self, path: Path, full_page: bool = False, max_height: int = 4000) -> Path:
        """Write a PNG of the first screen, or of the whole page scaled to ``max_height``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.call(
                "Runtime.evaluate",
                expression="JSON.stringify([document.documentElement.scrollWidth, "
                "document.documentElement.scrollHeight])",
                returnByValue=True,
            )
            width, height = json.loads(size["result"]["value"])
            scale = min(1.0, max_height / max(height, 1))
            params.update(
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": width, "height": height, "scale": scale},
            )
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


def free_port() -> int:
    """A free local TCP port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def classroom_view() -> Iterator[str]:
    """Start ``microgov view`` on a free port; yield its URL; stop it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "view", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("error: `microgov view` did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """Take the screenshots; print the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a results folder with report/report.html")
    parser.add_argument("--view", action="store_true", help="also screenshot `microgov view`")
    parser.add_argument("--out", type=Path, default=IMAGES, help="folder for the PNG files")
    parser.add_argument("--max-height", type=int, default=4000, help="full-page height cap")
    parser.add_argument(
        "--name", default="report", help="file name prefix (default: report → report_*.png)"
    )
    args = parser.parse_args(argv)
    report = args.results / "report" / "report.html"
    if not report.is_file():
        print(f"error: {report} not found; run `microgov report {args.results}` first")
        return 2
    written = []
    with chromium() as port:
        page = Page(port)
        page.open(report.resolve().as_uri())
        written.append(page.screenshot(args.out / f"{args.name}_first_screen.png"))
        written.append(
            page.screenshot(
                args.out / f"{args.name}_page.png", full_page=True, max_height=args.max_height
            )
        )
        if args.view:
            with classroom_view() as url:
                page.open(url + "?autorun=1", settle_seconds=VIEW_SETTLE_SECONDS)
                written.append(page.screenshot(args.out / "view.png"))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
