"""Plugin metadata, torch-free listing, and a missing or incompatible mmseg stack shown as broken."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import geo_core
import pytest
from geo_core._plugins import plugin_index
from geo_core.testing import check_plugin_metadata
from geo_plugin_mmseg._env import COMPILED_HEADS, INSTALL, LITE_HEADS


def test_plugin_metadata() -> None:
    found = check_plugin_metadata("mmseg")
    assert sorted(found["decoder"]) == sorted(f"mmseg:{h}" for h in LITE_HEADS + COMPILED_HEADS)


def test_manifest_install_line_is_the_documented_one() -> None:
    rec = plugin_index().plugins["mmseg"]
    assert rec.manifest["plugin"]["install"] == INSTALL
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert INSTALL in readme
    for head in LITE_HEADS + COMPILED_HEADS:
        assert f"`mmseg:{head}`" in readme


def test_package_and_hooks_stay_torch_free() -> None:
    code = (
        "import sys, geo_core, geo_plugin_mmseg, geo_plugin_mmseg._hooks\n"
        "geo_core.DECODERS.info('mmseg:UPerHead'); geo_plugin_mmseg._hooks.geo_doctor()\n"
        "heavy = {'torch', 'mmseg', 'mmcv', 'mmengine'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.fixture
def rediscover(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Rediscover plugins under the test's monkeypatches; forget them afterwards."""
    monkeypatch.delitem(sys.modules, "geo_plugin_mmseg._hooks", raising=False)  # its import runs the mmcv check
    geo_core.reset_plugins()
    yield monkeypatch
    geo_core.reset_plugins()


def _fake_versions(monkeypatch: pytest.MonkeyPatch, **versions: str) -> None:
    real = md.version

    def version(name: str) -> str:
        return versions.get(name.replace("-", "_"), None) or real(name)

    monkeypatch.setattr(md, "version", version)


@pytest.mark.parametrize(
    ("versions", "reason"),
    [
        ({"mmsegmentation": "1.3.0"}, "mmsegmentation 1.3.0 is installed but ==1.2.2 is required"),
        ({"mmcv_lite": "2.2.0"}, "mmcv-lite 2.2.0 is installed but mmsegmentation 1.2.2 needs mmcv>=2.0.0rc4,<2.2.0"),
    ],
)
def test_incompatible_stack_marks_only_this_plugin_broken(
    rediscover: pytest.MonkeyPatch, versions: dict[str, str], reason: str
) -> None:
    _fake_versions(rediscover, **versions)
    rec = plugin_index().plugins["mmseg"]
    assert rec.status == "broken"
    assert reason in rec.reason and INSTALL in rec.reason
    assert "mmseg:UPerHead" not in geo_core.DECODERS
    assert "core:UNetDecoder" in geo_core.DECODERS  # the rest of geo keeps working
    with pytest.raises(geo_core.PluginLoadError, match="install with") as info:
        geo_core.DECODERS.get("mmseg:UPerHead")
    assert INSTALL in str(info.value)


def test_geo_plugins_list_shows_the_install_line(tmp_path: Path) -> None:
    # A distribution found earlier on sys.path wins the metadata lookup: mmseg "1.3.0".
    dist = tmp_path / "mmsegmentation-1.3.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mmsegmentation\nVersion: 1.3.0\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    geo = Path(sys.executable).with_name("geo")
    out = subprocess.run(
        [str(geo), "plugins", "list", "--json"], env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    rows = {row["plugin"]: row for row in json.loads(out)}
    assert rows["mmseg"]["status"] == "broken"
    assert INSTALL in rows["mmseg"]["reason"]
    assert rows["core"]["status"] == "ok"
