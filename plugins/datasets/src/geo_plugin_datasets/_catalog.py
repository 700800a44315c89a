"""Image-level datamodules: classification (folder per class or CSV), multi-label, scalar regression.

A CSV catalog has a header row; ``filename`` (relative to the CSV's folder, or
absolute) names the image and the label columns hold the targets.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from geo_core import ConfigError, InputDataError

from geo_plugin_datasets._datasets import ImageLevelDataset, ImageReader, Item
from geo_plugin_datasets._pairing import find_files
from geo_plugin_datasets._single_source import SingleSourceDataModule

__all__ = [
    "GenericNonGeoClassificationDataModule",
    "GenericNonGeoMultiLabelClassificationDataModule",
    "GenericNonGeoScalarRegressionDataModule",
    "read_catalog",
]

RASTER_SUFFIXES = {".tif", ".tiff", ".png", ".jpg", ".jpeg", ".npy", ".jp2", ".vrt", ".img"}


def read_catalog(path: Path, filename_column: str, needed: Sequence[str]) -> list[dict[str, str]]:
    """Read a CSV catalog; missing columns or image files are errors naming them."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise InputDataError(f"cannot read CSV catalog: {exc}", path) from exc
    cols = set(rows[0]) if rows else set()
    missing_cols = [c for c in (filename_column, *needed) if c not in cols]
    if missing_cols:
        raise InputDataError(f"catalog lacks column(s) {missing_cols}; it has {sorted(cols)}", path)
    missing = []
    for row in rows:
        p = Path(row[filename_column])
        p = p if p.is_absolute() else path.parent / p
        row[filename_column] = str(p)
        if not p.is_file():
            missing.append(p.name)
    if missing:
        raise InputDataError(
            f"{len(missing)} image file(s) listed in the catalog do not exist: {', '.join(missing[:20])}", path
        )
    return rows


class _ImageLevelDataModule(SingleSourceDataModule):
    """Images with one target each, from class sub-folders or a CSV catalog.

    Args:
        filename_column: Catalog column naming the image files.
        no_data_replace: Value replacing NaN and the file's nodata value in images.
    """

    label_kind: Literal["class", "multilabel", "scalar"] = "class"

    def __init__(self, *, filename_column: str = "filename", no_data_replace: float | None = 0, **kwargs: Any) -> None:
        super().__init__(no_data_replace=no_data_replace, **kwargs)
        self.filename_column = filename_column

    def _images_in(self, folder: Path) -> dict[str, Path]:
        found = find_files(folder, self.img_grep, "image")
        if self.img_grep == "*":
            found = {k: p for k, p in found.items() if p.suffix.lower() in RASTER_SUFFIXES}
        return found

    def _items(self, stage: str) -> list[Item]:
        root = Path(self._root(stage))
        if root.suffix.lower() == ".csv":
            rows = read_catalog(root, self.filename_column, self._label_columns(stage))
            items = [Item(Path(r[self.filename_column]), self._catalog_label(r, stage)) for r in rows]
        elif stage == "predict":
            items = [Item(p) for _, p in sorted(self._images_in(root).items())]
        else:
            items = self._folder_items(stage, root)
        keep = set(self._split(stage, [it.image.stem for it in items]))
        return [it for it in items if it.image.stem in keep]

    def _label_columns(self, stage: str) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _catalog_label(self, row: dict[str, str], stage: str) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _folder_items(self, stage: str, root: Path) -> list[Item]:
        raise ConfigError(
            f"{type(self).__name__} reads CSV catalogs: set {stage}_data_root to a .csv file",
            key=f"{stage}_data_root",
        )

    def _dataset(self, stage: str, items: list[Item], reader: ImageReader) -> ImageLevelDataset:
        return ImageLevelDataset(items, reader, self.label_kind, self.transforms[stage])


