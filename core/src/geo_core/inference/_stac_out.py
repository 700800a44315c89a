"""STAC out: one Item per predicted scene (``<id>_pred.json``) and a ``catalog.json`` linking them.

Items carry the projection extension (``proj:code``/``proj:wkt2``, ``proj:shape``,
``proj:transform``, ``proj:bbox``), the source item's datetime, a ``derived_from`` link to the
source item and the prediction asset (roles ``data`` plus ``classification`` for class maps,
``overview`` for the quicklook). Every file is written atomically; the catalogue lists the items
present when a rank finishes, so the last rank to finish writes the complete one.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from geo_core._atomic import atomic_open
from geo_core.inference._scenes import Scene

__all__ = ["write_prediction_item", "write_prediction_catalog", "CATALOG_NAME"]

CATALOG_NAME = "catalog.json"
_TIFF = "image/tiff; application=geotiff"


def _datetime(item: dict[str, Any]) -> tuple[dt.datetime | None, dict[str, Any]]:
    import pystac.utils

    props = item.get("properties", {})
    if props.get("datetime"):
        return pystac.utils.str_to_datetime(props["datetime"]), {}
    if props.get("start_datetime") and props.get("end_datetime"):
        return None, {k: props[k] for k in ("start_datetime", "end_datetime")}
    return dt.datetime.now(dt.UTC), {}


def write_prediction_item(scene: Scene, output: Path, kind: str, categorical: bool) -> Path:
    """Write ``<output stem>.json``, the STAC Item of one prediction GeoTIFF, and return its path."""
    import pystac
    import rasterio
    from pystac.extensions.projection import ProjectionExtension
    from rasterio.warp import transform_bounds, transform_geom

    with rasterio.open(output) as ds:
        crs, transform, shape, bounds = ds.crs, ds.transform, [ds.height, ds.width], tuple(ds.bounds)
    left, bottom, right, top = bounds
    poly = {
        "type": "Polygon",
        "coordinates": [[(left, bottom), (right, bottom), (right, top), (left, top), (left, bottom)]],
    }
    geometry = transform_geom(crs, "EPSG:4326", poly) if crs else None
    bbox = list(transform_bounds(crs, "EPSG:4326", *bounds)) if crs else None
    when, extra = _datetime(scene.item or {})
    item = pystac.Item(
        id=scene.id, geometry=geometry, bbox=bbox, datetime=when, properties={**extra, "geo:output_kind": kind}
    )
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    epsg = crs.to_epsg() if crs else None
    if epsg is not None:
        proj.code = f"EPSG:{epsg}"
    elif crs:
        proj.wkt2 = crs.to_wkt()
    proj.shape = shape
    proj.transform = list(transform)[:6]
    proj.bbox = list(bounds)
    roles = ["data", "classification"] if categorical else ["data"]
    item.add_asset(
        "prediction",
        pystac.Asset(href=f"./{output.name}", media_type=_TIFF, roles=roles, title=f"{kind} of {scene.id}"),
    )
    png = output.with_suffix(".png")
    if png.exists():
        item.add_asset("overview", pystac.Asset(href=f"./{png.name}", media_type="image/png", roles=["overview"]))
    item.add_link(
        pystac.Link("derived_from", scene.source, media_type="application/geo+json", title=f"source item {scene.id}")
    )
    d = item.to_dict(include_self_link=False, transform_hrefs=False)
    d["links"] = [
        *d["links"],
        {"rel": "root", "href": f"./{CATALOG_NAME}", "type": "application/json"},
        {"rel": "parent", "href": f"./{CATALOG_NAME}", "type": "application/json"},
    ]
    path = output.with_suffix(".json")
    source = Path(scene.source)
    if (
        not scene.source.startswith(("http://", "https://"))
        and source.exists()
        and path.exists()
        and path.samefile(source)
    ):
        from geo_core._errors import InputDataError

        raise InputDataError(
            f"its prediction's STAC Item would be {path.name} and overwrite it; name the output "
            "differently (e.g. <id>_pred.tif)",
            path=source,
        )
    with atomic_open(path, "w") as fh:
        json.dump(d, fh, indent=1)
    return path


def write_prediction_catalog(folder: Path, title: str = "geo predictions") -> Path:
    """Write ``<folder>/catalog.json`` linking every prediction Item (``*_pred.json``) in the folder."""
    import pystac

    cat = pystac.Catalog(id="geo-predictions", description=title, title=title)
    d = cat.to_dict(include_self_link=False, transform_hrefs=False)
    d["links"] = [{"rel": "root", "href": f"./{CATALOG_NAME}", "type": "application/json"}] + [
        {"rel": "item", "href": f"./{p.name}", "type": "application/geo+json"}
        for p in sorted(folder.glob("*_pred.json"))
    ]
    path = folder / CATALOG_NAME
    with atomic_open(path, "w") as fh:
        json.dump(d, fh, indent=1)
    return path
