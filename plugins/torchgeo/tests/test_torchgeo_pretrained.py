"""``pretrained=True`` without a local file fetches the weights enum's URL through geo_core.weights."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geo_core
import pytest
import torch
from geo_core import WeightsError, WeightsOfflineError
from geo_core.testing import WeightServer, checkpoint_bytes
from geo_plugin_torchgeo._index import load_index

# torchgeo.models imports kornia/timm modules that emit deprecation warnings on import.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NAME = "ResNet18_Weights.SENTINEL2_ALL_MOCO"


def _state() -> dict[str, torch.Tensor]:
    import torchgeo.models as tgm

    torch.manual_seed(2)
    return tgm.resnet18(weights=None, in_chans=13).state_dict()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with WeightServer() as srv:
        srv.use(monkeypatch, tmp_path)
        monkeypatch.setenv("GEO_WEIGHTS_MIRROR", f"https://hf.co/={srv.url}/")  # the release host, served here
        yield srv


def test_metadata_declares_url_and_hash_prefix() -> None:
    meta = geo_core.BACKBONES.info(f"torchgeo:{NAME}").metadata
    assert meta["weights"]["url"] == meta["url"] and meta["file"].endswith(f"-{meta['weights']['sha256']}.pth")


def test_pretrained_downloads_checks_hash_and_loads(server: WeightServer, monkeypatch: pytest.MonkeyPatch) -> None:
    state = _state()
    data = checkpoint_bytes(state)
    entry = dict(load_index()["weights"][NAME])
    prefix = hashlib.sha256(data).hexdigest()[:8]
    entry["file"] = f"resnet18_sentinel2_all_moco-{prefix}.pth"
    entry["url"] = f"https://hf.co/torchgeo/r18/resolve/abc/{entry['file']}"
    monkeypatch.setitem(load_index()["weights"], NAME, entry)
    server.add_file(f"torchgeo/r18/resolve/abc/{entry['file']}", data)
    bb = geo_core.BACKBONES.build(f"torchgeo:{NAME}")
    got = bb.state_dict()
    key = next(k for k in got if k.endswith("conv1.weight"))
    assert torch.equal(got[key], state["conv1.weight"])
    monkeypatch.setenv("GEO_OFFLINE", "1")
    geo_core.BACKBONES.build(f"torchgeo:{NAME}")  # from the cache
    assert server.count("GET", entry["file"]) == 1


def test_hash_in_the_file_name_catches_a_wrong_file(server: WeightServer) -> None:
    meta = geo_core.BACKBONES.info(f"torchgeo:{NAME}").metadata
    server.add_file(meta["url"].removeprefix("https://hf.co/"), checkpoint_bytes(_state()))
    with pytest.raises(WeightsError, match=f"SHA-256 mismatch.*expected {meta['weights']['sha256']}"):
        geo_core.BACKBONES.build(f"torchgeo:{NAME}")


def test_offline_miss_names_url_and_cache(tmp_path: Path) -> None:
    with pytest.raises(WeightsOfflineError, match=r"resnet18_sentinel2_all_moco-[0-9a-f]{8}\.pth into .*geo-weights"):
        geo_core.BACKBONES.build(f"torchgeo:{NAME}")
