"""``microgov view``: the classroom web view in a browser.

    microgov view                      # scenarios/classroom.toml on http://127.0.0.1:8765/
    microgov view baseline --port 0    # another scenario, any free port
    microgov view --no-browser         # print the address only (e.g. over ssh)

The server (:mod:`app.webview`) listens on 127.0.0.1 unless ``--host`` says otherwise:
it has no authentication, so other machines should not reach it by accident. It answers
only requests addressed to its own names (``--allow-host`` adds one). Each run has a
time and a memory limit (``--time-limit-seconds``, ``--memory-limit-mb``). Ctrl+C (or
SIGTERM) stops it at once, killing runs still going.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from experiments.scenario_files import load_scenario, resolve_scenario_path

log = logging.getLogger(__name__)

DEFAULT_SCENARIO = "classroom"


def register(subparsers: Any) -> None:
    """Add the ``view`` subcommand."""
    from app.webview import (  # light: the page and the server only
        DEFAULT_HOST,
        DEFAULT_PORT,
        MEMORY_LIMIT_MB,
        TIME_LIMIT_SECONDS,
    )

    view = subparsers.add_parser(
        "view",
        help="open the classroom web view (sliders, charts, network) in a browser",
        description="Serve an interactive page that runs a scenario with the settings chosen "
        "on sliders and plays its days back: the governance network and the grids coloured "
        "by open cases or trust, the residents' trust distribution, backlog and trust over "
        "time (with bands for several seeds) and the key outcomes, next to the previous "
        "run. Each run is stopped at the time and memory limits. Stop with Ctrl+C.",
    )
    view.add_argument(
        "scenario",
        nargs="?",
        default=DEFAULT_SCENARIO,
        metavar="SCENARIO",
        help="scenario file, or a name in scenarios/ (default: scenarios/classroom.toml)",
    )
    view.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 = any free port)",
    )
    view.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only)",
    )
    view.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another name or address students use to reach the server (with --host "
        "0.0.0.0); requests for any other host name are refused (DNS rebinding)",
    )
    view.add_argument(
        "--time-limit-seconds",
        type=_limit("--time-limit-seconds", 1, 3600),
        default=TIME_LIMIT_SECONDS,
        metavar="SECONDS",
        help=f"wall-clock time one run may take (default {TIME_LIMIT_SECONDS:g}; 1 to 3600)",
    )
    view.add_argument(
        "--memory-limit-mb",
        type=_limit("--memory-limit-mb", 64, 65536),
        default=MEMORY_LIMIT_MB,
        metavar="MB",
        help=f"memory one run may add to the model's start (default {MEMORY_LIMIT_MB:g}; "
        "64 to 65536)",
    )
    view.add_argument(
        "--no-browser", action="store_true", help="do not open a browser; print the address only"
    )
    view.set_defaults(func=view_command)


def view_command(args: argparse.Namespace) -> int:
    """``microgov view``: serve the page until Ctrl+C or SIGTERM."""
    from app.webview import make_server

    scenario = load_scenario(resolve_scenario_path(args.scenario))
    server = make_server(
        scenario,
        host=args.host,
        port=args.port,
        time_limit_seconds=args.time_limit_seconds,
        memory_limit_mb=args.memory_limit_mb,
        allowed_hosts=args.allow_host,
    )
    if not _is_loopback(args.host):
        log.warning(
            "listening on %s: other machines can reach the view, and it has no password",
            args.host,
        )
    print(
        f"microgov view of {scenario.name} ({scenario.residents:,} residents) at {server.url}\n"
        "Press Ctrl+C to stop.",
        flush=True,
    )
    if not args.no_browser:
        _open_browser(server.url)
    _serve_until_stopped(server)
    print("stopped", flush=True)
    return 0


def _serve_until_stopped(server: Any) -> None:
    """Serve in a background thread until Ctrl+C or SIGTERM, then stop the server (and kill
    runs still going).

    The signals only set a flag that the main thread polls: a ``KeyboardInterrupt`` raised
    in the main thread while it served could land inside the standard library's thread
    start (each request starts a thread), leave its lock half released and come out as a
    ``RuntimeError`` that ``socketserver`` reports and serves on — the server then ignored
    that Ctrl+C (seen once in CI). Outside the main thread (no signals there) it serves
    until the server is shut down."""
    if threading.current_thread() is not threading.main_thread():
        try:
            server.serve_forever()
        finally:
            server.close()
        return
    received: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        while not received:
            time.sleep(0.1)
    finally:
        server.stop()  # shuts the serving thread down, kills runs still going
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port; allowed: 0 to 65535")
    return value


def _limit(flag: str, low: float, high: float) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{flag} {text}: allowed: {low:g} to {high:g}")
        return value

    return parse


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _open_browser(url: str) -> None:
    """Open ``url`` in the user's browser, in the background; never fail the command."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        # Without a display, webbrowser would start a text browser in this terminal.
        print("no display found: open the address above in a browser", flush=True)
        return

    def open_it() -> None:
        import webbrowser

        try:
            if not webbrowser.open(url, new=2):
                log.warning("could not open a browser; open %s yourself", url)
        except Exception as exc:  # a broken browser setup must not stop the server
            log.warning("could not open a browser (%s); open %s yourself", exc, url)

    threading.Thread(target=open_it, name="open-browser", daemon=True).start()
