"""A Dask experiment whose only worker dies reports it and stops in bounded time (issue 13)."""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import hardening_runner_standins as hs
import pytest
import standins

from experiments.errors import ResourceError
from experiments.runner import run_experiment
from experiments.store import ResultStore

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.mark.timeout(180)
def test_dask_run_whose_only_worker_dies_times_out_with_a_clear_error(tmp_path, caplog):
    """Kill the one worker of a real LocalCluster scheduler: lost worker reported, error after
    --worker-timeout, finished runs kept, the loss stored."""
    from distributed import Client, LocalCluster

    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=3))
    out = tmp_path / "out"
    # The scheduler of a LocalCluster, and one worker without a nanny in its own process:
    # a nanny (which LocalCluster runs inside this process) would restart a killed worker.
    cluster = LocalCluster(
        n_workers=0, processes=True, dashboard_address=None, silence_logs=logging.CRITICAL
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_worker",
            cluster.scheduler_address,
            "--no-nanny",
            "--nthreads",
            "1",
            "--no-dashboard",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed: list[int] = []
    try:
        with Client(cluster) as client:
            client.wait_for_workers(1, timeout=120)

        def kill_after_first_run(event) -> None:
            if not killed:
                os.kill(worker.pid, signal.SIGKILL)
                killed.append(worker.pid)

        run_fn = functools.partial(hs.slow_run, seconds=0.5)
        started = time.monotonic()
        with (
            caplog.at_level(logging.WARNING, logger="experiments"),
            pytest.raises(ResourceError) as caught,
        ):
            run_experiment(
                path,
                out,
                cluster=cluster.scheduler_address,
                worker_timeout_s=3,
                run_fn=run_fn,
                progress=kill_after_first_run,
            )
        waited = time.monotonic() - started
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait(timeout=30)
        cluster.close(timeout=20)
    message = str(caught.value)
    assert killed, "the worker was killed after the first stored run"
    assert "no worker for" in message and "--worker-timeout" in message, message
    assert "lost: tcp://" in message, f"the lost worker is named: {message}"
    assert "--resume" in message, "says how to go on"
    assert waited < 60, f"gave up in bounded time ({waited:.0f} s)"
    assert any("was lost" in r.getMessage() for r in caplog.records), "the loss is logged"
    with ResultStore.open(out) as store:
        ok = store.count_runs()
        losses = store.worker_losses()
        stored = set(store.run_statuses())
    assert ok >= 1, "the run stored before the loss is kept"
    assert set(losses["executor"]) == {"dask"} and not losses.empty, losses
    named = set(losses["run_key"].dropna())
    assert named, "the run in flight on the lost worker is named"
    # the run it was running when killed, not one it had finished (the executor looks at the
    # workers' runs as results arrive, before the caller stores them)
    assert not named & stored, (named, stored)
    manifest = json.loads((out / "manifest.json").read_text())
    session = manifest["sessions"][-1]
    assert session["status"] == "stopped (ResourceError)", session
    assert session["worker_timeout_s"] == 3, "the limit is in the manifest"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("when", ["while storing", "after storing"])
def test_ctrl_c_on_a_dask_run_keeps_every_run_that_finished(tmp_path, monkeypatch, when):
    """Ctrl-C on a runner of a real Dask cluster: every run that finished on a worker is
    stored — the one being stored and those the cluster holds finished but not yet handed
    out (the executor's ``unclaimed``) — none twice, and the session says it stopped."""
    from distributed import LocalCluster

    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=2))
    out, finished = tmp_path / "out", tmp_path / "finished"
    finished.mkdir()
    original = ResultStore.record
    calls: list[str] = []

    def record_then_stop(self, record):
        calls.append(record.run_key)
        if len(calls) == 1:
            deadline = time.monotonic() + 60  # the other runs finish on the cluster meanwhile
            while len(list(finished.iterdir())) < 8 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(2.0)  # and their results reach the client (milliseconds when idle)
            if when == "while storing":
                signal.raise_signal(signal.SIGINT)  # held: delivered once the record is whole
        original(self, record)

    def stop_after_the_first(event) -> None:  # called after a run is stored, nothing held
        if when == "after storing" and event.done == 1:
            signal.raise_signal(signal.SIGINT)  # between two records

    monkeypatch.setattr(ResultStore, "record", record_then_stop)
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )
    try:
        with pytest.raises(KeyboardInterrupt):
            run_experiment(
                path,
                out,
                cluster=cluster.scheduler_address,
                run_fn=functools.partial(hs.marked_run, folder=str(finished)),
                progress=stop_after_the_first,
            )
    finally:
        cluster.close(timeout=20)
    done = len(list(finished.iterdir()))
    assert done == 8, f"every run of the sweep finished on the cluster: {done}"
    assert sorted(calls) == sorted(set(calls)), f"none stored twice: {calls}"
    with ResultStore.open(out) as store:
        assert store.count_runs() == done, f"{done} runs finished, {store.count_runs()} stored"
    session = json.loads((out / "manifest.json").read_text())["sessions"][-1]
    assert session["status"].startswith("stopped"), session
