"""Scalar regression: dropout + linear head, mse or l1 loss, optional unit interval, RMSE."""

from __future__ import annotations

from typing import Any, Literal

import torchmetrics as tm
from geo_core import ConfigError
from torch import Tensor

from geo_plugin_zoobot._base import FinetuneableZoobotAbstract
from geo_plugin_zoobot._heads import LinearHead
from geo_plugin_zoobot._losses import l1_loss, mse_loss

__all__ = ["FinetuneableZoobotRegressor"]

_LOSSES = {
    "mse": mse_loss,
    "mean_squared_error": mse_loss,
    "mae": l1_loss,
    "mean_absolute_error": l1_loss,
    "l1": l1_loss,
    "l1_loss": l1_loss,
}


class FinetuneableZoobotRegressor(FinetuneableZoobotAbstract):
    """Finetune an encoder on a scalar regression problem.

    Logs ``finetuning/{train,val,test}_loss`` and ``finetuning/{train,val,test}_rmse``.
    Other arguments: see :class:`FinetuneableZoobotAbstract`.

    Args:
        loss: ``"mse"`` or ``"mae"``/``"l1"``.
        unit_interval: Sigmoid output in (0, 1), e.g. for fractions.
    """

    def __init__(
        self, loss: Literal["mse", "mae", "l1"] = "mse", unit_interval: bool = False, **super_kwargs: Any
    ) -> None:
        super().__init__(**super_kwargs)
        if loss not in _LOSSES:
            raise ConfigError(f"unknown regression loss {loss!r}; expected one of {sorted(_LOSSES)}", key="loss")
        self.loss_name = loss
        self._loss_fn = _LOSSES[loss]
        self.unit_interval = unit_interval
        self.head = LinearHead(self.encoder_dim, 1, dropout_prob=self.head_dropout_prob, unit_interval=unit_interval)
        self.train_rmse = tm.MeanSquaredError(squared=False)
        self.val_rmse = tm.MeanSquaredError(squared=False)
        self.test_rmse = tm.MeanSquaredError(squared=False)
        self._record_hparams(loss=loss, unit_interval=unit_interval)

    def loss(self, y_pred: Tensor, y: Tensor) -> Tensor:
        """Unreduced mse or l1 against ``(B,)`` (or ``(B, 1)``) float labels."""
        return self._loss_fn(y_pred, y.reshape(y_pred.shape))

    def _update_metrics(self, stage: str, y_pred: Tensor, y: Tensor) -> None:
        metric = getattr(self, f"{stage}_rmse")
        metric(y_pred, y.reshape(y_pred.shape).to(y_pred.dtype))
        self.log(f"finetuning/{stage}_rmse", metric, on_step=False, on_epoch=True, prog_bar=self.prog_bar)
