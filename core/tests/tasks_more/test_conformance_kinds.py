"""geo_core.testing.check_loss and check_engine accept conforming components and name what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from geo_core.testing import check_engine, check_loss
from torch import Tensor, nn


class _NoGrad(nn.Module):
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred.detach() * 0).sum() + torch.zeros((), requires_grad=True)


class _PerPixel(nn.Module):
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return nn.functional.cross_entropy(pred, target, reduction="none")


@pytest.mark.parametrize("name", ["ce", "dice", "focal"])
def test_check_loss_accepts_the_core_losses(name: str) -> None:
    assert check_loss(name, ignore_index=255).ndim == 0


def test_check_loss_names_what_is_wrong() -> None:
    with pytest.raises(AssertionError, match="must return a scalar tensor"):
        check_loss(_PerPixel())
    with pytest.raises(AssertionError, match="did not reach the prediction"):
        check_loss(_NoGrad())


class _Shifted:
    """An engine whose runner adds 1 to the torch output (or drops the batch dim)."""

    def __init__(self, task: Any, kind: str, options: Any, sample_shape: tuple[int, ...], squeeze: bool = False):
        self.task, self.kind, self.squeeze = task, kind, squeeze

    def __enter__(self) -> _Shifted:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, batch: Tensor) -> Tensor:
        out = self.task.convert(self.task(batch).output, self.kind).float()
        return out[0] if self.squeeze else out + 1


def test_check_engine_accepts_torch_and_rejects_a_wrong_engine() -> None:
    check_engine("torch", kinds=("probabilities",))
    with pytest.raises(AssertionError, match="differs from the torch engine"):
        check_engine(_Shifted, kinds=("logits",))
    with pytest.raises(AssertionError, match="shape"):
        check_engine(lambda *a: _Shifted(*a, squeeze=True), kinds=("logits",))
    with pytest.raises(AssertionError, match="no engine 'nope'"):
        check_engine("nope")


_REGRESSION = {"prediction": torch.randn(2, 8, 8), "target": torch.randn(2, 8, 8)}
_MULTILABEL = {"prediction": torch.randn(2, 3), "target": torch.randint(0, 2, (2, 3)).float()}


@pytest.mark.parametrize(
    ("name", "inputs"),
    [
        *[(n, {}) for n in ("jaccard", "lovasz")],
        *[(n, _REGRESSION) for n in ("mae", "mse", "rmse", "huber")],
        *[(n, _MULTILABEL) for n in ("bce", "balanced_bce")],
    ],
)
def test_check_loss_on_every_core_loss(name: str, inputs: dict[str, Tensor]) -> None:
    check_loss(f"core:{name}", **inputs)
