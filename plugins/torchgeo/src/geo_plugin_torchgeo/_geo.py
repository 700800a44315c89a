"""Feed geo tasks from a torchgeo ``GeoDataset`` through a random or grid sampler.

``GeoSamplerDataModule`` turns (image, optional mask) rasters, or any GeoDataset,
into batches of geo's shape: ``image`` float ``(B, C, H, W)``, ``mask`` long
``(B, H, W)``. torchgeo's georeferencing keys (``bounds``, ``crs``, ``transform``)
are dropped, because geo forwards unknown batch keys to the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from geo_core import ConfigError
from torch.utils.data import DataLoader

__all__ = ["GeoSamplerDataModule", "to_geo_batch", "raster_dataset"]

Sampler = Literal["random", "grid"]
_KEEP = ("image", "mask", "label")


_MASK_CLASS: list[type] = []


def _mask_raster_dataset() -> type:
    """The torchgeo ``RasterDataset`` with ``is_image = False``, built once (torchgeo imports lazily).

    It is reachable as ``geo_plugin_torchgeo._geo.MaskRasterDataset`` (module ``__getattr__``),
    so datasets holding it pickle for spawned DataLoader workers.
    """
    if not _MASK_CLASS:
        from torchgeo.datasets import RasterDataset

        cls = type("MaskRasterDataset", (RasterDataset,), {"is_image": False, "__module__": __name__})
        _MASK_CLASS.append(cls)
    return _MASK_CLASS[0]


def __getattr__(name: str) -> Any:
    if name == "MaskRasterDataset":
        return _mask_raster_dataset()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def raster_dataset(
    paths: str | Path | Sequence[str | Path],
    *,
    is_image: bool = True,
    bands: Sequence[str] | None = None,
    res: float | None = None,
) -> Any:
    """A torchgeo ``RasterDataset`` over GeoTIFFs (files or folders); ``is_image=False`` for masks."""
    from torchgeo.datasets import RasterDataset

    cls = RasterDataset if is_image else _mask_raster_dataset()
    p = [str(x) for x in paths] if isinstance(paths, (list, tuple)) else str(paths)
    return cls(paths=p, bands=bands, res=res)


def to_geo_batch(sample: dict[str, Any], keep: Sequence[str] = _KEEP) -> dict[str, Any]:
    """Collate-side conversion: keep geo's keys, float images, ``(B, H, W)`` long masks."""
    batch = {k: sample[k] for k in keep if k in sample}
    if "image" in batch:
        batch["image"] = batch["image"].float()
    mask = batch.get("mask")
    if isinstance(mask, torch.Tensor):
        if mask.ndim == 4 and mask.shape[1] == 1:
            mask = mask[:, 0]
        batch["mask"] = mask.long()
    return batch


def _collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    from torchgeo.datasets import stack_samples

    return to_geo_batch(stack_samples(samples))


class GeoSamplerDataModule(pl.LightningDataModule):
    """A LightningDataModule over a torchgeo GeoDataset and a random or grid sampler.

    Give either ``image_paths`` (+ ``mask_paths``) or ready ``dataset`` objects. The
    same dataset serves every split unless ``val_dataset``/``test_dataset`` are given
    (use a different ``roi`` or files for honest validation).

    Args:
        image_paths: GeoTIFF files or folders of the images.
        mask_paths: GeoTIFF files or folders of the masks (intersected with the images).
        dataset: Any torchgeo GeoDataset instead of the paths.
        val_dataset: Dataset for validation (default: ``dataset``).
        test_dataset: Dataset for testing and prediction (default: ``val_dataset``).
        patch_size: Patch side in pixels.
        batch_size: Patches per batch.
        train_sampler: ``random`` (``length`` patches per epoch) or ``grid``.
        length: Patches per training epoch for the random sampler.
        stride: Grid stride in pixels (default ``patch_size``: no overlap).
        num_workers: DataLoader workers.
        bands: Band names to read (RasterDataset ``bands``).

    Example:
        >>> import geo_core
        >>> dm = geo_core.DATAMODULES.build("torchgeo:GeoSamplerDataModule", image_paths="scenes/",
        ...                                 mask_paths="labels/", patch_size=64)  # doctest: +SKIP
    """

    def __init__(
        self,
        image_paths: str | Path | Sequence[str | Path] | None = None,
        mask_paths: str | Path | Sequence[str | Path] | None = None,
        *,
        dataset: Any = None,
        val_dataset: Any = None,
        test_dataset: Any = None,
        patch_size: int = 64,
        batch_size: int = 8,
        train_sampler: Sampler = "random",
        length: int | None = None,
        stride: int | None = None,
        num_workers: int = 0,
        bands: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if (dataset is None) == (image_paths is None):
            raise ConfigError("GeoSamplerDataModule needs exactly one of image_paths= or dataset=", key="dataset")
        if train_sampler not in ("random", "grid"):
            raise ConfigError(f"train_sampler must be 'random' or 'grid', not {train_sampler!r}", key="train_sampler")
        self.image_paths, self.mask_paths, self.bands = image_paths, mask_paths, bands
        self.dataset, self.val_dataset, self.test_dataset = dataset, val_dataset, test_dataset
        self.patch_size, self.batch_size, self.num_workers = patch_size, batch_size, num_workers
        self.train_sampler, self.length, self.stride = train_sampler, length, stride or patch_size

    def setup(self, stage: str | None = None) -> None:
        """Open the rasters (lazily, once)."""
        if self.dataset is None:
            images = raster_dataset(self.image_paths, bands=self.bands)  # type: ignore[arg-type]
            self.dataset = (
                images if self.mask_paths is None else images & raster_dataset(self.mask_paths, is_image=False)
            )
        self.val_dataset = self.val_dataset or self.dataset
        self.test_dataset = self.test_dataset or self.val_dataset

    def _loader(self, dataset: Any, kind: Sampler, shuffle_length: int | None = None) -> DataLoader[Any]:
        from torchgeo.samplers import GridGeoSampler, RandomGeoSampler

        if kind == "random":
            sampler: Any = RandomGeoSampler(dataset, size=self.patch_size, length=shuffle_length)
        else:
            sampler = GridGeoSampler(dataset, size=self.patch_size, stride=self.stride)
        return DataLoader(
            dataset, batch_size=self.batch_size, sampler=sampler, num_workers=self.num_workers, collate_fn=_collate
        )

    def train_dataloader(self) -> DataLoader[Any]:
        """Random (or grid) patches of the training dataset."""
        return self._loader(self.dataset, self.train_sampler, self.length)

    def val_dataloader(self) -> DataLoader[Any]:
        """Grid patches of the validation dataset."""
        return self._loader(self.val_dataset, "grid")

    def test_dataloader(self) -> DataLoader[Any]:
        """Grid patches of the test dataset."""
        return self._loader(self.test_dataset, "grid")

    def predict_dataloader(self) -> DataLoader[Any]:
        """Grid patches of the test dataset."""
        return self._loader(self.test_dataset, "grid")
