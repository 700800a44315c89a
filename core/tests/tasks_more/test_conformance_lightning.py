"""geo_core.testing.check_datamodule and check_task accept conforming components and name what is wrong."""

from __future__ import annotations

from typing import Any

import geo_core
import lightning.pytorch as pl
import pytest
import torch
from geo_core.testing import TinyGeoDataModule, check_datamodule, check_task
from torch.utils.data import DataLoader


class _NoImage(pl.LightningDataModule):
    def train_dataloader(self) -> DataLoader[Any]:
        return DataLoader([{"pixels": torch.zeros(6, 8, 8)}] * 2, batch_size=2)

    def val_dataloader(self) -> DataLoader[Any]:
        return self.train_dataloader()


def test_check_datamodule() -> None:
    batches = check_datamodule(TinyGeoDataModule(), stages=("fit", "test"), bands=6, target="mask")
    assert set(batches) == {"train_dataloader", "val_dataloader", "test_dataloader"}
    with pytest.raises(AssertionError, match="4 bands, expected 6"):
        check_datamodule(TinyGeoDataModule(bands=4), bands=6)
    with pytest.raises(AssertionError, match="has no 'label'"):
        check_datamodule(TinyGeoDataModule(), target="label")
    with pytest.raises(AssertionError, match="has no 'image' tensor"):
        check_datamodule(_NoImage())


def test_check_task() -> None:
    task = geo_core.TASKS.build(
        "SemanticSegmentationTask",
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
    )
    check_task(task)
    frozen = geo_core.TASKS.build(
        "ClassificationTask",
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "decoder": "IdentityDecoder", "num_classes": 2},
        lr=0.0,
    )
    with pytest.raises(AssertionError, match="changed nothing"):
        check_task(frozen)
    with pytest.raises(AssertionError, match="not a LightningModule"):
        check_task(torch.nn.Linear(2, 2))
