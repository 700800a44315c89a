"""smp losses through the LOSSES registry."""

import geo_core
import pytest
import torch


@pytest.mark.parametrize("name", ["dice", "jaccard", "focal", "lovasz", "tversky"])
def test_loss_on_multiclass_logits(name: str) -> None:
    loss = geo_core.LOSSES.build(f"smp:{name}", ignore_index=255)
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    target = torch.randint(0, 3, (2, 8, 8))
    target[0, 0, 0] = 255
    value = loss(logits, target)
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    assert logits.grad is not None


def test_binary_mode() -> None:
    loss = geo_core.LOSSES.build("smp:dice", mode="binary")
    assert torch.isfinite(loss(torch.randn(2, 1, 4, 4), torch.randint(0, 2, (2, 1, 4, 4)).float()))
