"""``pretrained=True`` fetches smp's released encoder weights (smp-hub repos) through geo_core.weights."""

from __future__ import annotations

from pathlib import Path

import geo_core
import pytest
import torch
from geo_core import WeightsOfflineError
from geo_core.testing import WeightServer

ENCODER = "mobilenet_v2"  # a small smp encoder with released imagenet weights


@pytest.fixture
def released(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A local Hub serving random weights in smp-hub's layout (model.safetensors at the pinned revision)."""
    import segmentation_models_pytorch as smp
    from safetensors.torch import save

    settings = smp.encoders.encoders[ENCODER]["pretrained_settings"]["imagenet"]
    torch.manual_seed(0)
    state = smp.encoders.get_encoder(ENCODER, weights=None).state_dict()
    with WeightServer() as srv:
        srv.use(monkeypatch, tmp_path)
        srv.add_hf_file(settings["repo_id"], "model.safetensors", save(state), revision=settings["revision"])
        yield srv, state


def _check(encoder: torch.nn.Module, state: dict[str, torch.Tensor], in_channels: int) -> None:
    got = encoder.state_dict()
    stem = next(k for k, v in state.items() if v.ndim == 4)
    assert got[stem].shape[1] == in_channels
    if in_channels == 3:
        torch.testing.assert_close(got[stem], state[stem], rtol=0, atol=0)
    for k, v in state.items():
        if k != stem:
            torch.testing.assert_close(got[k], v, rtol=0, atol=0)


def test_backbone_pretrained_loads_smps_weights_and_adapts_bands(released) -> None:
    server, state = released
    bb = geo_core.BACKBONES.build(f"smp:{ENCODER}", pretrained=True, in_channels=4)
    _check(bb.encoder, state, 4)
    rgb = geo_core.BACKBONES.build(f"smp:{ENCODER}", pretrained="imagenet")
    _check(rgb.encoder, state, 3)
    assert server.count("GET", "model.safetensors") == 1  # the second build used the cache


def test_factory_pretrained(released, monkeypatch: pytest.MonkeyPatch) -> None:
    _, state = released
    factory = geo_core.MODEL_FACTORIES.build("smp:SMPModelFactory")
    model = factory.build_model(
        "segmentation", arch="Unet", backbone=ENCODER, num_classes=2, in_channels=5, pretrained=True
    )
    _check(model.encoder, state, 5)
    model.eval()
    assert model(torch.randn(1, 5, 64, 64)).output.shape == (1, 2, 64, 64)


def test_offline_miss(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("GEO_OFFLINE", "1")
    with pytest.raises(WeightsOfflineError, match=r"smp-hub/mobilenet_v2\.imagenet/model\.safetensors"):
        geo_core.BACKBONES.build(f"smp:{ENCODER}", pretrained=True)


def test_tu_encoder_takes_timms_released_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import timm
    from safetensors.torch import save

    torch.manual_seed(5)
    state = timm.create_model("test_resnet", pretrained=False).state_dict()
    with WeightServer() as srv:
        srv.use(monkeypatch, tmp_path)
        srv.add_hf_file("timm/test_resnet.r160_in1k", "model.safetensors", save(state))
        bb = geo_core.BACKBONES.build("smp:tu-test_resnet", pretrained=True, depth=3)
        model = geo_core.MODEL_FACTORIES.build("smp:SMPModelFactory").build_model(
            "segmentation",
            arch="Unet",
            backbone="tu-test_resnet",
            num_classes=2,
            in_channels=4,
            pretrained=True,
            encoder_depth=3,
            decoder_channels=[16, 8, 4],
        )
    got = {k.split("model.", 1)[1]: v for k, v in bb.encoder.state_dict().items()}
    shared = [k for k in got if k in state]
    assert len(shared) > 5
    for k in shared:
        torch.testing.assert_close(got[k], state[k], rtol=0, atol=0)
    stem = next(k for k, v in model.encoder.state_dict().items() if v.ndim == 4)
    assert model.encoder.state_dict()[stem].shape[1] == 4
    assert srv.count("GET", "model.safetensors") == 1
    with pytest.raises(geo_core.ConfigError, match="timm's default weights"):
        geo_core.BACKBONES.build("smp:tu-test_resnet", pretrained="imagenet")
