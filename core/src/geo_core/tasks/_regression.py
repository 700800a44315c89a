"""Pixel-wise and scalar regression; ``ignore_index`` marks target values left out of loss and metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from torch import Tensor

from geo_core.tasks._base import BaseTask
from geo_core.tasks._convert import convert_regression

if TYPE_CHECKING:
    from torchmetrics import MetricCollection

__all__ = ["PixelwiseRegressionTask", "ScalarRegressionTask"]


class _RegressionMixin(BaseTask):
    default_loss: ClassVar[str] = "mse"

    def build_metrics(self) -> MetricCollection:
        """RMSE, MAE and R² over valid targets."""
        from geo_core.tasks._metrics import regression_metrics

        return regression_metrics(self.hparams.get("ignore_index"))

    def metric_inputs(self, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Squeeze a singleton output channel."""
        if output.ndim == target.ndim + 1 and output.shape[1] == 1:
            output = output.squeeze(1)
        return output.float(), target.float()

    def convert(self, output: Tensor, kind: str) -> Tensor:
        """Regression outputs are the prediction for every kind."""
        return convert_regression(output, kind)


class PixelwiseRegressionTask(_RegressionMixin):
    """Per-pixel regression (``mask`` float ``(B, H, W)``); metrics RMSE/MAE/R² ignore masked pixels."""

    task_kind: ClassVar[str] = "regression"
    target_key: ClassVar[str] = "mask"


class ScalarRegressionTask(_RegressionMixin):
    """One or several values per sample (``label`` float ``(B,)`` or ``(B, K)``)."""

    task_kind: ClassVar[str] = "scalar_regression"
    target_key: ClassVar[str] = "label"
