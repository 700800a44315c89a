"""Catalog datamodule: a table of ``id_str``, ``file_loc`` and label columns, images on disk."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import pandas as pd
import torch
from geo_core import ConfigError, InputDataError
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

__all__ = ["CatalogDataModule", "CatalogDataset", "read_catalog", "load_image", "default_train_transform"]

log = logging.getLogger("geo_plugin_zoobot")

_RASTER_SUFFIXES = {".tif", ".tiff"}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
Transform = Callable[[Tensor], Tensor]


def read_catalog(catalog: pd.DataFrame | str | Path) -> tuple[pd.DataFrame, Path | None]:
    """Return the catalog table and the folder relative ``file_loc`` values are resolved against.

    Raises:
        InputDataError: The file is missing or not ``.csv``/``.parquet``.
    """
    if isinstance(catalog, pd.DataFrame):
        return catalog.copy(), None
    path = Path(catalog)
    if not path.is_file():
        raise InputDataError("catalog file not found", path=path)
    if path.suffix.lower() == ".csv":
        df = pd.read_csv(path, dtype={"id_str": str})
    elif path.suffix.lower() in (".parquet", ".pq"):
        df = pd.read_parquet(path)
    else:
        raise InputDataError("catalog must be a .csv or .parquet file", path=path)
    return df, path.parent


def load_image(path: str | Path, greyscale: bool = False, bands: Sequence[int] | None = None) -> np.ndarray:
    """Read an image as a ``(C, H, W)`` float32 array.

    PNG/JPEG are scaled to [0, 1]; GeoTIFF values are kept as stored.

    Args:
        path: Image file (``.png``, ``.jpg``, ``.jpeg``, ``.tif``, ``.tiff``).
        greyscale: Return one channel (PNG/JPEG: luminance; GeoTIFF: mean of the bands).
        bands: 1-based GeoTIFF band indexes to read (default: all).

    Raises:
        InputDataError: Unsupported suffix or unreadable file (names the file).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in _RASTER_SUFFIXES:
            import rasterio

            with rasterio.open(path) as src:
                arr: np.ndarray = np.asarray(src.read(list(bands) if bands else None), dtype=np.float32)
            if greyscale and arr.shape[0] > 1:
                arr = arr.mean(axis=0, keepdims=True)
            return arr
        if suffix in _IMAGE_SUFFIXES:
            from PIL import Image

            with Image.open(path) as opened:
                arr = np.asarray(opened.convert("L" if greyscale else "RGB"), dtype=np.float32) / 255.0
            return arr[None] if arr.ndim == 2 else np.ascontiguousarray(arr.transpose(2, 0, 1))
    except InputDataError:
        raise
    except Exception as exc:
        raise InputDataError(f"cannot read image ({type(exc).__name__}: {exc})", path=path) from exc
    raise InputDataError(f"unsupported image type {suffix!r}; use PNG/JPEG or GeoTIFF", path=path)


def default_train_transform(image: Tensor) -> Tensor:
    """Random horizontal/vertical flips and 90-degree rotations (orientation-free targets)."""
    if torch.rand(()) < 0.5:
        image = image.flip(-1)
    if torch.rand(()) < 0.5:
        image = image.flip(-2)
    if image.shape[-1] == image.shape[-2]:
        image = torch.rot90(image, int(torch.randint(0, 4, ())), dims=(-2, -1))
    return image


class CatalogDataset(Dataset[dict[str, Any]]):
    """Items ``{"image": (C, H, W) float, "label": ..., "id_str": str}`` from catalog rows."""

    def __init__(
        self,
        catalog: pd.DataFrame,
        label_cols: Sequence[str] | None,
        *,
        root: Path | None = None,
        transform: Transform | None = None,
        image_size: int | tuple[int, int] | None = None,
        greyscale: bool = False,
        bands: Sequence[int] | None = None,
        scale: float | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        label_dtype: Literal["auto", "long", "float"] = "auto",
        label_key: str = "label",
    ) -> None:
        self.ids = catalog["id_str"].astype(str).tolist()
        self.files = [_resolve(f, root) for f in catalog["file_loc"].astype(str)]
        self.transform = transform
        self.image_size = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.greyscale, self.bands, self.scale = greyscale, bands, scale
        self.mean = None if mean is None else torch.tensor(mean, dtype=torch.float32)[:, None, None]
        self.std = None if std is None else torch.tensor(std, dtype=torch.float32)[:, None, None]
        self.label_key = label_key
        self.labels: Tensor | None = None
        if label_cols:
            self.labels = _labels(catalog, list(label_cols), label_dtype)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        image = torch.from_numpy(load_image(self.files[i], self.greyscale, self.bands))
        if self.scale is not None:
            image = image * self.scale
        if self.mean is not None:
            image = image - self.mean
        if self.std is not None:
            image = image / self.std
        if self.image_size is not None and tuple(image.shape[-2:]) != tuple(self.image_size):
            image = torch.nn.functional.interpolate(
                image[None], size=self.image_size, mode="bilinear", align_corners=False, antialias=True
            )[0]
        if self.transform is not None:
            image = self.transform(image)
        item: dict[str, Any] = {"image": image.contiguous(), "id_str": self.ids[i]}
        if self.labels is not None:
            item[self.label_key] = self.labels[i]
        return item


