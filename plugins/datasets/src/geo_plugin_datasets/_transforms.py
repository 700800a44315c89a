"""Augmentation on tensors; geometric transforms move image and mask together.

A transform list (a datamodule's ``train_transform`` ...) may hold, in any mix:

* names of built-in ops: ``hflip``, ``vflip``, ``rot90``, ``d4`` (random dihedral),
  also under their albumentations names (``HorizontalFlip``, ``VerticalFlip``,
  ``RandomRotate90``, ``D4``, ``RandomCrop``, ``CenterCrop``, ``Rotate``, ``Resize``,
  ``RandomResizedCrop``, ``Normalize``, ``Flip``, ``Transpose``; ``ToTensorV2`` is a
  no-op) so TerraTorch configs carry over;
* ``{"class_path": ..., "init_args": {...}}`` dicts. ``albumentations.*`` class paths run
  as a real albumentations pipeline on HWC arrays (image and mask in step) when
  albumentations is installed (``pip install 'geo-plugin-datasets[albumentations]'``),
  and as the built-ins above otherwise; any other class path is imported and instantiated;
* torchvision ``transforms.v2`` objects (called with ``tv_tensors.Image`` and
  ``tv_tensors.Mask``, so photometric ops touch the image only);
* kornia augmentation modules (wrapped in ``AugmentationSequential`` with
  ``data_keys=["input", "mask"]``);
* albumentations objects;
* any callable ``f(image, mask) -> (image, mask)``.

Built-in ops work on the last two axes, so ``(C, T, H, W)`` samples work too. An
unknown transform is a ``ConfigError`` naming its slot (``train_transform[2]``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from geo_core import ConfigError

from geo_plugin_datasets import _ops
from geo_plugin_datasets._albu import INSTALL, AlbumentationsOps, albumentations_available, albumentations_op

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["JointTransform", "build_transform", "TransformSpecs"]

#: What a datamodule's ``*_transform`` argument takes. Spelled out (not ``Any``) so that config
#: parsing keeps ``{class_path: ...}`` specs as data for :func:`build_transform` instead of
#: importing and instantiating them itself.
TransformSpecs = list[str | dict[str, Any]] | str | dict[str, Any] | Callable[..., Any] | None

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
    "Rotate": _ops.Rotate,
    "Resize": _ops.Resize,
    "RandomResizedCrop": _ops.RandomResizedCrop,
    "Normalize": _ops.Normalize,
    "Flip": _ops.Flip,
    "Transpose": _ops.Transpose,
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


class _Albu:
    """An albumentations op waiting to be grouped with its neighbours into one pipeline."""

    def __init__(self, op: Any) -> None:
        self.op = op


def _albumentations_spec(path: str, kwargs: dict[str, Any], where: str) -> Any:
    short = path.rsplit(".", 1)[-1]
    if short == "ToTensorV2":  # samples are tensors already
        return _Identity()
    if albumentations_available():
        return _Albu(albumentations_op(path, kwargs, where))
    if short in _BUILTINS:
        kwargs.pop("always_apply", None)
        return _BUILTINS[short](**kwargs)
    raise ConfigError(
        f"{where}: {path} is not built in and albumentations is not installed; {INSTALL} "
        f"(built-ins: {sorted(k for k in _BUILTINS if k[0].isupper())})",
        key=where,
    )


def _from_spec(spec: Any, where: str = "transform") -> Any:
    if isinstance(spec, str):
        if spec in _BUILTINS:
            return _BUILTINS[spec]()
        return _from_spec({"class_path": spec}, where)
    if isinstance(spec, dict):
        if "class_path" not in spec:
            raise ConfigError(f"{where}: a transform dict needs 'class_path', got {spec}", key=where)
        path, kwargs = str(spec["class_path"]), dict(spec.get("init_args") or {})
        short = path.rsplit(".", 1)[-1]
        if path.startswith("albumentations."):
            return _albumentations_spec(path, kwargs, where)
        if short in _BUILTINS and path == short:
            kwargs.pop("always_apply", None)
            try:
                return _BUILTINS[short](**kwargs)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: {short}({kwargs}) failed: {exc}", key=where) from exc
        if "." not in path:
            raise ConfigError(
                f"{where}: unknown transform {path!r}; built-ins: {sorted(_BUILTINS)}, "
                "albumentations.<Name>, or a full class path",
                key=where,
            )
        module, _, attr = path.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module), attr)(**kwargs)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{where}: cannot import transform {path!r}: {exc}", key=where) from exc
        return _from_spec(obj, where)
    mod = type(spec).__module__
    if mod.startswith("torchvision.transforms.v2"):
        return _TorchvisionV2(spec)
    if mod.startswith("kornia.augmentation"):
        return _Kornia(spec)
    if mod.startswith("albumentations"):
        if type(spec).__name__ == "ToTensorV2":
            return _Identity()
        return _Albu(spec)
    if callable(spec):
        return spec
    raise ConfigError(f"{where}: not a transform: {spec!r}", key=where)


def _group(ops: list[Any]) -> list[Callable[[Any, Any], Pair]]:
    """Merge runs of albumentations ops into one pipeline each (one HWC round trip per run)."""
    out: list[Any] = []
    run: list[Any] = []
    for op in [*ops, None]:
        if isinstance(op, _Albu):
            run.append(op.op)
            continue
        if run:
            out.append(AlbumentationsOps(run))
            run = []
        if op is not None:
            out.append(op)
    return out


class JointTransform:
    """Apply a list of transforms to ``(image, mask)`` in order.

    Args:
        specs: Transform specs (see the module docstring).
        slot: The config slot they come from, for error messages (``train_transform``).
    """

    def __init__(self, specs: Sequence[Any], slot: str = "transform") -> None:
        self.ops = _group([_from_spec(s, f"{slot}[{i}]") for i, s in enumerate(specs)])

    def __call__(self, image: Tensor, mask: Tensor | None = None) -> Pair:
        for op in self.ops:
            image, mask = op(image, mask)
        return image, mask

    def __len__(self) -> int:
        return len(self.ops)


def build_transform(specs: TransformSpecs | Sequence[Any], slot: str = "transform") -> JointTransform | None:
    """Build a :class:`JointTransform` from a config value (None or empty -> None); ``slot`` names it in errors."""
    if specs is None:
        return None
    if isinstance(specs, JointTransform):
        return specs
    if not isinstance(specs, list | tuple):
        specs = [specs]
    t = JointTransform(specs, slot)
    return t if len(t) else None
