"""The released weights of a registered component: its manifest ``weights`` table or a resolver."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geo_core._errors import ConfigError, GeoError, UnknownComponentError
from geo_core.weights._ref import WeightRef

if TYPE_CHECKING:
    from geo_core._sources import ComponentInfo

__all__ = ["weight_refs_for", "find_component", "WEIGHT_KINDS"]

#: Kinds searched, in order, when a command names a component without its kind.
WEIGHT_KINDS = ("backbone", "model", "model_factory", "decoder", "neck")


def weight_refs_for(info: ComponentInfo | Mapping[str, Any], name: str = "") -> list[WeightRef]:
    """The component's released weights (alternatives in order, for ``fetch_weights``); empty when none.

    A component declares them either as a ``weights`` table in its metadata (a manifest
    ``[<kind>.<name>.weights]`` sub-table) or, for dynamic catalogues whose weight sources live in the
    wrapped library, as ``weights_resolver = "module:function"``: ``function(name)`` returns a
    ``WeightRef``, a mapping or ``None`` (it may import the library).
    """
    meta = info if isinstance(info, Mapping) else info.metadata
    name = name or ("" if isinstance(info, Mapping) else info.name)
    if meta.get("weights"):
        return [WeightRef.from_mapping(meta["weights"])]
    resolver = meta.get("weights_resolver")
    if not resolver:
        return []
    module, _, func = str(resolver).partition(":")
    found = getattr(importlib.import_module(module), func)(name)
    if not found:
        return []
    if isinstance(found, list | tuple):
        return [WeightRef.from_mapping(r) for r in found]
    return [WeightRef.from_mapping(found)]


def find_component(name: str, kind: str | None = None) -> ComponentInfo:
    """Look ``name`` up in ``kind``'s registry, or else in backbones, models, ... (the first that knows it)."""
    from geo_core._registries import REGISTRIES

    kinds = [kind] if kind else list(WEIGHT_KINDS)
    first: GeoError | None = None
    for k in kinds:
        if k not in REGISTRIES:
            raise ConfigError(f"unknown kind {k!r}; choose one of {', '.join(sorted(REGISTRIES))}", key="kind")
        try:
            return REGISTRIES[k].info(name)
        except UnknownComponentError as exc:
            first = first or exc
    assert first is not None
    raise first
