"""Smoke test of the soak benchmark (benchmarks/bench_soak.py): it runs at a tiny size, writes
its JSON and accounts for every case. No memory or time is asserted (docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_soak_records_peak_memory_per_length(tmp_path: Path) -> None:
    """Two short classroom runs: one entry each, with peak RSS and every case in the sink."""
    out = tmp_path / "soak.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_soak.py"),
            "--scenario",
            "classroom",
            "--years",
            "0.02",
            "0.04",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"bench_soak failed:\n{done.stderr}"
    result = json.loads(out.read_text(encoding="utf-8"))
    runs = result["runs"]
    assert [r["days"] for r in runs] == [7, 15]
    for r in runs:
        assert r["peak_rss_mib"] > 0
        assert r["cases_in_sink"] == r["cases_generated"] > 0
        assert r["cases_in_output"] == 0
    assert result["flatness"]["met"] is None, "judged only with both one and five years"
    assert "| years |" in done.stdout
