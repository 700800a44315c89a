"""What an export returns, and how it fails (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from geo_core import GeoError

__all__ = ["ExportReport", "ExportError", "ExportCheckError"]


class ExportError(GeoError, RuntimeError):
    """A model that cannot be exported; names the model and why.

    Attributes:
        model: A short description of the model (class, backbone, decoder).
        reason: Why the export failed and what to do.
    """

    def __init__(self, model: str, reason: str) -> None:
        self.model = model
        self.reason = reason
        super().__init__(f"cannot export {model} to ONNX: {reason}")


class ExportCheckError(ExportError):
    """The exported model does not reproduce PyTorch's output within the tolerance.

    Attributes:
        max_abs_diff: The largest absolute difference measured.
        allowed: The largest difference the tolerance allowed.
        input_shape: The input shape the check ran at.
    """

    def __init__(self, model: str, max_abs_diff: float, allowed: float, input_shape: tuple[int, ...]) -> None:
        self.max_abs_diff = max_abs_diff
        self.allowed = allowed
        self.input_shape = input_shape
        super().__init__(
            model,
            f"onnxruntime's output differs from PyTorch's by {max_abs_diff:.3g} at input shape {list(input_shape)} "
            f"(allowed {allowed:.3g}); the file was not written. Raise the tolerance if this is expected "
            "(e.g. float16 models), or report the model",
        )


@dataclass(frozen=True)
class ExportReport:
    """The outcome of :func:`geo_plugin_onnx.export_onnx`.

    Attributes:
        path: The written ``.onnx`` file.
        input_shape: The sample input shape the model was traced (and checked) with.
        dynamic_axes: Input axes that accept any size, e.g. ``{0: "batch", 2: "height", 3: "width"}``;
            empty for a fixed-size export.
        max_abs_diff: Largest absolute difference between onnxruntime and PyTorch over every checked
            shape (``None`` when ``check=False``).
        checked_shapes: The input shapes the onnxruntime check ran at.
        opset: The ONNX opset of the file.
        size_multiple: Height and width of inputs should be multiples of this (1: any size; the
            exported graph pads inputs itself where the model pads).
        fixed_size_reason: Why a dynamic export was not possible (``None`` when it was, or when a
            fixed size was asked for).
    """

    path: Path
    input_shape: tuple[int, ...]
    dynamic_axes: dict[int, str]
    max_abs_diff: float | None
    checked_shapes: list[tuple[int, ...]] = field(default_factory=list)
    opset: int | None = None
    size_multiple: int = 1
    fixed_size_reason: str | None = None

    def summary(self) -> str:
        """A few human-readable lines (what ``geo export`` prints)."""
        lines = [f"wrote {self.path}", f"input shape {list(self.input_shape)}, opset {self.opset}"]
        if self.dynamic_axes:
            axes = ", ".join(f"{name} (axis {ax})" for ax, name in sorted(self.dynamic_axes.items()))
            lines.append(f"dynamic axes: {axes}")
            if self.size_multiple > 1 and any(ax >= 2 for ax in self.dynamic_axes):
                lines.append(f"height and width: multiples of {self.size_multiple}")
        else:
            lines.append("fixed input shape" + (f" ({self.fixed_size_reason})" if self.fixed_size_reason else ""))
        if self.max_abs_diff is not None:
            shapes = ", ".join(str(list(s)) for s in self.checked_shapes)
            lines.append(f"onnxruntime vs PyTorch: max abs difference {self.max_abs_diff:.3g} at {shapes}")
        return "\n".join(lines)
