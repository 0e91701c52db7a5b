"""The classroom view under attack and under load: runs in worker processes with time and
memory limits, policy kinds from a request never imported, the Host check, 50 clients at
once, and SIGTERM with a run going. Linux-only where it reads /proc."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.view_worker import RunRefused, RunWorkers
from app.webview import ViewServer
from experiments.scenario_files import Scenario

ROOT = Path(__file__).resolve().parents[1]
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")


def post(url: str, body: Any, timeout: float = 120) -> tuple[int, dict[str, Any]]:
    """POST JSON settings to ``url``/api/run; return status and JSON answer."""
    request = urllib.request.Request(
        url.rstrip("/") + "/api/run",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def workers() -> Iterator[RunWorkers]:
    """Run workers with a 2 s time limit and 200 MB of memory per run, one run at a time."""
    pool = RunWorkers(
        max_concurrent=1,
        max_waiting=2,
        time_limit_seconds=2.0,
        memory_limit_mb=200,
        wait_limit_seconds=30,
    )
    yield pool
    pool.close()


def test_worker_returns_the_result(workers: RunWorkers) -> None:
    """A run that keeps to the limits returns its value from the worker process."""
    assert workers.run(pow, 2, 10) == 1024, "the worker should return the function's value"
    assert workers.run(os.getpid) != os.getpid(), "the run should happen in another process"
    assert workers.live == 0, "no worker should outlive its run"


def test_worker_past_the_time_limit_is_killed(workers: RunWorkers) -> None:
    """A run that would go on for a minute is killed at the time limit; the slot is freed."""
    started = time.monotonic()
    with pytest.raises(RunRefused, match="stopped after 2 s") as refused:
        workers.run(time.sleep, 60)
    assert refused.value.status == 422, "a run too long for the view is the settings' fault"
    assert time.monotonic() - started < 15, "the run should be stopped at about 2 s"
    assert workers.live == 0, "the killed worker should be gone"
    assert workers.run(pow, 3, 2) == 9, "the slot should be free for the next run"


def test_worker_past_the_memory_limit_reports_it(workers: RunWorkers) -> None:
    """A run that grows past its memory limit is stopped with a message naming the limit."""
    with pytest.raises(RunRefused, match="memory limit \\(200 MB") as refused:
        workers.run(bytearray, 1024 * 1024 * 1024)
    assert refused.value.status == 422, "a run too large for the view is the settings' fault"
    assert workers.run(pow, 2, 3) == 8, "the next run should go on"


def test_worker_that_dies_is_reported(workers: RunWorkers) -> None:
    """A worker killed by a signal gives a clear error (500), not a hang."""
    with pytest.raises(RunRefused, match="SIGABRT") as refused:
        workers.run(os.abort)
    assert refused.value.status == 500, "a dead worker is the server's fault"


def test_worker_failure_is_reported(workers: RunWorkers) -> None:
    """An exception in the run is reported with its type and message."""
    with pytest.raises(RunRefused, match="ZeroDivisionError") as refused:
        workers.run(divmod, 1, 0)
    assert refused.value.status == 500, "a failing run is the server's fault"


def test_closed_workers_refuse_runs(workers: RunWorkers) -> None:
    """After close() (the server stopping), a run is refused with 503."""
    workers.close()
    with pytest.raises(RunRefused, match="stopping") as refused:
        workers.run(pow, 2, 2)
    assert refused.value.status == 503, "a stopping server is unavailable"


def test_close_stops_a_run_going(workers: RunWorkers) -> None:
    """close() while a run is going kills it; its request gets 503, not a hang or a crash."""
    outcome: list[BaseException] = []

    def request() -> None:
        try:
            workers.run(time.sleep, 30)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=request)
    thread.start()
    deadline = time.monotonic() + 30
    while workers.live == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers.live == 1, "the run should have started"
    workers.close()
    thread.join(timeout=15)
    assert not thread.is_alive(), "the request should end when its run is killed"
    assert len(outcome) == 1 and isinstance(outcome[0], RunRefused), outcome
    assert outcome[0].status == 503 and "stopping" in str(outcome[0]), outcome[0]
    assert workers.live == 0, "the killed worker should be reaped"


@pytest.fixture(scope="module")
def limited(classroom: Scenario) -> Iterator[ViewServer]:
    """A view server whose runs may take 2 s, one at a time."""
    with ViewServer(classroom, port=0, max_concurrent_runs=1, time_limit_seconds=2) as running:
        yield running


def test_endless_run_is_stopped_and_the_server_goes_on(classroom: Scenario) -> None:
    """A run longer than the time limit gets a JSON error; the next request is answered.
    The limit for the long run is 0.01 s, far below what the longest run the view allows
    (730 days, 5 seeds; ≈ 2 s on a quiet core) can take however fast the model becomes;
    it is then raised so that the next, one-day run can finish."""
    with ViewServer(classroom, port=0, max_concurrent_runs=1, time_limit_seconds=0.01) as server:
        status, data = post(server.url, {"days": 730, "seeds": 5})
        assert status == 422, f"a run past the time limit should get 422, got {status}: {data}"
        assert "stopped after 0.01 s" in data["error"], f"the message should name the limit: {data}"
        assert server.workers.live == 0, "the worker of the stopped run should be gone"
        server.workers.time_limit_seconds = 30
        status, data = post(server.url, {"days": 1})
        assert status == 200, f"the server should answer the next run: {status} {data}"


def test_request_never_imports_a_module(limited: ViewServer) -> None:
    """{"routing": "this:X"} is refused naming the allowed kinds, and imports nothing."""
    sys.modules.pop("this", None)
    status, data = post(limited.url, {"routing": "this:X", "days": 1})
    assert status == 400, f"a module:Class kind should be refused, got {status}"
    assert "hierarchical" in data["error"] and "integrated" in data["error"], data["error"]
    assert "this" not in sys.modules, "the request imported the module it named"


def raw_get(server: ViewServer, host: str | None) -> int:
    """GET /api/config with the given Host header (None: no Host header); the status."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    try:
        connection.putrequest("GET", "/api/config", skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_host_header_must_name_the_server(limited: ViewServer) -> None:
    """Requests for other host names (DNS rebinding) get 403; the server's own names work."""
    port = limited.server_port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert raw_get(limited, host) == 200, f"Host {host} names the server"
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", None):
        assert raw_get(limited, host) == 403, f"Host {host!r} should be refused"
    status, data = post(limited.url.replace("127.0.0.1", "localhost"), {"days": 1})
    assert status == 200, f"localhost is one of the server's names: {data}"


def test_allowed_host_is_accepted(classroom: Scenario) -> None:
    """--allow-host adds a name (e.g. the machine's address when bound to 0.0.0.0)."""
    with ViewServer(classroom, port=0, allowed_hosts=["class-pc.local"]) as server:
        assert raw_get(server, f"class-pc.local:{server.server_port}") == 200, "allowed name"
        assert raw_get(server, f"other-pc.local:{server.server_port}") == 403, "other name"


def test_fifty_clients_at_once_all_get_answers(classroom: Scenario) -> None:
    """50 clients at once (page, controls and runs) each get an answer: 200, or 503 if full."""
    with ViewServer(classroom, port=0, max_waiting_runs=8) as server:
        start = threading.Barrier(50)
        answers: list[int | str] = []
        lock = threading.Lock()

        def client(index: int) -> None:
            start.wait(timeout=60)
            try:
                if index % 2:
                    status, _ = post(server.url, {"days": 1, "seed": index})
                else:
                    path = "/api/config" if index % 4 else "/"
                    with OPENER.open(server.url.rstrip("/") + path, timeout=120) as response:
                        status = response.status
                        response.read()
                result: int | str = status
            except Exception as exc:  # a reset connection is what this test looks for
                result = f"{type(exc).__name__}: {exc}"
            with lock:
                answers.append(result)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    failures = [a for a in answers if a not in (200, 503)]
    assert len(answers) == 50 and not failures, f"every client needs an answer: {failures}"
    assert answers.count(200) >= 25, "the page and controls should always be served"


def session_processes(session: int, command: str = "") -> list[int]:
    """Processes of a session (the server started in its own session and its workers),
    whose command line contains ``command``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session and fields[0] != "Z":
            with contextlib.suppress(OSError):
                if command.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


@LINUX
def test_sigterm_stops_the_server_and_its_runs() -> None:
    """SIGTERM during a long run stops `microgov view` within seconds, leaving no process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "view", "--no-browser", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" at ", 1)[1].strip() if " at " in line else ""
        assert url, f"no address printed: {line!r}"
        answers: list[Any] = []
        runner = threading.Thread(
            target=lambda: answers.append(_post_or_error(url, {"days": 730, "seeds": 5})),
            daemon=True,
        )
        runner.start()
        deadline = time.monotonic() + 60
        # The forkserver and the run's worker (forked from it) share its command line.
        forked = "multiprocessing.forkserver"
        while len(session_processes(process.pid, forked)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(session_processes(process.pid, forked)) >= 2, "the run did not start"
        stopped = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
        assert time.monotonic() - stopped < 10, "SIGTERM should stop the server promptly"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 0, f"SIGTERM should exit 0, got {process.returncode}: {err}"
    assert "Traceback" not in err, f"no traceback on SIGTERM: {err}"
    deadline = time.monotonic() + 10
    while session_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_processes(process.pid) == [], "a worker outlived the server"


def _post_or_error(url: str, body: Any) -> Any:
    try:
        return post(url, body)
    except Exception as exc:  # the server went away mid-request, as intended
        return exc
