"""Band names: validation and the band-by-band remapping of patch-embedding weights."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from geo_core import ConfigError, close_matches

from geo_plugin_prithvi._manifest import HLS_BANDS

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["Band", "normalize_bands", "remap_channel_axis"]

log = logging.getLogger("geo_plugin_prithvi")

Band = str | int


def _norm(band: Any) -> Band:
    band = getattr(band, "value", band)  # enums such as TerraTorch's HLSBands
    if isinstance(band, bool) or not isinstance(band, (str, int)):
        raise ConfigError(f"band names must be strings (or ints for unnamed new bands), got {band!r}", key="bands")
    return band.strip().upper() if isinstance(band, str) else band


def normalize_bands(bands: Sequence[Any], pretrained_bands: Sequence[Any]) -> list[Band]:
    """Validate and normalise (upper-case) the model's band names.

    A band that is neither pretrained nor a known HLS band name but looks like one
    (``SWIR1``, ``GREN``) is an error with a suggestion, never a silently random band.
    Other names (``NDVI``, ``VV``) and integers are new bands with freshly initialised weights.

    Raises:
        ConfigError: A band is duplicated or looks like a misspelt known band.
    """
    out = [_norm(b) for b in bands]
    pre = [_norm(b) for b in pretrained_bands]
    if not out:
        raise ConfigError("bands is empty; give at least one band name", key="bands")
    dupes = sorted({str(b) for b in out if out.count(b) > 1})
    if dupes:
        raise ConfigError(f"bands lists {dupes} more than once", key="bands")
    known = [str(b) for b in pre] + [b for b in HLS_BANDS if b not in pre]
    for b in out:
        if isinstance(b, int) or b in pre or b in HLS_BANDS:
            continue
        close = close_matches(b, known, n=3, cutoff=0.7)
        if close:
            raise ConfigError(
                f"unknown band {b!r}; did you mean {' or '.join(repr(c) for c in close)}? "
                f"Pretrained bands: {[str(p) for p in pre]}. A genuinely new band needs a name that is not a "
                "near-miss of a known band",
                key="bands",
            )
    return out


def remap_channel_axis(
    ckpt: Tensor, own: Tensor, axis: int, pretrained_bands: Sequence[Band], bands: Sequence[Band], what: str
) -> Tensor:
    """Build a tensor shaped like ``own`` whose band slices along ``axis`` come from ``ckpt`` by band name.

    Bands missing from the checkpoint keep ``own``'s (freshly initialised) values. Logs
    which bands were loaded and which were not.
    """
    if ckpt.shape[axis] != len(pretrained_bands):
        raise ValueError(
            f"{what}: the checkpoint has {ckpt.shape[axis]} bands but pretrained_bands lists {len(pretrained_bands)}"
        )
    out = own.detach().clone().to(ckpt.dtype)
    loaded, fresh = [], []
    for i, band in enumerate(bands):
        if band in pretrained_bands:
            j = list(pretrained_bands).index(band)
            out.select(axis, i).copy_(ckpt.select(axis, j))
            loaded.append(f"{band}<-{j}")
        else:
            fresh.append(str(band))
    dropped = [str(b) for b in pretrained_bands if b not in bands]
    log.info("%s: pretrained weights for bands %s (model band <- checkpoint channel)", what, loaded)
    if fresh:
        log.warning("%s: no pretrained weights for bands %s; they start from random initialisation", what, fresh)
    if dropped:
        log.info("%s: pretrained bands not used: %s", what, dropped)
    return out
