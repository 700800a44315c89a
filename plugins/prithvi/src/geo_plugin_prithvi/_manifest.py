"""Variant configurations, read from the shipped ``geo-plugin.toml`` (no torch import).

The manifest is the single source of truth: ``geo info`` shows it and the builders
build from it.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

__all__ = ["HLS_BANDS", "backbone_config", "mae_config", "manifest", "variant_names"]

#: Band names of the HLS product family; the six pretrained bands are a subset.
HLS_BANDS = (
    "COASTAL_AEROSOL",
    "BLUE",
    "GREEN",
    "RED",
    "RED_EDGE_1",
    "RED_EDGE_2",
    "RED_EDGE_3",
    "NIR_BROAD",
    "NIR_NARROW",
    "SWIR_1",
    "SWIR_2",
    "WATER_VAPOR",
    "CIRRUS",
    "THERMAL_INFRARED_1",
    "THERMAL_INFRARED_2",
)


@functools.cache
def manifest() -> dict[str, Any]:
    """Return the parsed ``geo-plugin.toml`` of this distribution."""
    text = resources.files("geo_plugin_prithvi").joinpath("geo-plugin.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def variant_names() -> list[str]:
    """Return the backbone variant names, in manifest order."""
    return list(manifest()["backbone"])


def backbone_config(variant: str) -> dict[str, Any]:
    """Return a copy of the ``[backbone.<variant>]`` table.

    Raises:
        KeyError: ``variant`` is not a Prithvi backbone; the message lists the valid names.
    """
    table = manifest()["backbone"]
    if variant not in table:
        raise KeyError(f"unknown Prithvi variant {variant!r}; expected one of {sorted(table)}")
    return dict(table[variant])


def mae_config(variant: str) -> dict[str, Any]:
    """Return a copy of the ``[model.<variant>_mae]`` table (encoder + decoder sizes)."""
    table = manifest()["model"]
    key = f"{variant}_mae"
    if key not in table:
        raise KeyError(f"unknown Prithvi MAE {key!r}; expected one of {sorted(table)}")
    return dict(table[key])
