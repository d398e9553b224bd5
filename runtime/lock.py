"""One process per run folder: an advisory lock held for the life of a run.

Why: a run and a `--resume` of the same folder started together would both
append to `metrics.jsonl` and overwrite each other's checkpoints (seen: 7
metric lines for 4 epochs). Every command that writes a run or search folder
takes `RUN/.lock` first and refuses a second user, naming its pid.

The lock is `fcntl.flock` on the file, so the kernel releases it when the
process dies, however it dies: a lock left by a killed run is stale by
construction and the next run simply takes it (the pid inside is only for the
message). On systems without `fcntl` no lock is taken.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class RunInUse(RuntimeError):
    """Another live process holds the run folder."""


class RunLock:
    """`with RunLock(folder):` holds `folder/.lock` (the folder must exist)."""

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None or self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder else "another process"
            raise RunInUse(
                f"{self.path.parent} is in use by {who}; wait for it to finish or stop it"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
