"""Padding inputs to what a backbone can take, and cropping outputs back."""

from __future__ import annotations

import math
from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

from geo_core._errors import InputDataError

__all__ = ["PaddingMode", "input_multiple", "pad_to_multiple", "check_input", "check_fixed_size"]

PaddingMode = Literal["reflect", "replicate", "constant", "none"]


def _as_int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, int) for v in value):
        return math.lcm(*value[-2:])
    return None


def input_multiple(backbone: nn.Module) -> int:
    """Return the side multiple a backbone needs: its patch size or total stride (1 when unknown).

    Looks, on the backbone or its first sub-module that declares one, for
    ``patch_size`` (int or tuple; a 3-D tubelet uses its spatial sides),
    ``strides`` (list, the largest is used), ``output_stride`` or timm's
    ``feature_info.reduction()``.
    """
    for module in backbone.modules():
        found = []
        patch = _as_int(getattr(module, "patch_size", None))
        if patch:
            found.append(patch)
        strides = getattr(module, "strides", None)
        if isinstance(strides, (list, tuple)) and strides and all(isinstance(s, int) for s in strides):
            found.append(max(strides))
        ostride = getattr(module, "output_stride", None)
        if isinstance(ostride, int) and ostride > 0:
            found.append(ostride)
        info = getattr(module, "feature_info", None)
        reduction = getattr(info, "reduction", None)
        if callable(reduction):
            try:
                red = reduction()
            except Exception:
                red = None
            if isinstance(red, (list, tuple)) and red and all(isinstance(r, int) for r in red):
                found.append(max(red))
        if found:
            return math.lcm(*found)
    return 1


def pad_to_multiple(x: Tensor, multiple: int, mode: PaddingMode) -> tuple[Tensor, tuple[int, int]]:
    """Pad the last two dims of ``x`` (bottom/right) up to a multiple of ``multiple``.

    Returns:
        The padded tensor and the original ``(H, W)``.

    Raises:
        InputDataError: ``mode`` is ``"none"`` and the sides are not multiples.
    """
    h, w = int(x.shape[-2]), int(x.shape[-1])
    ph, pw = (-h) % multiple, (-w) % multiple
    if not ph and not pw:
        return x, (h, w)
    if mode == "none":
        raise InputDataError(
            f"input of {h}x{w} pixels: both sides must be multiples of {multiple} (the backbone's patch size or "
            f"total stride) because padding is off; resize or crop the input, or build with padding='reflect'"
        )
    if mode == "reflect" and (ph >= h or pw >= w):
        mode = "replicate"  # reflect needs padding < size
    if x.dim() == 5:
        b, c, t = x.shape[:3]
        y = F.pad(x.reshape(b, c * t, h, w), (0, pw, 0, ph), mode=mode)
        return y.reshape(b, c, t, h + ph, w + pw), (h, w)
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def check_fixed_size(backbone: nn.Module, size: tuple[int, int], original: tuple[int, int]) -> None:
    """Raise :class:`InputDataError` when a backbone only takes one input size (timm's ``strict_img_size``)."""
    for module in backbone.modules():
        if getattr(module, "strict_img_size", False):
            fixed = getattr(module, "img_size", None)
            if isinstance(fixed, int):
                fixed = (fixed, fixed)
            if isinstance(fixed, (tuple, list)) and len(fixed) == 2 and tuple(fixed) != tuple(size):
                raise InputDataError(
                    f"the backbone only takes {fixed[0]}x{fixed[1]} inputs, got {original[0]}x{original[1]}"
                    f"{f' (padded to {size[0]}x{size[1]})' if size != original else ''}; resize or tile the input "
                    "to that size, or build the backbone with a matching img_size (or dynamic_img_size=True)"
                )
            return


def check_input(x: Tensor, backbone: nn.Module) -> None:
    """Raise :class:`InputDataError` for inputs the model cannot take, naming the constraint."""
    if x.dim() not in (4, 5):
        raise InputDataError(f"model input must be (B, C, H, W) or (B, C, T, H, W), got shape {tuple(x.shape)}")
    for name in ("in_channels", "in_chans"):
        for module in (backbone, getattr(backbone, "encoder", None)):
            expected = getattr(module, name, None) if module is not None else None
            if isinstance(expected, int) and expected != x.shape[1]:
                raise InputDataError(
                    f"the backbone expects {expected} input bands but the input has {x.shape[1]} "
                    f"(shape {tuple(x.shape)}); select the bands the backbone was built for or set "
                    f"backbone_{name}={x.shape[1]}"
                )
