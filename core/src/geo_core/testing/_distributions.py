"""Throwaway plugin distributions inside a test, without pip.

``importlib.metadata`` finds a distribution through any ``*.dist-info`` folder on
``sys.path``; writing one (with ``entry_points.txt``) plus its modules under a
temporary folder registers a plugin for the rest of the test.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

__all__ = ["fake_distribution"]


def fake_distribution(
    root: str | Path,
    name: str,
    entry_points: Mapping[str, Mapping[str, str]],
    modules: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
    version: str = "0.1.0",
    activate: bool = True,
) -> Path:
    """Write a distribution ``name`` under ``root`` and (by default) put ``root`` on ``sys.path``.

    Args:
        root: Folder to write into (e.g. pytest's ``tmp_path``).
        name: Distribution name, e.g. ``geo-plugin-demo``.
        entry_points: ``{group: {entry_name: "module:attr"}}``.
        modules: ``{"pkg/mod.py": source}`` files to write (dedented).
        files: Other files, e.g. ``{"pkg/geo-plugin.toml": ...}``.
        version: Distribution version.
        activate: Prepend ``root`` to ``sys.path`` and forget discovered plugins.

    Returns:
        The ``.dist-info`` folder. Call ``geo_core.reset_plugins()`` after removing
        ``root`` from ``sys.path`` (pytest's ``monkeypatch.syspath_prepend`` does the removal).

    Example:
        >>> import tempfile, geo_core
        >>> d = fake_distribution(tempfile.mkdtemp(), "geo-plugin-doc",
        ...     {"geo.backbones": {"docnet": "doc_pkg:Net"}},
        ...     modules={"doc_pkg/__init__.py": "class Net: out_channels = [1]"})
        >>> "doc:docnet" in geo_core.BACKBONES.names()
        True
    """
    root = Path(root)
    safe = name.replace("-", "_")
    info = root / f"{safe}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{k} = {v}" for k, v in eps.items())
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    for rel, text in {**(modules or {}), **(files or {})}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    if activate:
        import importlib

        from geo_core._plugins import reset_plugins

        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        importlib.invalidate_caches()
        reset_plugins()
    return info
