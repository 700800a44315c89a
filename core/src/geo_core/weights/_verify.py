"""Checks on a fetched weight file: SHA-256, an HTML page instead of weights, an empty file; the sidecar record."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from geo_core._atomic import atomic_open
from geo_core._errors import WeightsError

__all__ = ["sha256_of", "check_content", "check_sha256", "read_record", "write_record", "record_path"]

_HTML = (b"<!doctype html", b"<html", b"<head", b"<?xml")


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """The hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_content(path: Path, *, name: str, source: str) -> None:
    """Refuse an empty file or an HTML/XML page (a login, error or redirect page saved as a checkpoint)."""
    size = path.stat().st_size
    if size == 0:
        raise WeightsError(
            f"the file fetched from {source} is empty; run the command again to fetch it anew", name=name, source=source
        )
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    if head.startswith(_HTML):
        raise WeightsError(
            f"{source} sent a web page, not weights (an error or login page? a proxy?); "
            "check the address in a browser, or set HF_TOKEN for a gated repository",
            name=name,
            source=source,
        )


def check_sha256(path: Path, expected: str, *, name: str, source: str, actual: str | None = None) -> str:
    """Compare the file's SHA-256 with ``expected`` (a full digest or a prefix); return the full digest."""
    digest = actual or sha256_of(path)
    if not digest.startswith(expected.lower()):
        raise WeightsError(
            f"SHA-256 mismatch for {source}: expected {expected}, got {digest[: len(expected)]} "
            f"({path.stat().st_size} bytes); the download is corrupt or the file changed upstream. "
            "It was removed; run the command again to fetch it anew",
            name=name,
            source=source,
        )
    return digest


def record_path(path: Path) -> Path:
    """The sidecar that records where a cached file came from and its verified hash."""
    return path.with_name(path.name + ".geo.json")


def read_record(path: Path) -> dict[str, Any] | None:
    """The sidecar record of a cached file, or ``None`` when absent or unreadable."""
    try:
        data = json.loads(record_path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_record(path: Path, *, source: str, sha256: str, declared: str | None) -> None:
    """Write the sidecar atomically: source, size, full SHA-256 and the hash the manifest declared."""
    record = {"source": source, "size": os.path.getsize(path), "sha256": sha256, "declared_sha256": declared}
    with atomic_open(record_path(path), "w") as fh:
        json.dump(record, fh, indent=1)
