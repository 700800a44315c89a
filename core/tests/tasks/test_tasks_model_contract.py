"""Tasks hold the geo_core.Model contract: plain modules are wrapped, missing parts are ConfigErrors."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_core import ConfigError, Model
from geo_core.models import FullModel
from geo_core.tasks import SemanticSegmentationTask
from torch import nn


class _Plain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Conv2d(6, 4, 3, padding=1)
        self.head = nn.Conv2d(4, 2, 1)
        self.aux_heads = nn.ModuleDict({"deep": nn.Conv2d(4, 2, 1)})
        self.num_classes = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def test_a_plain_module_is_wrapped_into_the_model_contract() -> None:
    task = SemanticSegmentationTask(model=_Plain(), freeze_backbone=True, freeze_head=True, aux_loss={"deep": 0.5})
    assert isinstance(task.model, FullModel) and isinstance(task.model, Model)
    assert task.model.num_classes == 2 and task.model.auxiliary_head_names() == ["deep"]
    assert not any(p.requires_grad for p in task.model.model.encoder.parameters())
    out = task(torch.randn(1, 6, 8, 8), temporal_coords=None)  # extras its forward does not take are dropped
    assert out.output.shape == (1, 2, 8, 8)
    with pytest.raises(ConfigError, match=r"freeze_decoder: _Plain has no 'decoder'.*model.decoder"):
        SemanticSegmentationTask(model=_Plain(), freeze_decoder=True)


def test_missing_parts_and_wrong_models_name_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"freeze_head.*no 'head'.*use freeze_decoder"):
        SemanticSegmentationTask(model=FullModel(nn.Conv2d(6, 2, 1)), freeze_head=True)
    with pytest.raises(ConfigError, match=r"geo_core\.Model or a torch nn.Module, got str"):
        SemanticSegmentationTask(model="not a module")  # type: ignore[arg-type]


def test_a_factory_that_builds_no_model_is_refused() -> None:
    @geo_core.MODEL_FACTORIES.register(name="contract_plain_factory")
    class _PlainFactory:
        def build_model(self, task: str, **kwargs: object) -> nn.Module:
            return nn.Conv2d(6, 2, 1)

    try:
        with pytest.raises(ConfigError, match=r"built a Conv2d, not a geo_core\.Model"):
            SemanticSegmentationTask(model_factory="contract_plain_factory", model_args={"num_classes": 2})
    finally:
        geo_core.MODEL_FACTORIES.unregister("contract_plain_factory")
