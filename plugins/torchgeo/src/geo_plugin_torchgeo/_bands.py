"""Fit pretrained torchgeo weights to the bands a dataset has, by name.

torchgeo records the band names each weight was trained on (``B1`` … ``B12``, ``B8a``,
``SR_B1``, ``VV``, ``R``). A dataset that has a subset of them, in any order, selects the
matching input channels of the first convolution (and of the weight's mean/std); no weights
are invented for bands the model never saw. Names match ignoring case, zero padding
(``B02`` = ``B2``) and Landsat's ``SR_`` prefix; TerraTorch/HLS names (``BLUE``,
``NIR_NARROW``, ``SWIR_1`` …) are translated for Sentinel-2, Landsat 8/9 OLI, Landsat 4-7
TM/ETM+ and RGB weights.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from geo_core import ConfigError
from geo_core.data import HLS_SENTINEL2_BANDS
from torch import nn

__all__ = ["band_indices", "select_input_channels", "slice_stats"]

_OLI = {
    "COASTAL_AEROSOL": "B1",
    "BLUE": "B2",
    "GREEN": "B3",
    "RED": "B4",
    "NIR_NARROW": "B5",
    "NIR": "B5",
    "SWIR_1": "B6",
    "SWIR_2": "B7",
    "PAN": "B8",
    "CIRRUS": "B9",
    "THERMAL_INFRARED_1": "B10",
    "THERMAL_INFRARED_2": "B11",
}
_TM = {
    "BLUE": "B1",
    "GREEN": "B2",
    "RED": "B3",
    "NIR_NARROW": "B4",
    "NIR": "B4",
    "SWIR_1": "B5",
    "THERMAL_INFRARED_1": "B6",
    "SWIR_2": "B7",
    "PAN": "B8",
}
_RGB = {"RED": "R", "GREEN": "G", "BLUE": "B"}
_BAND = re.compile(r"^(?:SR_)?B0*(\d+)(A?)$")


def _canonical(name: str) -> str:
    n = str(name).strip().upper()
    m = _BAND.match(n)
    return f"B{m[1]}{m[2]}" if m else n


def _aliases(weights: str) -> dict[str, str]:
    w = weights.upper()
    if "SENTINEL2" in w:
        return dict(HLS_SENTINEL2_BANDS)
    if "OLI" in w or "LANDSAT8" in w or "LANDSAT9" in w:
        return _OLI
    if "ETM" in w or "_TM_" in w or w.endswith("_TM"):
        return _TM
    return {}


def band_indices(weights: str, weight_bands: Sequence[str], wanted: Sequence[str]) -> list[int]:
    """Positions of ``wanted`` bands among the bands the weights ``weights`` were trained on.

    Raises:
        ConfigError: A band the weights do not have, or a band asked for twice.
    """
    have = [_canonical(b) for b in weight_bands]
    aliases = _aliases(weights) or (_RGB if set(have) <= {"R", "G", "B"} else {})
    out: list[int] = []
    for band in wanted:
        key = _canonical(band)
        key = aliases.get(key, key)
        if key not in have:
            raise ConfigError(
                f"torchgeo:{weights} weights were trained on bands {list(weight_bands)}; band "
                f"{band!r} is not one of them. Use a subset of those names (or the HLS names "
                f"{sorted(k for k, v in aliases.items() if v in have)}), or pretrained=False",
                key="bands",
            )
        idx = have.index(key)
        if idx in out:
            raise ConfigError(
                f"band {band!r} is given twice (as {weight_bands[idx]!r}) in bands={list(wanted)}", key="bands"
            )
        out.append(idx)
    return out


def select_input_channels(model: nn.Module, in_chans: int, idx: Sequence[int]) -> None:
    """Keep input channels ``idx`` of the first convolution taking ``in_chans`` channels (in place)."""
    import torch

    for conv in model.modules():
        if isinstance(conv, nn.Conv2d) and conv.in_channels == in_chans:
            if conv.groups != 1:  # pragma: no cover - no torchgeo stem is grouped
                break
            with torch.no_grad():
                conv.weight = nn.Parameter(conv.weight[:, list(idx)].clone())
            conv.in_channels = len(idx)
            return
    raise ConfigError(
        f"found no input convolution with {in_chans} channels to select bands from; "
        "give all the weight's bands or use pretrained=False",
        key="bands",
    )


def slice_stats(values: Any, idx: Sequence[int]) -> Any:
    """The per-band ``values`` (mean or std) of the selected bands; None and one shared value stay."""
    if values is None or len(values) <= 1:
        return values
    return [values[i] for i in idx]
