"""Every third-party module a distribution imports is declared in its own pyproject (dependencies or an extra).

Imports are read with :mod:`ast` from each distribution's ``src/`` (nothing is imported); a module maps
to the distributions that provide it through ``importlib.metadata.packages_distributions()``. An import
declared only by another distribution (e.g. torch used by a plugin that lists only geo-core) fails: a
user installing that plugin alone would get an ImportError instead of pip resolving it.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECTS = [
    ROOT / "core" / "pyproject.toml",
    *sorted(ROOT.glob("plugins/*/pyproject.toml")),
    *sorted(ROOT.glob("docs/examples/*/pyproject.toml")),
]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(project: dict[str, object]) -> set[str]:
    reqs = list(project.get("dependencies", []))  # type: ignore[call-overload]
    for extra in dict(project.get("optional-dependencies", {})).values():  # type: ignore[call-overload]
        reqs += extra
    return {_norm(Requirement(r).name) for r in reqs}


def _imported(src: Path) -> dict[str, list[str]]:
    """Top-level third-party module -> files importing it (absolute imports, stdlib and geo's own left out)."""
    found: dict[str, list[str]] = {}
    for path in sorted(src.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "__future__" or top.startswith("geo_"):
                    continue
                found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=lambda p: p.parent.name)
def test_every_import_is_declared(pyproject: Path) -> None:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    declared = _declared(project)
    providers = metadata.packages_distributions()
    problems = []
    for module, files in sorted(_imported(pyproject.parent / "src").items()):
        dists = {_norm(d) for d in providers.get(module, [])}
        if not dists:
            problems.append(f"{module}: no installed distribution provides it (imported in {files[0]})")
        elif not dists & declared:
            problems.append(f"{module}: add {sorted(dists)[0]!r} to [project] dependencies (imported in {files[0]})")
    assert not problems, f"{project['name']} ({pyproject.relative_to(ROOT)}):\n" + "\n".join(problems)
