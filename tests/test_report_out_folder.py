"""`microgov report --out` names what is wrong with the folder and what is allowed, in the
words `microgov run --out` uses (review of the command line)."""

from __future__ import annotations

from pathlib import Path

import pytest
import standins

from app.cli import main
from experiments.runner import run_experiment


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished compare (stand-in model, 2 scenarios × 2 replications)."""
    root = tmp_path_factory.mktemp("out_folder")
    path = standins.write_experiment(root, "c", standins.compare_text(replications=2))
    run_experiment(path, root / "out", workers=1, run_fn=standins.fake_run)
    return root / "out"


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_out_is_an_existing_file(finished, tmp_path, capsys):
    """A file as --out: exit 2, the same words as `microgov run --out`, the file untouched."""
    existing = tmp_path / "summary.json"
    existing.write_text("{}", encoding="utf-8")
    assert main(["report", str(finished), "--out", str(existing)]) == 2
    report_error = _error(capsys)
    assert report_error == (
        f"error: {existing}: exists and is not a folder; allowed: a folder for --out"
    )
    assert main(["run", "classroom", "--days", "1", "--out", str(existing)]) == 2
    assert _error(capsys) == report_error, "report and run word it alike"
    assert existing.read_text(encoding="utf-8") == "{}", "the file is left as it was"


def test_out_cannot_be_made(finished, tmp_path, capsys):
    """A folder that cannot be made (under a file): what failed and what is allowed."""
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    assert main(["report", str(finished), "--out", str(blocker / "report")]) == 2
    assert _error(capsys) == (
        f"error: {blocker / 'report'}: cannot write the report into this folder "
        "(Not a directory); allowed: a writable folder for --out"
    )
