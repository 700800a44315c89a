"""GeoJSON helpers of geo_core.data: georeferenced geometries to pixel boxes and detections back."""

from __future__ import annotations

import numpy as np
import rasterio
from geo_core.data import detections_to_geojson, geometries_to_pixel_boxes

ORIGIN = (500000.0, 4200000.0)
RES = 30.0


def test_geometries_to_pixel_boxes_and_back():
    from rasterio.transform import from_origin

    t = from_origin(*ORIGIN, RES, RES)
    geom = {
        "type": "Polygon",
        "coordinates": [
            [
                [ORIGIN[0] + 300, ORIGIN[1] - 150],
                [ORIGIN[0] + 600, ORIGIN[1] - 150],
                [ORIGIN[0] + 600, ORIGIN[1] - 450],
                [ORIGIN[0] + 300, ORIGIN[1] - 150],
            ]
        ],
    }
    outside = {"type": "Point", "coordinates": [ORIGIN[0] - 1000, ORIGIN[1] + 1000]}
    boxes, kept = geometries_to_pixel_boxes([outside, geom], t, 64, 64)
    assert kept.tolist() == [1]
    assert boxes.tolist() == [[10.0, 5.0, 20.0, 15.0]]
    fc = detections_to_geojson(
        boxes, np.array([1]), np.array([0.9]), t, rasterio.crs.CRS.from_epsg(32616), ["background", "square"]
    )
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == [ORIGIN[0] + 300, ORIGIN[1] - 150]
    assert fc["features"][0]["properties"]["class_name"] == "square"
    assert fc["crs"]["properties"]["name"] == "EPSG:32616"
