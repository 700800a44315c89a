"""Component names: TerraTorch's registry prefixes to geo's qualified ids, checked against the registries."""

from __future__ import annotations

from typing import Any

from geo_plugin_migrate._report import MigrationReport

__all__ = ["component", "builder_of"]

#: TerraTorch registry prefixes -> geo sources (TerraTorch joins them with '_').
_PREFIXES: dict[str, str | None] = {
    "timm": "timm",
    "smp": "smp",
    "mmseg": "mmseg",
    "torchgeo": "torchgeo",
    "terratorch": None,
}


def _resolves(name: str, kind: str) -> bool:
    from geo_core import REGISTRIES, GeoError

    try:
        REGISTRIES[kind].resolve(name)
    except GeoError:
        return False
    return True


def component(name: str, kind: str, report: MigrationReport, where: str) -> str:
    """Map a TerraTorch component name to the geo name that resolves.

    Names geo registers under TerraTorch's spelling (``prithvi_eo_v2_300``,
    ``terramind_v1_base``, ``UperNetDecoder``) pass through unchanged; TerraTorch's
    source prefixes (``timm_resnet50``, ``smp_Unet``, ``terratorch_...``) become
    qualified ids when the plain name is not registered itself.
    """
    if ":" in name or _resolves(name, kind):
        if ":" in name and not _resolves(name, kind):
            _missing(name, kind, report, where)
        return name
    head, sep, tail = name.partition("_")
    new = name
    if sep and head in _PREFIXES:
        src = _PREFIXES[head]
        new = tail if src is None else f"{src}:{tail}"
    if new != name and _resolves(new, kind):
        report.change(where, name, new)
        return new
    _missing(new if new != name else name, kind, report, where)
    if new != name:
        report.change(where, name, new)
    return new


def _missing(name: str, kind: str, report: MigrationReport, where: str) -> None:
    from geo_core import REGISTRIES, GeoError

    try:
        REGISTRIES[kind].resolve(name)
    except GeoError as exc:
        report.not_mapped(where, f"{kind} {name!r} is not available here", str(exc).strip().splitlines()[0])


def builder_of(kind: str, name: Any) -> Any:
    """The registered builder of ``name`` (imports its module), or None when it does not resolve."""
    if not isinstance(name, str):
        return None
    from geo_core import REGISTRIES, GeoError

    try:
        return REGISTRIES[kind].get(name)
    except GeoError:
        return None


def metadata_of(kind: str, name: Any) -> dict[str, Any]:
    """Manifest metadata of ``name`` (no import), empty when unknown."""
    if not isinstance(name, str):
        return {}
    from geo_core import REGISTRIES, GeoError

    try:
        return dict(REGISTRIES[kind].info(name).metadata)
    except GeoError:
        return {}
