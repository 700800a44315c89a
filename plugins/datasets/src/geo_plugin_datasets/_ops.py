"""Built-in equivalents of albumentations transforms that resample (used when albumentations is absent).

They take albumentations' argument names, work on the last two axes of ``(C[, T], H, W)``
tensors, interpolate images bilinearly and masks by nearest neighbour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["Rotate", "Resize", "RandomResizedCrop", "Normalize", "Flip", "Transpose"]

Pair = tuple["Tensor", "Tensor | None"]


def _rand() -> float:
    import torch

    return float(torch.rand(()))


def _resize(image: Tensor, mask: Tensor | None, size: tuple[int, int]) -> Pair:
    import torch.nn.functional as F

    lead = image.shape[:-2]
    img = (
        F.interpolate(image.reshape(1, -1, *image.shape[-2:]).float(), size=size, mode="bilinear", align_corners=False)
        .reshape(*lead, *size)
        .to(image.dtype)
    )
    if mask is None:
        return img, None
    m = F.interpolate(mask[None, None].float(), size=size, mode="nearest")[0, 0].to(mask.dtype)
    return img, m


class Resize:
    """Resize to ``height x width``."""

    def __init__(self, height: int, width: int, p: float = 1.0, **_: Any) -> None:
        self.size, self.p = (int(height), int(width)), p

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        return _resize(image, mask, self.size) if _rand() < self.p else (image, mask)


class RandomResizedCrop:
    """Crop a random area (``scale`` of the image, aspect ``ratio``) and resize it to ``size``."""

    def __init__(
        self,
        size: Sequence[int] | None = None,
        height: int | None = None,
        width: int | None = None,
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (0.75, 4 / 3),
        p: float = 1.0,
        **_: Any,
    ) -> None:
        if size is None:
            if height is None or width is None:
                raise ValueError("RandomResizedCrop needs size=[h, w] (or height and width)")
            size = (height, width)
        self.size = (int(size[0]), int(size[1]))
        self.scale, self.ratio, self.p = tuple(scale), tuple(ratio), p

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        import torch

        if _rand() >= self.p:
            return image, mask
        h, w = image.shape[-2:]
        for _ in range(10):
            area = h * w * (self.scale[0] + _rand() * (self.scale[1] - self.scale[0]))
            log_r = math.log(self.ratio[0]) + _rand() * (math.log(self.ratio[1]) - math.log(self.ratio[0]))
            ar = math.exp(log_r)
            cw, ch = round(math.sqrt(area * ar)), round(math.sqrt(area / ar))
            if 0 < cw <= w and 0 < ch <= h:
                top = int(torch.randint(0, h - ch + 1, ()))
                left = int(torch.randint(0, w - cw + 1, ()))
                break
        else:
            ch, cw, top, left = h, w, 0, 0
        image = image[..., top : top + ch, left : left + cw]
        mask = None if mask is None else mask[..., top : top + ch, left : left + cw]
        return _resize(image, mask, self.size)


class Rotate:
    """Rotate by a random angle in ``[-limit, limit]`` degrees (``fill`` / ``fill_mask`` outside)."""

    def __init__(
        self,
        limit: float | Sequence[float] = 90,
        p: float = 0.5,
        fill: float = 0.0,
        fill_mask: float = 0.0,
        value: float | None = None,
        mask_value: float | None = None,
        **_: Any,
    ) -> None:
        lo, hi = (-float(limit), float(limit)) if isinstance(limit, int | float) else map(float, limit)
        self.limit, self.p = (lo, hi), p
        self.fill = float(value if value is not None else fill)
        self.fill_mask = float(mask_value if mask_value is not None else fill_mask)

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as TF

        if _rand() >= self.p:
            return image, mask
        angle = self.limit[0] + _rand() * (self.limit[1] - self.limit[0])
        lead = image.shape[:-2]
        img = (
            TF.rotate(image.reshape(-1, *image.shape[-2:]).float(), angle, InterpolationMode.BILINEAR, fill=[self.fill])
            .reshape(*lead, *image.shape[-2:])
            .to(image.dtype)
        )
        if mask is None:
            return img, None
        m = TF.rotate(mask[None].float(), angle, InterpolationMode.NEAREST, fill=[self.fill_mask])[0]
        return img, m.to(mask.dtype)


class Normalize:
    """``(image - mean * max_pixel_value) / (std * max_pixel_value)`` per channel."""

    def __init__(
        self,
        mean: Sequence[float] = (0.485, 0.456, 0.406),
        std: Sequence[float] = (0.229, 0.224, 0.225),
        max_pixel_value: float = 255.0,
        p: float = 1.0,
        **_: Any,
    ) -> None:
        self.mean, self.std, self.max, self.p = list(mean), list(std), float(max_pixel_value), p

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        import torch

        if _rand() >= self.p:
            return image, mask
        shape = (-1,) + (1,) * (image.dim() - 1)
        mean = torch.tensor(self.mean, dtype=torch.float32).reshape(shape) * self.max
        std = torch.tensor(self.std, dtype=torch.float32).reshape(shape) * self.max
        return (image.float() - mean) / std, mask


class Flip:
    """Random horizontal, vertical or both flips (albumentations' ``Flip``)."""

    def __init__(self, p: float = 0.5, **_: Any) -> None:
        self.p = p

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        import torch

        if _rand() >= self.p:
            return image, mask
        dims = [(-1,), (-2,), (-2, -1)][int(torch.randint(0, 3, ()))]
        return image.flip(dims), None if mask is None else mask.flip(dims)


class Transpose:
    """Swap height and width."""

    def __init__(self, p: float = 0.5, **_: Any) -> None:
        self.p = p

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        if _rand() >= self.p:
            return image, mask
        return image.transpose(-2, -1), None if mask is None else mask.transpose(-2, -1)
