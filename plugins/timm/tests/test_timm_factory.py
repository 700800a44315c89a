"""TimmModelFactory: whole timm classifiers behind the geo Model contract."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_core import ConfigError


def _factory():
    return geo_core.MODEL_FACTORIES.build("timm:TimmModelFactory")


def test_classification_model() -> None:
    model = _factory().build_model("classification", backbone="timm:resnet10t", num_classes=5, in_chans=6)
    assert isinstance(model, geo_core.Model)
    out = model(torch.randn(2, 6, 64, 64))
    assert isinstance(out, geo_core.ModelOutput) and out.output.shape == (2, 5)


def test_regression_defaults_to_one_output_and_prefixed_kwargs() -> None:
    model = _factory().build_model(
        "scalar_regression", backbone="test_vit", backbone_in_chans=4, backbone_drop_path_rate=0.1
    )
    assert model(torch.randn(1, 4, 32, 32)).output.shape == (1,)  # squeezed like core's ScalarOutputModel


def test_freeze_encoder_keeps_only_the_classifier_trainable() -> None:
    model = _factory().build_model("classification", backbone="convnext_atto", num_classes=3)
    model.freeze_encoder()
    model.train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"model.head.fc.weight", "model.head.fc.bias"}
    assert not model.model.stem.training and model.model.head.fc.training


def test_local_checkpoint_with_other_head(tmp_path) -> None:
    import timm

    path = tmp_path / "w.pth"
    torch.save(timm.create_model("resnet10t", num_classes=1000).state_dict(), path)
    model = _factory().build_model("classification", backbone="resnet10t", num_classes=2, ckpt_path=path)
    assert model(torch.randn(1, 3, 64, 64)).output.shape == (1, 2)


def test_errors() -> None:
    with pytest.raises(ConfigError, match="segmentation"):
        _factory().build_model("segmentation", backbone="resnet10t", num_classes=2)
    with pytest.raises(ConfigError, match="num_classes"):
        _factory().build_model("classification", backbone="resnet10t")
    model = _factory().build_model("classification", backbone="resnet10t", num_classes=2)
    with pytest.raises(ConfigError, match="extra inputs"):
        model(torch.randn(1, 3, 32, 32), temporal_coords=torch.zeros(1, 1, 2))
