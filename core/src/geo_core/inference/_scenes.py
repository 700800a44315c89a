"""Scene sources of ``geo predict`` / ``geo embed``: a file, a folder, a glob, a text list or a STAC document.

Every source becomes a sorted list of :class:`Scene` with unique ids; the id names the outputs
(``<id>_pred.tif``) and the ledger records, so it must be stable between runs.
"""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo_core._errors import InputDataError

__all__ = ["Scene", "list_scenes", "list_all_scenes", "gdal_path"]

_RASTER_SUFFIXES = (".tif", ".tiff")
_LIST_SUFFIXES = (".txt", ".lst")
_STAC_SUFFIXES = (".json", ".geojson")


@dataclass
class Scene:
    """One unit of work.

    Attributes:
        id: Stable name (file stem, or STAC item id) used for outputs and the ledger.
        path: What rasterio opens: a local path, a ``/vsicurl/`` URL, or a VRT stacking a STAC
            item's band assets.
        source: Where the scene came from (file, URL or STAC item href), for messages and STAC links.
        item: The STAC item (a dict) when the scene came from STAC.
        assets: Band name -> asset href, for STAC scenes.
    """

    id: str
    path: str
    source: str
    item: dict[str, Any] | None = None
    assets: dict[str, str] = field(default_factory=dict)


def gdal_path(href: str) -> str:
    """A local path as is; an ``http(s)://`` URL as ``/vsicurl/URL`` (read window by window, never whole)."""
    if href.startswith(("http://", "https://")):
        return f"/vsicurl/{href}"
    if href.startswith("file://"):
        return href[len("file://") :]
    return href


def _file_scene(p: str | Path) -> Scene:
    s = str(p)
    name = s.rsplit("/", 1)[-1].split("?", 1)[0]
    return Scene(id=Path(name).stem, path=gdal_path(s), source=s)


def _is_stac(p: Path) -> bool:
    if p.suffix.lower() not in _STAC_SUFFIXES:
        return False
    try:
        with open(p, encoding="utf-8") as fh:
            head = json.load(fh)
    except (OSError, ValueError) as exc:
        raise InputDataError(f"cannot read it as JSON ({exc})", path=p) from exc
    return isinstance(head, dict) and ("stac_version" in head or head.get("type") in ("FeatureCollection", "Feature"))


def _list_file(p: Path) -> list[Scene]:
    out = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("http://", "https://", "/vsi")):
            out.append(_file_scene(line))
            continue
        f = Path(line) if Path(line).is_absolute() else p.parent / line
        if not f.exists():
            raise InputDataError(
                f"line {n} names {line!r}, which does not exist (relative paths are read from the list's folder)",
                path=p,
            )
        out.append(_file_scene(f))
    return out


def list_scenes(spec: str | Path) -> list[Scene]:
    """The scenes of one input spec.

    Args:
        spec: A GeoTIFF; a folder (its ``*.tif``/``*.tiff``); a glob pattern; a text file (``.txt``,
            ``.lst``: one path or URL per line, ``#`` comments); a STAC ItemCollection, Item,
            Catalog or Collection (``.json``/``.geojson``, local or an http(s) URL); or an
            http(s) URL of a GeoTIFF.

    Raises:
        InputDataError: Nothing matches, a listed file is missing, or two scenes share an id.
    """
    s = str(spec)
    if s.startswith(("http://", "https://")):
        if s.split("?", 1)[0].lower().endswith(_STAC_SUFFIXES):
            from geo_core.inference._stac_in import stac_scenes

            remote: list[Scene] = stac_scenes(s)
            return remote
        return [_file_scene(s)]
    p = Path(spec)
    if p.is_dir():
        scenes = [_file_scene(f) for f in sorted(p.iterdir()) if f.suffix.lower() in _RASTER_SUFFIXES]
    elif any(ch in s for ch in "*?["):
        scenes = [_file_scene(f) for f in sorted(glob.glob(s))]
    elif not p.exists():
        raise InputDataError("input file does not exist", path=p)
    elif p.suffix.lower() in _LIST_SUFFIXES:
        scenes = _list_file(p)
    elif _is_stac(p):
        from geo_core.inference._stac_in import stac_scenes

        scenes = stac_scenes(str(p))
    else:
        scenes = [_file_scene(p)]
    if not scenes:
        raise InputDataError("no GeoTIFF (*.tif, *.tiff) found", path=spec)
    return scenes


def list_all_scenes(inputs: str | Path | list[str | Path]) -> list[Scene]:
    """:func:`list_scenes` over one spec or several, in order; ids must be unique."""
    scenes: list[Scene] = []
    for spec in inputs if isinstance(inputs, list) else [inputs]:
        scenes += list_scenes(spec)
    seen: dict[str, Scene] = {}
    for sc in scenes:
        if sc.id in seen:
            raise InputDataError(
                f"two scenes are named {sc.id!r} ({seen[sc.id].source} and {sc.source}); their "
                "outputs would collide: rename one or predict them into separate folders",
                path=sc.source,
            )
        seen[sc.id] = sc
    return scenes
