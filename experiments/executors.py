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
an importable module. The fork server is started early and preloaded with the run path
(:func:`prestart_workers`), so workers start with Mesa, pandas and the model imported;
a freed worker gets its next task before the caller stores the last result (issue 11).

Hardening (issue 13): pool workers exit when the runner dies (:func:`guard_worker`);
a pool worker that dies (segfault, OOM kill) does not fail every pending run — the
pool is replaced and the runs that were in flight are retried, each alone, a bounded
number of times (:class:`ProcessExecutor`); a Dask run reports lost workers and stops
with a clear error after ``worker_timeout_s`` seconds without any worker
(:class:`DaskExecutor`). Every loss is passed to the ``on_worker_lost`` callback as a
:class:`WorkerLoss` (the runner logs it and stores it in table ``worker_losses``).
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import ctypes.util
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import select
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from experiments.errors import InputError, ResourceError
from model.engine_backend import EngineBuildError, EngineSettingError, compiled_engine

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# A run whose pool worker dies is retried at most this many times (each time alone in a
# fresh pool) before it is stored as failed. Assumption: a crash that repeats twice
# alone is the run's own doing (e.g. it needs more memory than the machine has).
WORKER_RETRIES = 2
# A Dask experiment stops with an error after this long without any worker (seconds).
# Assumption: five minutes covers a worker restart or a batch-queue delay, yet does not
# leave an unattended run waiting for ever.
DEFAULT_WORKER_TIMEOUT_S = 300.0
# Largest --workers: four processes per CPU (over-subscription beyond that only costs
# memory: each worker holds a model, ≈230 MB at district scale), at most 64 unless the
# machine has more CPUs than that.
WORKERS_PER_CPU = 4
MAX_WORKERS_CEILING = 64
_DASK_POLL_S = 1.0  # how often the Dask executor asks the scheduler for its workers
# ... and at most how often it asks again as results arrive (a sweep of many short runs
# makes one call per this interval, not one per batch of results)
_DASK_LOOK_S = 0.1

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# What a pool worker imports to run a task: the fork server imports them once, so every
# worker it forks starts with them loaded (issue 11; docs/design.md "Warm pool workers").
WORKER_PRELOAD = ("experiments.runner", "experiments.runs")


def available_cpus() -> int:
    """CPUs this process may use (affinity-aware on Linux)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def max_workers() -> int:
    """The largest number of worker processes allowed: ``max(cpus, min(4 × cpus, 64))``."""
    cpus = available_cpus()
    return max(cpus, min(WORKERS_PER_CPU * cpus, MAX_WORKERS_CEILING))


def check_workers(workers: int | None) -> None:
    """Raise InputError unless ``workers`` is None or within 1 … :func:`max_workers`."""
    if workers is None:
        return
    limit = max_workers()
    if not 1 <= workers <= limit:
        raise InputError(
            f"--workers must be between 1 and {limit} (4 × the {available_cpus()} CPU(s) of "
            f"this machine, at most {MAX_WORKERS_CEILING}), got {workers}"
        )


@dataclass(frozen=True)
class WorkerLoss:
    """A worker process that died or left the cluster while an experiment ran.

    Attributes:
        at: when it was noticed (ISO 8601 UTC).
        executor: ``process`` or ``dask``.
        worker: which worker (``pid 1234 (killed by SIGKILL)``, a Dask address), as known.
        tasks: the tasks that were in flight on it (a pool cannot tell which of its
            workers ran which task: every task in flight when the pool broke is listed; a
            Dask worker's are those the scheduler had given it at the executor's last look,
            the one running and any queued there, less those whose results had arrived).
        action: what happens to those tasks: ``retried``, ``failed`` (retries used up) or
            ``rescheduled by Dask``.
        detail: one line for people.
    """

    at: str
    executor: str
    worker: str
    tasks: tuple[Any, ...]
    action: str
    detail: str


LossCallback = Callable[[WorkerLoss], None]


class WorkerLostError(RuntimeError):
    """A task whose worker process died on every attempt (stored as the run's error)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------
# Workers exit with their runner (issue 13)
# ---------------------------------------------------------------------------


_TASKS_TAKE_CTRL_C = True  # set by :func:`guard_worker`: whether the runner takes Ctrl-C


def guard_worker(runner_pid: int, takes_ctrl_c: bool = True) -> None:
    """Pool worker initializer: make this worker exit as soon as the runner process dies.

    Two guards, because a ``forkserver`` worker is the child of the fork server, not of
    the runner, and the fork server itself lives as long as any worker holds its pipe:

    - Linux only: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, so the kernel kills the worker
      when its parent (the fork server, or the runner under ``spawn``) dies;
    - a daemon thread that waits for the runner to exit (``pidfd_open`` on Linux ≥ 5.3,
      else a check once a second) and then ends the worker.

    Once the workers are gone the fork server sees its last client leave and exits,
    and the resource tracker sees its pipe close and exits: nothing is left with PPID 1.

    The worker ignores SIGINT except inside a task (:func:`interruptible_task`), and there
    too when the runner ignores it (``takes_ctrl_c`` false: e.g. a background job of a
    script), so that a signal the runner does not take never fails a run.
    """
    global _TASKS_TAKE_CTRL_C
    _TASKS_TAKE_CTRL_C = takes_ctrl_c
    _set_parent_death_signal()
    if not _process_exists(runner_pid) or os.getppid() == 1:
        os._exit(1)  # the runner died before this worker finished starting
    # Ctrl-C interrupts a task only (:func:`interruptible_task`), never the pool's queues
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_exit_when_gone, args=(runner_pid,), name="microgov-runner-watch", daemon=True
    ).start()


