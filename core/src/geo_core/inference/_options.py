"""Options of streaming prediction (the ``predict:`` config section and ``geo predict`` flags)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["OutputKind", "PredictOptions", "default_batch_size", "SMALL_MODEL_PARAMETERS"]

#: What ``geo predict`` writes per pixel (or per image).
OutputKind = Literal["prediction", "probabilities", "logits"]


@dataclass
class PredictOptions:
    """How a scene is cut, batched and written.

    Attributes:
        crop: Window size in pixels.
        stride: Step between windows (``crop - stride`` pixels overlap and are blended).
        batch_size: Windows per forward pass; bounds memory together with the scene width.
            ``None``: chosen by :func:`default_batch_size` from the model (16 on an accelerator;
            on CPU 1 for models under one million parameters, 16 otherwise).
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


#: Below this many parameters a model predicts one window per pass on CPU (see :func:`default_batch_size`).
SMALL_MODEL_PARAMETERS = 1_000_000


def default_batch_size(task: object, device_type: str) -> int:
    """Windows per forward pass when ``batch_size`` is not set: a rule on the model's size.

    16 (TerraTorch's ``tiled_inference`` default) on an accelerator. On CPU, measured per window
    (``benchmarks/batch_rule.py``): a model with large weights (a resnet18-UNet, 14 M
    parameters) runs faster in batches of 16, which reuse each weight for 16 windows, than
    one window at a time; a tiny CNN (12 k parameters) runs as fast one window at a time and
    then needs 16 times less activation memory. So: 1 below :data:`SMALL_MODEL_PARAMETERS`
    parameters, else 16. The rule depends only on the model, never on timing, so the same model
    always runs with the same batch and writes the same output.

    Args:
        task: The task or model (anything with ``parameters()``).
        device_type: ``"cpu"``, ``"cuda"``, ``"mps"``...
    """
    if device_type != "cpu":
        return 16
    parameters = getattr(task, "parameters", None)
    count = sum(p.numel() for p in parameters()) if callable(parameters) else 0
    return 1 if count < SMALL_MODEL_PARAMETERS else 16
