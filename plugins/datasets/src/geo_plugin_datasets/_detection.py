"""GenericDetectionDataModule: rasters plus GeoJSON (georeferenced) or COCO (pixel) annotations.

GeoJSON polygons are reprojected to the raster's CRS (RFC 7946 files without a
``crs`` member are WGS 84) and turned into pixel ``xyxy`` boxes through the
raster's transform; instance masks are rasterised from the same polygons.
Labels are indices into ``class_names``, whose entry 0 is the background.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import numpy as np
import torch
from geo_core import ConfigError, InputDataError
from torch.utils.data import DataLoader, Dataset

from geo_plugin_datasets._io import read_raster
from geo_plugin_datasets._pairing import find_files, pair_by_key

__all__ = ["DetectionDataset", "GenericDetectionDataModule", "detection_collate"]


def detection_collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack same-size images; keep boxes, labels, masks and filenames as per-image lists."""
    out: dict[str, Any] = {}
    images = [s["image"] for s in samples]
    same = len({tuple(i.shape) for i in images}) == 1
    out["image"] = torch.stack(images) if same else images
    for key in ("boxes", "labels", "masks", "filename"):
        if key in samples[0]:
            out[key] = [s[key] for s in samples]
    return out


def _geojson_crs(fc: Mapping[str, Any]) -> str:
    crs = fc.get("crs")
    if isinstance(crs, Mapping):
        name = crs.get("properties", {}).get("name")
        if isinstance(name, str):
            return name.replace("urn:ogc:def:crs:", "").replace("::", ":").replace("OGC:1.3:CRS84", "OGC:CRS84")
    return "EPSG:4326"