def interruptible_task[T, R](fn: Callable[[T], R], task: T) -> R:
    """``fn(task)`` in a pool worker, with Ctrl-C (SIGINT) able to interrupt it.

    A terminal's Ctrl-C signals every process of the command, the pool's workers too.
    Outside a task a worker ignores it (:func:`guard_worker`): a ``KeyboardInterrupt``
    while a worker reads its next task or writes a result can leave half a message in the
    pool's pipe, and the runner then waited for the rest for ever when it shut the pool
    down (1 in ≈ 30 interrupted pool ``compare`` runs hung so; issue 11, sixteenth round).
    Inside a task it interrupts the run at once, as before, and comes back to the runner
    as the task's exception — unless the runner itself ignores SIGINT (:func:`guard_worker`).
    """
    if not _TASKS_TAKE_CTRL_C:
        return fn(task)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return fn(task)
    finally:
        signal.signal(signal.SIGINT, previous)


def _set_parent_death_signal() -> None:
    """Linux only: ask the kernel for SIGKILL when the parent dies (no-op elsewhere).

    Strictly, the signal comes when the *thread* that created this process ends: the fork
    server's main thread, or under ``spawn`` the runner's thread that started the pool
    (its main thread, which submits the tasks)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError) as exc:  # no libc/prctl: the watch thread still guards
        logger.debug("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _exit_when_gone(pid: int) -> None:
    """Block until process ``pid`` exits, then end this process at once."""
    try:
        fd = os.pidfd_open(pid)  # Linux ≥ 5.3: woken exactly when the process exits
    except (AttributeError, OSError):
        while _process_exists(pid):
            time.sleep(1.0)
    else:
        select.select([fd], [], [])
        os.close(fd)
    os._exit(1)


def default_start_method() -> str:
    """``forkserver`` where the platform has it (fast, fork-safe), else ``spawn``."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def prestart_workers(start_method: str | None = None) -> None:
    """Start the fork server now, preloaded with :data:`WORKER_PRELOAD` (issue 11)
    through :mod:`experiments.worker_preload`.

    It imports the run path (Mesa, pandas, the model, the runner) once, in its own
    process, while this process goes on with its own start-up (reading the experiment,
    preparing the results folder); every pool worker is then forked from it with the
    modules loaded and starts its first run at once, instead of importing them itself.
    A no-op under ``spawn``, and when this process already has a fork server (the preload
    applies only to a fork server not yet started; the pool then works as before), and
    when an engine switch is wrong or the required compiled engine is missing.
    """
    if (start_method or default_start_method()) != "forkserver":
        return
    try:
        compiled_engine()
    except (EngineSettingError, EngineBuildError):
        # the model cannot import here either: the caller reports why, in one line, and a
        # fork server would only repeat it as a traceback of its own
        return
    # ``__main__`` first, as multiprocessing's own default preload has it; then Mesa, the
    # run path and a frozen collector (experiments/worker_preload.py)
    multiprocessing.get_context("forkserver").set_forkserver_preload(
        ["__main__", "experiments.worker_preload"]
    )
    _start_ignoring_ctrl_c(multiprocessing.forkserver.ensure_running)


