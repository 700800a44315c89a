"""The base of every generic datamodule: the options all of them share, stages, splits and loaders.

Each option is declared once, on the class that first needs it; subclasses take
their own options and forward the rest (``**kwargs``) up the chain, keyword-only.
Config checks, ``--print-config`` and the migration report follow that chain, so a
subclass accepts (and documents) every option of its parents.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from geo_core import ConfigError, InputDataError

from geo_plugin_datasets._datasets import Item
from geo_plugin_datasets._pairing import apply_split
from geo_plugin_datasets._transforms import TransformSpecs

__all__ = ["GenericDataModule", "collate"]

STAGES = ("train", "val", "test", "predict")


def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack samples into a batch; a shape mismatch is an error naming the files."""
    from torch.utils.data import default_collate

    try:
        return default_collate(samples)  # type: ignore[no-any-return]
    except RuntimeError as exc:
        shapes = [
            f"{Path(s.get('filename', '?')).name}: image {tuple(s['image'].shape)}"
            + (f", mask {tuple(s['mask'].shape)}" if "mask" in s else "")
            for s in samples
        ]
        raise InputDataError(
            "samples of one batch have different shapes: "
            + "; ".join(shapes)
            + ". Cut equal chips (chip_size=...) or resize the files; geo never falls back to batch_size=1",
        ) from exc


class GenericDataModule(pl.LightningDataModule):
    """Base class: loaders, transforms, split files and the sampled shape check.

    Subclasses set ``self.roots`` (``{stage: root}``) and implement ``_items(stage)`` and
    ``build_dataset(stage)``.

    Args:
        batch_size: Samples per batch.
        num_workers: DataLoader worker processes.
        train_split: File listing the training samples (one name per line; extensions ignored).
        val_split: File listing the validation samples.
        test_split: File listing the test samples.
        allow_substring_split_file: A split-file name may match the files that contain it.
        ignore_split_file_extensions: Accepted for TerraTorch configs; extensions in split files
            are always ignored.
        no_data_replace: Value replacing NaN and the file's nodata value in images (None: keep;
            NaN left in an image is an error).
        rgb_indices: Bands shown as RGB in plots.
        train_transform: Augmentations of training samples: names of built-in ops, albumentations,
            torchvision or kornia transforms, ``class_path`` dicts or ``f(image, mask)`` callables.
        val_transform: Transforms of validation samples.
        test_transform: Transforms of test and predict samples.
        drop_last: Drop the last incomplete training batch.
        pin_memory: Pin batches in page-locked memory (faster host-to-GPU copies).
        check_stackability: Check, before training, that sampled items share one shape.
        shape_check_samples: How many items the sampled shape check opens.
    """

    task: str = "segmentation"

    def __init__(
        self,
        *,
        batch_size: int,
        num_workers: int = 0,
        train_split: str | Path | None = None,
        val_split: str | Path | None = None,
        test_split: str | Path | None = None,
        allow_substring_split_file: bool = True,
        ignore_split_file_extensions: bool = True,
        no_data_replace: float | None = None,
        rgb_indices: Sequence[int] | None = None,
        train_transform: TransformSpecs = None,
        val_transform: TransformSpecs = None,
        test_transform: TransformSpecs = None,
        drop_last: bool = True,
        pin_memory: bool = False,
        check_stackability: bool = True,
        shape_check_samples: int = 8,
    ) -> None:
        super().__init__()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}", key="batch_size")
        del ignore_split_file_extensions  # extensions in split files are always ignored
        self.batch_size = batch_size
        self.num_workers = int(num_workers)
        self.splits: dict[str, str | Path | None] = {"train": train_split, "val": val_split, "test": test_split}
        self.allow_substring = allow_substring_split_file
        self.no_data_replace = no_data_replace
        self.rgb_indices = list(rgb_indices) if rgb_indices is not None else [0, 1, 2]
        from geo_plugin_datasets._transforms import build_transform

        self.transforms = {
            "train": build_transform(train_transform, "train_transform"),
            "val": build_transform(val_transform, "val_transform"),
            "test": build_transform(test_transform, "test_transform"),
            "predict": build_transform(test_transform, "test_transform"),
        }
        self.drop_last = drop_last
        self.pin_memory = pin_memory
        self.check_stackability = check_stackability
        self.shape_check_samples = shape_check_samples
        self.roots: dict[str, Any] = {}
        self.datasets: dict[str, Any] = {}

    # -- stages ------------------------------------------------------------------------
    def _has_stage(self, stage: str) -> bool:
        return self.roots.get(stage) is not None

    def _root(self, stage: str) -> Any:
        """The configured root of ``stage``; unset is an error naming the key."""
        root = self.roots.get(stage)
        if root is None:
            raise ConfigError(f"{stage}_data_root is not set", key=f"{stage}_data_root")
        return root

    def _split(self, stage: str, keys: Sequence[str]) -> list[str]:
        """The keys of ``stage`` its split file keeps (all without one)."""
        return apply_split(keys, self.splits.get(stage), allow_substring=self.allow_substring)

    def _items(self, stage: str) -> list[Item]:  # pragma: no cover - abstract
        raise NotImplementedError

    def build_dataset(self, stage: str) -> Any:  # pragma: no cover - abstract
        """Find the files of ``stage`` (train/val/test/predict) and build its dataset."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        """Build the datasets Lightning asks for (``fit``, ``validate``, ``test``, ``predict``)."""
        wanted = {
            "fit": ("train", "val"),
            "validate": ("val",),
            "test": ("test",),
            "predict": ("predict",),
            None: STAGES,
        }.get(stage, STAGES)
        for s in wanted:
            if s not in self.datasets and self._has_stage(s):
                self.datasets[s] = self.build_dataset(s)
        if stage == "fit" and "train" not in self.datasets:
            raise ConfigError("no training data: set train_data_root", key="train_data_root")

    def _sample_indices(self, n: int) -> list[int]:
        k = max(1, min(self.shape_check_samples, n))
        if k == n:
            return list(range(n))
        return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)}) if k > 1 else [0]

    # -- loaders -----------------------------------------------------------------------
    def _loader(self, stage: str, shuffle: bool) -> Any:
        from torch.utils.data import DataLoader

        if stage not in self.datasets:
            self.setup({"train": "fit", "val": "validate"}.get(stage, stage))
        if stage not in self.datasets:
            raise ConfigError(f"no {stage} data configured: set {stage}_data_root", key=f"{stage}_data_root")
        return DataLoader(
            self.datasets[stage],
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=collate,
            drop_last=self.drop_last and stage == "train" and len(self.datasets[stage]) > self.batch_size,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> Any:
        """Shuffled training batches."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> Any:
        """Validation batches in file order."""
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> Any:
        """Test batches in file order."""
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> Any:
        """Prediction batches in file order."""
        return self._loader("predict", shuffle=False)
