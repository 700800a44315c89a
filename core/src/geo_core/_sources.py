"""Torch-free value types that plugins hand to the registry."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Kind", "ComponentSource", "ComponentInfo", "DoctorCheck"]

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

    kind: Kind
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

    @classmethod
    def index_matches(cls, package: str, indexed: str, install: str, regenerate: str) -> DoctorCheck:
        """Whether a name index shipped with a plugin was generated for the installed ``package``.

        Args:
            package: Distribution the index lists (``timm``).
            indexed: Its version recorded in the index.
            install: What to run when it is not installed at all.
            regenerate: The command that rebuilds the index for the installed version.
        """
        import importlib.metadata as md

        try:
            installed = md.version(package)
        except md.PackageNotFoundError:
            return cls(f"{package} installed", ok=False, detail=install)
        detail = f"index built for {package} {indexed}, installed {installed}"
        if installed != indexed:
            detail += f"; regenerate with: {regenerate}"
        return cls(f"{package} index matches installed {package}", ok=installed == indexed, detail=detail)
