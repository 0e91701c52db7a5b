"""Runs of the classroom view in worker processes, each with a time and a memory limit.

A run answers one HTTP request. It runs in its own process, forked from a
``forkserver`` that has imported the model once (so a run starts in milliseconds, and
no thread of the server is ever forked). The worker limits itself before it runs:

- its address space to what it uses at the start plus ``memory_limit_mb``
  (``RLIMIT_AS``): a run that grows beyond it gets ``MemoryError`` and reports it;
- its CPU time to the time limit plus a margin (``RLIMIT_CPU``), a backstop in case the
  server is gone;
- on Linux it dies with its parent (``PR_SET_PDEATHSIG``), so a killed server leaves no
  orphans; it ignores Ctrl+C, which the terminal sends to the whole process group (the
  server stops it).

The server waits at most ``time_limit_seconds`` for the answer, then kills the worker;
its run slot is freed in every case. At most ``max_concurrent`` runs go at once and at
most ``max_waiting`` wait for a slot; more are refused (:class:`RunRefused`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger(__name__)

# Modules the forkserver imports once, so each worker starts with the model loaded.
PRELOAD = ["app.view_runs", "model.governance", "experiments.runs"]
# What a stopped worker may take to exit after SIGKILL before we stop waiting for it.
REAP_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Kept free in the worker so that it can still report a MemoryError.
_RESERVE_BYTES = 1 << 20


class RunRefused(Exception):
    """A run that was not started, or was stopped: ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RunWorkers:
    """Starts one worker process per run, within limits; thread-safe.

    Args:
        max_concurrent: runs at once (the others wait for a slot).
        max_waiting: requests that may wait for a slot; more are refused with 503.
        time_limit_seconds: wall-clock time a run may take, from its start.
        memory_limit_mb: address space a run may add to what its worker starts with.
        wait_limit_seconds: how long a request may wait for a slot before 503.
    """

    def __init__(
        self,
        max_concurrent: int,
        max_waiting: int,
        time_limit_seconds: float,
        memory_limit_mb: float,
        wait_limit_seconds: float,
    ) -> None:
        self.max_concurrent = max_concurrent
        self.max_waiting = max_waiting
        self.time_limit_seconds = time_limit_seconds
        self.memory_limit_mb = memory_limit_mb
        self.wait_limit_seconds = wait_limit_seconds
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self._waiting = 0
        self._live: set[BaseProcess] = set()
        self._closed = False
        self._context = multiprocessing.get_context("forkserver")
        # Start the forkserver now, so that it imports the model while the page loads
        # (the preload takes effect only if this process has no forkserver yet).
        self._context.set_forkserver_preload(PRELOAD)
        forkserver.ensure_running()

    @property
    def live(self) -> int:
        """Worker processes running now."""
        with self._lock:
            return len(self._live)

    def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in a worker process; its return value (it must pickle).

        Raises:
            RunRefused: the server is busy or stopping (503), the run took too long or
                too much memory (422), or the run failed or its worker died (500).
        """
        with self._lock:
            if self._closed:
                raise RunRefused(503, "the server is stopping")
            if self._waiting >= self.max_waiting:
                raise RunRefused(
                    503,
                    f"the server is busy ({self.max_concurrent} runs going and "
                    f"{self._waiting} waiting): try again in a moment",
                )
            self._waiting += 1
        try:
            got_slot = self._slots.acquire(timeout=self.wait_limit_seconds)
        finally:
            with self._lock:
                self._waiting -= 1
        if not got_slot:
            raise RunRefused(
                503,
                f"no run slot became free within {self.wait_limit_seconds:g} s: "
                "try again in a moment",
            )
        try:
            return self._run_in_worker(function, args)
        finally:
            self._slots.release()

    def _run_in_worker(self, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_work,
            args=(sender, self.time_limit_seconds, self.memory_limit_mb, function, args),
            name="microgov-view-run",
            daemon=True,
        )
        with self._lock:
            if self._closed:
                raise RunRefused(503, "the server is stopping")
            process.start()
            self._live.add(process)
        sender.close()  # the worker holds the only writing end: EOF when it dies
        started, pid = time.monotonic(), process.pid
        try:
            if not receiver.poll(self.time_limit_seconds):
                raise RunRefused(
                    422,
                    f"the run was stopped after {self.time_limit_seconds:g} s, the view's time "
                    "limit: choose fewer days or seeds, or use `microgov run` for long runs",
                )
            try:
                outcome, value = receiver.recv()
            except EOFError:
                process.join(REAP_SECONDS)
                if self._closed:
                    raise RunRefused(503, "the server is stopping") from None
                raise RunRefused(500, _death_message(process.exitcode, self)) from None
        finally:
            receiver.close()
            _stop(process)
            with self._lock:
                self._live.discard(process)
        log.debug("run took %.2f s in worker %s", time.monotonic() - started, pid)
        if outcome == "ok":
            return value
        if outcome == "memory":
            raise RunRefused(
                422,
                f"the run needed more than the view's memory limit ({self.memory_limit_mb:g} MB "
                "beyond the model's start): choose a smaller scenario, fewer days or seeds",
            )
        raise RunRefused(500, f"the run failed: {value}")

    def close(self) -> None:
        """Refuse new runs and kill the running ones (their requests get 503 or 500)."""
        with self._lock:
            self._closed = True
            live = list(self._live)
        for process in live:
            # Kill only: the request thread that started it reaps and closes it (closing
            # here too would race with that thread).
            with contextlib.suppress(ValueError, ProcessLookupError, OSError):
                process.kill()


def _stop(process: BaseProcess) -> None:
    if process.is_alive():
        with contextlib.suppress(ProcessLookupError, OSError):
            process.kill()
    process.join(REAP_SECONDS)
    if process.exitcode is None:
        log.warning("worker %s did not exit after SIGKILL", process.pid)
    else:
        with contextlib.suppress(ValueError):
            process.close()


def _death_message(exitcode: int | None, workers: RunWorkers) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            cause = signal.Signals(-exitcode).name
        except ValueError:
            cause = f"signal {-exitcode}"
    else:
        cause = f"exit code {exitcode}"
    return (
        f"the run stopped before it finished ({cause}); it may have needed more than the "
        f"view's limits ({workers.time_limit_seconds:g} s, {workers.memory_limit_mb:g} MB)"
    )


def _address_space_bytes() -> int | None:
    """This process's virtual memory size (Linux /proc), or None elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def limit_this_process(time_limit_seconds: float, memory_limit_mb: float) -> None:
    """Apply the worker's limits to the calling process (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:  # the forkserver died before the line above: no orphans
            os._exit(1)
    used = _address_space_bytes()
    if used is not None:
        limit = used + int(memory_limit_mb * 1024 * 1024)
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    seconds = math.ceil(time_limit_seconds) + 5
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard == resource.RLIM_INFINITY or seconds < hard:
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, hard))


def _work(
    sender: Connection,
    time_limit_seconds: float,
    memory_limit_mb: float,
    function: Callable[..., Any],
    args: tuple[Any, ...],
) -> None:
    """The worker: limit itself, run, send ``(outcome, value)`` back."""
    limit_this_process(time_limit_seconds, memory_limit_mb)
    reserve: bytearray | None = bytearray(_RESERVE_BYTES)
    answer: tuple[str, Any]
    try:
        answer = ("ok", function(*args))
    except MemoryError:
        reserve = None
        answer = ("memory", None)
    except Exception as exc:  # a model defect: the server answers 500 and goes on
        log.exception("the run failed")
        answer = ("failed", f"{type(exc).__name__}: {exc}")
    del reserve
    try:
        sender.send(answer)
    except MemoryError:
        sender.send(("memory", None))
    finally:
        sender.close()
