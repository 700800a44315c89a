"""The ledger of a many-scene run: one small JSON state file per scene in ``<output>/.geo-ledger/``.

Each record says ``in_progress``, ``done`` (with the output file) or ``failed`` (with the error), and
who wrote it (host, pid, rank, launch id). Records are replaced atomically (temporary file, then
rename; not fsynced: a record a power cut forgets only makes a rerun redo that scene), one file
per scene, so ranks and nodes never write the same file at once and a reader
never sees half a record, on a local disk or a shared one (NFS, Lustre, GPFS).

A rerun skips ``done`` scenes whose output still exists, retries ``failed`` ones and takes over
``in_progress`` records whose writer is gone. The rule for "gone":

* same host: its process id no longer exists (checked at once, so a rerun right after a crash
  picks the scene up);
* another host: its heartbeat is older than ``stale_after`` seconds (default 120). While a
  scene runs a background thread touches its record every ``HEARTBEAT_S`` (30 s), so a live
  writer is never taken for dead, and a dead one blocks its scene for two minutes at most.

A live claim of another launch is left alone and reported as ``busy``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo_core._atomic import _alive, atomic_open

__all__ = ["Ledger", "LEDGER_DIR", "HEARTBEAT_S", "STALE_AFTER_S"]

LEDGER_DIR = ".geo-ledger"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 120.0
_HOST = socket.gethostname()


def _file_name(scene_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", scene_id)[:100]
    if safe != scene_id or safe.startswith("."):  # keep distinct ids distinct after cleaning
        safe = f"{safe.lstrip('.')}-{hashlib.sha1(scene_id.encode()).hexdigest()[:8]}"
    return f"{safe}.json"


@dataclass
class Claim:
    """What :meth:`Ledger.claim` decided for one scene.

    Attributes:
        take: Whether this process should work on the scene now.
        state: The state found: ``new``, ``done``, ``failed``, ``stale`` (a dead writer's claim) or
            ``busy`` (another live writer's claim).
        record: The record found (empty for ``new``).
    """

    take: bool
    state: str
    record: dict[str, Any]


class Ledger:
    """Per-scene state files of one output folder.

    Args:
        output_dir: The run's output folder; the records live in its ``.geo-ledger`` subfolder.
        rank: This process's rank (recorded, for the reader).
        run_id: The launch id (recorded).
        stale_after: Seconds without heartbeat after which another host's claim counts as dead.
    """

    def __init__(
        self, output_dir: str | Path, rank: int = 0, run_id: str = "", stale_after: float = STALE_AFTER_S
    ) -> None:
        self.folder = Path(output_dir) / LEDGER_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rank = rank
        self.run_id = run_id
        self.stale_after = stale_after
        self._token = f"{_HOST}:{os.getpid()}:{time.time_ns()}"

    def path(self, scene_id: str) -> Path:
        """The record file of ``scene_id``."""
        return self.folder / _file_name(scene_id)

    def read(self, scene_id: str) -> dict[str, Any]:
        """The record of ``scene_id`` (empty when there is none or it cannot be parsed)."""
        try:
            data = json.loads(self.path(scene_id).read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def records(self) -> dict[str, dict[str, Any]]:
        """Every record in the folder, by scene id."""
        out = {}
        for p in sorted(self.folder.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                rec = json.loads(p.read_text())
                if isinstance(rec, dict) and "scene" in rec:
                    out[str(rec["scene"])] = rec
        return out

    def _write(self, scene_id: str, state: str, **fields: Any) -> dict[str, Any]:
        rec = {
            "scene": scene_id,
            "state": state,
            "host": _HOST,
            "pid": os.getpid(),
            "rank": self.rank,
            "run": self.run_id,
            "token": self._token,
            "time": time.time(),
            **fields,
        }
        # atomic, not durable: a record lost to a power cut only means a scene is redone (no fsync
        # per record: they were most of the per-scene bookkeeping time of small scenes)
        with atomic_open(self.path(scene_id), "w", durable=False) as fh:
            json.dump(rec, fh)
        return rec

    def is_stale(self, rec: dict[str, Any], mtime: float | None = None) -> bool:
        """Whether an ``in_progress`` record's writer is gone (see the module docstring for the rule)."""
        if rec.get("token") == self._token:
            return False
        if rec.get("host") == _HOST:
            return not _alive(int(rec.get("pid", -1)))
        beat = mtime if mtime is not None else float(rec.get("time", 0))
        return time.time() - beat > self.stale_after

    def claim(self, scene_id: str, output: Path | None = None) -> Claim:
        """Decide whether to work on ``scene_id``; when so, write an ``in_progress`` record first.

        ``done`` is final while its output exists (``output``, when given); ``failed`` and stale claims
        are retried; a live claim of another process is ``busy``.
        """
        rec = self.read(scene_id)
        state = rec.get("state", "new")
        if state == "done" and (output is None or output.exists()):
            return Claim(False, "done", rec)
        if state == "in_progress":
            try:
                mtime = self.path(scene_id).stat().st_mtime
            except OSError:
                mtime = None
            if not self.is_stale(rec, mtime):
                return Claim(False, "busy", rec)
            state = "stale"
        attempts = int(rec.get("attempts", 0)) + 1
        self._write(scene_id, "in_progress", attempts=attempts, started=time.time())
        mine = self.read(scene_id)
        if mine.get("token") != self._token:  # another launch claimed it in the same instant
            return Claim(False, "busy", mine)
        return Claim(True, state if state != "done" else "new", rec)

    def done(self, scene_id: str, output: Path, seconds: float, **extra: Any) -> None:
        """Record ``scene_id`` as done, written to ``output``."""
        attempts = int(self.read(scene_id).get("attempts", 1))
        self._write(scene_id, "done", output=str(output), seconds=round(seconds, 3), attempts=attempts, **extra)

    def failed(self, scene_id: str, error: BaseException) -> None:
        """Record ``scene_id`` as failed with ``error`` (its type and first line)."""
        attempts = int(self.read(scene_id).get("attempts", 1))
        msg = str(error).splitlines()[0] if str(error) else ""
        self._write(scene_id, "failed", error=f"{type(error).__name__}: {msg}", attempts=attempts)

    @contextlib.contextmanager
    def heartbeat(self, scene_id: str, every: float = HEARTBEAT_S) -> Iterator[None]:
        """Touch the scene's record every ``every`` seconds while the block runs."""
        stop = threading.Event()
        path = self.path(scene_id)

        def beat() -> None:
            while not stop.wait(every):
                with contextlib.suppress(OSError):
                    os.utime(path)

        thread = threading.Thread(target=beat, name=f"geo-ledger-{scene_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
