"""Datamodules that read one raster per sample: data roots, band selection and normalisation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_core import ConfigError, InputDataError

from geo_plugin_datasets._bands import BandSpec, resolve_bands, resolve_norm
from geo_plugin_datasets._base import STAGES, GenericDataModule
from geo_plugin_datasets._datasets import ImageReader, Item
from geo_plugin_datasets._io import raster_info
from geo_plugin_datasets._scene import SCENE_OPTIONS, band_args, scene_preprocessing

if TYPE_CHECKING:
    from geo_core.data import ScenePreprocessing

__all__ = ["SingleSourceDataModule"]


def _listed(values: Sequence[Any] | None) -> list[Any] | None:
    return list(values) if values is not None else None


class SingleSourceDataModule(GenericDataModule):
    """One raster per sample: where the files are and how their bands become the model's input.

    Subclasses implement ``_items(stage)`` and ``_dataset(stage, items, reader)``; the other
    options of :class:`~geo_plugin_datasets._base.GenericDataModule` pass through ``**kwargs``.

    Args:
        train_data_root: Training images (a folder; image-level datamodules also take a ``.csv``).
        val_data_root: Validation images.
        test_data_root: Test images.
        predict_data_root: Images to predict (no labels needed).
        img_grep: Glob selecting the images; with labels, the part matched by ``*`` pairs them.
        means: Per-band means (after ``constant_scale``), or the path of a ``geo stats`` file.
        stds: Per-band standard deviations, or the path of a ``geo stats`` file.
        stats_file: A ``geo stats`` file to read ``means``/``stds`` from.
        dataset_bands: Names (or indices) of the bands of the files, in order; with
            ``expand_temporal_dimension`` the bands of one time step.
        output_bands: The bands the model sees, by name or 0-based index (default: all).
        predict_dataset_bands: ``dataset_bands`` of the predict files, when they differ.
        predict_output_bands: ``output_bands`` of the predict files, when they differ.
        constant_scale: Factor applied to raw pixel values first.
        expand_temporal_dimension: Files hold time steps one after the other (time-major);
            samples become ``(C, T, H, W)``.
    """

    def __init__(
        self,
        *,
        train_data_root: str | Path | None = None,
        val_data_root: str | Path | None = None,
        test_data_root: str | Path | None = None,
        predict_data_root: str | Path | None = None,
        img_grep: str = "*",
        means: Sequence[float] | str | None = None,
        stds: Sequence[float] | str | None = None,
        stats_file: str | None = None,
        dataset_bands: Sequence[Any] | None = None,
        output_bands: Sequence[Any] | None = None,
        predict_dataset_bands: Sequence[Any] | None = None,
        predict_output_bands: Sequence[Any] | None = None,
        constant_scale: float = 1.0,
        expand_temporal_dimension: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if expand_temporal_dimension and dataset_bands is None:
            raise ConfigError(
                "expand_temporal_dimension needs dataset_bands (the bands of one time step)",
                key="dataset_bands",
            )
        self.roots = {
            "train": train_data_root,
            "val": val_data_root,
            "test": test_data_root,
            "predict": predict_data_root,
        }
        self.img_grep = img_grep
        self.means, self.stds, self.stats_file = means, stds, stats_file
        self.dataset_bands = _listed(dataset_bands)
        self.output_bands = _listed(output_bands)
        self.predict_dataset_bands = _listed(predict_dataset_bands)
        self.predict_output_bands = _listed(predict_output_bands)
        self.constant_scale = float(constant_scale)
        self.expand_temporal_dimension = expand_temporal_dimension

    # -- preprocessing ---------------------------------------------------------------
    def _band_args(self, stage: str) -> tuple[list[Any] | None, list[Any] | None]:
        return band_args(
            stage, self.dataset_bands, self.output_bands, self.predict_dataset_bands, self.predict_output_bands
        )

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
        return scene_preprocessing({k: getattr(self, k) for k in SCENE_OPTIONS}, self._reference_file)

    def _reference_file(self) -> Path | None:
        for stage in STAGES:
            try:
                items = self._items(stage)
            except ConfigError:
                continue
            if items:
                return Path(items[0].image)
        return None

    # -- datasets ----------------------------------------------------------------------
    def _dataset(self, stage: str, items: list[Item], reader: ImageReader) -> Any:  # pragma: no cover
        raise NotImplementedError

    def build_dataset(self, stage: str) -> Any:
        """Find the files of ``stage`` (train/val/test/predict) and build its dataset."""
        items = self._items(stage)
        if not items:
            raise InputDataError(f"the {stage} split is empty")
        reader = self.make_reader(stage, items[0].image)
        self._check_shapes(stage, items)
        return self._dataset(stage, items, reader)

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
