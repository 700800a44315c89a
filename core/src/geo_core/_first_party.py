"""The first-party plugin distributions, from metadata shipped with core: which one provides a name.

Asking for a component of a first-party plugin that is not installed (``GenericNonGeoSegmentationDataModule``
with only geo-core and geo-plugin-smp) then names the ``pip install`` line instead of only "unknown".
Reads ``first-party.toml`` (written by ``scripts/gen_first_party.py``); imports nothing heavy.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import metadata, resources
from typing import Any

__all__ = ["not_installed_providers", "install_hint", "uninstalled_for_kind"]


@functools.cache
def _table() -> dict[str, dict[str, Any]]:
    try:
        text = resources.files("geo_core").joinpath("first-party.toml").read_text(encoding="utf-8")
    except OSError:  # pragma: no cover - a broken installation
        return {}
    return tomllib.loads(text)


def _installed(dist: str) -> bool:
    try:
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


def not_installed_providers(kind: str, name: str) -> list[str]:
    """First-party distributions, not installed, that provide ``name`` (plain, or qualified with their source).

    ``kind`` is a component kind or ``"command"`` (a ``geo`` verb a plugin adds).
    """
    source, sep, _ = name.partition(":")
    out = []
    for dist, entry in _table().items():
        if (
            sep and kind != "command"
        ):  # smp:resnet18, timm:anything: the source says which distribution, catalogues included
            match = entry.get("source") == source
        else:
            match = name in entry.get(kind, [])
        if match and not _installed(dist):
            out.append(dist)
    return out


def install_hint(kind: str, name: str) -> str:
    """``"... comes with geo-plugin-x, which is not installed: pip install geo-plugin-x"`` or ``""``."""
    dists = not_installed_providers(kind, name)
    if not dists:
        return ""
    return f"It comes with {' or '.join(dists)}, which is not installed. Install it with: pip install {dists[0]}"


def uninstalled_for_kind(kind: str) -> dict[str, str]:
    """``{distribution: summary}`` of the first-party distributions, not installed, that provide ``kind``."""
    return {
        dist: str(entry.get("summary", ""))
        for dist, entry in _table().items()
        if entry.get(kind) and not _installed(dist)
    }
