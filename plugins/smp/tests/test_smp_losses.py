"""smp losses through the LOSSES registry (multiclass conformance: test_smp_conformance)."""

import geo_core
import torch


def test_binary_mode() -> None:
    loss = geo_core.LOSSES.build("smp:dice", mode="binary")
    assert torch.isfinite(loss(torch.randn(2, 1, 4, 4), torch.randint(0, 2, (2, 1, 4, 4)).float()))
