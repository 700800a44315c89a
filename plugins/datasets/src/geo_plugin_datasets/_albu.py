"""Albumentations specs from configs: a real albumentations pipeline when it is installed.

TerraTorch runs ``albumentations.*`` transforms on HWC numpy arrays with the image and
the mask in step; :class:`AlbumentationsOps` does the same on geo's ``(C[, T], H, W)``
tensors (frames are stacked on channels, so every frame gets the same geometry) and
converts back. ``ToTensorV2`` is a no-op here: samples already are tensors.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import TYPE_CHECKING, Any

from geo_core import ConfigError

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["albumentations_available", "AlbumentationsOps", "albumentations_op"]

INSTALL = "pip install 'geo-plugin-datasets[albumentations]'"


def albumentations_available() -> bool:
    """Whether albumentations can be imported (without importing it)."""
    return importlib.util.find_spec("albumentations") is not None


def albumentations_op(path: str, kwargs: dict[str, Any], where: str) -> Any:
    """Instantiate ``albumentations.<Name>`` (any sub-module path) with ``kwargs``."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no version check over the network
    import albumentations as A

    name = path.rsplit(".", 1)[-1]
    module, _, attr = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), attr) if module != "albumentations" else getattr(A, name)
    except (ImportError, AttributeError):
        cls = getattr(A, name, None)
    if not isinstance(cls, type):
        from geo_core import suggest

        pool = [n for n in dir(A) if isinstance(getattr(A, n, None), type) and not n.startswith("_")]
        close = suggest(name, pool)
        hint = f"; did you mean albumentations.{close}?" if close else ""
        raise ConfigError(f"{where}: albumentations has no transform {name!r}{hint}", key=where)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: albumentations.{name}({kwargs}) failed: {exc}", key=where) from exc


class AlbumentationsOps:
    """Run albumentations transforms as one ``A.Compose`` on ``(image, mask)`` tensors.

    Args:
        ops: albumentations transform objects, in order.
    """

    def __init__(self, ops: list[Any]) -> None:
        import albumentations as A

        self.compose = A.Compose(ops)

    def __call__(self, image: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """Apply the pipeline: image ``(C[, T], H, W)`` to HWC and back; the mask moves with it."""
        import numpy as np
        import torch

        lead = tuple(image.shape[:-2])
        hwc = image.reshape(-1, *image.shape[-2:]).permute(1, 2, 0).contiguous().numpy()
        data: dict[str, Any] = {"image": hwc}
        if mask is not None:
            data["mask"] = mask.to(torch.float32).numpy()
        out = self.compose(**data)
        img = torch.from_numpy(np.ascontiguousarray(out["image"]))
        if img.dim() == 2:
            img = img[..., None]
        img = img.permute(2, 0, 1).reshape(*lead, *img.shape[:2]).to(image.dtype)
        new_mask = None
        if mask is not None:
            m = torch.from_numpy(np.ascontiguousarray(out["mask"]))
            new_mask = m.to(mask.dtype) if mask.dtype.is_floating_point else m.round().to(mask.dtype)
        return img, new_mask
