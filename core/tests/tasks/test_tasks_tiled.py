from __future__ import annotations

import torch
from geo_core.tasks import tiled_forward
from geo_core.tasks._tiled import blend_weights, starts


def test_window_starts_cover_the_extent():
    assert starts(100, 32, 24) == [0, 24, 48, 68]
    assert starts(20, 32, 24) == [0]
    assert starts(64, 32, 32) == [0, 32]


def test_blend_weights_are_positive_and_ramp():
    w = blend_weights(16, 4)
    assert w.min() > 0 and w[8, 8] == 1 and w[0, 0] < w[2, 2]


def test_tiled_forward_is_exact_for_pointwise_functions():
    x = torch.randn(2, 3, 50, 37)
    out = tiled_forward(lambda t: t * 2 + 1, x, crop=16, stride=12, batch_size=5)
    assert torch.allclose(out, x * 2 + 1, atol=1e-5)
    small = torch.randn(1, 3, 10, 10)  # smaller than the crop: padded, then cut back
    assert torch.allclose(tiled_forward(lambda t: t, small, crop=16, stride=8), small)
