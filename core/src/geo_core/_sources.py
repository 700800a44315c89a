"""Torch-free value types that plugins hand to the registry."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ComponentSource", "ComponentInfo", "DoctorCheck"]

Kind = Literal["backbone", "decoder", "neck", "model", "model_factory", "task", "datamodule", "loss"]


@dataclass(frozen=True)
class ComponentSource:
    """A dynamic catalogue of components, returned by ``geo_component_sources``.

    Attributes:
        kind: Registry kind the names belong to.
        source: The source prefix of the qualified ids (``timm`` for ``timm:resnet18``).
        names: The listable names, or a zero-argument callable returning them
            (called lazily, must not import torch).
        builder: ``"module:function"`` called as ``function(name, *args, **kwargs)``.
        metadata: Per-name metadata, a mapping or a callable ``name -> dict``.
        accepts: Optional predicate for open-ended names that are buildable but not
            listed (for example ``tu-<timm name>``).
        summary: One line shown by ``geo info``.
    """

    kind: str
    source: str
    names: Iterable[str] | Callable[[], Iterable[str]]
    builder: str
    metadata: Mapping[str, Mapping[str, Any]] | Callable[[str], Mapping[str, Any]] | None = None
    accepts: Callable[[str], bool] | None = None
    summary: str = ""

    def list_names(self) -> list[str]:
        """Return the listable names."""
        names = self.names() if callable(self.names) else self.names
        return list(names)

    def metadata_for(self, name: str) -> dict[str, Any]:
        """Return the metadata of ``name`` (empty when unknown)."""
        if self.metadata is None:
            return {}
        if callable(self.metadata):
            return dict(self.metadata(name) or {})
        return dict(self.metadata.get(name, {}))


@dataclass(frozen=True)
class ComponentInfo:
    """What ``Registry.info`` returns: everything known about a component without importing it."""

    id: str
    name: str
    source: str
    kind: str
    target: str
    distribution: str | None
    version: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    alternatives: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "target": self.target,
            "distribution": self.distribution,
            "version": self.version,
            "metadata": self.metadata,
            "alternatives": list(self.alternatives),
        }


@dataclass(frozen=True)
class DoctorCheck:
    """One result of a plugin self-check (``geo_doctor``)."""

    name: str
    ok: bool
    detail: str = ""
