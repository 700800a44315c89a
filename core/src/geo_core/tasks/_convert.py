"""Turning model output into what prediction writes, per task kind (torch only, no Lightning).

The tasks' ``convert`` methods and the Lightning-free predictor of ``geo predict``
(:mod:`geo_core.runs._light`) share these functions.
"""

from __future__ import annotations

from torch import Tensor

__all__ = [
    "convert_segmentation",
    "convert_regression",
    "convert_classification",
    "convert_multilabel",
    "CONVERTERS",
]


def convert_segmentation(output: Tensor, kind: str) -> Tensor:
    """Class map (``prediction``), softmax ``probabilities`` or ``logits`` of ``(B, K, H, W)`` output."""
    if kind == "prediction":
        return output.argmax(1)
    if kind == "probabilities":
        return output.softmax(1)
    return output


def convert_regression(output: Tensor, kind: str) -> Tensor:
    """Regression outputs are the prediction for every kind (a single output channel is squeezed)."""
    if output.ndim >= 2 and output.shape[1] == 1:
        output = output.squeeze(1)
    return output


def convert_classification(output: Tensor, kind: str) -> Tensor:
    """Class index (``prediction``), softmax ``probabilities`` or ``logits`` of ``(B, C)`` output."""
    return convert_segmentation(output, kind)  # the same along dim 1


def convert_multilabel(output: Tensor, kind: str) -> Tensor:
    """0/1 labels at probability 0.5 (``prediction``), sigmoid ``probabilities`` or ``logits``."""
    if kind == "prediction":
        return (output.sigmoid() > 0.5).to(output.dtype)
    if kind == "probabilities":
        return output.sigmoid()
    return output


#: task kind -> converter, for the kinds geo predicts without building the Lightning task
CONVERTERS = {
    "segmentation": convert_segmentation,
    "regression": convert_regression,
    "classification": convert_classification,
    "multilabel_classification": convert_multilabel,
    "scalar_regression": convert_regression,
}
