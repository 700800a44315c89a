"""ReconstructionTask: masked-autoencoder training and evaluation for models in ``MODELS``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from geo_core._contracts import Model, ModelOutput
from geo_core._errors import ConfigError
from geo_core.tasks._base import freeze_part

__all__ = ["ReconstructionTask", "masked_mse"]

_RESERVED = frozenset({"image", "mask", "label", "filename", "metadata"})


def masked_mse(reconstruction: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over masked pixels only.

    Args:
        reconstruction: ``(B, C, H, W)`` or ``(B, C, T, H, W)``.
        target: Same shape.
        mask: 1 where the pixel's patch was masked, broadcastable without the channel axis
            (``(B, H, W)`` / ``(B, T, H, W)``).
    """
    if reconstruction.shape != target.shape:
        raise ValueError(f"reconstruction {tuple(reconstruction.shape)} and target {tuple(target.shape)} differ")
    m = mask.unsqueeze(1).to(reconstruction.dtype)
    err = (reconstruction - target) ** 2 * m
    denom = (m.sum() * reconstruction.shape[1]).clamp(min=1.0)
    return err.sum() / denom


class ReconstructionTask(pl.LightningModule):
    """Train or evaluate a masked autoencoder (e.g. ``prithvi:prithvi_eo_v2_300_mae``).

    The model follows the reconstruction convention: ``forward(x, mask_ratio=...)``
    returns ``ModelOutput(output=reconstruction, auxiliary_heads={"mask": pixel_mask})``
    with the input's layout; the loss is :func:`masked_mse` on the masked patches.
    Logged: ``train/loss``, ``val/loss``, ``test/loss``. ``predict_step`` returns the
    reconstruction and the mask, and ``save_reconstructions`` writes PNG quicklooks of
    input, mask and reconstruction for inspection.

    Args:
        model: ``MODELS`` registry name or a ready :class:`~geo_core.Model` (a plain ``nn.Module``
            is wrapped in :class:`~geo_core.models.FullModel`).
        model_args: Arguments of the model's builder.
        mask_ratio: Fraction of patches masked (None: the model's default).
        lr: Learning rate.
        weight_decay: Weight decay of the optimiser.
        rgb_indices: Bands shown in quicklooks.
        save_reconstructions: Folder for PNG quicklooks of the first validation batch per epoch.
        optimizer: Class name in ``torch.optim``.
        optimizer_hparams: Extra optimiser arguments.
        scheduler: Class name in ``torch.optim.lr_scheduler`` or None.
        scheduler_hparams: Scheduler arguments, plus Lightning's ``interval``/``frequency``/``monitor``.
        freeze_encoder: Freeze the model's ``encoder`` (TerraTorch's ``freeze_encoder``).
        freeze_decoder: Freeze the model's ``decoder``.
    """

    monitor: ClassVar[str] = "val/loss"
    monitor_mode: ClassVar[str] = "min"

    def __init__(
        self,
        model: str | Model | nn.Module,
        model_args: dict[str, Any] | None = None,
        mask_ratio: float | None = None,
        lr: float = 1e-4,
        weight_decay: float = 0.05,
        rgb_indices: list[int] | None = None,
        save_reconstructions: str | None = None,
        optimizer: str = "AdamW",
        optimizer_hparams: dict[str, Any] | None = None,
        scheduler: str | None = None,
        scheduler_hparams: dict[str, Any] | None = None,
        freeze_encoder: bool = False,
        freeze_decoder: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["model"] if isinstance(model, nn.Module) else None)
        if mask_ratio is not None and not 0.0 < mask_ratio < 1.0:
            raise ConfigError(f"mask_ratio must be in (0, 1), got {mask_ratio}", key="mask_ratio")
        from geo_core.models._full import as_model

        if isinstance(model, nn.Module):
            if model_args:
                raise ConfigError("model_args only apply to a model given by name", key="model_args")
            built: nn.Module = model
        else:
            from geo_core import MODELS

            built = MODELS.build(model, **dict(model_args or {}))
        self.model: Model = as_model(built, "reconstruction")
        if freeze_encoder:
            freeze_part(self.model.freeze_encoder, "freeze_encoder")
        if freeze_decoder:
            freeze_part(self.model.freeze_decoder, "freeze_decoder")

    def on_train_epoch_start(self) -> None:
        """Keep frozen parts in eval mode (Lightning calls ``train()`` on the whole task)."""
        self.model.train()

    def forward(self, x: Tensor, **kwargs: Any) -> tuple[Tensor, Tensor]:
        """``(reconstruction, pixel mask)`` of a batch."""
        if self.hparams.get("mask_ratio") is not None:
            kwargs["mask_ratio"] = self.hparams["mask_ratio"]
        out = self.model(x, **kwargs)
        if not isinstance(out, ModelOutput) or "mask" not in out.auxiliary_heads:
            raise TypeError(
                f"{type(self.model).__name__} must return ModelOutput(output=reconstruction, "
                "auxiliary_heads={'mask': pixel_mask}) to be trained by ReconstructionTask"
            )
        return out.output, out.auxiliary_heads["mask"]

    def _step(self, batch: Mapping[str, Any], stage: str) -> Tensor:
        x = batch["image"]
        rec, mask = self(x, **{k: v for k, v in batch.items() if k not in _RESERVED})
        loss = masked_mse(rec, x, mask)
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=True, prog_bar=True, batch_size=x.shape[0])
        return loss

    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> Tensor:
        """Masked MSE on the training batch."""
        return self._step(batch, "train")

    def validation_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        """Masked MSE; quicklooks of the first batch when ``save_reconstructions`` is set."""
        self._step(batch, "val")
        folder = self.hparams.get("save_reconstructions")
        if folder and batch_idx == 0 and self.trainer.is_global_zero:
            with torch.no_grad():
                rec, mask = self(batch["image"])
            self.write_quicklook(
                Path(folder) / f"epoch{self.current_epoch:03d}.png", batch["image"][0], rec[0], mask[0]
            )

    def test_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        """Masked MSE on the test batch."""
        self._step(batch, "test")

    def predict_step(self, batch: Mapping[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        """Reconstruction and mask of the batch."""
        rec, mask = self(batch["image"], **{k: v for k, v in batch.items() if k not in _RESERVED})
        out: dict[str, Any] = {"reconstruction": rec, "mask": mask}
        if "filename" in batch:
            out["filename"] = batch["filename"]
        return out

    def configure_optimizers(self) -> Any:
        """The optimiser (AdamW by default) over the trainable parameters, optional scheduler."""
        from geo_core.tasks._optim import build_optimizer, build_scheduler

        hp = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]
        if not params:
            raise ConfigError("the task has no trainable parameters (everything is frozen)", key="freeze_encoder")
        opt_hp = {"weight_decay": hp["weight_decay"], **dict(hp.get("optimizer_hparams") or {})}
        opt = build_optimizer(hp.get("optimizer") or "AdamW", [{"params": params}], hp["lr"], opt_hp)
        if not hp.get("scheduler"):
            return opt
        return {
            "optimizer": opt,
            "lr_scheduler": build_scheduler(hp["scheduler"], opt, hp.get("scheduler_hparams"), self.monitor),
        }

    def write_quicklook(self, path: Path, image: Tensor, rec: Tensor, mask: Tensor) -> Path:
        """Save input | masked input | reconstruction side by side as a PNG (atomic write)."""
        import warnings

        import numpy as np
        import rasterio

        from geo_core._atomic import atomic_path

        idx = list(self.hparams.get("rgb_indices") or [2, 1, 0])
        if image.dim() == 4:  # (C, T, H, W): first frame
            image, rec, mask = image[:, 0], rec[:, 0], mask[0]
        idx = [i for i in idx if i < image.shape[0]] or [0]

        def to_rgb(t: Tensor) -> np.ndarray:
            a = t[idx].detach().float().cpu().numpy()
            lo, hi = np.percentile(a, 2), np.percentile(a, 98)
            a = np.clip((a - lo) / max(hi - lo, 1e-6), 0, 1)
            a = np.repeat(a, 3, axis=0) if a.shape[0] == 1 else a[:3]
            return (a.transpose(1, 2, 0) * 255).astype("uint8")

        m = mask.detach().cpu().numpy().astype(bool)
        masked = to_rgb(image)
        masked[m] = 0
        panel = np.concatenate([to_rgb(image), masked, to_rgb(rec)], axis=1)
        with atomic_path(path, suffix=".png") as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # a picture, not a map
            with rasterio.open(
                tmp, "w", driver="PNG", width=panel.shape[1], height=panel.shape[0], count=3, dtype="uint8"
            ) as dst:
                dst.write(np.moveaxis(panel, -1, 0))
        Path(str(tmp) + ".aux.xml").unlink(missing_ok=True)
        return path
