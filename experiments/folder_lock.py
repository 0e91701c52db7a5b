"""One runner per results folder: an exclusive lock on ``<folder>/runner.lock`` (issue 13).

The runner takes an exclusive, non-blocking ``fcntl.flock`` on the lock file before
it touches the database, and writes into it who holds it (pid, host, command, start
time). A second runner fails at once with an :class:`~experiments.errors.InputError`
naming the holder. The kernel drops the lock when its process dies however it dies
(SIGKILL included), so a lock file that is still there but not locked was left by a
dead runner: it is *stale*, taken over, and the takeover is logged and returned.

The lock is released by deleting the file and then closing it; a runner that opened
the file just before it was deleted notices that its file is no longer the one in
the folder and tries again, so two runners can never both hold a lock.

POSIX only (``fcntl``; the target platform is Linux): where ``fcntl`` is missing the
runner goes on without a lock and logs a warning. On network file systems the lock
is as good as the file system's ``flock`` (NFS ≥ v4 emulates it with byte-range locks).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from experiments.errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

LOCK_FILE = "runner.lock"
_ATTEMPTS = 5  # open-lock-verify rounds lost to a concurrent release before giving up


@dataclass
class FolderLock:
    """A held lock on a results folder; :meth:`release` it (the store does, on close).

    Attributes:
        path: the lock file.
        holder: what this runner wrote into it.
        stale: what a dead runner had left in it, when this lock took over a stale one.
    """

    path: Path
    holder: dict[str, Any]
    stale: dict[str, Any] | None
    _fd: int | None

    @classmethod
    def acquire(cls, folder: Path) -> FolderLock:
        """Lock ``folder`` for this process.

        Raises:
            InputError: another live process holds the lock (its pid, host, command and
                start time are in the message).
        """
        path = folder / LOCK_FILE
        holder = {
            "pid": os.getpid(),
            "host": platform.node(),
            "command": shlex.join(sys.argv)[:500],
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if fcntl is None:  # pragma: no cover - not POSIX
            logger.warning("%s: no file locks on this platform; not locked", folder)
            return cls(path, holder, None, None)
        for _ in range(_ATTEMPTS):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = _read(fd)
                os.close(fd)
                raise InputError(
                    f"{folder}: another microgov runner is using this results folder "
                    f"({describe_holder(other)}); wait for it to finish or stop it, or choose "
                    "another folder with --out"
                ) from None
            if _same_file(fd, path):
                break
            os.close(fd)  # released and deleted by its holder meanwhile: try again
        else:  # pragma: no cover - needs a release race five times in a row
            raise InputError(f"{folder}: could not lock {LOCK_FILE}; try again")
        left = _read(fd)
        stale = left or None
        if stale is not None:
            logger.warning(
                "%s: taking over a stale lock left by a runner that is gone (%s)",
                folder,
                describe_holder(stale),
            )
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        except OSError as exc:  # e.g. a full disk: the flock itself still holds
            logger.warning("%s: locked, but cannot write who holds it (%s)", path, exc)
        return cls(path, holder, stale, fd)

    def release(self) -> None:
        """Delete the lock file and drop the lock (idempotent)."""
        if self._fd is None:
            return
        try:
            if _same_file(self._fd, self.path):
                self.path.unlink()
        finally:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def current_holder(folder: Path) -> dict[str, Any] | None:
    """Who holds the lock of ``folder`` now (None when nobody does); never creates a file."""
    path = folder / LOCK_FILE
    if fcntl is None or not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd) or {"pid": "?"}
        return None
    finally:
        os.close(fd)


def left_behind(folder: Path) -> dict[str, Any] | None:
    """What a dead runner left in an unlocked lock file (None if there is none or it is held)."""
    path = folder / LOCK_FILE
    if fcntl is None or not path.exists() or current_holder(folder) is not None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return {"pid": "?"}


def describe_holder(holder: dict[str, Any] | None) -> str:
    """``pid 123 on host h since … running `microgov sweep …` `` for messages."""
    if not holder:
        return "holder unknown"
    text = f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}"
    if holder.get("started_at"):
        text += f" since {holder['started_at']}"
    if holder.get("command"):
        text += f", command: {holder['command']}"
    return text


def _read(fd: int) -> dict[str, Any]:
    try:
        data = os.pread(fd, 4096, 0)
        value = json.loads(data.decode("utf-8", "replace") or "{}")
    except (OSError, ValueError):
        return {"pid": "?", "note": "unreadable lock file"}
    return value if isinstance(value, dict) else {}


def _same_file(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)
