"""A dependency-free progress bar on stderr for plain-URL downloads."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

__all__ = ["Progress"]


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


class Progress:
    """Redraws one line on a terminal; elsewhere (logs, CI) writes a start and an end line only.

    ``GEO_PROGRESS=0`` silences it.
    """

    def __init__(self, label: str, total: int | None, done: int = 0, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = done
        self.stream = stream or sys.stderr
        self.enabled = os.environ.get("GEO_PROGRESS", "1") != "0"
        self.tty = self.enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._start = time.monotonic()
        self._start_done = done
        if self.enabled and not self.tty:
            size = f" ({_mb(total)})" if total else ""
            resumed = f", resuming at {_mb(done)}" if done else ""
            self.stream.write(f"downloading {label}{size}{resumed}\n")

    def update(self, n: int) -> None:
        """Count ``n`` more bytes; redraw at most ten times a second."""
        self.done += n
        now = time.monotonic()
        if self.tty and now - self._last > 0.1:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = (self.done - self._start_done) / max(now - self._start, 1e-6)
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            text = f"\r{self.label} [{bar:<30}] {frac:4.0%} {_mb(self.done)}/{_mb(self.total)} {_mb(rate)}/s"
        else:
            text = f"\r{self.label} {_mb(self.done)} {_mb(rate)}/s"
        self.stream.write(text)
        self.stream.flush()

    def close(self, ok: bool = True) -> None:
        """Finish the line."""
        if not self.enabled:
            return
        if self.tty:
            self._draw(time.monotonic())
            self.stream.write("\n")
        elif ok:
            self.stream.write(f"downloaded {self.label} ({_mb(self.done)})\n")
        self.stream.flush()
