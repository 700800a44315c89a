from __future__ import annotations

from typing import ClassVar

import pytest
import torch
from geo_core import ConfigError
from geo_core.tasks import SemanticSegmentationTask

from .conftest import LIGHTNING_PYTREE, TinyPixelModel, quiet_trainer

pytestmark = pytest.mark.filterwarnings(LIGHTNING_PYTREE)


def _groups(task):
    opt = task.configure_optimizers()
    opt = opt["optimizer"] if isinstance(opt, dict) else opt
    return opt, {n: g["lr"] for g in opt.param_groups for n in g["geo_names"]}


def test_layer_decay_really_scales_group_lrs():
    task = SemanticSegmentationTask(model=TinyPixelModel(), lr=1.0, layer_decay=0.5)
    _, lrs = _groups(task)
    # encoder depths: stem -> 1, blocks.0 -> 2, blocks.1 (BN) -> 3, blocks.2 -> 4; decoder keeps lr
    assert lrs["model.encoder.stem.weight"] == pytest.approx(0.5**4)
    assert lrs["model.encoder.blocks.0.weight"] == pytest.approx(0.5**3)
    assert lrs["model.encoder.blocks.2.weight"] == pytest.approx(0.5**1)
    assert lrs["model.decoder.weight"] == pytest.approx(1.0)


def test_lr_overrides_by_substring_and_unknown_override():
    task = SemanticSegmentationTask(model=TinyPixelModel(), lr=1e-3, lr_overrides={"decoder": 0.1})
    _, lrs = _groups(task)
    assert lrs["model.decoder.bias"] == 0.1 and lrs["model.encoder.stem.weight"] == 1e-3
    task = SemanticSegmentationTask(model=TinyPixelModel(), lr_overrides={"decodr": 0.1})
    with pytest.raises(ConfigError, match="decodr"):
        task.configure_optimizers()


def test_head_only_and_freeze_flags():
    task = SemanticSegmentationTask(model=TinyPixelModel(), training_mode="head_only")
    _, lrs = _groups(task)
    assert all(not n.startswith("model.encoder") for n in lrs)
    task.train()
    assert not task.model.encoder.training  # frozen parts stay in eval mode (BatchNorm stats)
    task = SemanticSegmentationTask(model=TinyPixelModel(), freeze_backbone=True, freeze_decoder=True)
    with pytest.raises(ConfigError, match="no trainable"):
        task.configure_optimizers()
    with pytest.raises(ConfigError, match="training_mode"):
        SemanticSegmentationTask(model=TinyPixelModel(), training_mode="heads")


def test_optimizer_and_scheduler_by_name():
    task = SemanticSegmentationTask(
        model=TinyPixelModel(),
        optimizer="SGD",
        optimizer_hparams={"momentum": 0.9, "weight_decay": 0.01},
        scheduler="StepLR",
        scheduler_hparams={"step_size": 2, "interval": "step"},
    )
    conf = task.configure_optimizers()
    assert isinstance(conf["optimizer"], torch.optim.SGD)
    assert conf["optimizer"].param_groups[0]["weight_decay"] == 0.01
    assert conf["lr_scheduler"]["interval"] == "step"
    assert isinstance(conf["lr_scheduler"]["scheduler"], torch.optim.lr_scheduler.StepLR)
    with pytest.raises(ConfigError, match="AdamW"):
        SemanticSegmentationTask(model=TinyPixelModel(), optimizer="Adamw").configure_optimizers()
    with pytest.raises(ConfigError, match="CosineAnnealingLR"):
        SemanticSegmentationTask(model=TinyPixelModel(), scheduler="CosineAnealingLR").configure_optimizers()


class _RecordLR(torch.optim.SGD):
    seen: ClassVar[list[float]] = []

    def step(self, closure=None):
        _RecordLR.seen.append(self.param_groups[0]["lr"])
        return super().step(closure)


def test_warmup_scales_the_lr_of_the_first_steps(monkeypatch):
    from geo_core.testing import TinyGeoDataModule

    monkeypatch.setattr(torch.optim, "RecordLR", _RecordLR, raising=False)
    _RecordLR.seen = []
    task = SemanticSegmentationTask(
        model=TinyPixelModel(), optimizer="RecordLR", lr=0.1, warmup_steps=4, warmup_start_factor=0.0
    )
    quiet_trainer(max_steps=6, limit_val_batches=0).fit(task, TinyGeoDataModule(num_samples=24, batch_size=4))
    assert _RecordLR.seen[:6] == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1, 0.1])
    assert task.trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.1)  # restored after each step
