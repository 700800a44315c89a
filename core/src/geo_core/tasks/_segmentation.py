"""Semantic segmentation: per-pixel class logits ``(B, C, H, W)`` against masks ``(B, H, W)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from torch import Tensor

from geo_core._errors import ConfigError
from geo_core.tasks._base import BaseTask
from geo_core.tasks._convert import convert_segmentation

if TYPE_CHECKING:
    from torchmetrics import MetricCollection

__all__ = ["SemanticSegmentationTask"]


def _num_classes(task: BaseTask) -> int:
    n = (task.hparams.get("model_args") or {}).get("num_classes")
    if n is None:
        n = task.model.num_classes
    if n is None and task.hparams.get("class_names"):
        n = len(task.hparams["class_names"])
    if n is None:
        raise ConfigError(
            f"{type(task).__name__} needs num_classes (in model_args, on the model, or via class_names)",
            key="model_args.num_classes",
        )
    return int(n)


class SemanticSegmentationTask(BaseTask):
    """Segmentation with mIoU (macro/micro), F1, accuracy and per-class IoU metrics.

    Example (YAML)::

        model:
          class_path: SemanticSegmentationTask
          init_args:
            model_factory: EncoderDecoderFactory
            model_args: {backbone: tiny_cnn, decoder: UNetDecoder, num_classes: 2}
            loss: {ce: 1.0, dice: 0.5}
            ignore_index: 255
    """

    task_kind: ClassVar[str] = "segmentation"
    target_key: ClassVar[str] = "mask"
    default_loss: ClassVar[str] = "ce"

    def build_metrics(self) -> MetricCollection:
        """mIoU, mIoU_micro, F1, accuracy and IoU_<class>."""
        from geo_core.tasks._metrics import segmentation_metrics

        ii = self.hparams.get("ignore_index")
        return segmentation_metrics(
            _num_classes(self), None if ii is None else int(ii), self.hparams.get("class_names")
        )

    def metric_inputs(self, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Class map against the mask."""
        return output.argmax(1), target

    def convert(self, output: Tensor, kind: str) -> Tensor:
        """Class map, softmax probabilities or logits."""
        return convert_segmentation(output, kind)
