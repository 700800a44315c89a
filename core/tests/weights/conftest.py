from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from geo_core.testing import WeightServer


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[WeightServer]:
    """A local weight server; HF_ENDPOINT and both caches point at it / under tmp_path; 2 s timeout."""
    with WeightServer() as srv:
        srv.use(monkeypatch, tmp_path)
        monkeypatch.setenv("GEO_WEIGHTS_TIMEOUT", "2")
        yield srv


def payload(n: int = 40_000, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes that look like a (zip) checkpoint."""
    import random

    rnd = random.Random(seed)
    return b"PK\x03\x04" + bytes(rnd.getrandbits(8) for _ in range(n))


def leftovers(folder: Path) -> list[str]:
    """Every file under folder (relative), for 'nothing left under the final name' checks."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


__all__ = ["payload", "leftovers", "os"]
