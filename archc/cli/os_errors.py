"""An operating-system error as one sentence that names the path.

Why: `[Errno 20] Not a directory: 'afile/run'` or `afile: File exists` tells a user
what the C library saw, not what to fix. Every command's OSError (reading, writing,
making folders, a full disk, a closed standard output) ends here, through the one
handler in `archc.cli.main` or a command that knows which path it was using.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

REASONS = {
    errno.ENOENT: "there is no such file or folder",
    errno.EISDIR: "it is a folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file is too large for the file system",
    errno.EROFS: "the file system is read-only",
    errno.ENAMETOOLONG: "its name is too long",
    errno.ELOOP: "its symbolic links go round in a loop",
    errno.EIO: "the device reported an input/output error",
}
WRITING = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}
STDOUT = "the standard output"


def describe(err: OSError, path: str | os.PathLike | None = None) -> str:
    """One sentence: what could not be done to which path, and why."""
    name = err.filename if err.filename is not None else path
    if name is None:
        return _reason(err)
    name = str(name)
    if err.errno == errno.ENOTDIR:
        blocker = _file_on_the_way(Path(name))
        if blocker is not None:
            return f"cannot use {name}: {blocker} is a file, not a folder"
    if err.errno == errno.EEXIST:
        kind = "folder" if os.path.isdir(name) else "file"
        return f"cannot create {name}: a {kind} of that name is already there"
    verb = "write" if err.errno in WRITING else "use"
    return f"cannot {verb} {name}: {_reason(err)}"


def _reason(err: OSError) -> str:
    if err.errno in REASONS:
        return REASONS[err.errno]
    text = err.strerror or str(err) or type(err).__name__
    return text[:1].lower() + text[1:]


def _file_on_the_way(path: Path) -> Path | None:
    """The first part of `path` that exists and is not a folder, if any."""
    for part in reversed(path.parents[:-1] if path.is_absolute() else path.parents):
        if part != Path(".") and part.exists() and not part.is_dir():
            return part
    return None