class GenericNonGeoClassificationDataModule(_ImageLevelDataModule):
    """Single-label classification: one sub-folder per class, or a CSV catalog.

    ``train_data_root`` is either a folder with one sub-folder per class (class
    index = position in ``class_names``, default: sorted folder names of the
    training root) or a ``.csv`` file with ``filename`` and ``label`` columns
    (label = class name or index). Batches: ``image``, ``label`` ``(B,)`` long, ``filename``.

    Args:
        num_classes: Number of classes (checked against the data).
        class_names: Class names in index order (default: the sorted folder names or catalog labels).
        label_column: Catalog column holding the class (name or index).
    """

    label_kind = "class"

    def __init__(
        self,
        *,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        label_column: str = "label",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.label_column = label_column
        self._class_names = list(class_names) if class_names is not None else None

    @property
    def class_names(self) -> list[str]:
        """Class names in index order (from ``class_names`` or the training data)."""
        if self._class_names is None:
            root = Path(self._root("train"))
            if root.suffix.lower() == ".csv":
                rows = read_catalog(root, self.filename_column, [self.label_column])
                labels = {r[self.label_column] for r in rows}
                self._class_names = sorted(labels, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else s))
            else:
                self._class_names = sorted(p.name for p in root.iterdir() if p.is_dir())
            if not self._class_names:
                raise InputDataError("no classes found (expected one sub-folder per class)", root)
        if self.num_classes is not None and len(self._class_names) != self.num_classes:
            raise ConfigError(
                f"num_classes={self.num_classes} but the data has {len(self._class_names)} classes: "
                f"{self._class_names}",
                key="num_classes",
            )
        return self._class_names

    def _label_columns(self, stage: str) -> list[str]:
        return [] if stage == "predict" else [self.label_column]

    def _class_index(self, name: str, where: object) -> int:
        names = self.class_names
        if name in names:
            return names.index(name)
        if name.isdigit() and int(name) < len(names) and not any(n.isdigit() for n in names if n != name):
            return int(name)
        raise InputDataError(f"unknown class {name!r}; known classes: {names}", where)

    def _catalog_label(self, row: dict[str, str], stage: str) -> Any:
        if stage == "predict" or self.label_column not in row:
            return None
        return self._class_index(row[self.label_column], self.roots[stage])

    def _folder_items(self, stage: str, root: Path) -> list[Item]:
        items = []
        folders = sorted(p for p in root.iterdir() if p.is_dir())
        for folder in folders:
            idx = self._class_index(folder.name, folder)
            items += [Item(p, idx) for _, p in sorted(self._images_in(folder).items())]
        if not items:
            raise InputDataError("no images found in class sub-folders", root)
        return items


class GenericNonGeoMultiLabelClassificationDataModule(_ImageLevelDataModule):
    """Multi-label classification from a CSV catalog.

    Either ``label_columns`` (one 0/1 column per class) or one ``label_column``
    holding class names separated by ``label_separator``. Batches: ``label``
    ``(B, K)`` float multi-hot.

    Args:
        num_classes: Number of classes (checked against the named classes).
        class_names: Class names in index order (default: ``label_columns``).
        label_columns: One 0/1 catalog column per class.
        label_column: Catalog column listing the classes of an image (with ``class_names``).
        label_separator: Separator of the class names in ``label_column``.
    """

    label_kind = "multilabel"

    def __init__(
        self,
        *,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        label_columns: Sequence[str] | None = None,
        label_column: str = "labels",
        label_separator: str = ";",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.label_columns = list(label_columns) if label_columns is not None else None
        self.label_column, self.label_separator = label_column, label_separator
        self.class_names = list(class_names) if class_names is not None else self.label_columns
        if self.class_names is None:
            raise ConfigError("give label_columns (0/1 columns) or class_names (with label_column)", key="class_names")
        if num_classes is not None and num_classes != len(self.class_names):
            raise ConfigError(
                f"num_classes={num_classes} but {len(self.class_names)} classes are named", key="num_classes"
            )
        self.num_classes = len(self.class_names)

    def _label_columns(self, stage: str) -> list[str]:
        if stage == "predict":
            return []
        return self.label_columns or [self.label_column]

    def _catalog_label(self, row: dict[str, str], stage: str) -> Any:
        if stage == "predict":
            return None
        assert self.class_names is not None
        if self.label_columns is not None:
            try:
                return [float(row[c]) for c in self.label_columns]
            except ValueError as exc:
                raise InputDataError(f"non-numeric label in row {row}", self.roots[stage]) from exc
        names = [n.strip() for n in row[self.label_column].split(self.label_separator) if n.strip()]
        unknown = [n for n in names if n not in self.class_names]
        if unknown:
            raise InputDataError(f"unknown class(es) {unknown}; known: {self.class_names}", self.roots[stage])
        return [1.0 if c in names else 0.0 for c in self.class_names]


class GenericNonGeoScalarRegressionDataModule(_ImageLevelDataModule):
    """Scalar regression (one or several targets per image) from a CSV catalog.

    Batches: ``label`` ``(B,)`` float for one target column, ``(B, K)`` for several.

    Args:
        target_columns: Catalog columns holding the targets.
    """

    label_kind = "scalar"

    def __init__(self, *, target_columns: Sequence[str] = ("target",), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_columns = list(target_columns)
        if not self.target_columns:
            raise ConfigError("target_columns is empty", key="target_columns")

    def _label_columns(self, stage: str) -> list[str]:
        return [] if stage == "predict" else self.target_columns

    def _catalog_label(self, row: dict[str, str], stage: str) -> Any:
        if stage == "predict":
            return None
        try:
            vals = [float(row[c]) for c in self.target_columns]
        except ValueError as exc:
            raise InputDataError(f"non-numeric target in row {row}", self.roots[stage]) from exc
        return vals[0] if len(vals) == 1 else vals
