"""Generic datamodules for folders of rasters, under TerraTorch's names and init arguments.

Example:
    >>> import geo_core
    >>> dm = geo_core.DATAMODULES.build(  # doctest: +SKIP
    ...     "GenericNonGeoSegmentationDataModule", batch_size=8, num_workers=2,
    ...     train_data_root="data/train", val_data_root="data/val", test_data_root=None,
    ...     img_grep="*_img.tif", label_grep="*_mask.tif", num_classes=2,
    ...     dataset_bands=["BLUE", "GREEN", "RED", "NIR", "SWIR_1", "SWIR_2"], stats_file="stats.yaml")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from geo_core import ConfigError

from geo_plugin_datasets._base import GenericDataModule
from geo_plugin_datasets._catalog import (
    GenericNonGeoClassificationDataModule,
    GenericNonGeoMultiLabelClassificationDataModule,
    GenericNonGeoScalarRegressionDataModule,
)
from geo_plugin_datasets._datasets import ImageReader, Item, PixelwiseDataset
from geo_plugin_datasets._io import raster_info
from geo_plugin_datasets._pairing import apply_split, find_files, pair_by_key
from geo_plugin_datasets._transforms import TransformSpecs
from geo_plugin_datasets._windows import scene_windows

__all__ = [
    "GenericNonGeoSegmentationDataModule",
    "GenericNonGeoPixelwiseRegressionDataModule",
    "GenericNonGeoClassificationDataModule",
    "GenericNonGeoMultiLabelClassificationDataModule",
    "GenericNonGeoScalarRegressionDataModule",
]


class _PixelwiseDataModule(GenericDataModule):
    """Images paired with label rasters by file stem, optionally cut into chips."""

    def __init__(
        self,
        batch_size: int,
        num_workers: int = 0,
        train_data_root: str | Path | None = None,
        val_data_root: str | Path | None = None,
        test_data_root: str | Path | None = None,
        img_grep: str = "*",
        label_grep: str = "*",
        means: Sequence[float] | str | None = None,
        stds: Sequence[float] | str | None = None,
        predict_data_root: str | Path | None = None,
        train_label_data_root: str | Path | None = None,
        val_label_data_root: str | Path | None = None,
        test_label_data_root: str | Path | None = None,
        train_split: str | Path | None = None,
        val_split: str | Path | None = None,
        test_split: str | Path | None = None,
        ignore_split_file_extensions: bool = True,
        allow_substring_split_file: bool = True,
        dataset_bands: Sequence[Any] | None = None,
        output_bands: Sequence[Any] | None = None,
        predict_dataset_bands: Sequence[Any] | None = None,
        predict_output_bands: Sequence[Any] | None = None,
        constant_scale: float = 1.0,
        rgb_indices: Sequence[int] | None = None,
        train_transform: TransformSpecs = None,
        val_transform: TransformSpecs = None,
        test_transform: TransformSpecs = None,
        expand_temporal_dimension: bool = False,
        no_data_replace: float | None = None,
        no_label_replace: float | None = -1,
        drop_last: bool = True,
        pin_memory: bool = False,
        check_stackability: bool = True,
        stats_file: str | None = None,
        chip_size: int | tuple[int, int] | None = None,
        chip_stride: int | tuple[int, int] | None = None,
        chip_sampler: Literal["grid", "random"] = "grid",
        chips_per_scene: int | None = None,
        label_band: int = 0,
        shape_check_samples: int = 8,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            num_workers=num_workers,
            means=means,
            stds=stds,
            stats_file=stats_file,
            dataset_bands=dataset_bands,
            output_bands=output_bands,
            predict_dataset_bands=predict_dataset_bands,
            predict_output_bands=predict_output_bands,
            constant_scale=constant_scale,
            no_data_replace=no_data_replace,
            expand_temporal_dimension=expand_temporal_dimension,
            rgb_indices=rgb_indices,
            train_transform=train_transform,
            val_transform=val_transform,
            test_transform=test_transform,
            drop_last=drop_last,
            pin_memory=pin_memory,
            check_stackability=check_stackability,
            shape_check_samples=shape_check_samples,
        )
        del ignore_split_file_extensions  # extensions in split files are always ignored
        self.roots = {
            "train": train_data_root,
            "val": val_data_root,
            "test": test_data_root,
            "predict": predict_data_root,
        }
        self.label_roots = {"train": train_label_data_root, "val": val_label_data_root, "test": test_label_data_root}
        self.splits = {"train": train_split, "val": val_split, "test": test_split}
        self.allow_substring = allow_substring_split_file
        self.img_grep, self.label_grep = img_grep, label_grep
        self.no_label_replace = no_label_replace
        self.chip_size, self.chip_stride = chip_size, chip_stride
        self.chip_sampler, self.chips_per_scene = chip_sampler, chips_per_scene
        self.label_band = label_band

    def _has_stage(self, stage: str) -> bool:
        return self.roots.get(stage) is not None

    def _items(self, stage: str) -> list[Item]:
        root = self.roots.get(stage)
        if root is None:
            raise ConfigError(f"{stage}_data_root is not set", key=f"{stage}_data_root")
        images = find_files(root, self.img_grep, "image")
        if stage == "predict":
            pairs: list[tuple[str, Path, Path | None]] = [(k, p, None) for k, p in sorted(images.items())]
        else:
            label_root = self.label_roots.get(stage) or root
            labels = find_files(label_root, self.label_grep, "label")
            if label_root == root and self.img_grep != self.label_grep:
                # one folder holding both: image matches of the label pattern are not images
                images = {k: p for k, p in images.items() if p not in set(labels.values())}
            pairs = list(pair_by_key(images, labels, self.img_grep, self.label_grep))
        keys = apply_split([k for k, _, _ in pairs], self.splits.get(stage), allow_substring=self.allow_substring)
        keep = set(keys)
        pairs = [p for p in pairs if p[0] in keep]
        if self.chip_size is None:
            return [Item(img, lbl) for _, img, lbl in pairs]
        sampler = self.chip_sampler if stage == "train" else "grid"
        items = []
        for _, img, lbl in pairs:
            info = raster_info(img)
            for w in scene_windows(
                info.height, info.width, self.chip_size, sampler, self.chip_stride, self.chips_per_scene
            ):
                items.append(Item(img, lbl, w))
        return items

    def _dataset(self, stage: str, items: list[Item], reader: ImageReader) -> PixelwiseDataset:
        return PixelwiseDataset(
            items,
            reader,
            task=self.task,
            transform=self.transforms[stage],  # type: ignore[arg-type]
            no_label_replace=self.no_label_replace,
            reduce_zero_label=getattr(self, "reduce_zero_label", False),
            label_band=self.label_band,
        )


class GenericNonGeoSegmentationDataModule(_PixelwiseDataModule):
    """Semantic segmentation from folders of images and masks paired by file stem.

    Takes TerraTorch's init arguments (``train_data_root``, ``img_grep``,
    ``label_grep``, ``dataset_bands``, ``output_bands``, ``means``, ``stds``,
    ``constant_scale``, ``no_data_replace``, ``no_label_replace``, ``num_classes``,
    ``reduce_zero_label``, splits, transforms, ...) plus:

    Args:
        stats_file: A ``geo stats`` file to read ``means``/``stds`` from (``means`` may
            also be that path).
        chip_size: Cut every scene into chips of this size (int or ``(h, w)``).
        chip_stride: Stride of grid chips (default: ``chip_size``, no overlap).
        chip_sampler: ``grid`` or ``random`` windows for training (validation, test and
            predict always use the grid).
        chips_per_scene: Random chips drawn per scene and epoch (default: as many as the grid).
        label_band: 0-based band of the label raster holding the classes.
        shape_check_samples: How many items the sampled shape check opens.

    Batches: ``image`` ``(B, C, H, W)`` float32, ``mask`` ``(B, H, W)`` long, ``filename``.
    Pixels whose label is nodata/NaN get ``no_label_replace`` (default -1): use it as
    the task's ``ignore_index``.
    """

    task = "segmentation"

    def __init__(
        self,
        batch_size: int,
        num_workers: int = 0,
        train_data_root: str | Path | None = None,
        val_data_root: str | Path | None = None,
        test_data_root: str | Path | None = None,
        img_grep: str = "*",
        label_grep: str = "*",
        means: Sequence[float] | str | None = None,
        stds: Sequence[float] | str | None = None,
        num_classes: int | None = None,
        predict_data_root: str | Path | None = None,
        train_label_data_root: str | Path | None = None,
        val_label_data_root: str | Path | None = None,
        test_label_data_root: str | Path | None = None,
        train_split: str | Path | None = None,
        val_split: str | Path | None = None,
        test_split: str | Path | None = None,
        ignore_split_file_extensions: bool = True,
        allow_substring_split_file: bool = True,
        dataset_bands: Sequence[Any] | None = None,
        output_bands: Sequence[Any] | None = None,
        predict_dataset_bands: Sequence[Any] | None = None,
        predict_output_bands: Sequence[Any] | None = None,
        constant_scale: float = 1.0,
        rgb_indices: Sequence[int] | None = None,
        train_transform: TransformSpecs = None,
        val_transform: TransformSpecs = None,
        test_transform: TransformSpecs = None,
        expand_temporal_dimension: bool = False,
        reduce_zero_label: bool = False,
        no_data_replace: float | None = None,
        no_label_replace: int | None = -1,
        drop_last: bool = True,
        pin_memory: bool = False,
        check_stackability: bool = True,
        stats_file: str | None = None,
        chip_size: int | tuple[int, int] | None = None,
        chip_stride: int | tuple[int, int] | None = None,
        chip_sampler: Literal["grid", "random"] = "grid",
        chips_per_scene: int | None = None,
        label_band: int = 0,
        shape_check_samples: int = 8,
        class_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            batch_size,
            num_workers,
            train_data_root,
            val_data_root,
            test_data_root,
            img_grep,
            label_grep,
            means,
            stds,
            predict_data_root,
            train_label_data_root,
            val_label_data_root,
            test_label_data_root,
            train_split,
            val_split,
            test_split,
            ignore_split_file_extensions,
            allow_substring_split_file,
            dataset_bands,
            output_bands,
            predict_dataset_bands,
            predict_output_bands,
            constant_scale,
            rgb_indices,
            train_transform,
            val_transform,
            test_transform,
            expand_temporal_dimension,
            no_data_replace,
            no_label_replace,
            drop_last,
            pin_memory,
            check_stackability,
            stats_file,
            chip_size,
            chip_stride,
            chip_sampler,
            chips_per_scene,
            label_band,
            shape_check_samples,
        )
        self.num_classes = num_classes
        self.reduce_zero_label = reduce_zero_label
        self.class_names = list(class_names) if class_names is not None else None
        if self.class_names is not None and num_classes is not None and len(self.class_names) != num_classes:
            raise ConfigError(f"{len(self.class_names)} class_names for num_classes={num_classes}", key="class_names")


class GenericNonGeoPixelwiseRegressionDataModule(_PixelwiseDataModule):
    """Pixel-wise regression from folders of images and target rasters paired by file stem.

    Same arguments as :class:`GenericNonGeoSegmentationDataModule` without the
    class options; ``mask`` is float32 and nodata/NaN targets become
    ``no_label_replace`` (default None: kept as NaN, so mask them in the loss).
    """

    task = "regression"

    def __init__(
        self,
        batch_size: int,
        num_workers: int = 0,
        train_data_root: str | Path | None = None,
        val_data_root: str | Path | None = None,
        test_data_root: str | Path | None = None,
        img_grep: str = "*",
        label_grep: str = "*",
        means: Sequence[float] | str | None = None,
        stds: Sequence[float] | str | None = None,
        predict_data_root: str | Path | None = None,
        train_label_data_root: str | Path | None = None,
        val_label_data_root: str | Path | None = None,
        test_label_data_root: str | Path | None = None,
        train_split: str | Path | None = None,
        val_split: str | Path | None = None,
        test_split: str | Path | None = None,
        ignore_split_file_extensions: bool = True,
        allow_substring_split_file: bool = True,
        dataset_bands: Sequence[Any] | None = None,
        output_bands: Sequence[Any] | None = None,
        predict_dataset_bands: Sequence[Any] | None = None,
        predict_output_bands: Sequence[Any] | None = None,
        constant_scale: float = 1.0,
        rgb_indices: Sequence[int] | None = None,
        train_transform: TransformSpecs = None,
        val_transform: TransformSpecs = None,
        test_transform: TransformSpecs = None,
        expand_temporal_dimension: bool = False,
        no_data_replace: float | None = None,
        no_label_replace: float | None = None,
        drop_last: bool = True,
        pin_memory: bool = False,
        check_stackability: bool = True,
        stats_file: str | None = None,
        chip_size: int | tuple[int, int] | None = None,
        chip_stride: int | tuple[int, int] | None = None,
        chip_sampler: Literal["grid", "random"] = "grid",
        chips_per_scene: int | None = None,
        label_band: int = 0,
        shape_check_samples: int = 8,
    ) -> None:
        super().__init__(
            batch_size,
            num_workers,
            train_data_root,
            val_data_root,
            test_data_root,
            img_grep,
            label_grep,
            means,
            stds,
            predict_data_root,
            train_label_data_root,
            val_label_data_root,
            test_label_data_root,
            train_split,
            val_split,
            test_split,
            ignore_split_file_extensions,
            allow_substring_split_file,
            dataset_bands,
            output_bands,
            predict_dataset_bands,
            predict_output_bands,
            constant_scale,
            rgb_indices,
            train_transform,
            val_transform,
            test_transform,
            expand_temporal_dimension,
            no_data_replace,
            no_label_replace,
            drop_last,
            pin_memory,
            check_stackability,
            stats_file,
            chip_size,
            chip_stride,
            chip_sampler,
            chips_per_scene,
            label_band,
            shape_check_samples,
        )
