"""Between georeferenced polygons and pixel-space boxes; detections out as GeoJSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geo_core._atomic import atomic_open

__all__ = ["geometries_to_pixel_boxes", "detections_to_geojson", "write_geojson"]


def _coords(geom: Mapping[str, Any]) -> np.ndarray:
    t = geom.get("type")
    c: Any = geom.get("coordinates")
    if c is None:
        raise ValueError(f"geometry of type {t!r} has no coordinates")
    if t == "Point":
        return np.asarray([c], dtype=float)
    if t in ("LineString", "MultiPoint"):
        return np.asarray(c, dtype=float)
    if t == "Polygon":
        return np.concatenate([np.asarray(r, dtype=float) for r in c])
    if t == "MultiPolygon":
        return np.concatenate([np.asarray(r, dtype=float) for poly in c for r in poly])
    raise ValueError(f"unsupported geometry type {t!r} (Polygon, MultiPolygon, LineString, Point)")


def geometries_to_pixel_boxes(
    geometries: Sequence[Mapping[str, Any]], transform: Any, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-space ``xyxy`` boxes of geometries given in the raster's CRS.

    Boxes are clipped to the image; geometries falling outside it or collapsing
    to zero area are dropped. Returns ``(boxes (N, 4) float32, kept indices (N,))``.
    """
    inv = ~transform
    boxes, kept = [], []
    for i, g in enumerate(geometries):
        xy = _coords(g)
        cols, rows = inv * (xy[:, 0], xy[:, 1])
        x0, x1 = np.clip([np.min(cols), np.max(cols)], 0, width)
        y0, y1 = np.clip([np.min(rows), np.max(rows)], 0, height)
        if x1 - x0 >= 1 and y1 - y0 >= 1:
            boxes.append([x0, y0, x1, y1])
            kept.append(i)
    return np.asarray(boxes, dtype="float32").reshape(-1, 4), np.asarray(kept, dtype="int64")


def detections_to_geojson(
    boxes: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    transform: Any | None,
    crs: Any | None,
    class_names: Sequence[str] | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of box polygons in the image's CRS (pixel coordinates without one)."""
    features = []
    for (x0, y0, x1, y1), lab, score in zip(boxes.tolist(), labels.tolist(), scores.tolist(), strict=True):
        ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        if transform is not None:
            ring = [tuple(transform * (c, r)) for c, r in ring]
        props: dict[str, Any] = {
            "label": int(lab),
            "score": float(score),
            "pixel_box": [float(x0), float(y0), float(x1), float(y1)],
        }
        if class_names and 0 <= int(lab) < len(class_names):
            props["class_name"] = class_names[int(lab)]
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
            }
        )
    out: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        out["crs"] = {"type": "name", "properties": {"name": crs.to_string() if hasattr(crs, "to_string") else crs}}
    if source:
        out["source"] = source
    return out


def write_geojson(path: str | Path, collection: Mapping[str, Any]) -> Path:
    """Write a GeoJSON file atomically."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        json.dump(collection, fh)
    return Path(path)
