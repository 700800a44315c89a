"""Plugin scaffolding (``geo plugins new``): template files rendered into a new distribution."""

from __future__ import annotations

from geo_core.scaffold._scaffold import SCAFFOLD_KINDS, ScaffoldKind, scaffold_plugin

__all__ = ["SCAFFOLD_KINDS", "ScaffoldKind", "scaffold_plugin"]
