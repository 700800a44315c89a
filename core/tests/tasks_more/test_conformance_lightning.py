"""geo_core.testing.check_datamodule and check_task accept conforming components and name what is wrong."""

from __future__ import annotations

from typing import Any

import geo_core
import lightning.pytorch as pl
import pytest
import torch
from geo_core.data import ScenePreprocessing
from geo_core.testing import TinyGeoDataModule, check_datamodule, check_task
from torch.utils.data import DataLoader, default_collate


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


class _Broken(TinyGeoDataModule):
    """TinyGeoDataModule with one contract fault, to show that the check fails on it."""

    def __init__(self, fault: str) -> None:
        super().__init__(task="segmentation")
        self.fault = fault

    def _collate(self, samples: list[dict[str, Any]]) -> dict[str, Any]:
        batch: dict[str, Any] = default_collate(samples)
        if self.fault == "mask_size":
            batch["mask"] = batch["mask"][..., :-1]
        elif self.fault == "short_mask":
            batch["mask"] = batch["mask"][:-1]
        elif self.fault == "nan":
            batch["image"][0, 0, 0, 0] = float("nan")
        elif self.fault == "modalities":
            batch["image"] = {"s1": batch["image"][:, :2], "s2": batch["image"][:-1, 2:]}
        return batch

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader[dict[str, Any]]:
        self.setup()
        data = self._splits[split]
        if self.fault == "unpicklable":
            data.reader = lambda: None  # type: ignore[attr-defined]
        shuffle = shuffle or (self.fault == "shuffled_val" and split == "val")
        return DataLoader(data, batch_size=self.batch_size, shuffle=shuffle, collate_fn=self._collate)

    def scene_preprocessing(self) -> ScenePreprocessing:
        if self.fault == "scene_bands":
            return ScenePreprocessing(bands=[1, 2, 3])
        return super().scene_preprocessing()


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("mask_size", r"mask is \(32, 31\) but the image is \(32, 32\)"),
        ("short_mask", "'mask' holds 3 values for 4 images"),
        ("nan", "image holds NaN or Inf"),
        ("modalities", "modalities hold different batch sizes"),
        ("shuffled_val", r"val_dataloader\(\) shuffles"),
        ("unpicklable", "cannot be pickled"),
        ("scene_bands", "reads 3 bands but the batches have 6"),
    ],
)
def test_check_datamodule_fails_on_a_broken_datamodule(fault: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_datamodule(_Broken(fault), target="mask")


def test_check_datamodule_takes_multimodal_and_detection_images() -> None:
    class _Layouts(_Broken):
        def _collate(self, samples: list[dict[str, Any]]) -> dict[str, Any]:
            batch: dict[str, Any] = default_collate(samples)
            image = batch["image"]
            batch["image"] = {"s1": image[:, :2], "s2": image[:, 2:]} if self.fault == "dict" else list(image)
            return batch

        def scene_preprocessing(self) -> ScenePreprocessing:
            raise geo_core.ConfigError("multimodal scenes are not supported")

    assert set(check_datamodule(_Layouts("dict"), bands=6, target="mask")["train_dataloader"]["image"]) == {"s1", "s2"}
    assert len(check_datamodule(_Layouts("list"), bands=6)["val_dataloader"]["image"]) == 4
    with pytest.raises(AssertionError, match="6 bands over all modalities, expected 5"):
        check_datamodule(_Layouts("dict"), bands=5)


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


_CORE_TASKS = {
    "SemanticSegmentationTask": ("UNetDecoder", {"num_classes": 2}),
    "PixelwiseRegressionTask": ("UNetDecoder", {}),
    "ClassificationTask": ("IdentityDecoder", {"num_classes": 2}),
    "MultiLabelClassificationTask": ("IdentityDecoder", {"num_classes": 2}),
    "ScalarRegressionTask": ("IdentityDecoder", {}),
}


# one tiny synthetic batch may hold no negative (or positive) multilabel target: torchmetrics' ROC warns then
@pytest.mark.filterwarnings("ignore:No negative samples in targets:UserWarning")
@pytest.mark.filterwarnings("ignore:No positive samples in targets:UserWarning")
@pytest.mark.parametrize("name", sorted(_CORE_TASKS))
def test_check_task_on_every_core_training_task(name: str) -> None:
    decoder, extra = _CORE_TASKS[name]
    task = geo_core.TASKS.build(
        name, model_factory="EncoderDecoderFactory", model_args={"backbone": "tiny_cnn", "decoder": decoder, **extra}
    )
    check_task(task)


class _ToyMAE(geo_core.Model):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.Conv2d(6, 6, 1)

    def forward(self, x: torch.Tensor, **kwargs: Any) -> geo_core.ModelOutput:
        mask = torch.zeros(x.shape[0], *x.shape[-2:])
        mask[..., : x.shape[-1] // 2] = 1
        return geo_core.ModelOutput(self.encoder(x), {"mask": mask})


def test_check_task_on_the_reconstruction_task() -> None:
    check_task(geo_core.TASKS.build("ReconstructionTask", model=_ToyMAE()), TinyGeoDataModule())
