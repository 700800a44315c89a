"""Map-style datasets: pixel-wise (segmentation, regression) and image-level targets.

Datasets hold only paths and small arrays (picklable, no open handles); every
``__getitem__`` opens, reads and closes its files, so workers never share a
handle across a fork.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from geo_core import InputDataError
from geo_core.data import raster_reading

from geo_plugin_datasets._io import Window, read_raster

if TYPE_CHECKING:
    from geo_plugin_datasets._transforms import JointTransform

__all__ = ["ImageReader", "Item", "PixelwiseDataset", "ImageLevelDataset", "RANDOM"]

#: Window marker: draw a random window of the given size at every access.
RANDOM = "random"


@dataclass
class Item:
    """One sample: image path, optional label (path or value), optional window.

    ``window`` is ``(row, col, h, w)``, ``None`` (whole file) or
    ``("random", H, W, h, w)`` for a random window inside an ``H x W`` scene.
    """

    image: Any  # a Path; {modality: Path | None} for multimodal samples
    label: Any = None
    window: Any = None


class ImageReader:
    """Read and preprocess one image: bands, nodata, constant scale, normalisation, time.

    Args:
        bands: 0-based file bands to read in order (None = all).
        time_steps: Reshape ``(T*C, H, W)`` (time-major) to ``(C, T, H, W)`` when set.
        constant_scale: Multiply pixel values by this first.
        means: Per-band means (after scaling), or None for no normalisation.
        stds: Per-band standard deviations.
        no_data_replace: Value replacing NaN and the file's nodata value (None: keep).
    """

    def __init__(
        self,
        bands: list[int] | None,
        time_steps: int | None = None,
        constant_scale: float = 1.0,
        means: Sequence[float] | None = None,
        stds: Sequence[float] | None = None,
        no_data_replace: float | None = None,
    ) -> None:
        self.bands = bands
        self.time_steps = time_steps
        self.constant_scale = float(constant_scale)
        self.no_data_replace = no_data_replace
        self.means = None if means is None else np.asarray(means, dtype=np.float32)
        self.inv_stds = None if stds is None else (1.0 / np.asarray(stds, dtype=np.float32))

    def read(self, path: Path, window: Window | None = None) -> np.ndarray:
        """Return the preprocessed ``float32`` array of ``path``."""
        fill = 0.0 if self.no_data_replace is None else self.no_data_replace
        data, nodata = read_raster(path, self.bands, window, fill_value=fill)
        img = data.astype(np.float32, copy=data.dtype != np.float32 or not data.flags.writeable)
        if self.no_data_replace is not None:
            bad = np.isnan(img)
            if nodata is not None and not np.isnan(nodata):
                bad |= data == nodata
            img[bad] = self.no_data_replace
        if not np.isfinite(img).all():
            n = int(img.size - np.isfinite(img).sum())
            hint = (
                "Inf is never replaced: fix the file"
                if self.no_data_replace is not None
                else "set no_data_replace to fill NaN, or declare the file's nodata value"
            )
            raise InputDataError(f"has {n} NaN/Inf pixel value(s) in the bands read; {hint}", path)
        if self.constant_scale != 1.0:
            img *= self.constant_scale
        if self.time_steps is not None:
            t = self.time_steps
            c = img.shape[0] // t
            img = img.reshape(t, c, *img.shape[1:])
        if self.means is not None and self.inv_stds is not None:
            # (C, H, W), or (T, C, H, W) before the final transpose
            shape = (1, -1, 1, 1) if self.time_steps is not None else (-1, 1, 1)
            img -= self.means.reshape(shape)
            img *= self.inv_stds.reshape(shape)
        if self.time_steps is not None:
            img = np.ascontiguousarray(img.transpose(1, 0, 2, 3))
        return img


def _resolve_window(window: Any) -> Window | None:
    if window is None or window[0] != RANDOM:
        return window  # type: ignore[no-any-return]
    import torch

    _, H, W, h, w = window
    r = int(torch.randint(0, max(H - h, 0) + 1, ()))
    c = int(torch.randint(0, max(W - w, 0) + 1, ()))
    return (r, c, h, w)


class PixelwiseDataset:
    """Image + per-pixel target pairs (segmentation masks or regression rasters).

    Returns dicts ``image`` ``(C, H, W)`` / ``(C, T, H, W)`` float32, ``mask``
    ``(H, W)`` (long for segmentation, float32 for regression; absent when the
    item has no label) and ``filename``.
    """

    def __init__(
        self,
        items: list[Item],
        reader: ImageReader,
        task: Literal["segmentation", "regression"] = "segmentation",
        transform: JointTransform | None = None,
        no_label_replace: float | None = -1,
        reduce_zero_label: bool = False,
        label_band: int = 0,
    ) -> None:
        self.items = items
        self.reader = reader
        self.task = task
        self.transform = transform
        self.no_label_replace = no_label_replace
        self.reduce_zero_label = reduce_zero_label
        self.label_band = label_band

    def __len__(self) -> int:
        return len(self.items)

    def read_mask(self, path: Path, window: Window | None) -> np.ndarray:
        """Read and clean the label raster of one item."""
        fill = -1 if self.no_label_replace is None else self.no_label_replace
        data, nodata = read_raster(path, [self.label_band], window, fill_value=fill)
        lab = data[0]
        if self.task == "segmentation":
            bad = None
            if np.issubdtype(lab.dtype, np.floating):
                bad = np.isnan(lab)
            if nodata is not None and not np.isnan(nodata):
                bad = (lab == nodata) if bad is None else bad | (lab == nodata)
            out = lab.astype(np.int64)
            if self.reduce_zero_label:
                zero = out == 0
                out -= 1
                out[zero] = -1 if self.no_label_replace is None else int(self.no_label_replace)
            if bad is not None and self.no_label_replace is not None:
                out[bad] = int(self.no_label_replace)
            return out  # type: ignore[no-any-return]
        out = lab.astype(np.float32)
        if self.no_label_replace is not None:
            bad = np.isnan(out)
            if nodata is not None and not np.isnan(nodata):
                bad |= lab == nodata
            out[bad] = self.no_label_replace
        return out  # type: ignore[no-any-return]

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        item = self.items[index]
        window = _resolve_window(item.window)
        with raster_reading(item.image):  # one GDAL setting for the image and its label
            pixels = self.reader.read(item.image, window)
            labels = None if item.label is None else self.read_mask(item.label, window)
        image = torch.from_numpy(pixels)
        mask = None
        if labels is not None:
            mask = torch.from_numpy(labels)
            if tuple(mask.shape) != tuple(image.shape[-2:]):
                raise InputDataError(
                    f"is {tuple(image.shape[-2:])} but its label {Path(item.label).name} is {tuple(mask.shape)}; "
                    "image and label must cover the same pixels",
                    item.image,
                )
        if self.transform is not None:
            image, mask = self.transform(image, mask)
        out: dict[str, Any] = {"image": image, "filename": str(item.image)}
        if mask is not None:
            out["mask"] = mask
        return out


class ImageLevelDataset:
    """Images with one target per image (class index, multi-hot vector or scalars).

    Args:
        items: Items whose ``label`` is an int (classification), a float vector
            (multi-label / several scalars) or a float (one scalar), or None (predict).
        reader: Image preprocessing.
        label_kind: ``class`` -> long scalar, ``multilabel`` -> float vector,
            ``scalar`` -> float scalar or vector.
        transform: Augmentation (image only).
    """

    def __init__(
        self,
        items: list[Item],
        reader: ImageReader,
        label_kind: Literal["class", "multilabel", "scalar"] = "class",
        transform: JointTransform | None = None,
    ) -> None:
        self.items = items
        self.reader = reader
        self.label_kind = label_kind
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        item = self.items[index]
        image = torch.from_numpy(self.reader.read(item.image, _resolve_window(item.window)))
        if self.transform is not None:
            image, _ = self.transform(image, None)
        out: dict[str, Any] = {"image": image, "filename": str(item.image)}
        if item.label is not None:
            if self.label_kind == "class":
                out["label"] = torch.tensor(int(item.label), dtype=torch.long)
            else:
                out["label"] = torch.as_tensor(item.label, dtype=torch.float32)
        return out
