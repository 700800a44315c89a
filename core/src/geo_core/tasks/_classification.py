"""Single-label and multi-label classification of whole samples."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from torch import Tensor

from geo_core.tasks._base import BaseTask
from geo_core.tasks._convert import convert_classification, convert_multilabel
from geo_core.tasks._segmentation import _num_classes

if TYPE_CHECKING:
    from torchmetrics import MetricCollection

__all__ = ["ClassificationTask", "MultiLabelClassificationTask"]


class ClassificationTask(BaseTask):
    """Logits ``(B, C)`` against class indices ``label`` ``(B,)``; accuracy, F1, precision, recall."""

    task_kind: ClassVar[str] = "classification"
    target_key: ClassVar[str] = "label"
    default_loss: ClassVar[str] = "ce"

    def build_metrics(self) -> MetricCollection:
        """accuracy, F1, precision, recall."""
        from geo_core.tasks._metrics import classification_metrics

        return classification_metrics(_num_classes(self), self.hparams.get("class_names"))

    def metric_inputs(self, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Predicted class against the label."""
        return output.argmax(1), target

    def convert(self, output: Tensor, kind: str) -> Tensor:
        """Class index, softmax probabilities or logits."""
        return convert_classification(output, kind)


class MultiLabelClassificationTask(BaseTask):
    """Logits ``(B, K)`` against 0/1 ``label`` ``(B, K)``; AUROC, AP and F1."""

    task_kind: ClassVar[str] = "multilabel_classification"
    target_key: ClassVar[str] = "label"
    default_loss: ClassVar[str] = "bce"

    def build_metrics(self) -> MetricCollection:
        """AUROC, AP, F1."""
        from geo_core.tasks._metrics import multilabel_metrics

        return multilabel_metrics(_num_classes(self))

    def metric_inputs(self, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Sigmoid scores against integer labels."""
        return output.sigmoid(), target.long()

    def convert(self, output: Tensor, kind: str) -> Tensor:
        """0/1 labels at 0.5, sigmoid probabilities, or logits."""
        return convert_multilabel(output, kind)
