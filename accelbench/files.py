"""Files that are never half-written: a reader sees the old content or the new, never a torn one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Writes `data` to a temporary file beside `path`, flushes it to disk, then renames it over `path` (atomic on
    POSIX and Windows). A crash at any point leaves `path` as it was; the temporary file is removed on error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); a report is for reading by others, as open() would make it
        os.chmod(partial, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Holds an exclusive lock beside `path` (POSIX) while the caller makes it: of processes that need the same file
    at once (the test workers, a `make bench` beside a `make test`), one makes it and the others wait, then read what
    it wrote. Where no lock can be taken (no fcntl, a read-only directory), each process goes on alone."""
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".lock"), "a")
    except (ImportError, OSError):
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, or those open() would give a new file (0666 less the umask)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class CacheDirWarning(UserWarning):
    """The weights cache cannot be written; a temporary one is used for this run (accelbench/plugin.py)."""
