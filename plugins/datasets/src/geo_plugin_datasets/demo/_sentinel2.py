"""Sentinel-2 L1C bands on one grid, mapped to the six Landsat-equivalent bands.

The scene's 13 bands come at 10 m (B02, B03, B04, B08), 20 m (B05-B07, B8A, B11,
B12) and 60 m (B01, B09, B10). The model was trained on Landsat at 30 m, so we
resample the six bands it needs onto one 30 m grid over the common extent
(area-average resampling) and use the HLS band mapping:

=======  =========  ===========
Landsat  Sentinel-2  native GSD
=======  =========  ===========
B2 blue  B02        10 m
B3 green B03        10 m
B4 red   B04        10 m
B5 NIR   B8A        20 m (narrow NIR, like OLI B5; B08 is broad)
B6 SWIR1 B11        20 m
B7 SWIR2 B12        20 m
=======  =========  ===========

L1C digital numbers are TOA reflectance x 10000 (processing baselines before 04.00,
as this scene, carry no offset).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["S2_BANDS", "read_sentinel2"]

S2_BANDS = ("B02", "B03", "B04", "B8A", "B11", "B12")


def read_sentinel2(folder: Path, resolution: float = 30.0) -> tuple[np.ndarray, dict[str, Any]]:
    """Return ``(reflectance (6, H, W) float32, profile)`` on one ``resolution`` grid."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.warp import Resampling, reproject

    paths = [folder / f"s2_{b}.jp2" for b in S2_BANDS]
    srcs = [rasterio.open(p) for p in paths]
    try:
        left = max(s.bounds.left for s in srcs)
        right = min(s.bounds.right for s in srcs)
        top = min(s.bounds.top for s in srcs)
        bottom = max(s.bounds.bottom for s in srcs)
        width = math.floor((right - left) / resolution)
        height = math.floor((top - bottom) / resolution)
        transform = from_origin(left, top, resolution, resolution)
        out = np.zeros((len(srcs), height, width), dtype=np.float32)
        for i, src in enumerate(srcs):
            reproject(
                source=rasterio.band(src, 1),
                destination=out[i],
                src_transform=src.transform,
                src_crs=src.crs,
                dst_transform=transform,
                dst_crs=src.crs,
                resampling=Resampling.average,
            )
        crs = srcs[0].crs
    finally:
        for s in srcs:
            s.close()
    out /= 10000.0
    return out, {"crs": crs, "transform": transform, "height": height, "width": width}
