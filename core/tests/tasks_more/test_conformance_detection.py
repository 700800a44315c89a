"""The detection-factory conformance check fails on a factory that breaks torchvision's detector convention."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from geo_core.testing import check_detection_model_factory
from torch import nn


class _Detector(nn.Module):
    """A minimal detector in torchvision's convention; ``broken`` picks what it gets wrong."""

    def __init__(self, broken: str = "", in_channels: int = 3, **_: Any) -> None:
        super().__init__()
        self.encoder = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.broken = broken

    def forward(self, images: list[torch.Tensor], targets: list[dict[str, torch.Tensor]] | None = None) -> Any:
        feats = torch.stack([self.encoder(x).mean() for x in images])
        if self.training:
            loss = feats.sum() * (0.0 if self.broken == "no_grad" else 1.0)
            return {"loss": loss if self.broken != "vector_loss" else feats}
        n = 0 if self.broken == "bad_boxes" else 1
        out = [{"boxes": torch.zeros(n, 4), "labels": torch.ones(n), "scores": torch.ones(n)} for _ in images]
        if self.broken == "bad_boxes":
            out[0]["boxes"] = torch.zeros(3)
        return out[:1] if self.broken == "one_result" else out


class _Factory:
    def __init__(self, broken: str = "") -> None:
        self.broken = broken

    def build_model(self, task: str, **kwargs: Any) -> nn.Module:
        return _Detector(self.broken, **kwargs)


def test_a_conforming_factory_passes() -> None:
    assert isinstance(check_detection_model_factory(_Factory()), _Detector)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("vector_loss", "not a scalar tensor"),
        ("no_grad", "no gradient reaches the encoder"),
        ("one_result", "one result per image"),
        ("bad_boxes", r"boxes must be \(N, 4\)"),
    ],
)
def test_a_broken_factory_fails(broken: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_detection_model_factory(_Factory(broken))
