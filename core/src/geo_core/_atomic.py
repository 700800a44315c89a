"""Atomic file writes: a temporary name in the same folder, fsync, then rename.

A reader never sees a partly written file under the final name. A process killed
mid-write (SIGKILL, power loss) leaves a ``.<name>.tmp-<host>-<pid>-*`` file; the next
atomic write into that folder from this host removes such leftovers whose process is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_open", "fsync_dir", "remove_stale_temporaries"]

log = logging.getLogger("geo_core.atomic")

_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:16] or "host"
_STALE = re.compile(r"^\..+\.tmp-(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-")
_swept: set[str] = set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete ``.<name>.tmp-<host>-<pid>-*`` files in ``folder`` left by dead processes of this host.

    Files of other hosts (a shared disk) and of live processes are kept. Returns what was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _STALE.match(entry.name)
        if m is None or m["host"] != _HOST or int(m["pid"]) == os.getpid() or _alive(int(m["pid"])):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
            log.info("removed %s, left by a process that died mid-write", entry.path)
    return removed


def fsync_dir(folder: str | Path) -> None:
    """Flush a directory entry to disk (no-op where the platform cannot)."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "", durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it onto ``path``.

    Use for writers that take a file name (rasterio, torch.save, pandas).
    On an exception the temporary file is removed and ``path`` is untouched.
    ``durable=False`` skips the two fsyncs (file and folder): the rename stays atomic for every
    reader, but a power loss may forget the file. For records that are cheap to lose (the
    prediction ledger: a forgotten record means a scene is redone), where the fsyncs were
    most of the per-scene bookkeeping time.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_path(d / "x.txt") as tmp:
        ...     _ = tmp.write_text("hello")
        >>> (d / "x.txt").read_text()
        'hello'
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    key = os.path.abspath(final.parent)
    if key not in _swept:  # once per folder and process: scanning a big output folder per file would add up
        _swept.add(key)
        remove_stale_temporaries(final.parent)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.name}.tmp-{_HOST}-{os.getpid()}-", suffix=suffix or final.suffix, dir=final.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; the final file follows the umask like open()
        yield tmp
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, final)
        if durable:
            fsync_dir(final.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", durable: bool = True, **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; it replaces ``path`` only when the block succeeds.

    ``durable`` as in :func:`atomic_path`.
    """
    if "r" in mode or "a" in mode:
        raise ValueError("atomic_open is for writing ('w', 'wb', 'x')")
    with atomic_path(path, durable=durable) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh
        fh.flush()
