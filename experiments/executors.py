"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

An executor maps a picklable function over tasks and yields ``(task, result)``
pairs as they finish, in any order; a task whose function raised — or whose
worker died — yields the exception instead of a result, so one bad run never
stops the others. Results do not depend on the executor: each run gets its
scenario and seed and nothing else (docs/design.md "Randomness"), so serial, pool and
cluster give the same numbers bit for bit.

The process pool uses an explicit ``forkserver`` (Linux/macOS) or ``spawn``
context passed to ``ProcessPoolExecutor``; the process-wide start method is never
changed (docs/design.md "Notes on the libraries": Mesa's ``batch_run`` does change it). Workers import the
run function by name, so it works from a notebook as long as the function lives in
an importable module.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

from experiments.errors import InputError

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def available_cpus() -> int:
    """CPUs this process may use (affinity-aware on Linux)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def default_start_method() -> str:
    """``forkserver`` where the platform has it (fast, fork-safe), else ``spawn``."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class Executor(Protocol):
    """Runs a function over tasks; yields (task, result or exception) as each finishes."""

    name: str
    workers: int

    def map_unordered(
        self, fn: Callable[[T], R], tasks: Iterable[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Submit every task and yield each with its result, in completion order."""
        ...

    def close(self) -> None:
        """Release workers and connections."""
        ...

    def describe(self) -> dict[str, Any]:
        """What ran the experiment, for the manifest."""
        ...


class SerialExecutor:
    """Runs tasks one after another in this process (``--workers 1``; easiest to debug)."""

    name = "serial"
    workers = 1

    def map_unordered(
        self, fn: Callable[[T], R], tasks: Iterable[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Run each task in turn."""
        for task in tasks:
            try:
                yield task, fn(task)
            except Exception as exc:  # the runner records it as a failed run
                yield task, exc

    def close(self) -> None:
        """Nothing to release."""

    def describe(self) -> dict[str, Any]:
        """Executor facts for the manifest."""
        return {"executor": self.name, "workers": 1}

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProcessExecutor:
    """A local process pool (the default: one worker per available CPU).

    Args:
        workers: number of worker processes (default: every available CPU).
        start_method: ``forkserver`` or ``spawn`` (default: :func:`default_start_method`);
            passed as the pool's own context, never set process-wide.
    """

    name = "process"

    def __init__(self, workers: int | None = None, start_method: str | None = None) -> None:
        self.workers = workers or available_cpus()
        if self.workers < 1:
            raise InputError(f"--workers must be at least 1, got {self.workers}")
        self.start_method = start_method or default_start_method()
        self._pool: cf.ProcessPoolExecutor | None = None

    @property
    def pool(self) -> cf.ProcessPoolExecutor:
        """The pool, started on first use."""
        if self._pool is None:
            context = multiprocessing.get_context(self.start_method)
            self._pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    def map_unordered(
        self, fn: Callable[[T], R], tasks: Iterable[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Submit every task to the pool and yield results as they complete."""
        futures = {self.pool.submit(fn, task): task for task in tasks}
        try:
            for future in cf.as_completed(futures):
                task = futures.pop(future)
                exc = future.exception()
                yield task, (exc if exc is not None else future.result())
        finally:
            for future in futures:  # generator closed early (e.g. KeyboardInterrupt): drop the rest
                future.cancel()

    def close(self) -> None:
        """Shut the pool down (pending tasks are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def describe(self) -> dict[str, Any]:
        """Executor facts for the manifest."""
        return {"executor": self.name, "workers": self.workers, "start_method": self.start_method}

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """A Dask distributed cluster: ``tcp://host:port`` of a running scheduler, or ``local``.

    ``local`` starts a ``LocalCluster`` on this machine (one single-threaded worker
    process per CPU unless ``workers`` says otherwise), handy for trying the cluster
    path; extra keyword arguments go to ``LocalCluster`` (tests use
    ``processes=False``). Workers of a remote cluster need microgov installed.
    """

    name = "dask"

    def __init__(
        self, address: str = "local", workers: int | None = None, **cluster_kwargs: Any
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
            raise InputError(f"--cluster needs dask[distributed] installed ({exc})") from None
        self.address = address
        self._cluster: Any = None
        if address == "local":
            options: dict[str, Any] = {
                "n_workers": workers or available_cpus(),
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
                "silence_logs": logging.WARNING,
            }
            options.update(cluster_kwargs)
            self._cluster = LocalCluster(**options)
            self.client = Client(self._cluster)
        else:
            if not address.startswith(
                ("tcp://", "tls://", "ucx://", "inproc://", "ws://", "wss://")
            ):
                raise InputError(
                    f"--cluster {address!r}: expected a scheduler address such as tcp://host:8786, or 'local'"
                )
            try:
                self.client = Client(address, timeout="15s")
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"--cluster {address}: cannot reach the Dask scheduler ({exc})"
                ) from None
        self.workers = max(1, sum(self.client.nthreads().values()))

    def map_unordered(
        self, fn: Callable[[T], R], tasks: Iterable[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Submit every task to the cluster and yield results as they complete."""
        from distributed import as_completed

        futures = {}
        for task in tasks:
            futures[self.client.submit(fn, task, pure=False)] = task
        try:
            for future in as_completed(list(futures)):
                task = futures.pop(future)
                if future.status == "error":
                    yield task, future.exception()
                elif future.status == "cancelled":
                    yield task, RuntimeError("the Dask task was cancelled (worker lost?)")
                else:
                    yield task, future.result()
                future.release()
        finally:
            if futures:
                self.client.cancel(list(futures))

    def close(self) -> None:
        """Close the client, and the local cluster if this executor started it."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def describe(self) -> dict[str, Any]:
        """Executor facts for the manifest."""
        return {"executor": self.name, "cluster": self.address, "workers": self.workers}

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_executor(
    workers: int | None = None, cluster: str | None = None
) -> SerialExecutor | ProcessExecutor | DaskExecutor:
    """The executor the command line asks for.

    ``cluster`` given → Dask (``local`` or a scheduler address); else ``workers == 1``
    → serial; else a local process pool with ``workers`` processes (default: all CPUs).
    """
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    if cluster:
        return DaskExecutor(cluster, workers=workers)
    if workers == 1:
        return SerialExecutor()
    return ProcessExecutor(workers)