def _resolve(file_loc: str, root: Path | None) -> Path:
    p = Path(file_loc)
    return p if p.is_absolute() or root is None else root / p


def _labels(df: pd.DataFrame, cols: list[str], dtype: str) -> Tensor:
    values = df[cols]
    if len(cols) == 1:
        col = values[cols[0]]
        if col.isna().any():
            bad = df.loc[col.isna(), "id_str"].astype(str).tolist()
            raise InputDataError(
                f"label column {cols[0]!r} is empty for {len(bad)} row(s), e.g. {bad[:5]}; drop or fill those rows"
            )
        if dtype == "long" or (dtype == "auto" and pd.api.types.is_integer_dtype(col)):
            return torch.tensor(col.to_numpy(dtype=np.int64))
        return torch.tensor(col.to_numpy(dtype=np.float32))
    # several columns: vote counts (a question not asked has no votes) or multi-output targets
    arr = values.to_numpy(dtype=np.float32, na_value=np.nan)
    if np.isnan(arr).any():
        log.info("filling %d empty label values with 0 (no votes)", int(np.isnan(arr).sum()))
        arr = np.nan_to_num(arr, nan=0.0)
    return torch.tensor(arr)


def _check(df: pd.DataFrame, label_cols: Sequence[str] | None, root: Path | None, what: str) -> None:
    needed = ["id_str", "file_loc", *(label_cols or [])]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputDataError(f"{what} catalog lacks column(s) {missing}; it has {list(df.columns)}")
    if len(df) == 0:
        raise InputDataError(f"{what} catalog has no rows")
    dupes = df["id_str"].astype(str)
    dupes = sorted(set(dupes[dupes.duplicated()]))
    if dupes:
        raise InputDataError(f"{what} catalog repeats id_str value(s) {dupes[:10]}; id_str must be unique")
    absent = [str(_resolve(f, root)) for f in df["file_loc"].astype(str) if not _resolve(f, root).is_file()]
    if absent:
        more = f" (and {len(absent) - 10} more)" if len(absent) > 10 else ""
        raise InputDataError(f"{what} catalog: {len(absent)} image file(s) not found: {absent[:10]}{more}")


