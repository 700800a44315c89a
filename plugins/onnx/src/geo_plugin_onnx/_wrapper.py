"""The module that is traced: image in, the model's main output (``ModelOutput.output``) out."""

from __future__ import annotations

import sys
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["OutputOnly", "main_output", "unwrap_task", "describe", "size_multiple"]


def unwrap_task(obj: nn.Module) -> nn.Module:
    """The model inside a geo task (its ``.model``), or ``obj`` itself."""
    inner = getattr(obj, "model", None)
    pl = sys.modules.get("lightning.pytorch")  # a task exists only if Lightning is loaded: never import it here
    if pl is None:
        return obj
    return inner if isinstance(obj, pl.LightningModule) and isinstance(inner, nn.Module) else obj


def describe(obj: nn.Module) -> str:
    """A short name for messages: the task and model classes with backbone and decoder."""
    model = unwrap_task(obj)
    parts = [type(model).__name__]
    hp = getattr(obj, "hparams", None) if model is not obj else None
    args = dict((hp or {}).get("model_args") or {}) if hp is not None else {}
    for key in ("arch", "backbone", "decoder"):
        if isinstance(args.get(key), str):
            parts.append(f"{key}={args[key]}")
    if len(parts) == 1 and isinstance(getattr(model, "encoder", None), nn.Module):
        parts.append(f"encoder={type(model.encoder).__name__}")
    inner = parts[0] + (f"({', '.join(parts[1:])})" if len(parts) > 1 else "")
    return f"{type(obj).__name__} with {inner}" if model is not obj else inner


def main_output(out: Any, name: str) -> Tensor:
    """``ModelOutput.output``, a bare tensor, or a clear error for anything else."""
    value = getattr(out, "output", out)
    if not isinstance(value, Tensor):
        from geo_plugin_onnx._report import ExportError

        raise ExportError(name, f"its forward returned {type(out).__name__}, not a ModelOutput or a tensor")
    return value


def _self_padding(model: nn.Module) -> tuple[int, str]:
    """``(multiple, mode)`` when ``model`` pads its input itself (geo's encoder-decoder models), else ``(1, "")``."""
    mult, mode = getattr(model, "pad_multiple", None), getattr(model, "padding", None)
    if (
        isinstance(mult, int)
        and mult > 1
        and mode in ("reflect", "replicate", "constant")
        and getattr(model, "rescale", True) is True
    ):
        return mult, str(mode)
    return 1, ""


def size_multiple(model: nn.Module) -> tuple[int, bool]:
    """``(m, pads)``: inputs should have sides that are multiples of ``m``; ``pads`` if the model pads itself."""
    mult, _ = _self_padding(model)
    if mult > 1:
        return mult, True
    div = getattr(model, "divisor", None)  # smp models
    if isinstance(div, int) and div > 1:
        return div, False
    declared = getattr(model, "pad_multiple", None)
    return (declared, False) if isinstance(declared, int) and declared > 1 else (1, False)


class OutputOnly(nn.Module):
    """Run ``model`` on an image and return its main output tensor.

    Where the model pads inputs to a multiple itself, the padding happens here
    first, with the same mode, as shape arithmetic the exporter keeps symbolic;
    the model then never branches on the input size, so the exported graph
    works at every size (not only at multiples like the traced sample).
    """

    def __init__(self, model: nn.Module, name: str) -> None:
        super().__init__()
        self.model = model
        self.name = name
        self.multiple, self.mode = _self_padding(model)

    def forward(self, image: Tensor) -> Tensor:
        """The main output of ``model(image)``."""
        if self.multiple == 1:
            return main_output(self.model(image), self.name)
        m = self.multiple
        h, w = image.shape[-2], image.shape[-1]
        pad = (0, (m - w % m) % m, 0, (m - h % m) % m)
        if image.dim() == 5:  # (B, C, T, H, W): pad the spatial sides, as the model does
            b, c, t = image.shape[:3]
            padded = F.pad(image.reshape(b, c * t, h, w), pad, mode=self.mode).reshape(b, c, t, h + pad[3], w + pad[1])
        else:
            padded = F.pad(image, pad, mode=self.mode)
        y = main_output(self.model(padded), self.name)
        return y[..., :h, :w] if y.dim() >= 3 else y
