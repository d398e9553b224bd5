"""Writing files so that a crash never leaves half of one.

Configs, IR files, pictures and formatted sources are read by other processes
(training workers, editors) while archc writes them; writing a temporary file
in the same folder and renaming it over the target makes every reader see the
old file or the new one, even if the process is killed mid-write.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write `data` (text is UTF-8) to `path` atomically; returns the path.

    A file that exists keeps its permissions, and a symbolic link stays a link: the file
    it points to is the one replaced (`fmt --write` on a 0600 file, or on a link into a
    shared folder). An OSError names `path` (a full disk says which file it was), and
    nothing is left behind.
    """
    target = Path(path)
    real = Path(os.path.realpath(target))
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = None
    try:
        mode = stat.S_IMODE(real.stat().st_mode) if real.exists() else 0o644
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; a new file is an ordinary 0644 one
        os.replace(tmp, real)
    except OSError as err:
        _remove(tmp)
        raise OSError(err.errno, err.strerror or str(err), str(target)) from None
    except BaseException:
        _remove(tmp)
        raise
    return target


def _remove(tmp: str | None) -> None:
    if tmp is not None:
        Path(tmp).unlink(missing_ok=True)