class CatalogDataModule(L.LightningDataModule):
    """Train/val/test/predict loaders over a CSV or Parquet catalog (Zoobot's ``GalaxyDataModule`` role).

    Either one ``catalog`` split by ``split_col`` (values ``train``/``val``/``test``) or, when the
    catalog has no such column, by seeded ``split_fractions``; or explicit ``train_catalog``,
    ``val_catalog``, ``test_catalog``. ``predict_catalog`` (default: the whole ``catalog``) feeds
    ``predict_dataloader``. Relative ``file_loc`` values resolve against ``root`` or else the
    catalog file's folder. Batches are dicts with ``image``, ``label`` (``label_key``) and ``id_str``.

    Args:
        label_cols: Label columns (one for classification/regression, the schema's answers for trees).
        catalog: Table or ``.csv``/``.parquet`` path.
        train_catalog: Explicit training table or path.
        val_catalog: Explicit validation table or path.
        test_catalog: Explicit test table or path.
        predict_catalog: Table or path to predict on.
        split_col: Column naming each row's split.
        split_fractions: ``(train, val, test)`` fractions when there is no ``split_col``.
        seed: Seed of the fraction split.
        root: Folder for relative ``file_loc``.
        batch_size: Batch size.
        num_workers: DataLoader workers.
        image_size: Resize every image to this size (int or ``(H, W)``); Zoobot's ``resize_after_crop``.
        greyscale: Load one channel.
        bands: 1-based GeoTIFF bands to read.
        scale: Multiply pixel values (e.g. ``1e-4`` for reflectance stored as integers).
        mean: Per-band mean subtracted after scaling.
        std: Per-band standard deviation divided after ``mean``.
        augment: Apply :func:`default_train_transform` to training images when ``transform`` is None.
        transform: Training transform ``(C, H, W) -> (C, H, W)``.
        inference_transform: Transform for val/test/predict.
        label_dtype: ``auto`` (integer column -> long, else float), ``long`` or ``float``.
        label_key: Batch key of the labels (match the module's ``label_col``).
        check_files: Verify at setup that every image exists (error lists the missing ones).
    """

    def __init__(
        self,
        label_cols: Sequence[str] | None = None,
        catalog: pd.DataFrame | str | Path | None = None,
        train_catalog: pd.DataFrame | str | Path | None = None,
        val_catalog: pd.DataFrame | str | Path | None = None,
        test_catalog: pd.DataFrame | str | Path | None = None,
        predict_catalog: pd.DataFrame | str | Path | None = None,
        *,
        split_col: str = "split",
        split_fractions: Sequence[float] = (0.8, 0.1, 0.1),
        seed: int = 42,
        root: str | Path | None = None,
        batch_size: int = 32,
        num_workers: int = 0,
        image_size: int | tuple[int, int] | None = None,
        greyscale: bool = False,
        bands: Sequence[int] | None = None,
        scale: float | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        augment: bool = True,
        transform: Transform | None = None,
        inference_transform: Transform | None = None,
        label_dtype: Literal["auto", "long", "float"] = "auto",
        label_key: str = "label",
        check_files: bool = True,
    ) -> None:
        super().__init__()
        if catalog is not None and train_catalog is not None:
            raise ConfigError(
                "pass catalog= (split automatically) or train_catalog=/val_catalog=/..., not both", key="catalog"
            )
        if len(split_fractions) != 3 or abs(sum(split_fractions) - 1) > 1e-6 or min(split_fractions) < 0:
            raise ConfigError(
                f"split_fractions must be three non-negative numbers summing to 1, got {list(split_fractions)}",
                key="split_fractions",
            )
        self.label_cols = list(label_cols) if label_cols else None
        self.catalog, self.train_catalog, self.val_catalog = catalog, train_catalog, val_catalog
        self.test_catalog, self.predict_catalog = test_catalog, predict_catalog
        self.split_col, self.split_fractions, self.seed = split_col, tuple(split_fractions), seed
        self.root = Path(root) if root is not None else None
        self.batch_size, self.num_workers = batch_size, num_workers
        self.transform = transform if transform is not None else (default_train_transform if augment else None)
        self.inference_transform = inference_transform
        self.check_files = check_files
        self.label_key = label_key
        self._ds_kwargs: dict[str, Any] = {
            "image_size": image_size,
            "greyscale": greyscale,
            "bands": bands,
            "scale": scale,
            "mean": mean,
            "std": std,
            "label_dtype": label_dtype,
            "label_key": label_key,
        }
        self.datasets: dict[str, CatalogDataset] = {}

    # -- splitting -------------------------------------------------------------
    def _tables(self, stage: str | None) -> dict[str, tuple[pd.DataFrame, Path | None]]:
        out: dict[str, tuple[pd.DataFrame, Path | None]] = {}
        if stage in (None, "predict"):
            source = self.predict_catalog if self.predict_catalog is not None else self.catalog
            if source is not None:
                out["predict"] = read_catalog(source)
            elif stage == "predict":
                raise ConfigError("nothing to predict on: pass predict_catalog= (or catalog=)", key="predict_catalog")
        if stage == "predict":
            return out
        if self.catalog is not None:
            df, root = read_catalog(self.catalog)
            for split, part in self._split(df).items():
                out[split] = (part, root)
        else:
            for split, source in (
                ("train", self.train_catalog),
                ("val", self.val_catalog),
                ("test", self.test_catalog),
            ):
                if source is not None:
                    out[split] = read_catalog(source)
        needed = {"fit": ["train"], "validate": ["val"], "test": ["test"]}.get(stage or "", [])
        lacking = [s for s in needed if s not in out or len(out[s][0]) == 0]
        if lacking:
            raise ConfigError(
                f"stage {stage!r} needs a {lacking[0]} catalog (or rows with {self.split_col}={lacking[0]!r})",
                key=f"{lacking[0]}_catalog",
            )
        return out

    def _split(self, df: pd.DataFrame) -> dict[str, pd.DataFrame]:
        if self.split_col in df.columns:
            names = df[self.split_col].astype(str).str.lower().replace({"validation": "val", "valid": "val"})
            unknown = sorted(set(names) - {"train", "val", "test"})
            if unknown:
                raise InputDataError(f"column {self.split_col!r} has value(s) {unknown}; use train, val or test")
            return {s: df[names == s].reset_index(drop=True) for s in ("train", "val", "test") if (names == s).any()}
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(df))
        n_train = round(self.split_fractions[0] * len(df))
        n_val = round(self.split_fractions[1] * len(df))
        parts = {"train": order[:n_train], "val": order[n_train : n_train + n_val], "test": order[n_train + n_val :]}
        return {s: df.iloc[np.sort(idx)].reset_index(drop=True) for s, idx in parts.items() if len(idx)}

    def setup(self, stage: str | None = None) -> None:
        """Read and check the catalogs the stage needs; build the datasets."""
        for split, (df, cat_root) in self._tables(stage).items():
            root = self.root if self.root is not None else cat_root
            labels = None if split == "predict" else self.label_cols
            if split != "predict" and not labels:
                raise ConfigError("label_cols is required for training, validation and testing", key="label_cols")
            if self.check_files:
                _check(df, labels, root, split)
            transform = self.transform if split == "train" else self.inference_transform
            self.datasets[split] = CatalogDataset(df, labels, root=root, transform=transform, **self._ds_kwargs)

    # -- loaders ---------------------------------------------------------------
    def _loader(self, split: str, shuffle: bool) -> DataLoader[dict[str, Any]]:
        if split not in self.datasets:
            raise ConfigError(f"no {split} data: call setup() first, or give a {split} catalog", key=f"{split}_catalog")
        return DataLoader(
            self.datasets[split],
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Shuffled training batches."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Validation batches."""
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Test batches."""
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Batches to predict on, in catalog order."""
        return self._loader("predict", shuffle=False)
