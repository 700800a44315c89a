"""``geo plugins new``: write a ready-to-install plugin distribution from the template files.

The templates (``templates/plugin/**`` and ``templates/components/<kind>.*``) are plain files
with ``$name`` placeholders (:class:`string.Template`); they give every plugin the same skeleton:
``pyproject.toml``, ``README.md``, a torch-free ``__init__`` and ``_hooks.py``, ``geo-plugin.toml``,
the component module, ``tests/conftest.py`` and conformance tests from :mod:`geo_core.testing`.
"""

from __future__ import annotations

import keyword
import re
from importlib import resources
from pathlib import Path
from string import Template
from typing import Literal

__all__ = ["scaffold_plugin", "ScaffoldKind", "SCAFFOLD_KINDS"]

ScaffoldKind = Literal["backbone", "decoder", "datamodule", "task"]
SCAFFOLD_KINDS: tuple[ScaffoldKind, ...] = ("backbone", "decoder", "datamodule", "task")

_GROUPS = {"backbone": "geo.backbones", "decoder": "geo.decoders", "datamodule": "geo.datamodules", "task": "geo.tasks"}
_SUMMARY = {
    "backbone": ("Two-stage CNN backbone.", "out_channels = [16, 32]"),
    "decoder": ("Upsampling convolutional decoder.", "includes_head = false"),
    "datamodule": ("Random in-memory segmentation data.", ""),
    "task": ("Segmentation task on the core defaults.", ""),
}


def _identifier(name: str) -> str:
    pkg = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    if not pkg or pkg[0].isdigit() or keyword.iskeyword(pkg):
        raise ValueError(f"plugin name {name!r} does not make a valid Python identifier; use letters, digits, '-'")
    return pkg


def _template(*parts: str) -> Template:
    return Template(resources.files("geo_core.scaffold").joinpath("templates", *parts).read_text(encoding="utf-8"))


def scaffold_plugin(name: str, kind: ScaffoldKind, dest: Path, component: str | None = None) -> Path:
    """Write a plugin distribution ``geo-plugin-<name>`` under ``dest`` and return its folder.

    Raises:
        ValueError: Bad name or kind.
        FileExistsError: The target folder already exists (nothing is overwritten).
    """
    from geo_core._version import __version__

    if kind not in SCAFFOLD_KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {sorted(SCAFFOLD_KINDS)}")
    ident = _identifier(name)
    source = ident.replace("_", "-")
    dist, pkg = f"geo-plugin-{source}", f"geo_plugin_{ident}"
    component = component or "".join(p.capitalize() for p in ident.split("_")) + kind.capitalize()
    if not component.isidentifier():
        raise ValueError(f"component name {component!r} is not a Python identifier")
    root = Path(dest) / dist
    if root.exists():
        raise FileExistsError(f"{root} already exists; choose another name or folder")
    major, minor, *_ = __version__.split(".")
    summary, extra = _SUMMARY[kind]
    values = {
        "ident": ident,
        "dist": dist,
        "pkg": pkg,
        "name": source,
        "kind": kind,
        "component": component,
        "module": kind,
        "group": _GROUPS[kind],
        "summary": summary,
        "extra": extra,
        "core_version": f"{major}.{minor}",
        "core_next": f"{major}.{int(minor) + 1}",
    }
    body = _template("components", f"{kind}.test.tmpl").substitute(values).rstrip("\n")
    files = {
        root / "pyproject.toml": _template("plugin", "pyproject.toml.tmpl").substitute(values),
        root / "README.md": _template("plugin", "README.md.tmpl").substitute(values),
        root / "src" / pkg / "__init__.py": _template("plugin", "src", "__init__.py.tmpl").substitute(values),
        root / "src" / pkg / "_hooks.py": _template("plugin", "src", "_hooks.py.tmpl").substitute(values),
        root / "src" / pkg / "py.typed": "",
        root / "src" / pkg / "geo-plugin.toml": _template("plugin", "src", "geo-plugin.toml.tmpl").substitute(values),
        root / "src" / pkg / f"_{kind}.py": _template("components", f"{kind}.py.tmpl").substitute(values),
        root / "tests" / "conftest.py": _template("plugin", "tests", "conftest.py.tmpl").substitute(values),
        root / "tests" / f"test_{ident}.py": _template("plugin", "tests", "test_plugin.py.tmpl").substitute(
            values, body=body
        ),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
