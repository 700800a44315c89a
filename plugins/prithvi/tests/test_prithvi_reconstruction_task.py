"""The Prithvi MAE trains under core's ReconstructionTask (loss on masked patches only)."""

from __future__ import annotations

import geo_core
import torch
from geo_core.tasks._reconstruction import ReconstructionTask, masked_mse


def _args():
    return {"pretrained": False, "num_frames": 1, "img_size": 32, "mask_ratio": 0.5, "depth": 1, "decoder_depth": 1}


def test_reconstruction_task_on_tiny_prithvi_mae():
    task = ReconstructionTask(model="prithvi:prithvi_eo_tiny_mae", model_args=_args(), mask_ratio=0.5, lr=1e-3)
    x = torch.randn(2, 6, 32, 32)
    rec, mask = task(x)
    assert rec.shape == x.shape
    assert mask.shape == (2, 32, 32)
    assert 0.3 < mask.float().mean().item() < 0.7  # about half of the patches masked
    loss = masked_mse(rec, x, mask)
    loss.backward()
    grads = [p.grad for p in task.parameters() if p.requires_grad and p.grad is not None]
    assert grads, "no gradient reached the MAE"
    # the loss ignores unmasked pixels: changing them in the reconstruction does not move it
    rec2 = rec.detach().clone()
    rec2[mask.unsqueeze(1).expand_as(rec2) == 0] += 100.0
    assert torch.isclose(masked_mse(rec2, x, mask), masked_mse(rec.detach(), x, mask))


def test_prithvi_mae_is_listed_for_reconstruction():
    assert "prithvi:prithvi_eo_tiny_mae" in geo_core.MODELS


def test_prithvi_mae_conforms_under_the_reconstruction_task():
    """The shared task check on the registered MAE model (``geo.models``): a geo_core.Model that trains."""
    from geo_core.testing import TinyGeoDataModule, check_task

    task = geo_core.TASKS.build("ReconstructionTask", model="prithvi:prithvi_eo_tiny_mae", model_args=_args())
    check_task(task, TinyGeoDataModule(bands=6, size=32))
