"""Variant configurations, read from the shipped ``geo-plugin.toml`` (no torch import).

The manifest is the single source of truth: ``geo info`` shows it and the builders build from it.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

__all__ = ["backbone_config", "manifest", "variant_names"]


@functools.cache
def manifest() -> dict[str, Any]:
    """Return the parsed ``geo-plugin.toml`` of this distribution."""
    text = resources.files("geo_plugin_clay").joinpath("geo-plugin.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def variant_names() -> list[str]:
    """Return the backbone variant names, in manifest order."""
    return list(manifest()["backbone"])


def backbone_config(variant: str) -> dict[str, Any]:
    """Return a copy of the ``[backbone.<variant>]`` table.

    Raises:
        KeyError: ``variant`` is not a Clay backbone; the message lists the valid names.
    """
    table = manifest()["backbone"]
    if variant not in table:
        raise KeyError(f"unknown Clay variant {variant!r}; expected one of {sorted(table)}")
    return dict(table[variant])
