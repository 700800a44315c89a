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

from geo_plugin_datasets._catalog import (
    GenericNonGeoClassificationDataModule,
    GenericNonGeoMultiLabelClassificationDataModule,
    GenericNonGeoScalarRegressionDataModule,
)
from geo_plugin_datasets._datasets import ImageReader, Item, PixelwiseDataset
from geo_plugin_datasets._io import raster_info
from geo_plugin_datasets._label_folders import LabelFolders
from geo_plugin_datasets._pairing import find_files, pair_by_key
from geo_plugin_datasets._single_source import SingleSourceDataModule
from geo_plugin_datasets._windows import scene_windows

__all__ = [
    "GenericNonGeoSegmentationDataModule",
    "GenericNonGeoPixelwiseRegressionDataModule",
    "GenericNonGeoClassificationDataModule",
    "GenericNonGeoMultiLabelClassificationDataModule",
    "GenericNonGeoScalarRegressionDataModule",
]


class _PixelwiseDataModule(LabelFolders, SingleSourceDataModule):
    """Images paired with label rasters by file stem, optionally cut into chips.

    Label folders default to the image folder of the same stage.

    Args:
        chip_size: Cut every scene into chips of this size (int or ``(h, w)``).
        chip_stride: Stride of grid chips (default: ``chip_size``, no overlap).
        chip_sampler: ``grid`` or ``random`` windows for training (validation, test and
            predict always use the grid).
        chips_per_scene: Random chips drawn per scene and epoch (default: as many as the grid).
        label_band: 0-based band of the label raster holding the targets.
    """

    task: Literal["segmentation", "regression"] = "segmentation"

    def __init__(
        self,
        *,
        chip_size: int | tuple[int, int] | None = None,
        chip_stride: int | tuple[int, int] | None = None,
        chip_sampler: Literal["grid", "random"] = "grid",
        chips_per_scene: int | None = None,
        label_band: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.chip_size, self.chip_stride = chip_size, chip_stride
        self.chip_sampler, self.chips_per_scene = chip_sampler, chips_per_scene
        self.label_band = label_band
        self.reduce_zero_label = False

    def _items(self, stage: str) -> list[Item]:
        root = self._root(stage)
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
        keep = set(self._split(stage, [k for k, _, _ in pairs]))
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
            transform=self.transforms[stage],
            no_label_replace=self.no_label_replace,
            reduce_zero_label=self.reduce_zero_label,
            label_band=self.label_band,
        )


class GenericNonGeoSegmentationDataModule(_PixelwiseDataModule):
    """Semantic segmentation from folders of images and masks paired by file stem.

    Takes TerraTorch's init arguments (``train_data_root``, ``img_grep``,
    ``label_grep``, ``dataset_bands``, ``output_bands``, ``means``, ``stds``,
    ``constant_scale``, ``no_data_replace``, ``no_label_replace``, ``num_classes``,
    ``reduce_zero_label``, splits, transforms, ...), all by keyword; the shared ones
    are declared on the parent classes.

    Batches: ``image`` ``(B, C, H, W)`` float32, ``mask`` ``(B, H, W)`` long, ``filename``.
    Pixels whose label is nodata/NaN get ``no_label_replace`` (default -1): use it as
    the task's ``ignore_index``.

    Args:
        num_classes: Number of classes (checked against ``class_names``).
        class_names: Class names in index order.
        reduce_zero_label: Class 0 becomes ``no_label_replace`` and every other class moves down by one.
        no_label_replace: Class of label pixels that are nodata or NaN.
    """

    task = "segmentation"

    def __init__(
        self,
        *,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        reduce_zero_label: bool = False,
        no_label_replace: int | None = -1,
        **kwargs: Any,
    ) -> None:
        super().__init__(no_label_replace=no_label_replace, **kwargs)
        self.num_classes = num_classes
        self.reduce_zero_label = reduce_zero_label
        self.class_names = list(class_names) if class_names is not None else None
        if self.class_names is not None and num_classes is not None and len(self.class_names) != num_classes:
            raise ConfigError(f"{len(self.class_names)} class_names for num_classes={num_classes}", key="class_names")


class GenericNonGeoPixelwiseRegressionDataModule(_PixelwiseDataModule):
    """Pixel-wise regression from folders of images and target rasters paired by file stem.

    Same arguments as :class:`GenericNonGeoSegmentationDataModule` without the
    class options. Batches: ``mask`` is float32.

    Args:
        no_label_replace: Value of target pixels that are nodata or NaN (None: kept as NaN,
            so mask them in the loss).
    """

    task = "regression"

    def __init__(self, *, no_label_replace: float | None = None, **kwargs: Any) -> None:
        super().__init__(no_label_replace=no_label_replace, **kwargs)
