from __future__ import annotations

import pytest
import torch
from geo_core import Model, ModelOutput
from torch import nn


class TinyPixelModel(Model):
    """encoder.blocks.{0,1} + decoder; optional auxiliary head; records extra kwargs."""

    def __init__(self, in_channels: int = 6, num_classes: int = 2, aux: bool = False, scalar: bool = False):
        super().__init__()
        self.num_classes = num_classes
        self.encoder = nn.Module()
        self.encoder.stem = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.encoder.blocks = nn.Sequential(
            nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Conv2d(8, 8, 3, padding=1)
        )
        self.decoder = nn.Conv2d(8, num_classes, 1)
        self.scalar = scalar
        self.aux_heads = nn.ModuleDict({"aux": nn.Conv2d(8, num_classes, 1)}) if aux else nn.ModuleDict()
        self.seen_kwargs: set[str] = set()

    def forward(self, x, **kwargs):
        self.seen_kwargs |= set(kwargs)
        f = torch.relu(self.encoder.stem(x))
        f = torch.relu(self.encoder.blocks(f))
        out = self.decoder(f)
        if self.scalar:
            out = out.mean((2, 3))
        return ModelOutput(out, {n: h(f) for n, h in self.aux_heads.items()})


@pytest.fixture
def tiny_model():
    return TinyPixelModel


# Lightning 2.6 still calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
LIGHTNING_PYTREE = "ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"


def quiet_trainer(**kw):
    import lightning.pytorch as pl

    opts = dict(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
        num_sanity_val_steps=0,
    )
    opts.update(kw)
    return pl.Trainer(**opts)
