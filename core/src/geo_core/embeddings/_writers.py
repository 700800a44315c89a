"""Per-input embedding files, written atomically (a rerun skips complete ones).

* GeoTIFF: a ``(D, h, w)`` grid, one band per channel, georeferenced on the input's
  footprint (pixel size scaled by the input/grid ratio).
* GeoParquet: one row per input with ``filename``, the footprint polygon (WKB,
  GeoParquet 1.0 metadata with the input's CRS) and the ``embedding`` vector.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from geo_core._atomic import atomic_path

__all__ = ["output_path_for", "is_complete", "source_georef", "write_embedding_geotiff", "write_embedding_parquet"]

_SUFFIX = {"tiff": ".tif", "parquet": ".parquet"}


def output_path_for(output_dir: str | Path, filename: str, fmt: str) -> Path:
    """The embedding file of input ``filename`` (its stem plus ``_embedding``)."""
    return Path(output_dir) / f"{Path(str(filename)).stem}_embedding{_SUFFIX[fmt]}"


def is_complete(path: Path) -> bool:
    """A file that exists and opens (atomic writes make partial files impossible under the final name)."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.read_metadata(path)
        else:
            import rasterio

            with rasterio.open(path):
                pass
    except Exception:
        return False
    return True


def source_georef(filename: str) -> dict[str, Any]:
    """CRS, transform and size of a georeferenced input; empty for PNG/NumPy or missing files."""
    path = Path(str(filename))
    if not path.is_file() or path.suffix.lower() == ".npy":
        return {}
    import rasterio

    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                return {}
            return {
                "crs": src.crs,
                "transform": src.transform,
                "width": src.width,
                "height": src.height,
                "bounds": tuple(src.bounds),
            }
    except rasterio.errors.RasterioIOError:
        return {}


def write_embedding_geotiff(path: Path, grid: np.ndarray, georef: dict[str, Any]) -> Path:
    """Write a ``(D, h, w)`` float32 grid; the transform covers the input's footprint."""
    import rasterio
    from rasterio.transform import Affine

    d, h, w = grid.shape
    profile: dict[str, Any] = {"driver": "GTiff", "height": h, "width": w, "count": d, "dtype": "float32"}
    if georef:
        t = georef["transform"]
        sx, sy = georef["width"] / w, georef["height"] / h
        profile.update(crs=georef["crs"], transform=t * Affine.scale(sx, sy))
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(grid.astype("float32"))
        for i in range(d):
            dst.set_band_description(i + 1, f"emb_{i}")
    return path


def _wkb_polygon(bounds: tuple[float, float, float, float]) -> bytes:
    left, bottom, right, top = bounds
    ring = [(left, bottom), (right, bottom), (right, top), (left, top), (left, bottom)]
    out = struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(ring))
    for x, y in ring:
        out += struct.pack("<dd", x, y)
    return out


# ``pa.array`` imports pandas (0.7 s) to test whether its argument is a pandas object; arrays
# built from their buffers hold the same values and write the same file.
def _one_value(dtype: Any, value: bytes) -> Any:
    """A one-row pyarrow string/binary array."""
    import pyarrow as pa

    offsets = np.array([0, len(value)], dtype=np.int32)
    return pa.Array.from_buffers(dtype, 1, [None, pa.py_buffer(offsets), pa.py_buffer(value)])


def _one_vector(vector: np.ndarray) -> Any:
    """A one-row ``list<float32>`` pyarrow array."""
    import pyarrow as pa

    if vector.ndim != 1:
        raise ValueError(f"a GeoParquet embedding is one vector per row, got shape {vector.shape}; pool it")
    flat = np.ascontiguousarray(vector, dtype=np.float32)
    values = pa.Array.from_buffers(pa.float32(), len(flat), [None, pa.py_buffer(flat)])
    offsets = np.array([0, len(flat)], dtype=np.int32)
    return pa.ListArray.from_arrays(pa.Array.from_buffers(pa.int32(), 2, [None, pa.py_buffer(offsets)]), values)


def write_embedding_parquet(
    path: Path, filename: str, vector: np.ndarray, georef: dict[str, Any], item_id: str | None = None
) -> Path:
    """Write one GeoParquet row: filename, footprint geometry (WKB) and the embedding vector.

    ``item_id`` (the scene id; a STAC item's id) adds an ``item_id`` column.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, Any] = {
        **({"item_id": _one_value(pa.string(), str(item_id).encode())} if item_id is not None else {}),
        "filename": _one_value(pa.string(), str(filename).encode()),
        "embedding": _one_vector(vector),
    }
    metadata: dict[bytes, bytes] = {}
    if georef:
        columns["geometry"] = _one_value(pa.binary(), _wkb_polygon(georef["bounds"]))
        crs = georef["crs"]
        try:
            from pyproj import CRS

            crs_json: Any = CRS.from_user_input(crs.to_wkt()).to_json_dict()
        except ImportError:  # pyproj is optional: fall back to the WKT string's authority code
            crs_json = crs.to_string()
        geo = {
            "version": "1.0.0",
            "primary_column": "geometry",
            "columns": {
                "geometry": {
                    "encoding": "WKB",
                    "geometry_types": ["Polygon"],
                    "crs": crs_json,
                    "bbox": list(georef["bounds"]),
                }
            },
        }
        metadata[b"geo"] = json.dumps(geo).encode()
    table = pa.table(columns)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path
