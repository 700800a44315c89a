"""Vote-count losses, laid out as ``zoobot.pytorch.training.losses``."""

from __future__ import annotations

from geo_plugin_zoobot._losses import (
    DirichletMultinomialLoss,
    calculate_multiquestion_loss,
    dirichlet_multinomial_nll,
)

__all__ = ["DirichletMultinomialLoss", "calculate_multiquestion_loss", "dirichlet_multinomial_nll"]
