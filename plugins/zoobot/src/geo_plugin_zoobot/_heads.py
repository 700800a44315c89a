"""Heads: dropout + linear (optionally sigmoid), and the Dirichlet-concentration head."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["LinearHead", "DirichletHead"]


class LinearHead(nn.Module):
    """Dropout, then a linear layer, then an optional sigmoid.

    Args:
        input_dim: Encoder feature width.
        output_dim: Outputs (classes, or 1 for regression: then the output is ``(B,)``).
        dropout_prob: Dropout probability before the linear layer.
        unit_interval: Apply a sigmoid so outputs lie in (0, 1).
    """

    def __init__(self, input_dim: int, output_dim: int, dropout_prob: float = 0.5, unit_interval: bool = False):
        super().__init__()
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.dropout = nn.Dropout(p=dropout_prob)
        self.linear = nn.Linear(input_dim, output_dim)
        self.unit_interval = unit_interval

    def forward(self, x: Tensor) -> Tensor:
        """``(B, output_dim)`` logits, or ``(B,)`` when ``output_dim == 1``."""
        x = self.linear(self.dropout(x))
        if self.unit_interval:
            x = torch.sigmoid(x)
        return x.squeeze(-1) if self.output_dim == 1 else x


class DirichletHead(nn.Module):
    """Dropout, linear, then ``1 + 100 * sigmoid``: Dirichlet concentrations in (1, 101), as Zoobot.

    Args:
        input_dim: Encoder feature width.
        output_dim: Number of answers in the schema.
        dropout_prob: Dropout probability before the linear layer.
    """

    def __init__(self, input_dim: int, output_dim: int, dropout_prob: float = 0.5) -> None:
        super().__init__()
        self.dropout = nn.Dropout(p=dropout_prob)
        self.linear = nn.Linear(input_dim, output_dim)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, output_dim)`` concentrations."""
        return torch.sigmoid(self.linear(self.dropout(x))) * 100.0 + 1.0
