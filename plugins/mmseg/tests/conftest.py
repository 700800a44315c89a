"""Shared fixtures of the geo-plugin-mmseg tests: tiny feature lists and tiny head settings."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor

# Arguments that keep every head tiny (mmseg's reference defaults are 256-768 channels wide).
TINY: dict[str, dict[str, Any]] = {
    "FCNHead": {"channels": 8},
    "UPerHead": {"channels": 8, "pool_scales": (1, 2)},
    "ASPPHead": {"channels": 8, "dilations": (1, 2)},
    "DepthwiseSeparableASPPHead": {"channels": 8, "dilations": (1, 2), "c1_channels": 4},
    "PSPHead": {"channels": 8, "pool_scales": (1, 2)},
    "SegformerHead": {"channels": 8},
    "FPNHead": {"channels": 8},
    "SegmenterMaskTransformerHead": {"num_layers": 1, "embed_dims": 8, "num_heads": 2},
    "DAHead": {"channels": 8, "pam_channels": 4},
    "NLHead": {"channels": 8},
    "ISAHead": {"channels": 8, "isa_channels": 4, "down_factor": (2, 2)},
    "EncHead": {"channels": 8, "num_codes": 4},
    "SETRUPHead": {"channels": 8},
    "SETRMLAHead": {"mla_channels": 4},
    "DPTHead": {"channels": 8, "post_process_channels": [4, 8, 8, 16]},
    "CCHead": {"channels": 8},
    "PSAHead": {"channels": 8, "mask_size": (9, 9)},
}

# Parameters that mmseg supervises with losses geo does not compute (documented on DAHead).
UNUSED_PARAMS = {"DAHead": ("head.pam_conv_seg.", "head.cam_conv_seg.")}


@pytest.fixture
def tiny() -> dict[str, dict[str, Any]]:
    return {k: dict(v) for k, v in TINY.items()}


@pytest.fixture
def unused_params() -> dict[str, tuple[str, ...]]:
    return dict(UNUSED_PARAMS)


@pytest.fixture
def pyramid() -> tuple[list[int], list[Tensor]]:
    """Four maps at strides 2..16 of a 32x32 image, widths 8..64 (like TinyCNNBackbone)."""
    torch.manual_seed(0)
    widths = [8, 16, 32, 64]
    return widths, [torch.randn(2, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate(widths)]
