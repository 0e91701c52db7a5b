"""experiments.atomic_files: a file is replaced whole or not at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.atomic_files import remove_stale, replaced_whole, temporary_path
from experiments.export import write_exports


def test_a_failed_write_leaves_the_earlier_file(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text("complete\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt), replaced_whole(path) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise KeyboardInterrupt  # an interrupt mid-write
    assert path.read_text(encoding="utf-8") == "complete\n"
    assert list(tmp_path.iterdir()) == [path], "no temporary file left"
    with replaced_whole(path) as tmp:
        tmp.write_text("new\n", encoding="utf-8")
    assert path.read_text(encoding="utf-8") == "new\n"


def test_a_killed_writers_temporary_file_is_removed_by_the_next(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f".cases.csv.{int(gone.stdout)}.tmp"  # its process has exited
    stale.write_text("45 MB of a killed run", encoding="utf-8")
    mine = temporary_path(tmp_path / "other.csv")  # this process: alive, kept
    mine.write_text("being written", encoding="utf-8")
    unrelated = tmp_path / ".notes.tmp"
    unrelated.write_text("not ours", encoding="utf-8")
    assert remove_stale(tmp_path) == [stale]
    assert not stale.exists() and mine.exists() and unrelated.exists()
    assert os.getpid() == int(mine.name.split(".")[-2])


def test_an_export_interrupted_while_writing_keeps_the_earlier_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted export left a truncated CSV in place of the complete one (an audit:
    4.96 MB of 22.97 MB); now the earlier file stays until the new one is whole."""
    import standins

    from experiments.runner import run_experiment

    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=2))
    out = tmp_path / "out"
    run_experiment(path, out, workers=1, run_fn=standins.fake_run)
    first = write_exports(out, ("csv",))
    before = {p.name: p.read_bytes() for p in first.written}
    calls = []
    original = pd.DataFrame.to_csv

    def interrupted(self, target, *args, **kwargs):  # the second table: half, then Ctrl-C
        calls.append(target)
        if len(calls) == 2:
            Path(target).write_text(original(self, None, *args, **kwargs)[:100])
            raise KeyboardInterrupt
        return original(self, target, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_exports(out, ("csv",))
    after = {p.name: p.read_bytes() for p in (out / "exports").iterdir()}
    assert after == before, "every earlier file whole, no temporary file left"
