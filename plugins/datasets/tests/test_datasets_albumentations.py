"""TerraTorch transform specs from configs: albumentations pipelines, built-in equivalents, slot-named errors."""

from __future__ import annotations

import pytest
import torch
from geo_core import ConfigError
from geo_plugin_datasets import _transforms
from geo_plugin_datasets._transforms import build_transform

SPECS = [
    {"class_path": "albumentations.RandomCrop", "init_args": {"height": 16, "width": 16}},
    {"class_path": "albumentations.HorizontalFlip", "init_args": {"p": 0.5}},
    {"class_path": "albumentations.VerticalFlip"},
    {"class_path": "albumentations.Rotate", "init_args": {"limit": 30, "border_mode": 0, "p": 1.0}},
    {"class_path": "albumentations.D4"},
    {"class_path": "albumentations.RandomResizedCrop", "init_args": {"size": [16, 16]}},
    {"class_path": "albumentations.Resize", "init_args": {"height": 24, "width": 24}},
    {
        "class_path": "albumentations.Normalize",
        "init_args": {"mean": [0.0] * 6, "std": [1.0] * 6, "max_pixel_value": 1.0},
    },
    "ToTensorV2",
    {"class_path": "ToTensorV2"},
]


def _sample() -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.zeros(6, 32, 32)
    image[:, :, 16:] = 1.0  # right half bright in every band
    return image, (image[0] > 0.5).long()


def _check(image: torch.Tensor, mask: torch.Tensor) -> None:
    assert image.shape == (6, 24, 24) and mask.shape == (24, 24) and mask.dtype == torch.long
    # image and mask moved in step: where the mask says 1, band 0 is bright
    bright = image[0] > 0.5
    assert (bright == mask.bool()).float().mean() > 0.9


def test_albumentations_pipeline_moves_image_and_mask_together() -> None:
    pytest.importorskip("albumentations")
    t = build_transform(SPECS, "train_transform")
    assert t is not None and type(t.ops[0]).__name__ == "AlbumentationsOps"
    torch.manual_seed(0)
    for _ in range(5):
        _check(*t(*_sample()))
    frames, _ = t(torch.rand(6, 2, 32, 32), _sample()[1])  # (C, T, H, W): every frame the same geometry
    assert frames.shape == (6, 2, 24, 24)


def test_builtin_equivalents_without_albumentations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_transforms, "albumentations_available", lambda: False)
    t = build_transform(SPECS, "train_transform")
    assert t is not None and not any(type(op).__name__ == "AlbumentationsOps" for op in t.ops)
    torch.manual_seed(0)
    for _ in range(5):
        _check(*t(*_sample()))


def test_unknown_transforms_name_their_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"val_transform\[1\]: unknown transform 'Flipp'") as exc:
        build_transform(["ToTensorV2", "Flipp"], "val_transform")
    assert "task" not in str(exc.value)
    monkeypatch.setattr(_transforms, "albumentations_available", lambda: False)
    with pytest.raises(
        ConfigError,
        match=r"train_transform\[0\]: albumentations.ChannelShuffle is not built in.*"
        r"geo-plugin-datasets\[albumentations\]",
    ):
        build_transform([{"class_path": "albumentations.ChannelShuffle"}], "train_transform")


def test_misspelt_albumentations_transform_gets_the_closest_name() -> None:
    pytest.importorskip("albumentations")
    with pytest.raises(
        ConfigError, match=r"no transform 'HorizontalFlp'; did you mean albumentations.HorizontalFlip\?"
    ):
        build_transform([{"class_path": "albumentations.HorizontalFlp"}], "train_transform")
