"""Read the shipped model index (torch-free, timm-free)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["load_index", "index_names", "model_metadata", "is_listed"]

INDEX_PATH = Path(__file__).with_name("_index.json")


@cache
def load_index() -> dict[str, Any]:
    """Return the parsed ``_index.json`` (cached)."""
    with open(INDEX_PATH, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def index_names(include_unsupported: bool = False) -> list[str]:
    """Names of the models usable as backbones (``features_only``), sorted."""
    return list(_sorted_names(include_unsupported))


@cache
def _sorted_names(include_unsupported: bool) -> tuple[str, ...]:
    data = load_index()
    names = set(data["models"])
    if include_unsupported:
        names |= set(data["unsupported"])
    return tuple(sorted(names))


def is_listed(name: str) -> bool:
    """Whether ``name`` is a backbone in the index."""
    return name in load_index()["models"]


def model_metadata(name: str) -> dict[str, Any]:
    """Metadata of one model (empty for unknown names)."""
    data = load_index()
    entry = data["models"].get(name)
    if entry is None:
        reason = data["unsupported"].get(name)
        return {"unsupported": reason} if reason else {}
    meta = dict(entry)
    meta["timm_version"] = data["timm_version"]
    if entry.get("pretrained_tags"):
        meta["weights_resolver"] = "geo_plugin_timm._weights:weight_refs"
    meta["summary"] = f"timm {entry.get('family', '')} model {name} (features_only)".replace("  ", " ")
    return meta
