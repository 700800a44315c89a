"""Shared machinery of the generic datamodules: preprocessing, loaders, shape checks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl
from geo_core import ConfigError, InputDataError

from geo_plugin_datasets._bands import BandSpec, _name, resolve_bands, resolve_norm
from geo_plugin_datasets._datasets import ImageReader, Item
from geo_plugin_datasets._io import raster_info
from geo_plugin_datasets._transforms import TransformSpecs

if TYPE_CHECKING:
    from geo_core.data import ScenePreprocessing

__all__ = ["GenericDataModule", "collate"]

_STAGES = ("train", "val", "test", "predict")


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
    """Base class: band selection, normalisation, loaders and a sampled shape check.

    Subclasses implement ``_items(stage)`` and ``_dataset(stage, items, reader)``.
    """

    task: str = "segmentation"

    def __init__(
        self,
        *,
        batch_size: int,
        num_workers: int = 0,
        means: Sequence[float] | str | None = None,
        stds: Sequence[float] | str | None = None,
        stats_file: str | None = None,
        dataset_bands: Sequence[Any] | None = None,
        output_bands: Sequence[Any] | None = None,
        predict_dataset_bands: Sequence[Any] | None = None,
        predict_output_bands: Sequence[Any] | None = None,
        constant_scale: float = 1.0,
        no_data_replace: float | None = None,
        expand_temporal_dimension: bool = False,
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
        self.batch_size = batch_size
        self.num_workers = int(num_workers)
        self.means, self.stds, self.stats_file = means, stds, stats_file
        self.dataset_bands = list(dataset_bands) if dataset_bands is not None else None
        self.output_bands = list(output_bands) if output_bands is not None else None
        self.predict_dataset_bands = list(predict_dataset_bands) if predict_dataset_bands is not None else None
        self.predict_output_bands = list(predict_output_bands) if predict_output_bands is not None else None
        self.constant_scale = float(constant_scale)
        self.no_data_replace = no_data_replace
        self.expand_temporal_dimension = expand_temporal_dimension
        if expand_temporal_dimension and dataset_bands is None:
            raise ConfigError(
                "expand_temporal_dimension needs dataset_bands (the bands of one time step)",
                key="dataset_bands",
            )
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
        self.datasets: dict[str, Any] = {}

    # -- preprocessing ---------------------------------------------------------------
    def _band_args(self, stage: str) -> tuple[list[Any] | None, list[Any] | None]:
        if stage == "predict" and (self.predict_dataset_bands or self.predict_output_bands):
            return self.predict_dataset_bands or self.dataset_bands, self.predict_output_bands or self.output_bands
        return self.dataset_bands, self.output_bands

    def make_reader(self, stage: str, reference: Path | None, normalize: bool = True) -> ImageReader:
        """Build the image reader of a stage; ``reference`` is a file to read band metadata from.

        ``normalize=False`` skips means/stds (``geo stats`` computes them).
        """
        ds, out = self._band_args(stage)
        info = raster_info(reference) if reference is not None else None
        count = info.count if info else None
        if self.expand_temporal_dimension and ds is not None and count is not None and count % len(ds):
            raise InputDataError(
                f"has {count} bands, not a multiple of the {len(ds)} dataset_bands per time step", reference
            )
        if ds is not None and count is not None and not self.expand_temporal_dimension and count != len(ds):
            raise InputDataError(
                f"has {count} band(s) but dataset_bands names {len(ds)}: {ds}; list every band of the file",
                reference,
            )
        step_count = count // len(ds) if (self.expand_temporal_dimension and ds and count) else count
        idx = resolve_bands(ds, out, step_count, info.descriptions if info else None)
        spec = BandSpec(idx, len(ds) if ds is not None else None, 1 if self.expand_temporal_dimension else None)
        file_bands = spec.file_indices(count, reference) if count is not None else idx
        time_steps = (count // len(ds)) if (self.expand_temporal_dimension and ds and count) else None
        norm = resolve_norm(self.means, self.stds, self.stats_file, len(idx), out) if normalize else None
        return ImageReader(
            file_bands,
            time_steps,
            self.constant_scale,
            norm[0] if norm else None,
            norm[1] if norm else None,
            self.no_data_replace,
        )

    def scene_preprocessing(self) -> ScenePreprocessing:
        """How ``geo predict`` must read and normalise a raw scene to match training samples."""
        from geo_core.data import ScenePreprocessing

        if self.expand_temporal_dimension:
            raise ConfigError(
                "scene prediction of multi-temporal samples (expand_temporal_dimension) is not supported",
                key="expand_temporal_dimension",
            )
        ds, out = self._band_args("predict")
        if ds is None and out is not None and any(not isinstance(b, int) for b in out):
            ref = self._reference_file()
            info = raster_info(ref) if ref is not None else None
            idx = resolve_bands(None, out, info.count if info else None, info.descriptions if info else None)
        elif ds is None and out is None:
            idx = None
        else:
            idx = resolve_bands(ds, out)
        n = len(idx) if idx is not None else self._reference_band_count()
        norm = resolve_norm(self.means, self.stds, self.stats_file, n, out) if n is not None else None
        # the model's band names, for inputs that choose bands by name (STAC assets)
        named = [_name(ds[i]) for i in idx] if ds is not None and idx is not None else [_name(b) for b in out or []]
        return ScenePreprocessing(
            bands=None if idx is None else [i + 1 for i in idx],
            constant_scale=self.constant_scale,
            means=norm[0] if norm else None,
            stds=norm[1] if norm else None,
            no_data_replace=self.no_data_replace,
            band_names=[str(b) for b in named] if named and all(isinstance(b, str) for b in named) else None,
        )

    def _reference_file(self) -> Path | None:
        for stage in _STAGES:
            try:
                items = self._items(stage)
            except ConfigError:
                continue
            if items:
                return Path(items[0].image)
        return None

    def _reference_band_count(self) -> int | None:
        if self.means is None and self.stds is None and self.stats_file is None:
            return None
        ref = self._reference_file()
        return raster_info(ref).count if ref is not None else None

    # -- datasets ----------------------------------------------------------------------
    def _items(self, stage: str) -> list[Item]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _dataset(self, stage: str, items: list[Item], reader: ImageReader) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _has_stage(self, stage: str) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def build_dataset(self, stage: str) -> Any:
        """Find the files of ``stage`` (train/val/test/predict) and build its dataset."""
        items = self._items(stage)
        if not items:
            raise InputDataError(f"the {stage} split is empty")
        reader = self.make_reader(stage, items[0].image)
        self._check_shapes(stage, items)
        return self._dataset(stage, items, reader)

    def setup(self, stage: str | None = None) -> None:
        """Build the datasets Lightning asks for (``fit``, ``validate``, ``test``, ``predict``)."""
        wanted = {
            "fit": ("train", "val"),
            "validate": ("val",),
            "test": ("test",),
            "predict": ("predict",),
            None: _STAGES,
        }.get(stage, _STAGES)
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

    def _check_shapes(self, stage: str, items: list[Item]) -> None:
        """Check image/label sizes and band counts on a sample of items (metadata only)."""
        seen: dict[tuple[int, int, int], list[str]] = {}
        for i in self._sample_indices(len(items)):
            it = items[i]
            info = raster_info(it.image)
            hw = (info.height, info.width) if it.window is None else tuple(it.window[-2:])
            if isinstance(it.label, Path) and it.window is None:
                linfo = raster_info(it.label)
                if (linfo.height, linfo.width) != (info.height, info.width):
                    raise InputDataError(
                        f"is {info.height}x{info.width} but its label {it.label.name} is "
                        f"{linfo.height}x{linfo.width}; image and label must cover the same pixels",
                        it.image,
                    )
                if info.crs and linfo.crs and info.crs != linfo.crs:
                    raise InputDataError(
                        f"and its label {it.label.name} are in different CRS; reproject the label onto the image",
                        it.image,
                    )
            seen.setdefault((info.count, *hw), []).append(it.image.name)
        if len(seen) > 1 and ((self.check_stackability and self.batch_size > 1) or len({k[0] for k in seen}) > 1):
            listing = "; ".join(f"{c} bands {h}x{w}: {', '.join(v[:3])}" for (c, h, w), v in seen.items())
            raise InputDataError(
                f"{stage} samples differ in shape ({listing}). Cut equal chips with chip_size=..., "
                "or resize the files; geo never silently falls back to batch_size=1"
            )

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
