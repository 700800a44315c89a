"""Encoder-decoder models take a ``{modality: tensor}`` dict (multimodal backbones such as TerraMind)."""

from __future__ import annotations

import pytest
import torch
from geo_core import InputDataError
from geo_core.models import EncoderDecoderFactory
from torch import Tensor, nn


class DictBackbone(nn.Module):
    """Sums a 1x1 projection of every modality; stride 8 maps."""

    patch_size = 8

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.ModuleDict({"a": nn.Conv2d(3, 8, 8, stride=8), "b": nn.Conv2d(2, 8, 8, stride=8)})
        self.out_channels = [8]
        self.seen: list[tuple[int, ...]] = []

    def forward(self, x: dict[str, Tensor]) -> list[Tensor]:
        self.seen = [tuple(v.shape) for v in x.values()]
        return [sum(self.proj[k](v) for k, v in x.items())]  # type: ignore[misc]


def test_each_modality_is_padded_and_the_output_cropped_back() -> None:
    backbone = DictBackbone()
    model = EncoderDecoderFactory().build_model(
        "segmentation", backbone=backbone, decoder="FCNDecoder", decoder_kwargs={"channels": 8}, num_classes=2
    )
    out = model({"a": torch.randn(2, 3, 20, 30), "b": torch.randn(2, 2, 20, 30)}).output
    assert out.shape == (2, 2, 20, 30)
    assert backbone.seen == [(2, 3, 24, 32), (2, 2, 24, 32)]


def test_modalities_on_different_grids_are_an_error() -> None:
    model = EncoderDecoderFactory().build_model(
        "segmentation", backbone=DictBackbone(), decoder="FCNDecoder", decoder_kwargs={"channels": 8}, num_classes=2
    )
    with pytest.raises(InputDataError, match="differ in height and width"):
        model({"a": torch.randn(1, 3, 16, 16), "b": torch.randn(1, 2, 24, 16)})
    with pytest.raises(InputDataError, match="at least one"):
        model({"a": torch.zeros(1, 4, dtype=torch.long)})
