"""A tiny datamodule for task, CLI and prediction tests (in memory or from a GeoTIFF folder).

Stands in for ``geo-plugin-datasets`` in core tests; implements the
``scene_preprocessing()`` contract of :mod:`geo_core.data`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from geo_core.data import ScenePreprocessing

__all__ = ["TinyGeoDataModule"]

TaskKind = Literal["segmentation", "regression", "classification", "multilabel", "scalar_regression"]


class _Samples(Dataset[dict[str, Any]]):
    def __init__(
        self, images: np.ndarray, targets: np.ndarray, key: str, names: list[str], extra: dict[str, np.ndarray]
    ) -> None:
        self.images, self.targets, self.key, self.names, self.extra = images, targets, key, names, extra

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "image": torch.from_numpy(self.images[i]),
            self.key: torch.from_numpy(np.asarray(self.targets[i])),
            "filename": self.names[i],
        }
        out.update({k: torch.from_numpy(v[i]) for k, v in self.extra.items()})
        return out


class TinyGeoDataModule(pl.LightningDataModule):
    """Learnable synthetic samples for every task kind.

    The segmentation mask is the quantile bin of band 0 (as in
    :func:`geo_core.testing.make_segmentation_folder`); other targets derive from band means.

    Args:
        task: Target kind.
        image_dir: Folder of ``*_img.tif`` images (``make_segmentation_folder``); in-memory when None.
        label_dir: Folder of ``*_mask.tif`` masks paired by stem.
        num_samples: In-memory samples per split.
        bands: Bands of in-memory images.
        size: Height and width of in-memory images.
        num_classes: Classes (or labels, or regression outputs).
        batch_size: Batch size of every loader.
        means: Per-band means (normalisation, also used by ``scene_preprocessing``).
        stds: Per-band standard deviations.
        test_dataloaders: Number of test dataloaders.
        extra_keys: Extra per-sample keys (e.g. ``["location_coords"]``) forwarded to the model.
        seed: Seed of the synthetic data.
    """

    def __init__(
        self,
        task: TaskKind = "segmentation",
        image_dir: str | None = None,
        label_dir: str | None = None,
        num_samples: int = 8,
        bands: int = 6,
        size: int = 32,
        num_classes: int = 2,
        batch_size: int = 4,
        means: list[float] | None = None,
        stds: list[float] | None = None,
        test_dataloaders: int = 1,
        extra_keys: list[str] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.task, self.image_dir, self.label_dir = task, image_dir, label_dir
        self.num_samples, self.bands, self.size, self.num_classes = num_samples, bands, size, num_classes
        self.batch_size, self.means, self.stds = batch_size, means, stds
        self.test_dataloaders, self.extra_keys, self.seed = test_dataloaders, list(extra_keys or []), seed
        self._splits: dict[str, _Samples] = {}

    def scene_preprocessing(self) -> ScenePreprocessing:
        """Read bands 1..bands and normalise like the training samples."""
        return ScenePreprocessing(bands=list(range(1, self.bands + 1)), means=self.means, stds=self.stds)

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        if self.means is not None:
            x = x - np.asarray(self.means, dtype=np.float32)[None, :, None, None]
        if self.stds is not None:
            x = x / np.asarray(self.stds, dtype=np.float32)[None, :, None, None]
        return x.astype(np.float32)

    def _targets(self, raw: np.ndarray) -> tuple[np.ndarray, str]:
        k = self.num_classes
        edges = np.linspace(0, 1, k + 1)[1:-1]
        if self.task == "segmentation":
            return np.digitize(raw[:, 0], edges).astype(np.int64), "mask"
        if self.task == "regression":
            return raw[:, 0].astype(np.float32) * 2.0, "mask"
        means = raw.mean(axis=(2, 3))
        if self.task == "classification":
            return np.digitize(means[:, 0] * 1.7, edges).clip(0, k - 1).astype(np.int64), "label"
        if self.task == "multilabel":
            return (means[:, :k] > 0.3).astype(np.float32), "label"
        return means[:, 0].astype(np.float32), "label"

    def _load_folder(self) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        import rasterio

        assert self.image_dir is not None
        imgs, masks, names = [], [], []
        for f in sorted(Path(self.image_dir).glob("*_img.tif")):
            stem = f.name[: -len("_img.tif")]
            with rasterio.open(f) as src:
                imgs.append(src.read().astype(np.float32))
            if self.label_dir is not None:
                with rasterio.open(Path(self.label_dir) / f"{stem}_mask.tif") as src:
                    masks.append(src.read(1).astype(np.int64))
            names.append(stem)
        return np.stack(imgs), (np.stack(masks) if masks else None), names

    def _make(self, split: str, offset: int) -> _Samples:
        if self.image_dir is not None:
            raw, masks, names = self._load_folder()
            targets, key = self._targets(raw)
            if masks is not None and self.task == "segmentation":
                targets = masks
        else:
            rng = np.random.default_rng(self.seed + offset)
            raw = rng.random((self.num_samples, self.bands, self.size, self.size), dtype=np.float32)
            if self.task not in ("segmentation", "regression"):  # vary brightness so sample targets differ
                raw *= rng.uniform(0.2, 1.0, size=(self.num_samples, 1, 1, 1)).astype(np.float32)
            targets, key = self._targets(raw)
            names = [f"{split}{i:03d}" for i in range(len(raw))]
        rng = np.random.default_rng(self.seed + 100 + offset)
        extra = {k: rng.random((len(raw), 2), dtype=np.float32) for k in self.extra_keys}
        return _Samples(self._normalise(raw), targets, key, names, extra)

    def setup(self, stage: str | None = None) -> None:
        """Create the splits (deterministic)."""
        for i, split in enumerate(("train", "val", "test", "predict")):
            if split not in self._splits:
                self._splits[split] = self._make(split, i)

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader[dict[str, Any]]:
        self.setup()
        return DataLoader(self._splits[split], batch_size=self.batch_size, shuffle=shuffle, num_workers=0)

    def train_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Shuffled training samples."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Validation samples."""
        return self._loader("val")

    def test_dataloader(self) -> Any:
        """One test loader, or a list of ``test_dataloaders`` loaders."""
        if self.test_dataloaders == 1:
            return self._loader("test")
        return [self._loader("test") for _ in range(self.test_dataloaders)]

    def predict_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Prediction samples (with targets, which prediction ignores)."""
        return self._loader("predict")
