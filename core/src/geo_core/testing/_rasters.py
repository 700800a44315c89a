"""Seeded synthetic GeoTIFFs for tests (tiny, with a real CRS and transform)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_geotiff", "make_segmentation_folder"]


def write_geotiff(
    path: str | Path,
    data: np.ndarray | None = None,
    *,
    bands: int = 6,
    height: int = 32,
    width: int = 32,
    dtype: str = "float32",
    crs: str = "EPSG:32616",
    origin: tuple[float, float] = (500000.0, 4200000.0),
    resolution: float = 30.0,
    nodata: float | None = None,
    compress: str | None = None,
    tiled: bool = False,
    seed: int = 0,
    band_descriptions: Sequence[str] | None = None,
) -> Path:
    """Write a GeoTIFF and return its path.

    Args:
        path: Output file.
        data: ``(bands, H, W)`` or ``(H, W)`` array; random (seeded) when None.
        bands: Band count of the random data.
        height: Rows of the random data.
        width: Columns of the random data.
        dtype: Numpy dtype name of the file.
        crs: Coordinate reference system.
        origin: Upper-left corner (x, y) in CRS units.
        resolution: Pixel size in CRS units.
        nodata: Nodata value recorded in the file.
        compress: GDAL compression (``deflate``, ``lzw``) or None.
        tiled: Write a tiled GeoTIFF (256 x 256 blocks).
        seed: Seed of the random data.
        band_descriptions: Optional band names stored as descriptions.
    """
    import rasterio
    from rasterio.transform import Affine

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        rng = np.random.default_rng(seed)
        if np.issubdtype(np.dtype(dtype), np.integer):
            data = rng.integers(0, 255, size=(bands, height, width)).astype(dtype)
        else:
            data = rng.random((bands, height, width), dtype=np.float32).astype(dtype)
    if data.ndim == 2:
        data = data[None]
    count, h, w = data.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": h,
        "width": w,
        "count": count,
        "dtype": str(data.dtype),
        "crs": crs,
        "transform": Affine(resolution, 0.0, origin[0], 0.0, -resolution, origin[1]),
    }
    if nodata is not None:
        profile["nodata"] = nodata
    if compress:
        profile["compress"] = compress
    if tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if band_descriptions:
            for i, d in enumerate(band_descriptions, start=1):
                dst.set_band_description(i, d)
    return path


def make_segmentation_folder(
    root: str | Path,
    n: int = 8,
    *,
    bands: int = 6,
    size: int = 32,
    num_classes: int = 2,
    image_suffix: str = "_img.tif",
    label_suffix: str = "_mask.tif",
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write ``n`` image/mask pairs whose mask is learnable from the image.

    The mask is class ``k`` where band 0 falls in the k-th quantile bin, so a
    model can actually fit it. Returns ``(image_dir, label_dir)``.
    """
    root = Path(root)
    img_dir, lbl_dir = root / "images", root / "labels"
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = rng.random((bands, size, size), dtype=np.float32)
        edges = np.linspace(0, 1, num_classes + 1)[1:-1]
        mask = np.digitize(img[0], edges).astype("uint8")
        write_geotiff(img_dir / f"tile{i:03d}{image_suffix}", img, origin=(500000.0 + 30 * size * i, 4200000.0))
        write_geotiff(lbl_dir / f"tile{i:03d}{label_suffix}", mask, origin=(500000.0 + 30 * size * i, 4200000.0))
    return img_dir, lbl_dir
