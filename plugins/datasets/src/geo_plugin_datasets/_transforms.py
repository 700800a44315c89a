"""Augmentation on tensors; geometric transforms move image and mask together.

A transform list may hold, in any mix:

* names of built-in ops: ``hflip``, ``vflip``, ``rot90``, ``d4`` (random dihedral),
  also under their albumentations names (``HorizontalFlip``, ``VerticalFlip``,
  ``RandomRotate90``, ``D4``, ``RandomCrop``, ``CenterCrop``; ``ToTensorV2`` is a
  no-op) so TerraTorch configs carry over without albumentations installed;
* ``{"class_path": ..., "init_args": {...}}`` dicts (albumentations class paths map
  to the built-ins above; any other class path is imported and instantiated);
* torchvision ``transforms.v2`` objects (called with ``tv_tensors.Image`` and
  ``tv_tensors.Mask``, so photometric ops touch the image only);
* kornia augmentation modules (wrapped in ``AugmentationSequential`` with
  ``data_keys=["input", "mask"]``);
* any callable ``f(image, mask) -> (image, mask)``.

Built-in ops work on the last two axes, so ``(C, T, H, W)`` samples work too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from geo_core import ConfigError

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["JointTransform", "build_transform"]

Pair = tuple["Tensor", "Tensor | None"]


def _rand() -> float:
    import torch

    return float(torch.rand(()))


class _Flip:
    def __init__(self, dim: int, p: float = 0.5) -> None:
        self.dim, self.p = dim, p

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        if _rand() < self.p:
            image = image.flip(self.dim)
            mask = None if mask is None else mask.flip(self.dim)
        return image, mask


class _Rot90:
    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        import torch

        if _rand() < self.p:
            k = int(torch.randint(1, 4, ()))
            image = image.rot90(k, (-2, -1))
            mask = None if mask is None else mask.rot90(k, (-2, -1))
        return image, mask


class _D4:
    def __init__(self, p: float = 1.0) -> None:
        self.p = p

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        import torch

        if _rand() < self.p:
            k = int(torch.randint(0, 4, ()))
            image, mask = image.rot90(k, (-2, -1)), None if mask is None else mask.rot90(k, (-2, -1))
            if _rand() < 0.5:
                image, mask = image.flip(-1), None if mask is None else mask.flip(-1)
        return image, mask


class _Crop:
    def __init__(self, height: int, width: int, center: bool = False, p: float = 1.0) -> None:
        self.h, self.w, self.center, self.p = int(height), int(width), center, p

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        import torch

        H, W = image.shape[-2:]
        if self.h > H or self.w > W:
            raise ConfigError(f"crop {self.h}x{self.w} is larger than the sample {H}x{W}", key="transform")
        if self.center:
            r, c = (H - self.h) // 2, (W - self.w) // 2
        else:
            r = int(torch.randint(0, H - self.h + 1, ()))
            c = int(torch.randint(0, W - self.w + 1, ()))
        image = image[..., r : r + self.h, c : c + self.w]
        mask = None if mask is None else mask[..., r : r + self.h, c : c + self.w]
        return image, mask


class _Identity:
    def __init__(self, **_: Any) -> None:
        pass

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        return image, mask


_BUILTINS: dict[str, Callable[..., Any]] = {
    "hflip": lambda **kw: _Flip(-1, **kw),
    "HorizontalFlip": lambda **kw: _Flip(-1, **kw),
    "vflip": lambda **kw: _Flip(-2, **kw),
    "VerticalFlip": lambda **kw: _Flip(-2, **kw),
    "rot90": _Rot90,
    "RandomRotate90": _Rot90,
    "d4": _D4,
    "D4": _D4,
    "RandomCrop": _Crop,
    "CenterCrop": lambda **kw: _Crop(center=True, **kw),
    "ToTensorV2": _Identity,
    "identity": _Identity,
}


class _TorchvisionV2:
    def __init__(self, t: Any) -> None:
        self.t = t

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        from torchvision import tv_tensors

        if mask is None:
            return self.t(tv_tensors.Image(image)).as_subclass(type(image)), None
        img, msk = self.t(tv_tensors.Image(image), tv_tensors.Mask(mask))
        import torch

        return img.as_subclass(torch.Tensor), msk.as_subclass(torch.Tensor)


class _Kornia:
    def __init__(self, t: Any) -> None:
        import kornia.augmentation as K

        self.seq = K.AugmentationSequential(t, data_keys=["input", "mask"])

    def __call__(self, image: Tensor, mask: Tensor | None) -> Pair:
        if mask is None:
            return self.seq(image[None], image.new_zeros((1, 1, *image.shape[-2:])))[0][0], None
        img, msk = self.seq(image[None], mask[None, None].to(image.dtype))
        return img[0], msk[0, 0].round().to(mask.dtype)


def _from_spec(spec: Any) -> Callable[[Any, Any], Pair]:
    if isinstance(spec, str):
        if spec in _BUILTINS:
            return _BUILTINS[spec]()  # type: ignore[no-any-return]
        return _from_spec({"class_path": spec})
    if isinstance(spec, dict):
        if "class_path" not in spec:
            raise ConfigError(f"a transform dict needs 'class_path', got {spec}", key="transform")
        path, kwargs = str(spec["class_path"]), dict(spec.get("init_args") or {})
        short = path.rsplit(".", 1)[-1]
        if short in _BUILTINS and (path == short or path.startswith("albumentations")):
            kwargs.pop("always_apply", None)
            return _BUILTINS[short](**kwargs)  # type: ignore[no-any-return]
        if "." not in path:
            raise ConfigError(
                f"unknown transform {path!r}; built-ins: {sorted(_BUILTINS)}, or give a full class path",
                key="transform",
            )
        module, _, attr = path.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module), attr)(**kwargs)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"cannot import transform {path!r}: {exc}", key="transform") from exc
        return _from_spec(obj)
    mod = type(spec).__module__
    if mod.startswith("torchvision.transforms.v2"):
        return _TorchvisionV2(spec)
    if mod.startswith("kornia.augmentation"):
        return _Kornia(spec)
    if mod.startswith("albumentations"):
        raise ConfigError(
            f"albumentations object {type(spec).__name__} cannot run on tensors; use its name "
            f"({sorted(k for k in _BUILTINS if k[0].isupper())}) or a torchvision v2 / kornia transform",
            key="transform",
        )
    if callable(spec):
        return spec  # type: ignore[no-any-return]
    raise ConfigError(f"not a transform: {spec!r}", key="transform")


class JointTransform:
    """Apply a list of transforms to ``(image, mask)`` in order."""

    def __init__(self, specs: Sequence[Any]) -> None:
        self.ops = [_from_spec(s) for s in specs]

    def __call__(self, image: Tensor, mask: Tensor | None = None) -> Pair:
        for op in self.ops:
            image, mask = op(image, mask)
        return image, mask

    def __len__(self) -> int:
        return len(self.ops)


def build_transform(specs: Sequence[Any] | Callable[..., Any] | None) -> JointTransform | None:
    """Build a :class:`JointTransform` from a config value (None or empty -> None)."""
    if specs is None:
        return None
    if isinstance(specs, JointTransform):
        return specs
    if not isinstance(specs, list | tuple):
        specs = [specs]
    t = JointTransform(specs)
    return t if len(t) else None
