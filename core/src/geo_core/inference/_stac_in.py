"""STAC in: items of an ItemCollection, Item, Catalog or Collection become scenes (pystac, imported lazily).

A scene's bands are chosen by name: each of the model's band names (the datamodule's
``output_bands`` / ``dataset_bands``, carried by :class:`~geo_core.data.ScenePreprocessing`) is
looked up among the item's assets through their ``eo:bands``, ``raster:bands`` or STAC 1.1 ``bands``
entries (``name``, ``common_name`` / ``eo:common_name``) and the asset key, exactly first, then
ignoring case, then through the common name of TerraTorch's HLS band names (``NIR_NARROW`` is
``nir08``). The chosen assets are stacked, in model order, into a VRT on the finest asset's grid:
local or remote (``/vsicurl/``) COGs are then read window by window, never downloaded whole.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from geo_core._errors import InputDataError, MissingDependencyError
from geo_core.data._gdal import raster_reading
from geo_core.inference._scenes import Scene, gdal_path

__all__ = ["stac_scenes", "scene_vrt", "HLS_COMMON_NAMES"]

#: TerraTorch's (HLS) band names -> STAC common names.
HLS_COMMON_NAMES = {
    "COASTAL_AEROSOL": "coastal",
    "BLUE": "blue",
    "GREEN": "green",
    "RED": "red",
    "RED_EDGE_1": "rededge071",
    "RED_EDGE_2": "rededge075",
    "RED_EDGE_3": "rededge078",
    "NIR_BROAD": "nir",
    "NIR": "nir",
    "NIR_NARROW": "nir08",
    "WATER_VAPOR": "nir09",
    "CIRRUS": "cirrus",
    "SWIR_1": "swir16",
    "SWIR_2": "swir22",
    "PAN": "pan",
    "THERMAL_INFRARED_1": "lwir11",
    "THERMAL_INFRARED_2": "lwir12",
}
_COMMON_FALLBACK = {"nir08": "nir", "nir": "nir08", "rededge071": "rededge", "swir16": "swir1", "swir22": "swir2"}
_IMAGE_TYPES = ("image/tiff", "application/x-geotiff", "image/vnd.stac.geotiff", "image/jp2")


def _pystac() -> Any:
    try:
        import pystac
    except ImportError as exc:
        raise MissingDependencyError("pystac", "pip install 'geo-core[stac]'", "STAC inputs and outputs") from exc
    return pystac


def _resolve(href: str, base: str) -> str:
    if href.startswith(("http://", "https://", "/", "file://", "s3://", "/vsi")):
        return href
    if base.startswith(("http://", "https://")):
        from urllib.parse import urljoin

        return urljoin(base, href)
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(base)), href))


def _read_json(href: str) -> dict[str, Any]:
    try:
        if href.startswith(("http://", "https://")):
            from urllib.request import urlopen

            with urlopen(href, timeout=60) as resp:
                data = json.loads(resp.read())
        else:
            data = json.loads(Path(href).read_text(encoding="utf-8"))
    except Exception as exc:
        raise InputDataError(f"cannot read STAC JSON ({type(exc).__name__}: {exc})", path=href) from exc
    if not isinstance(data, dict):
        raise InputDataError("is not a STAC object (a JSON object)", path=href)
    return data


def stac_scenes(href: str) -> list[Scene]:
    """The items of a STAC document as scenes, sorted by id (band assets resolved at prediction time)."""
    pystac = _pystac()
    data = _read_json(href)
    kind = data.get("type")
    if kind == "FeatureCollection":
        items = list(pystac.ItemCollection.from_dict(data, preserve_dict=False).items)
    elif kind == "Feature":
        items = [pystac.Item.from_dict(data)]
    elif kind in ("Catalog", "Collection"):
        root = pystac.read_file(href)
        items = list(root.get_items(recursive=True))
    else:
        raise InputDataError(f"is not a STAC ItemCollection, Item, Catalog or Collection (type {kind!r})", path=href)
    scenes = []
    for item in sorted(items, key=lambda i: i.id):
        base = item.get_self_href() or href
        assets = {key: _resolve(a.href, base) for key, a in item.assets.items()}
        d = item.to_dict(include_self_link=False, transform_hrefs=False)
        for key, a in d.get("assets", {}).items():
            a["href"] = assets[key]
        d["_geo_source_href"] = item.get_self_href() or href
        scenes.append(Scene(id=item.id, path="", source=d["_geo_source_href"], item=d, assets=assets))
    if not scenes:
        raise InputDataError("holds no STAC items", path=href)
    return scenes


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _asset_names(key: str, asset: dict[str, Any]) -> list[tuple[list[str], int]]:
    """``(names, band index)`` of each band of an asset, from eo:bands, bands (STAC 1.1), raster:bands."""
    out: list[tuple[list[str], int]] = []
    for field in ("bands", "eo:bands", "raster:bands"):
        for i, b in enumerate(asset.get(field) or []):
            names = [str(b[k]) for k in ("name", "common_name", "eo:common_name") if b.get(k)]
            if names:
                out.append((names, i + 1))
    if not out or len(asset.get("bands") or asset.get("eo:bands") or asset.get("raster:bands") or [None]) == 1:
        out.append(([key], 1))
    return out


def _image_assets(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assets = item.get("assets", {})
    return {
        k: a
        for k, a in assets.items()
        if (
            "data" in (a.get("roles") or [])
            or str(a.get("type", "")).split(";")[0] in _IMAGE_TYPES
            or str(a.get("href", "")).lower().endswith((".tif", ".tiff", ".jp2", ".vrt"))
        )
    }


def match_bands(item: dict[str, Any], wanted: list[str]) -> list[tuple[str, int]]:
    """``(asset href, 1-based band)`` for each wanted band name, in order.

    Raises:
        InputDataError: A band is not found (names the item, the band and the closest names).
    """
    from geo_core.models._routing import suggest

    table: list[tuple[str, str, int]] = []  # (name, href, band)
    for key, a in _image_assets(item).items():
        for names, band in _asset_names(key, a):
            table += [(n, a["href"], band) for n in names]
    out = []
    for w in wanted:
        hits = [(h, b) for n, h, b in table if n == w] or [(h, b) for n, h, b in table if _norm(n) == _norm(w)]
        if not hits:
            common = HLS_COMMON_NAMES.get(w.upper().replace(" ", "_"), "")
            for c in (common, _COMMON_FALLBACK.get(common, "")):
                hits = hits or [(h, b) for n, h, b in table if c and _norm(n) == c]
        if not hits:
            names = sorted({n for n, _, _ in table})
            close = suggest(w, names)
            raise InputDataError(
                f"STAC item {item.get('id')!r} has no asset band named {w!r}"
                + (f"; did you mean {close!r}?" if close else "")
                + f" Its band names: {names}. Name the model's "
                "bands as the item does (the datamodule's output_bands/dataset_bands)",
                path=item.get("_geo_source_href"),
            )
        out.append(hits[0])
    return out


def scene_vrt(scene: Scene, wanted: list[str] | None, folder: str | None = None) -> str:
    """Write a VRT stacking the scene's wanted bands (in order) and return its path.

    Without names (``wanted`` None) the item must have exactly one image asset: it is read as is.
    """
    import rasterio

    assert scene.item is not None
    if wanted is None:
        images = _image_assets(scene.item)
        if len(images) != 1:
            raise InputDataError(
                f"STAC item {scene.id!r} has {len(images)} image assets ({sorted(images)}); name the "
                "model's bands (the datamodule's output_bands or dataset_bands) to choose among "
                "them",
                path=scene.source,
            )
        return gdal_path(next(iter(images.values()))["href"])
    picks = match_bands(scene.item, wanted)
    infos: dict[str, Any] = {}
    for href, _ in picks:
        if href not in infos:
            try:
                path = gdal_path(href)
                with raster_reading(path), rasterio.open(path) as src:
                    infos[href] = (src.crs, src.transform, src.width, src.height, src.nodata, src.bounds)
            except Exception as exc:
                raise InputDataError(
                    f"cannot open asset of STAC item {scene.id!r} ({type(exc).__name__}: {exc})", path=href
                ) from exc
    ref = min(infos.values(), key=lambda v: abs(v[1].a))  # the finest grid
    crs, transform, width, height, nodata, _ = ref
    bands = []
    for i, (href, band) in enumerate(picks, 1):
        c, _, w, h, _, bounds = infos[href]
        if c != crs:
            raise InputDataError(f"STAC item {scene.id!r} mixes CRSs among its band assets ({c} vs {crs})", path=href)
        x0, y0 = ~transform * (bounds.left, bounds.top)
        x1, y1 = ~transform * (bounds.right, bounds.bottom)
        bands.append(
            f'<VRTRasterBand dataType="Float32" band="{i}">'
            + (f"<NoDataValue>{nodata}</NoDataValue>" if nodata is not None else "")
            + f'<ComplexSource resampling="bilinear"><SourceFilename relativeToVRT="0">{escape(gdal_path(href))}'
            f"</SourceFilename><SourceBand>{band}</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
            f'<DstRect xOff="{x0:.6f}" yOff="{y0:.6f}" xSize="{x1 - x0:.6f}" ySize="{y1 - y0:.6f}"/>'
            + (f"<NODATA>{nodata}</NODATA>" if nodata is not None else "")
            + "</ComplexSource></VRTRasterBand>"
        )
    gt = ", ".join(repr(float(v)) for v in transform.to_gdal())
    xml = (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><SRS>{escape(crs.to_wkt())}</SRS>'
        f"<GeoTransform>{gt}</GeoTransform>{''.join(bands)}</VRTDataset>"
    )
    fd, path = tempfile.mkstemp(
        prefix=f"geo-{re.sub(r'[^A-Za-z0-9_.-]', '_', scene.id)[:60]}-", suffix=".vrt", dir=folder
    )
    with os.fdopen(fd, "w") as fh:
        fh.write(xml)
    return path
