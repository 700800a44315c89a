"""Building heads from mmseg config dicts or flat kwargs; derived inputs; errors that name the fix."""

from __future__ import annotations

import sys
from typing import Any

import geo_core
import pytest
import torch
from geo_plugin_mmseg import MMSegDecoder
from geo_plugin_mmseg import _mmseg as mmseg_import
from geo_plugin_mmseg._env import INSTALL
from torch import nn

CHANNELS = [8, 16, 32, 64]


def _build(name: str, channel_list: list[int] = CHANNELS, **kwargs: Any) -> Any:
    return geo_core.DECODERS.build(f"mmseg:{name}", channel_list, **kwargs)


def test_mmseg_config_dict_as_in_an_mmseg_config_file(pyramid: Any) -> None:
    _, feats = pyramid
    config = {
        "type": "UPerHead",
        "in_channels": [8, 16, 32, 64],
        "in_index": [0, 1, 2, 3],
        "pool_scales": (1, 2),
        "channels": 8,
        "dropout_ratio": 0.1,
        "num_classes": 3,
        "norm_cfg": {"type": "SyncBN", "requires_grad": True},
        "align_corners": False,
        "loss_decode": {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0},
    }
    head = _build("UPerHead", config=config)
    assert head.num_classes == head.out_channels == 3
    assert config["norm_cfg"]["type"] == "SyncBN"  # the caller's dict is not modified
    bns = [m for m in head.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert bns and not any(isinstance(m, nn.SyncBatchNorm) for m in bns)
    assert len(head.head.loss_decode) == 0  # no mmseg loss is built: geo's task computes the loss
    assert head(feats).shape == (2, 3, 16, 16)
    assert _build("UPerHead", config={**config, "type": "mmseg.UPerHead"}).num_classes == 3


def test_flat_kwargs_and_derived_inputs() -> None:
    head = _build("SegformerHead", num_classes=2, channels=8, in_index=[1, 3])
    assert head.positions == [1, 3]
    assert head.mmseg_config["in_channels"] == [16, 64]
    assert head.head.in_index == [0, 1]
    concat = _build("FCNHead", num_classes=2, channels=8, in_index=[0, 1])
    assert concat.mmseg_config["input_transform"] == "resize_concat"
    assert concat.head.in_channels == 24


def test_deeplabv3plus_skip_comes_from_c1_index(pyramid: Any) -> None:
    _, feats = pyramid
    head = _build("DepthwiseSeparableASPPHead", num_classes=2, channels=8, c1_channels=4, dilations=(1, 2), c1_index=1)
    assert head.positions == [1, 3]
    assert head.mmseg_config["c1_in_channels"] == 16
    assert head(feats).shape == (2, 2, 8, 8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_classes": 2, "config": {"in_channels": [8, 16, 32, 32]}}, "in_channels"),
        ({"num_classes": 2, "config": {"type": "FCNHead"}}, "use mmseg:FCNHead"),
        ({"num_classes": 2, "channels": 8, "config": {"channels": 16}}, "given twice"),
        ({"num_classes": 2, "channels": 8, "pool_scale": (1,)}, "pool_scale"),
        ({"num_classes": 2, "in_index": [0, 7]}, "out of range"),
        ({}, "num_classes"),
        ({"num_classes": 2, "out_channels": 1}, "out_channels"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(geo_core.ConfigError, match=match):
        _build("UPerHead", **kwargs)


def test_mmseg_assertions_become_config_errors() -> None:
    with pytest.raises(geo_core.ConfigError, match="number of maps x mla_channels"):
        _build("SETRMLAHead", num_classes=2, mla_channels=4, channels=5)
    with pytest.raises(geo_core.ConfigError, match=r"FCNHead.*AssertionError.*carries no message"):
        _build("FCNHead", num_classes=2, channels=8, in_index=[0, 1], input_transform="bogus")


def test_dpt_takes_four_maps_and_projects_unequal_widths() -> None:
    with pytest.raises(geo_core.ConfigError, match="exactly four"):
        _build("DPTHead", [16, 16, 16], num_classes=2)
    same = _build("DPTHead", [16] * 6, num_classes=2, channels=8, post_process_channels=[4, 4, 4, 4])
    assert same.positions == [2, 3, 4, 5] and same.input_proj is None
    mixed = _build("DPTHead", CHANNELS, num_classes=2, channels=8, post_process_channels=[4, 4, 4, 4])
    assert mixed.input_proj is not None and mixed.mmseg_config["embed_dims"] == 64


def test_feature_list_errors_name_the_fix(pyramid: Any) -> None:
    _, feats = pyramid
    head = _build("PSPHead", num_classes=2, channels=8, pool_scales=(1,))
    with pytest.raises(ValueError, match="ReshapeTokensToImage"):
        head([torch.randn(2, 5, c) for c in CHANNELS])
    with pytest.raises(ValueError, match="channels"):
        head([torch.randn(2, 3, 4, 4)] * 4)
    with pytest.raises(ValueError, match="4 feature maps"):
        head(feats[:2])


def test_enc_head_with_se_loss_still_returns_one_tensor(pyramid: Any) -> None:
    _, feats = pyramid
    head = _build("EncHead", num_classes=3, channels=8, num_codes=4, use_se_loss=True)
    head.train()
    out = head(feats)
    assert isinstance(out, torch.Tensor) and out.shape[:2] == (2, 3)


def test_base_class_is_not_buildable() -> None:
    with pytest.raises(TypeError, match="base class"):
        MMSegDecoder(CHANNELS, num_classes=2)


def test_incompatible_stack_is_a_missing_dependency_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "mmseg.models", raising=False)  # as if mmseg were not imported yet
    monkeypatch.setattr(mmseg_import, "mmcv_problem", lambda: "mmcv-lite 2.2.0 is installed")
    with pytest.raises(geo_core.MissingDependencyError, match=r"mmcv-lite 2\.2\.0") as info:
        mmseg_import.mmseg_models()
    assert INSTALL in str(info.value)


def test_other_mmseg_heads_by_subclassing(pyramid: Any) -> None:
    _, feats = pyramid

    class GCHead(MMSegDecoder):
        head_type = "GCHead"
        defaults = {"channels": 8, "norm_cfg": {"type": "BN", "requires_grad": True}}  # noqa: RUF012

    geo_core.DECODERS.register(GCHead, name="GCHead", metadata={"includes_head": True})
    try:
        head = geo_core.DECODERS.build("local:GCHead", CHANNELS, num_classes=2)
        assert head(feats).shape == (2, 2, 2, 2)
    finally:
        geo_core.DECODERS.unregister("local:GCHead")
