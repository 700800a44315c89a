"""ObjectDetectionTask: torchvision detectors on geo backbones, mAP metrics, GeoJSON predictions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import lightning.pytorch as pl
import torch
from geo_core import ConfigError
from torch import Tensor, nn

__all__ = ["ObjectDetectionTask"]


class ObjectDetectionTask(pl.LightningModule):
    """Train and evaluate a detector; predictions become GeoJSON in the image's CRS.

    Batches carry ``image`` (a ``(B, C, H, W)`` tensor or a list of ``(C, H, W)``) and
    per-image lists under ``boxes_field`` (``xyxy`` pixels), ``labels_field`` and, for
    Mask R-CNN, ``masks_field``; ``filename`` names the source rasters.

    Args:
        model_args: :func:`geo_plugin_detection.build_detector` arguments (``framework``,
            ``backbone``, ``necks``, ``num_classes``, thresholds...).
        model_factory: ``MODEL_FACTORIES`` name (default ``ObjectDetectionModelFactory``).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        freeze_backbone: Freeze the backbone (kept in eval mode).
        boxes_field: Batch key of the boxes.
        labels_field: Batch key of the labels.
        masks_field: Batch key of the instance masks (Mask R-CNN).
        class_names: Names of the labels (index = label), written into the GeoJSON.
        iou_type: ``bbox`` or ``segm`` for the mAP metric (``segm`` needs Mask R-CNN).
        predict_output_dir: Folder for one GeoJSON per predicted image (None: return only).
        predict_score_thresh: Minimum score written to the GeoJSON.
    """

    task_kind: ClassVar[str] = "detection"
    monitor: ClassVar[str] = "val/map"
    monitor_mode: ClassVar[str] = "max"

    def __init__(
        self,
        model_args: dict[str, Any],
        model_factory: str = "ObjectDetectionModelFactory",
        lr: float = 1e-4,
        weight_decay: float = 1e-4,
        freeze_backbone: bool = False,
        boxes_field: str = "boxes",
        labels_field: str = "labels",
        masks_field: str = "masks",
        class_names: list[str] | None = None,
        iou_type: str = "bbox",
        predict_output_dir: str | None = None,
        predict_score_thresh: float = 0.5,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        from geo_core import MODEL_FACTORIES

        self.model = MODEL_FACTORIES.build(model_factory).build_model("detection", **dict(model_args))
        if iou_type not in ("bbox", "segm"):
            raise ConfigError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}", key="iou_type")
        if iou_type == "segm" and getattr(self.model, "framework", "") != "mask-rcnn":
            raise ConfigError("iou_type 'segm' needs framework 'mask-rcnn'", key="iou_type")
        if freeze_backbone:
            self.model.freeze_encoder()
        from torchmetrics.detection import MeanAveragePrecision

        kind: Literal["bbox", "segm"] = "segm" if iou_type == "segm" else "bbox"
        self.val_map = MeanAveragePrecision(iou_type=kind)
        self.test_map = MeanAveragePrecision(iou_type=kind)

    # -- batches ---------------------------------------------------------------
    @staticmethod
    def _images(batch: Mapping[str, Any]) -> list[Tensor]:
        img = batch["image"]
        return list(img.unbind(0)) if isinstance(img, Tensor) else list(img)

    def _targets(self, batch: Mapping[str, Any]) -> list[dict[str, Tensor]]:
        hp = self.hparams
        for key in (hp["boxes_field"], hp["labels_field"]):
            if key not in batch:
                raise KeyError(
                    f"ObjectDetectionTask needs batch key {key!r}; got {sorted(batch)} (set boxes_field / "
                    "labels_field to your datamodule's names)"
                )
        out = []
        for i, (b, lab) in enumerate(zip(batch[hp["boxes_field"]], batch[hp["labels_field"]], strict=True)):
            t = {
                "boxes": torch.as_tensor(b, dtype=torch.float32).reshape(-1, 4),
                "labels": torch.as_tensor(lab, dtype=torch.int64).reshape(-1),
            }
            if getattr(self.model, "framework", "") == "mask-rcnn":
                if hp["masks_field"] not in batch:
                    raise KeyError(f"mask-rcnn needs batch key {hp['masks_field']!r} with instance masks")
                t["masks"] = torch.as_tensor(batch[hp["masks_field"]][i], dtype=torch.uint8)
            out.append(t)
        return out

    # -- steps ---------------------------------------------------------------
    def forward(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        """Detections per image (eval mode)."""
        return self.model(images)  # type: ignore[no-any-return]

    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> Tensor:
        """Sum of the detector's losses; each is logged under ``train/``."""
        images = self._images(batch)
        losses = self.model(images, self._targets(batch))
        loss: Tensor = torch.stack(list(losses.values())).sum()
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(images))
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, on_epoch=True, batch_size=len(images))
        return loss

    def _eval(self, batch: Mapping[str, Any], metric: Any) -> list[dict[str, Tensor]]:
        preds = self.model(self._images(batch))
        targets = self._targets(batch)
        if self.hparams["iou_type"] == "segm":
            preds = [{**p, "masks": (p["masks"][:, 0] > 0.5).to(torch.uint8)} for p in preds]
            targets = [{**t, "masks": t["masks"].to(torch.uint8)} for t in targets]
        metric.update(preds, targets)
        return preds  # type: ignore[no-any-return]

    def validation_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        """Update the validation mAP."""
        self._eval(batch, self.val_map)

    def _log_map(self, metric: Any, prefix: str) -> None:
        res = metric.compute()
        keep = ("map", "map_50", "map_75", "mar_100")
        self.log_dict({f"{prefix}/{k}": res[k].float() for k in keep if k in res}, prog_bar=prefix == "val")
        metric.reset()

    def on_validation_epoch_end(self) -> None:
        """Log ``val/map``, ``val/map_50``, ``val/map_75``, ``val/mar_100``."""
        self._log_map(self.val_map, "val")

    def test_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        """Update the test mAP."""
        self._eval(batch, self.test_map)

    def on_test_epoch_end(self) -> None:
        """Log the test mAP."""
        self._log_map(self.test_map, "test")

    def predict_step(self, batch: Mapping[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        """Detections per image; written as GeoJSON when ``predict_output_dir`` is set."""
        preds = self.model(self._images(batch))
        thresh = float(self.hparams["predict_score_thresh"])
        names = list(batch.get("filename") or [None] * len(preds))
        out = []
        for p, name in zip(preds, names, strict=True):
            keep = p["scores"] >= thresh
            res = {k: v[keep].detach().cpu() for k, v in p.items()}
            if name is not None:
                res["filename"] = name
                folder = self.hparams.get("predict_output_dir")
                if folder:
                    res["geojson"] = str(self._write(Path(folder) / f"{Path(str(name)).stem}.geojson", str(name), res))
            out.append(res)
        return out

    @torch.inference_mode()
    @torch.inference_mode()
    def predict_files(
        self, inputs: Any, output: str | Path, preprocessing: Any = None, progress: bool = False
    ) -> list[Path]:
        """Detect objects in each GeoTIFF of ``inputs``; write one GeoJSON per image in the image's CRS.

        Args:
            inputs: A file, folder or glob, or a list of them.
            output: A folder (``<stem>.geojson`` per image) or, for one input, a ``.geojson`` file.
            preprocessing: Band selection and normalisation (:class:`geo_core.data.ScenePreprocessing`).
            progress: Accepted for symmetry with the raster writers (each image is a single forward pass).

        Returns:
            The GeoJSON files written. Each image is read whole (detection chips, not large scenes).
        """
        from geo_core.inference import expand_inputs, planned_outputs, read_preprocessed

        files = [f for spec in (inputs if isinstance(inputs, list) else [inputs]) for f in expand_inputs(spec)]
        targets: list[Path] = planned_outputs([f.stem for f in files], output, "detection")
        self.eval()
        device = next(iter(self.parameters())).device
        thresh = float(self.hparams["predict_score_thresh"])
        for f, target in zip(files, targets, strict=True):
            x = read_preprocessed(f, preprocessing)
            p = self.model([torch.from_numpy(x).to(device)])[0]
            keep = p["scores"] >= thresh
            self._write(target, str(f), {k: v[keep].detach().cpu() for k, v in p.items()})
        return targets

    def _write(self, path: Path, filename: str, det: Mapping[str, Tensor]) -> Path:
        from geo_core.data import detections_to_geojson, write_geojson

        transform = crs = None
        src = Path(filename)
        if src.is_file() and src.suffix.lower() != ".npy":
            import rasterio

            try:
                with rasterio.open(src) as ds:
                    if ds.crs is not None:
                        transform, crs = ds.transform, ds.crs
            except rasterio.errors.RasterioIOError:
                pass
        fc = detections_to_geojson(
            det["boxes"].numpy(),
            det["labels"].numpy(),
            det["scores"].numpy(),
            transform,
            crs,
            self.hparams.get("class_names"),
            source=filename,
        )
        return write_geojson(path, fc)

    def configure_optimizers(self) -> Any:
        """AdamW over trainable parameters."""
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.hparams["lr"], weight_decay=self.hparams["weight_decay"])

    def on_train_start(self) -> None:
        """Keep frozen parts in eval mode."""
        model: nn.Module = self.model
        model.train()