def _start_ignoring_ctrl_c(start: Callable[[], object]) -> None:
    """Call ``start`` (which starts a process) with SIGINT ignored, so that the process
    starts ignoring it: an ignored signal stays ignored across ``exec``, and Python then
    leaves it so. The fork server ignores SIGINT once its preload is done; before, a
    Ctrl-C in the command's first second interrupted its imports and it printed a
    traceback of its own under the runner's one-line "interrupted". A Ctrl-C that comes
    while ``start`` runs (milliseconds: the server is started, not waited for) is lost.
    Outside the main thread (where signals cannot be set) ``start`` is just called."""
    if threading.current_thread() is not threading.main_thread():
        start()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        start()
    finally:
        signal.signal(signal.SIGINT, previous)


class Executor(Protocol):
    """Runs a function over tasks; yields (task, result or exception) as each finishes."""

    name: str
    workers: int

    def map_unordered(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        on_worker_lost: LossCallback | None = None,
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Submit every task and yield each with its result, in completion order;
        ``on_worker_lost`` hears of every worker that died or left."""
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
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        on_worker_lost: LossCallback | None = None,
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Run each task in turn (there is no worker to lose)."""
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
        workers: number of worker processes (default: every available CPU; at most
            :func:`max_workers`).
        start_method: ``forkserver`` or ``spawn`` (default: :func:`default_start_method`);
            passed as the pool's own context, never set process-wide.
        retries: how many times a run whose worker died is tried again.

    At most ``workers`` tasks are submitted at a time, so the tasks in flight are known
    when a worker dies. The pool is then replaced and those tasks are retried one at a
    time (a pool cannot say which worker ran which task, so running each alone tells
    the culprit from the bystanders); a task lost more than ``retries`` times yields a
    :class:`WorkerLostError`. Workers run :func:`guard_worker` first.
    """

    name = "process"

    def __init__(
        self,
        workers: int | None = None,
        start_method: str | None = None,
        retries: int = WORKER_RETRIES,
    ) -> None:
        check_workers(workers)
        self.workers = workers or available_cpus()
        self.start_method = start_method or default_start_method()
        self.retries = retries
        prestart_workers(self.start_method)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._processes: dict[int, Any] = {}  # pid → process of the current pool, as seen
        self._in_flight: dict[cf.Future[Any], Any] = {}  # the submitted tasks, for close()
        self.unclaimed: list[tuple[Any, Any]] = []  # finished, not handed out (map_unordered)
        self._tasks_take_ctrl_c = True  # as the workers were told when the pool started

    @property
    def pool(self) -> cf.ProcessPoolExecutor:
        """The pool, started on first use."""
        if self._pool is None:
            context = multiprocessing.get_context(self.start_method)
            # the workers take Ctrl-C in a task as the runner takes it (main thread's view)
            self._tasks_take_ctrl_c = signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=guard_worker,
                initargs=(os.getpid(), self._tasks_take_ctrl_c),
            )
        return self._pool

    def map_unordered(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        on_worker_lost: LossCallback | None = None,
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Submit the tasks (``workers`` at a time) and yield results as they complete."""
        waiting: deque[tuple[int, T]] = deque(enumerate(tasks))
        suspects: deque[tuple[int, T]] = deque()  # in flight at a worker death: run alone
        losses: Counter[int] = Counter()
        running: dict[cf.Future[R], tuple[int, T]] = {}
        self._in_flight = running
        # results are handed out only after the freed workers got their next task, so no
        # worker waits while the caller stores a result (issue 11)
        finished: list[tuple[T, R | BaseException]] = []
        idle_breaks = 0
        try:
            while waiting or suspects or running or finished:
                source = suspects if suspects else waiting
                limit = 1 if suspects else self.workers
                broken = False
                while source and len(running) < limit:
                    item = source.popleft()
                    try:
                        running[self.pool.submit(interruptible_task, fn, item[1])] = item
                        # Private but stable since 3.2; only used to name a dead worker.
                        self._processes.update(getattr(self._pool, "_processes", None) or {})
                    except BrokenProcessPool:  # a worker died while idle
                        source.appendleft(item)
                        broken = True
                        break
                while finished:  # one at a time: an interrupted caller leaves the rest here
                    yield finished.pop(0)
                lost: list[tuple[int, T]] = []
                if running:
                    done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                    for future in done:
                        index, task = running.pop(future)
                        exc = future.exception()
                        if isinstance(exc, BrokenProcessPool):
                            lost.append((index, task))
                        else:
                            finished.append((task, exc if exc is not None else future.result()))
                if not lost and not broken:
                    continue
                lost += running.values()
                running.clear()
                idle_breaks = 0 if lost else idle_breaks + 1
                if idle_breaks > self.retries:
                    raise ResourceError(
                        "the process pool keeps losing workers before they run anything "
                        "(out of memory? killed from outside?); the runs stored so far are kept"
                    )
                yield from self._after_loss(lost, losses, suspects, on_worker_lost)
        finally:
            # closed early (e.g. KeyboardInterrupt): the runs that finished and were not
            # handed out yet are kept for the caller to store (``unclaimed``)
            self.unclaimed = finished + [
                (item[1], future.result())
                for future, item in running.items()
                if future.done() and not future.cancelled() and future.exception() is None
            ]
            for future in running:
                future.cancel()
            self._interrupt_running()

    def _after_loss(
        self,
        lost: list[tuple[int, T]],
        losses: Counter[int],
        suspects: deque[tuple[int, T]],
        on_worker_lost: LossCallback | None,
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Replace the broken pool; requeue (or give up on) the tasks that were in flight."""
        worker = self._replace_pool()
        retried: list[T] = []
        given_up: list[T] = []
        for index, task in sorted(lost, key=lambda item: item[0]):
            losses[index] += 1
            if losses[index] > self.retries:
                given_up.append(task)
            else:
                suspects.append((index, task))
                retried.append(task)
        detail = (
            f"pool worker {worker} died with {len(lost)} run(s) in flight; the pool was "
            f"replaced; {len(retried)} run(s) retried one at a time, {len(given_up)} given up "
            f"after {self.retries + 1} losses"
        )
        if on_worker_lost is None:  # else the caller logs it, with its own names for the tasks
            logger.warning("%s", detail)
        else:
            stamp = _now()
            if retried or not given_up:
                on_worker_lost(
                    WorkerLoss(stamp, self.name, worker, tuple(retried), "retried", detail)
                )
            if given_up:
                on_worker_lost(
                    WorkerLoss(stamp, self.name, worker, tuple(given_up), "failed", detail)
                )
        for task in given_up:
            yield (
                task,
                WorkerLostError(
                    f"the worker process running this run died {self.retries + 1} times "
                    f"(last: {worker}); a segfault, or more memory than the machine has? "
                    "See the system log (dmesg) for the OOM killer"
                ),
            )

    def _replace_pool(self) -> str:
        """Shut the broken pool down, start a fresh one lazily; describe the dead worker."""
        pool, self._pool = self._pool, None
        if pool is None:
            return "(unknown)"
        # Best effort: a worker that ended other than by the pool's own SIGTERM is the one
        # that died (the processes are seen through the pool's private ``_processes``).
        processes = list(self._processes.values())
        self._processes = {}
        pool.shutdown(wait=True, cancel_futures=True)
        dead = []
        for process in processes:
            code = process.exitcode
            if code is not None and code not in (0, -signal.SIGTERM):
                dead.append(f"pid {process.pid} ({_exit_text(code)})")
        return ", ".join(dead) if dead else "(pid unknown)"

    def _interrupt_running(self) -> None:
        """Interrupt the tasks still running when the caller stops taking results (it was
        interrupted, or it stopped on an error), so that shutting the pool down does not
        wait for them: SIGINT to the workers when they take it in a task (an idle worker
        ignores it), else SIGTERM. A terminal's Ctrl-C reaches the workers by itself; a
        SIGTERM (``kill``, a scheduler's time limit) or an error reaches only the runner,
        and the shutdown waited for every running task to finish, then dropped its result."""
        if self._pool is None or all(future.done() for future in self._in_flight):
            return
        sig = signal.SIGINT if self._tasks_take_ctrl_c else signal.SIGTERM
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            try:
                os.kill(process.pid, sig)
            except (ProcessLookupError, AttributeError, TypeError):
                pass  # already gone, or not yet started

    def close(self) -> None:
        """Shut the pool down (pending tasks are cancelled, running ones interrupted)."""
        if self._pool is not None:
            self._interrupt_running()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._processes = {}

    def describe(self) -> dict[str, Any]:
        """Executor facts for the manifest."""
        return {"executor": self.name, "workers": self.workers, "start_method": self.start_method}

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _finished_dask_results(futures: dict[Any, Any]) -> list[tuple[Any, Any]]:
    """(task, result) of the Dask futures that finished without an error (best effort: a
    cluster that cannot be reached now gives none)."""
    kept = []
    for future, task in futures.items():
        if future.status != "finished":
            continue
        try:
            kept.append((task, future.result(timeout=5)))
        except Exception:
            continue
    return kept


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class DaskExecutor:
    """A Dask distributed cluster: ``tcp://host:port`` of a running scheduler, or ``local``.

    ``local`` starts a ``LocalCluster`` on this machine (one single-threaded worker
    process per CPU unless ``workers`` says otherwise), handy for trying the cluster
    path; extra keyword arguments go to ``LocalCluster`` (tests use
    ``processes=False``). Workers of a remote cluster need microgov installed.

    Dask itself reschedules the tasks of a lost worker (and fails a task that killed
    three workers with ``KilledWorker``); this executor reports every lost worker and,
    when the cluster has had no worker at all for ``worker_timeout_s`` seconds, stops
    with a :class:`~experiments.errors.ResourceError` instead of waiting for ever.
    """

    name = "dask"

    def __init__(
        self,
        address: str = "local",
        workers: int | None = None,
        worker_timeout_s: float = DEFAULT_WORKER_TIMEOUT_S,
        **cluster_kwargs: Any,
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
            raise InputError(f"--cluster needs dask[distributed] installed ({exc})") from None
        if not worker_timeout_s > 0:
            raise InputError(
                f"--worker-timeout must be a positive number of seconds, got {worker_timeout_s}"
            )
        check_workers(workers)
        self.address = address
        self.worker_timeout_s = float(worker_timeout_s)
        self._cluster: Any = None
        self.unclaimed: list[tuple[Any, Any]] = []  # finished, not handed out (map_unordered)
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
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        on_worker_lost: LossCallback | None = None,
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Submit every task to the cluster and yield results as they complete.

        Raises:
            ResourceError: the cluster had no worker for ``worker_timeout_s`` seconds.
        """
        from distributed import as_completed

        futures: dict[Any, T] = {}
        for task in tasks:
            futures[self.client.submit(fn, task, pure=False)] = task
        by_key = {future.key: future for future in futures}
        completed = as_completed(list(futures))
        processing = self._processing()
        alone_since = None if processing else time.monotonic()
        next_poll = time.monotonic() + _DASK_POLL_S
        next_look = time.monotonic() + _DASK_LOOK_S
        lost_names: list[str] = []

        def observe(before: dict[str, list[Any]]) -> dict[str, list[Any]]:
            """The workers now and the runs each is running; a worker gone since the look
            ``before`` is reported with the runs it was given then whose results have not
            arrived (a result that arrived is stored, not rerun)."""
            now_processing = self._processing()
            for worker in sorted(set(before) - set(now_processing)):
                given = [by_key[k] for k in before[worker] if k in by_key]  # ours
                in_flight = tuple(
                    futures[f] for f in given if f in futures and f.status != "finished"
                )
                lost_names.append(worker)
                detail = (
                    f"Dask worker {worker} was lost with {len(in_flight)} run(s) in flight; "
                    f"{len(now_processing)} worker(s) left"
                )
                if on_worker_lost is None:  # else the caller logs it
                    logger.warning("%s", detail)
                else:
                    on_worker_lost(
                        WorkerLoss(
                            _now(), self.name, worker, in_flight, "rescheduled by Dask", detail
                        )
                    )
            return now_processing

        try:
            while futures:
                batch = completed.next_batch(block=False)
                if batch and time.monotonic() >= next_look:
                    # looked at before the caller takes the results (and may take long, or
                    # stop a worker): the runs a worker is running are then the ones after
                    # these, not a second-old picture of them (issue 13: a lost worker's run
                    # in flight is named)
                    next_look = time.monotonic() + _DASK_LOOK_S
                    processing = observe(processing)
                for future in batch:
                    task = futures.pop(future)
                    if future.status == "error":
                        yield task, future.exception()
                    elif future.status == "cancelled":
                        yield task, RuntimeError("the Dask task was cancelled (worker lost?)")
                    else:
                        yield task, future.result()
                    future.release()
                if not futures:
                    break
                if time.monotonic() < next_poll:
                    if not batch:
                        time.sleep(0.05)
                    continue
                next_poll = time.monotonic() + _DASK_POLL_S
                processing = observe(processing)
                if processing:
                    alone_since = None
                    continue
                alone_since = alone_since if alone_since is not None else time.monotonic()
                waited = time.monotonic() - alone_since
                if waited >= self.worker_timeout_s:
                    lost = f" (lost: {', '.join(lost_names)})" if lost_names else ""
                    raise ResourceError(
                        f"Dask cluster {self.address}: no worker for {waited:.0f} s{lost}; "
                        f"{len(futures)} run(s) not done. The runs stored so far are kept: "
                        "start workers and continue with --resume (the limit is "
                        f"--worker-timeout, now {self.worker_timeout_s:g} s)"
                    )
                logger.warning(
                    "Dask cluster %s has no worker (for %.0f s; giving up after %g s)",
                    self.address,
                    waited,
                    self.worker_timeout_s,
                )
        finally:
            # closed early: the runs that finished and were not handed out yet, for the caller
            self.unclaimed = _finished_dask_results(futures)
            if futures:
                self.client.cancel(list(futures))

    def _processing(self) -> dict[str, list[Any]]:
        """Worker address → keys of the tasks it is running, for every worker now (none
        while the scheduler cannot be reached, so that the worker timeout applies)."""
        try:
            processing = self.client.processing()
        except (OSError, TimeoutError) as exc:
            logger.warning("Dask scheduler %s cannot be reached: %s", self.address, exc)
            return {}
        return {str(k): list(v) for k, v in processing.items()}

    def close(self) -> None:
        """Close the client, and the local cluster if this executor started it."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def describe(self) -> dict[str, Any]:
        """Executor facts for the manifest."""
        return {
            "executor": self.name,
            "cluster": self.address,
            "workers": self.workers,
            "worker_timeout_s": self.worker_timeout_s,
        }

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_executor(
    workers: int | None = None,
    cluster: str | None = None,
    worker_timeout_s: float = DEFAULT_WORKER_TIMEOUT_S,
) -> SerialExecutor | ProcessExecutor | DaskExecutor:
    """The executor the command line asks for.

    ``cluster`` given → Dask (``local`` or a scheduler address; ``worker_timeout_s``
    applies); else ``workers == 1`` → serial; else a local process pool with
    ``workers`` processes (default: all CPUs). ``workers`` must be within
    1 … :func:`max_workers`.
    """
    check_workers(workers)
    if cluster:
        return DaskExecutor(cluster, workers=workers, worker_timeout_s=worker_timeout_s)
    if workers == 1:
        return SerialExecutor()
    return ProcessExecutor(workers)
