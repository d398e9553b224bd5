"""Writing files so that a crash never leaves half of one.

Configs, IR files, pictures and formatted sources are read by other processes
(training workers, editors) while archc writes them; writing a temporary file
in the same folder and renaming it over the target makes every reader see the
old file or the new one, even if the process is killed mid-write.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write `data` (text is UTF-8) to `path` atomically; returns the path. A symbolic
    link is written through (its target replaced, the link kept) and an existing file
    keeps its permissions; a new one gets 0644."""
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    mode = target.stat().st_mode & 0o7777 if target.is_file() else 0o644
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, target)
    except OSError as err:  # a full disk: name the target, not the temporary file
        Path(tmp).unlink(missing_ok=True)
        raise OSError(err.errno, err.strerror or str(err), str(target)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
