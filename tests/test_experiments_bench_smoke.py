"""Smoke test of benchmarks/bench_pool.py: it runs at a tiny size and writes its JSON (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_pool_writes_figures(tmp_path):
    """bench_pool at 1 replication of 3 days writes timings, speed-ups and per-run overheads."""
    out = tmp_path / "pool.json"
    args = [
        "--replications",
        "1",
        "--days",
        "3",
        "--noop-runs",
        "4",
        "--no-dask",
        "--out",
        str(out),
    ]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_pool.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"bench_pool failed:\n{done.stderr[-3000:]}"
    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result["timings"]) == {"serial", "pool_cold", "pool_warm"}, (
        f"timings: {result['timings']}"
    )
    assert set(result["speedup"]) == {"pool_cold", "pool_warm"}, "speed-ups against serial"
    assert result["identical_outcomes"] is True, "serial and pool store identical outcomes"
    assert {"serial", "pool"} <= set(result["overhead"]), "per-run overheads measured"
    assert result["ceiling_before"]["ceiling"] > 0, "the machine's parallel ceiling is measured"
    assert set(result["efficiency"]) == {"pool_cold", "pool_warm"}, "speed-up over ceiling given"
    assert "| serial |" in done.stdout, "markdown table printed"