class DetectionDataset(Dataset[dict[str, Any]]):
    """Images with per-image annotations (GeoJSON files paired by stem, or one COCO file)."""

    def __init__(
        self,
        items: Sequence[tuple[Path, Any]],
        annotation_format: Literal["geojson", "coco", "none"],
        class_names: Sequence[str],
        class_field: str,
        bands: list[int] | None,
        means: Sequence[float] | None,
        stds: Sequence[float] | None,
        constant_scale: float,
        return_masks: bool,
    ) -> None:
        self.items = list(items)
        self.format = annotation_format
        self.class_index = {str(c): i for i, c in enumerate(class_names)}
        self.class_field = class_field
        self.bands = bands
        self.means = np.asarray(means, dtype="float32")[:, None, None] if means is not None else None
        self.stds = np.asarray(stds, dtype="float32")[:, None, None] if stds is not None else None
        self.scale = constant_scale
        self.return_masks = return_masks

    def __len__(self) -> int:
        return len(self.items)

    def _label(self, props: Mapping[str, Any], where: Path) -> int:
        value = props.get(self.class_field)
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < len(self.class_index):
            return value
        if str(value) in self.class_index and self.class_index[str(value)] > 0:
            return self.class_index[str(value)]
        raise InputDataError(
            f"feature property {self.class_field!r} = {value!r} is not one of the classes "
            f"{list(self.class_index)[1:]} (index 0 is the background)",
            where,
        )

    def _geojson(self, image: Path, ann: Path, h: int, w: int) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        import rasterio
        from geo_core.data import geometries_to_pixel_boxes
        from rasterio.warp import transform_geom

        try:
            fc = json.loads(ann.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputDataError(f"cannot read GeoJSON: {exc}", ann) from exc
        with rasterio.open(image) as src:
            transform, crs = src.transform, src.crs
        if crs is None:
            raise InputDataError(
                "the image has no CRS, so GeoJSON annotations cannot be placed; use COCO (pixel) annotations", image
            )
        feats = [f for f in fc.get("features", []) if f.get("geometry")]
        src_crs = _geojson_crs(fc)
        geoms = [
            f["geometry"] if src_crs == crs.to_string() else transform_geom(src_crs, crs, f["geometry"]) for f in feats
        ]
        boxes, kept = geometries_to_pixel_boxes(geoms, transform, h, w)
        labels = np.asarray([self._label(feats[i].get("properties") or {}, ann) for i in kept], dtype="int64")
        return boxes, labels, [(geoms[i], transform) for i in kept]

    def _coco(self, ann: Mapping[str, Any], where: Path) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        boxes, labels, polys = [], [], []
        for a in ann["annotations"]:
            x, y, bw, bh = (float(v) for v in a["bbox"])
            if bw < 1 or bh < 1:
                continue
            cat = int(a["category_id"])
            if not 0 < cat < len(self.class_index):
                raise InputDataError(f"category_id {cat} outside 1..{len(self.class_index) - 1}", where)
            boxes.append([x, y, x + bw, y + bh])
            labels.append(cat)
            seg = a.get("segmentation")
            ring = seg[0] if isinstance(seg, list) and seg else [x, y, x + bw, y, x + bw, y + bh, x, y + bh]
            polys.append(({"type": "Polygon", "coordinates": [list(zip(ring[0::2], ring[1::2], strict=True))]}, None))
        return np.asarray(boxes, dtype="float32").reshape(-1, 4), np.asarray(labels, dtype="int64"), polys

    def __getitem__(self, i: int) -> dict[str, Any]:
        image_path, ann = self.items[i]
        arr, _ = read_raster(image_path, self.bands)
        arr = arr.astype("float32") * self.scale
        if self.means is not None and self.stds is not None:
            arr = (arr - self.means) / self.stds
        if not np.isfinite(arr).all():
            raise InputDataError("image holds NaN or Inf values; set nodata handling or clean the file", image_path)
        _, h, w = arr.shape
        sample: dict[str, Any] = {"image": torch.from_numpy(arr), "filename": str(image_path)}
        if self.format == "none":
            return sample
        if self.format == "geojson":
            boxes, labels, polys = self._geojson(image_path, Path(ann), h, w)
        else:
            boxes, labels, polys = self._coco(ann, image_path)
        sample["boxes"] = torch.from_numpy(boxes)
        sample["labels"] = torch.from_numpy(labels)
        if self.return_masks:
            from rasterio import features
            from rasterio.transform import IDENTITY

            masks = [
                features.rasterize(
                    [g],
                    out_shape=(h, w),
                    transform=t if t is not None else IDENTITY,
                    fill=0,
                    default_value=1,
                    dtype="uint8",
                )
                for g, t in polys
            ]
            sample["masks"] = torch.from_numpy(np.stack(masks) if masks else np.zeros((0, h, w), "uint8"))
        return sample


class GenericDetectionDataModule(pl.LightningDataModule):
    """Object-detection data from folders of rasters and annotations.

    Args:
        class_names: Label names; index 0 is the background (``["background", "building"]``).
        batch_size: Images per batch.
        num_workers: DataLoader workers.
        train_data_root: Images for training (likewise ``val_``, ``test_``, ``predict_data_root``).
        val_data_root: Images for validation.
        test_data_root: Images for testing.
        predict_data_root: Images to predict (no annotations needed).
        train_label_data_root: GeoJSON folder for training (default: the image folder); likewise val/test.
        val_label_data_root: GeoJSON folder for validation.
        test_label_data_root: GeoJSON folder for testing.
        annotation_format: ``geojson`` (one ``<key>.geojson`` per image) or ``coco`` (``*_coco_file``).
        train_coco_file: COCO JSON of the training images (``file_name`` relative to the image root).
        val_coco_file: COCO JSON of the validation images.
        test_coco_file: COCO JSON of the test images.
        img_grep: Glob of the images; the part matched by ``*`` pairs them with annotations.
        label_grep: Glob of the GeoJSON annotation files.
        class_field: GeoJSON property holding the class (name or index).
        bands: 0-based bands to read (all when None).
        means: Per-band means (after ``constant_scale``).
        stds: Per-band standard deviations.
        constant_scale: Factor applied to raw pixel values.
        return_masks: Rasterise instance masks (Mask R-CNN).
    """

    def __init__(
        self,
        *,
        class_names: list[str],
        batch_size: int = 4,
        num_workers: int = 0,
        train_data_root: str | None = None,
        val_data_root: str | None = None,
        test_data_root: str | None = None,
        predict_data_root: str | None = None,
        train_label_data_root: str | None = None,
        val_label_data_root: str | None = None,
        test_label_data_root: str | None = None,
        annotation_format: Literal["geojson", "coco"] = "geojson",
        train_coco_file: str | None = None,
        val_coco_file: str | None = None,
        test_coco_file: str | None = None,
        img_grep: str = "*.tif",
        label_grep: str = "*.geojson",
        class_field: str = "class",
        bands: list[int] | None = None,
        means: list[float] | None = None,
        stds: list[float] | None = None,
        constant_scale: float = 1.0,
        return_masks: bool = False,
    ) -> None:
        super().__init__()
        if len(class_names) < 2:
            raise ConfigError("class_names needs the background first plus at least one class", key="class_names")
        if annotation_format not in ("geojson", "coco"):
            raise ConfigError(
                f"annotation_format must be 'geojson' or 'coco', got {annotation_format!r}", key="annotation_format"
            )
        if (means is None) != (stds is None) or (means is not None and stds is not None and len(means) != len(stds)):
            raise ConfigError("means and stds must be given together, one value per band", key="means")
        self.save_hyperparameters()
        self.annotation_format: Literal["geojson", "coco"] = annotation_format
        self.datasets: dict[str, DetectionDataset] = {}

    def _items(self, stage: str) -> list[tuple[Path, Any]]:
        hp = self.hparams
        root = hp.get(f"{stage}_data_root")
        if root is None:
            raise ConfigError(f"{stage}_data_root is not set", key=f"{stage}_data_root")
        images = find_files(root, hp["img_grep"])
        if stage == "predict":
            return [(images[k], None) for k in sorted(images)]
        if self.annotation_format == "geojson":
            labels = find_files(hp.get(f"{stage}_label_data_root") or root, hp["label_grep"], what="annotation")
            return [(img, ann) for _, img, ann in pair_by_key(images, labels, hp["img_grep"], hp["label_grep"])]
        coco_path = hp.get(f"{stage}_coco_file")
        if coco_path is None:
            raise ConfigError(f"annotation_format 'coco' needs {stage}_coco_file", key=f"{stage}_coco_file")
        try:
            coco = json.loads(Path(coco_path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputDataError(f"cannot read COCO file: {exc}", coco_path) from exc
        by_name = {Path(im["file_name"]).name: im for im in coco.get("images", [])}
        anns: dict[Any, list[Any]] = {}
        for a in coco.get("annotations", []):
            anns.setdefault(a["image_id"], []).append(a)
        missing = sorted(p.name for p in images.values() if p.name not in by_name)
        if missing:
            raise InputDataError(
                f"{len(missing)} image(s) have no entry in the COCO file: {', '.join(missing[:10])}", coco_path
            )
        return [(p, {"annotations": anns.get(by_name[p.name]["id"], [])}) for p in images.values()]

    def setup(self, stage: str | None = None) -> None:
        """Index the files of the stages Lightning asks for (files open lazily per item)."""
        hp = self.hparams
        wanted = {"fit": ["train", "val"], "validate": ["val"], "test": ["test"], "predict": ["predict"]}
        for split in wanted.get(stage or "fit", ["train", "val"]):
            if hp.get(f"{split}_data_root") is None and split == "val":
                continue
            fmt: Literal["geojson", "coco", "none"] = "none" if split == "predict" else self.annotation_format
            self.datasets[split] = DetectionDataset(
                self._items(split),
                fmt,
                hp["class_names"],
                hp["class_field"],
                hp["bands"],
                hp["means"],
                hp["stds"],
                hp["constant_scale"],
                hp["return_masks"],
            )

    def _loader(self, split: str, shuffle: bool) -> DataLoader[dict[str, Any]]:
        if split not in self.datasets:
            self.setup({"train": "fit", "val": "validate"}.get(split, split))
        return DataLoader(
            self.datasets[split],
            batch_size=self.hparams["batch_size"],
            shuffle=shuffle,
            num_workers=self.hparams["num_workers"],
            collate_fn=detection_collate,
        )

    def train_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Shuffled training batches."""
        return self._loader("train", True)

    def val_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Validation batches."""
        return self._loader("val", False)

    def test_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Test batches."""
        return self._loader("test", False)

    def predict_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Prediction batches (images and filenames only)."""
        return self._loader("predict", False)
