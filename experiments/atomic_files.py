"""Files written whole or not at all: beside the target, then renamed over it.

An interrupted ``microgov export`` left a truncated CSV in place of the previous complete
one (an audit, thirty-ninth round of issue 11); ``microgov run`` already wrote this way. A
file being written is ``.<name>.<pid>.tmp`` in the target's folder (the rename stays on one
file system); it is removed when the writing fails, and one left by a process killed with
SIGKILL is removed by the next write into that folder (:func:`remove_stale`), when the
process that named it has gone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp(?:\.\w+)?$")


def temporary_path(path: Path, suffix: str = "") -> Path:
    """Where ``path`` is written before it is renamed into place (``suffix``: an ending
    the reader of the temporary file needs, e.g. ``.toml``)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")


@contextmanager
def replaced_whole(path: Path, suffix: str = "") -> Iterator[Path]:
    """Yield the temporary path to write; on success rename it to ``path``, else remove it."""
    remove_stale(path.parent)
    tmp = temporary_path(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale(folder: Path) -> list[Path]:
    """Remove ``folder``'s temporary files whose writing process is gone (killed)."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        found = _TEMPORARY.match(entry.name)
        if found is None or _alive(int(found["pid"])):
            continue
        try:
            entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (another user's, which refuses the probe, too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists
        pass
    return True
