"""`geo plugins new` scaffolds a plugin that installs, is discovered and passes its own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from geo_core.cli._app import app
from geo_core.scaffold import scaffold_plugin
from typer.testing import CliRunner


def _install(root: Path, target: Path) -> dict[str, str]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(root),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_")}
    env["PYTHONPATH"] = str(target) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["backbone", "decoder", "datamodule", "task"])
def test_scaffolded_plugin_installs_and_is_discovered(tmp_path, kind):
    root = scaffold_plugin("acme-geo", kind, tmp_path / "src")
    env = _install(root, tmp_path / "site")
    geo = [sys.executable, "-c", "from geo_core.cli import main; main()"]
    listed = subprocess.run([*geo, "plugins", "list", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    row = {d["plugin"]: d for d in json.loads(listed.stdout)}["acme-geo"]
    assert row["status"] == "ok"
    assert row["components"] == {kind: 1}
    info = subprocess.run(
        [*geo, "info", kind, f"acme-geo:AcmeGeo{kind.capitalize()}", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["distribution"] == "geo-plugin-acme-geo"
    # the scaffold's own tests (geo_core.testing conformance) pass against the installed copy
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_scaffold_refuses_to_overwrite_and_bad_names(tmp_path):
    scaffold_plugin("dup", "backbone", tmp_path)
    with pytest.raises(FileExistsError):
        scaffold_plugin("dup", "backbone", tmp_path)
    with pytest.raises(ValueError, match="valid Python identifier"):
        scaffold_plugin("9lives", "backbone", tmp_path)
    with pytest.raises(ValueError, match="unknown kind"):
        scaffold_plugin("ok", "widget", tmp_path)  # type: ignore[arg-type]


def test_plugins_new_command(tmp_path):
    res = CliRunner().invoke(app, ["plugins", "new", "cli-made", "--kind", "decoder", "--dest", str(tmp_path)])
    assert res.exit_code == 0, res.output
    root = tmp_path / "geo-plugin-cli-made"
    assert (root / "src" / "geo_plugin_cli_made" / "py.typed").exists()
    manifest = (root / "src" / "geo_plugin_cli_made" / "geo-plugin.toml").read_text()
    assert "[decoder.CliMadeDecoder]" in manifest and "includes_head = false" in manifest
    res = CliRunner().invoke(app, ["plugins", "new", "cli-made", "--dest", str(tmp_path)])
    assert res.exit_code == 2 and "already exists" in res.output
