"""Test-only plugins: the fixture distributions under tests/fixtures/ exist for the test run alone.

They are deliberately odd (a broken plugin, one for an incompatible hook spec, a third-party one
with a CLI command), so ``scripts/setup_env.sh`` no longer installs them into the development
environment a newcomer uses. Instead this file makes them discoverable for the test session:
it writes their ``*.dist-info`` (metadata and entry points, from each fixture's pyproject.toml)
into a temporary folder and puts that folder and the fixtures' ``src`` folders on ``sys.path``
and on ``PYTHONPATH`` (for the CLI subprocesses the tests start). Fixtures already installed
(an older environment) are left as they are.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "tests" / "fixtures"


def _write_dist_info(root: Path, pyproject: Path) -> None:
    project = tomllib.loads(pyproject.read_text())["project"]
    info = root / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
        f"Summary: {project.get('description', '')}\n"
    )
    lines = []
    for group, eps in project.get("entry-points", {}).items():
        lines += [f"[{group}]", *(f"{k} = {v}" for k, v in eps.items()), ""]
    (info / "entry_points.txt").write_text("\n".join(lines))


def _provide_fixture_plugins() -> None:
    missing = []
    for pyproject in sorted(FIXTURES.glob("*/pyproject.toml")):
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(pyproject)
    if not missing:
        return
    root = Path(tempfile.mkdtemp(prefix="geo-test-fixtures-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    paths = [str(root)]
    for pyproject in missing:
        _write_dist_info(root, pyproject)
        paths.append(str(pyproject.parent / "src"))
    sys.path[:0] = paths
    os.environ["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [os.environ.get("PYTHONPATH")])])
    if "geo_core._plugins" in sys.modules:  # discovery ran before the fixtures were visible
        from geo_core._plugins import reset_plugins

        reset_plugins()


_provide_fixture_plugins()
