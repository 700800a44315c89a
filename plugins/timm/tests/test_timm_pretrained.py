"""``pretrained=True`` fetches timm's released file (from its pretrained_cfg) through geo_core.weights."""

from __future__ import annotations

from pathlib import Path

import geo_core
import pytest
import torch
from geo_core import CheckpointError, WeightsOfflineError
from geo_core.testing import WeightServer, checkpoint_bytes

NAME = "test_resnet"  # timm's own tiny test model; its pretrained_cfg points at timm/test_resnet.r160_in1k


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with WeightServer() as srv:
        srv.use(monkeypatch, tmp_path)
        yield srv


def _released_state(seed: int = 0) -> dict[str, torch.Tensor]:
    import timm

    torch.manual_seed(seed)
    return timm.create_model(NAME, pretrained=False).state_dict()


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    shared = [k for k in a if k in b]
    assert len(shared) > 10
    for k in shared:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_resolves_timm_pretrained_cfg() -> None:
    from geo_plugin_timm._weights import weight_refs

    refs = weight_refs(NAME)
    assert [r.filename for r in refs] == ["model.safetensors", "pytorch_model.bin"]
    assert refs[0].hf_repo == "timm/test_resnet.r160_in1k"
    meta = geo_core.BACKBONES.info(f"timm:{NAME}").metadata
    assert meta["weights_resolver"] == "geo_plugin_timm._weights:weight_refs"


def test_pretrained_true_downloads_safetensors_and_timm_loads_them(server: WeightServer) -> None:
    from safetensors.torch import save

    sd = _released_state()
    server.add_hf_file("timm/test_resnet.r160_in1k", "model.safetensors", save(sd))
    bb = geo_core.BACKBONES.build(f"timm:{NAME}", pretrained=True)
    _same({k.removeprefix("model."): v for k, v in bb.state_dict().items()}, sd)
    assert server.count("GET", "model.safetensors") == 1


def test_falls_back_to_pytorch_model_bin_and_adapts_in_chans(server: WeightServer) -> None:
    sd = _released_state(seed=1)
    server.add_hf_file("timm/test_resnet.r160_in1k", "pytorch_model.bin", checkpoint_bytes(sd))
    bb = geo_core.BACKBONES.build(f"timm:{NAME}", pretrained=True, in_chans=4)
    got = {k.removeprefix("model."): v for k, v in bb.state_dict().items()}
    stem = next(k for k, v in sd.items() if v.ndim == 4)
    assert got[stem].shape[1] == 4  # timm's in_chans adaptation ran on our file
    _same({k: v for k, v in got.items() if k != stem}, sd)


def test_offline_miss_and_no_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("GEO_OFFLINE", "1")
    with pytest.raises(WeightsOfflineError, match="geo weights download timm:test_resnet"):
        geo_core.BACKBONES.build(f"timm:{NAME}", pretrained=True)
    from geo_plugin_timm._weights import fetch_timm_weights

    monkeypatch.setattr("geo_plugin_timm._weights.weight_refs", lambda name: [])
    with pytest.raises(CheckpointError, match="no released weights"):
        fetch_timm_weights(NAME)
