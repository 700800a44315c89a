"""The ExampleCNN backbone."""

from __future__ import annotations

import torch
from torch import nn


class ExampleCNN(nn.Module):
    """A two-stage CNN: returns feature maps at strides 2 and 4.

    Args:
        in_channels: Input bands.
    """

    def __init__(self, in_channels: int = 6) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(nn.Conv2d(in_channels, 16, 3, stride=2, padding=1), nn.ReLU())
        self.stage2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        self.out_channels = [16, 32]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return one feature map per stage."""
        a = self.stage1(x)
        return [a, self.stage2(a)]
