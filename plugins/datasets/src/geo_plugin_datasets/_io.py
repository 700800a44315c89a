"""Reading rasters: GeoTIFF (any GDAL raster through rasterio), PNG/JPEG and ``.npy``.

Every failure becomes a :class:`geo_core.InputDataError` naming the file and the
reason; nothing here keeps a file handle open between calls, so a dataset that
uses these functions can be forked into DataLoader workers safely.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from geo_core import InputDataError
from geo_core.data import raster_reading

__all__ = ["RasterInfo", "Window", "raster_info", "read_raster"]

#: ``(row_off, col_off, height, width)`` in pixels.
Window = tuple[int, int, int, int]

_NUMPY_SUFFIXES = {".npy"}
_UNGEOREFERENCED = {".png", ".jpg", ".jpeg"}


@dataclass(frozen=True)
class RasterInfo:
    """What a reader needs to know about a file before reading pixels.

    Attributes:
        count: Number of bands.
        height: Rows.
        width: Columns.
        dtype: Numpy dtype name of the first band.
        nodata: The nodata value the file declares, or None.
        descriptions: Band descriptions (names) or None per band.
        crs: The coordinate reference system (WKT), or None when the file has none.
    """

    count: int
    height: int
    width: int
    dtype: str
    nodata: float | None
    descriptions: tuple[str | None, ...]
    crs: str | None = None


def _load_npy(path: Path) -> np.ndarray:
    try:
        arr: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputDataError(f"cannot read this .npy file: {exc}", path) from exc
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputDataError(f".npy arrays must be (bands, H, W) or (H, W); got shape {arr.shape}", path)
    return arr


def _open(path: Path) -> Any:
    import rasterio
    from rasterio.errors import RasterioError

    try:
        if path.suffix.lower() in _UNGEOREFERENCED:
            with warnings.catch_warnings():
                # PNG/JPEG carry no georeferencing; rasterio warns on every open.
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                return rasterio.open(path)
        return rasterio.open(path)
    except (RasterioError, OSError) as exc:
        if not path.exists():
            raise InputDataError("file does not exist", path) from exc
        raise InputDataError(f"cannot open as a raster: {exc}", path) from exc


def raster_info(path: str | Path) -> RasterInfo:
    """Return band count, size, dtype, nodata and band names of a raster file."""
    path = Path(path)
    if path.suffix.lower() in _NUMPY_SUFFIXES:
        arr = _load_npy(path)
        return RasterInfo(arr.shape[0], arr.shape[1], arr.shape[2], str(arr.dtype), None, (None,) * arr.shape[0])
    with _open(path) as src:
        return RasterInfo(
            src.count,
            src.height,
            src.width,
            src.dtypes[0],
            src.nodata,
            tuple(src.descriptions or ()),
            src.crs.to_wkt() if src.crs else None,
        )


def read_raster(
    path: str | Path,
    bands: list[int] | None = None,
    window: Window | None = None,
    *,
    fill_value: float = 0,
) -> tuple[np.ndarray, float | None]:
    """Read ``(C, H, W)`` pixels of ``path``.

    Args:
        path: The file (GeoTIFF or any GDAL raster, PNG/JPEG, ``.npy``).
        bands: 0-based band indices to read, in this order; all bands when None.
        window: ``(row_off, col_off, height, width)``; the whole raster when None.
            Parts outside the raster are filled with ``fill_value``.
        fill_value: Value of pixels outside the raster.

    Returns:
        The array and the nodata value the file declares (or None).

    Raises:
        InputDataError: When the file is missing, unreadable or has too few bands.
    """
    path = Path(path)
    if path.suffix.lower() in _NUMPY_SUFFIXES:
        arr = _load_npy(path)
        _check_bands(path, bands, arr.shape[0])
        if bands is not None:
            arr = arr[bands]
        if window is not None:
            arr = _window_numpy(arr, window, fill_value)
        return np.array(arr), None

    with raster_reading(path):
        return _read_gdal(path, bands, window, fill_value)


def _read_gdal(
    path: Path, bands: list[int] | None, window: Window | None, fill_value: float
) -> tuple[np.ndarray, float | None]:
    from rasterio.errors import RasterioError

    src = _open(path)
    try:
        _check_bands(path, bands, src.count)
        indexes = None if bands is None else [b + 1 for b in bands]
        if window is None:
            data = src.read(indexes)
        else:
            from rasterio.windows import Window as RWindow

            r, c, h, w = window
            r0, c0 = max(r, 0), max(c, 0)
            r1, c1 = min(r + h, src.height), min(c + w, src.width)
            if (r0, c0, r1, c1) == (r, c, r + h, c + w):
                data = src.read(indexes, window=RWindow(c, r, w, h))
            else:  # partly outside: pad with fill_value (in a dtype that can hold it)
                n = src.count if indexes is None else len(indexes)
                dtype = np.result_type(np.dtype(src.dtypes[0]), np.min_scalar_type(fill_value))
                data = np.full((n, h, w), fill_value, dtype=dtype)
                if r1 > r0 and c1 > c0:
                    part = src.read(indexes, window=RWindow(c0, r0, c1 - c0, r1 - r0))
                    data[:, r0 - r : r1 - r, c0 - c : c1 - c] = part
        nodata = src.nodata
    except (RasterioError, OSError) as exc:
        raise InputDataError(f"cannot read pixels (corrupt or truncated file?): {exc}", path) from exc
    finally:
        src.close()
    return data, nodata


def _check_bands(path: Path, bands: list[int] | None, count: int) -> None:
    if bands is not None and bands and max(bands) >= count:
        raise InputDataError(
            f"has {count} band(s) but band index {max(bands)} (0-based) was asked for; "
            "check dataset_bands/output_bands against the file",
            path,
        )


def _window_numpy(arr: np.ndarray, window: Window, fill_value: float) -> np.ndarray:
    r, c, h, w = window
    out = np.full((arr.shape[0], h, w), fill_value, dtype=arr.dtype)
    r0, c0 = max(r, 0), max(c, 0)
    r1, c1 = min(r + h, arr.shape[1]), min(c + w, arr.shape[2])
    if r1 > r0 and c1 > c0:
        out[:, r0 - r : r1 - r, c0 - c : c1 - c] = arr[:, r0:r1, c0:c1]
    return out
