"""Sweep: a fixed sample of timm families built with random weights, 6 bands, 64 px."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError

# (name, extra kwargs). Tiny variants from different families; img_size for fixed-window models.
SAMPLE: list[tuple[str, dict[str, object]]] = [
    ("resnet10t", {}),
    ("test_resnet", {}),
    ("convnext_atto", {}),
    ("test_convnext", {}),
    ("efficientnet_b0", {}),
    ("test_efficientnet", {}),
    ("regnetx_002", {}),
    ("mobilenetv3_small_050", {}),
    ("mobilenetv4_conv_small_050", {}),
    ("ghostnet_050", {}),
    ("lcnet_050", {}),
    ("tinynet_e", {}),
    ("ese_vovnet19b_slim", {}),
    ("hrnet_w18_small", {}),
    ("test_byobnet", {}),
    ("test_nfnet", {}),
    ("edgenext_xx_small", {}),
    ("mobilevit_xxs", {}),
    ("fastvit_t8", {}),
    ("repvit_m1", {}),
    ("inception_next_atto", {}),
    ("starnet_s050", {}),
    ("hgnetv2_b0", {}),
    ("efficientvit_b0", {}),
    ("pvt_v2_b0", {}),
    ("test_vit", {}),
    ("vit_tiny_patch16_224", {}),
    ("deit_tiny_patch16_224", {}),
    ("eva02_tiny_patch14_224", {"size": 56}),  # patch 14
    ("xcit_nano_12_p16_224", {}),
    ("swin_tiny_patch4_window7_224", {"img_size": 64}),
    ("test_maxvit", {"img_size": 64}),
    ("test_coatnet", {"img_size": 64}),
    ("test_mambaout", {}),
    ("tiny_vit_5m_224", {}),
]

try:  # the shared conformance check, once geo_core.testing ships it
    from geo_core.testing import check_backbone
except ImportError:  # pragma: no cover - older geo-core
    check_backbone = None


def _check(backbone: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        feats = backbone.eval()(x)
    assert isinstance(feats, list) and len(feats) == len(backbone.out_channels)
    for f, c in zip(feats, backbone.out_channels, strict=True):
        assert f.ndim == 4 and f.shape[0] == x.shape[0] and f.shape[1] == c, (f.shape, c)
    return feats


@pytest.mark.parametrize(("name", "kwargs"), SAMPLE, ids=[s[0] for s in SAMPLE])
def test_backbone_sweep(name: str, kwargs: dict[str, object]) -> None:
    kwargs = dict(kwargs)
    size = int(kwargs.pop("size", 64))  # type: ignore[call-overload]
    torch.manual_seed(0)
    backbone = geo_core.BACKBONES.build(f"timm:{name}", in_chans=6, **kwargs)
    if check_backbone is not None:  # contract + backward pass
        feats = check_backbone(backbone, 6, size)
        assert all(f.ndim == 4 for f in feats)
    else:
        _check(backbone, torch.randn(2, 6, size, size))


def test_sweep_covers_enough_families() -> None:
    from geo_plugin_timm._index import load_index

    models = load_index()["models"]
    families = {models[n]["family"] for n, _ in SAMPLE}
    assert len(SAMPLE) >= 30 and len(families) >= 25, families


def test_plugin_metadata() -> None:
    # geo_core.testing.check_plugin_metadata resolves every one of the 1,371 names, and each resolution
    # rebuilds the registry's candidate table (quadratic: ~40 s here), so check the manifest part directly;
    # test_timm_index.py covers the torch-free listing.
    import geo_core

    assert geo_core.MODEL_FACTORIES.names(source="timm") == ["timm:TimmModelFactory"]
    assert geo_core.MODEL_FACTORIES.info("timm:TimmModelFactory").metadata["tasks"][0] == "classification"


def test_out_indices_and_nhwc_conversion() -> None:
    bb = geo_core.BACKBONES.build("timm:swin_tiny_patch4_window7_224", in_chans=4, img_size=64, out_indices=[1, 3])
    assert bb.out_channels == [192, 768] and bb.channels_last
    feats = _check(bb, torch.randn(1, 4, 64, 64))
    assert [tuple(f.shape[2:]) for f in feats] == [(8, 8), (2, 2)]


def test_vit_takes_non_default_sizes() -> None:
    bb = geo_core.BACKBONES.build("timm:test_vit", in_chans=6, out_indices=[0, 1])
    feats = _check(bb, torch.randn(1, 6, 48, 80))
    assert feats[0].shape[2:] == (3, 5)


def test_local_weights_with_channel_adaptation(tmp_path) -> None:
    import timm

    src = timm.create_model("resnet10t", pretrained=False)
    path = tmp_path / "resnet10t.pth"
    torch.save(src.state_dict(), path)
    bb = geo_core.BACKBONES.build("timm:resnet10t", ckpt_path=str(path), in_chans=6)
    stem_src = src.state_dict()["conv1.0.weight"]
    stem = bb.model.state_dict()["conv1.0.weight"]
    assert stem.shape[1] == 6
    # RGB kernels repeated over the 6 channels and scaled by 3/6.
    torch.testing.assert_close(stem[:, :3], stem_src * 0.5)
    torch.testing.assert_close(stem[:, 3:], stem_src * 0.5)
    _check(bb, torch.randn(1, 6, 64, 64))


def test_weights_errors(tmp_path) -> None:
    with pytest.raises(CheckpointError, match=r"missing\.pth"):
        geo_core.BACKBONES.build("timm:resnet10t", ckpt_path=str(tmp_path / "missing.pth"))
    with pytest.raises(ConfigError, match="does not accept img_size"):
        geo_core.BACKBONES.build("timm:resnet10t", img_size=64)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"drop_path_rat": 0.1}, "'drop_path_rat' (did you mean 'drop_path_rate'?)"),
        ({"in_chanels": 6}, "'in_chanels' (did you mean 'in_chans'?)"),
    ],
)
def test_unknown_arguments_are_named_with_a_suggestion(kwargs: dict, needle: str) -> None:
    """issue 22: timm raised a bare TypeError with no suggestion."""
    import geo_core
    from geo_core import UnusedArgumentError

    with pytest.raises(UnusedArgumentError) as info:
        geo_core.BACKBONES.build("timm:resnet18", **kwargs)
    assert needle in str(info.value) and "timm:resnet18" in str(info.value)
