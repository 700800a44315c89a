"""Options of streaming prediction (the ``predict:`` config section and ``geo predict`` flags)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["OutputKind", "PredictOptions", "default_batch_size"]

#: What ``geo predict`` writes per pixel (or per image).
OutputKind = Literal["prediction", "probabilities", "logits"]


@dataclass
class PredictOptions:
    """How a scene is cut, batched and written.

    Attributes:
        crop: Window size in pixels.
        stride: Step between windows (``crop - stride`` pixels overlap and are blended).
        batch_size: Windows per forward pass; bounds memory together with the scene width.
            ``None``: :func:`default_batch_size` (16, TerraTorch's ``tiled_inference`` default;
            a strip's windows are then shared out evenly, e.g. 22 as 11 + 11).
        output_kind: ``prediction`` (class map, uint8/int16; float32 for regression),
            ``probabilities`` (float32, one band per class) or ``logits`` (float32).
        quicklook: Also write ``<output>.png``, a downsampled colour preview.
        compress: GeoTIFF compression of the output (``deflate``, ``lzw``, ``none``).
        overviews: Write the output tiled (256 px) with internal overviews down to 128-256 px
            (nearest for class maps, average otherwise), so GIS viewers open large outputs fast.
        channels_last: Run the model in channels-last layout (about twice as fast for CNNs on
            CPU); a model that cannot take it falls back to the default layout on its own.
        engine: What runs the windows: ``torch`` (eager PyTorch) or a registered engine such as
            ``onnxruntime`` (the task exported to ONNX once per run, run by ONNX Runtime); reading,
            blending and writing are the same for every engine.
        onnx_model: With ``engine: onnxruntime``, a file written by ``geo export`` to run instead of
            exporting the task on the fly.
    """

    crop: int = 224
    stride: int = 192
    batch_size: int | None = None
    output_kind: OutputKind = "prediction"
    quicklook: bool = False
    compress: str = "deflate"
    overviews: bool = False
    channels_last: bool = True
    engine: str = "torch"
    onnx_model: str | None = None

    def __post_init__(self) -> None:
        from geo_core._errors import ConfigError

        if self.crop <= 0 or self.stride <= 0 or self.stride > self.crop:
            raise ConfigError(f"need 0 < stride <= crop, got crop={self.crop} stride={self.stride}", key="predict")
        if self.batch_size is not None and self.batch_size <= 0:
            raise ConfigError("predict.batch_size must be positive", key="predict.batch_size")
        if self.output_kind not in ("prediction", "probabilities", "logits"):
            raise ConfigError(
                f"predict.output_kind {self.output_kind!r} is not prediction, probabilities or logits",
                key="predict.output_kind",
            )


def default_batch_size(task: object, device_type: str) -> int:
    """Windows per forward pass when ``batch_size`` is not set: 16 on every device, for every model.

    Measured per 224² window (``benchmarks/batch_rule.py``, channels-last, one and two threads):
    batches of 16 are at least as fast as single windows for the 3-layer demo CNN (12 k
    parameters) and clearly faster for an smp resnet18-UNet (14 M), whose weights they reuse
    16 times. The single-window default that earlier sessions measured as twice as fast for the
    demo CNN came from the C library, not the model: a batch's activations above glibc's 32 MiB
    mmap ceiling were mapped and unmapped on every pass, and page faults dominated; the streaming
    predictor now keeps that memory (:mod:`geo_core.inference._heap`), and the difference is
    gone. With two threads on a busy machine single windows are also several times slower (every
    layer's thread hand-off waits on a descheduled thread). The batch never depends on timing,
    so a run always writes the same output; outputs do not depend on the batch either (tests).

    Args:
        task: The task or model (kept in the signature: a model-dependent cap belongs here).
        device_type: ``"cpu"``, ``"cuda"``, ``"mps"``...
    """
    return 16
