"""``geo export``'s Python API: build the task from a run config, load a checkpoint, export it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from geo_core import ConfigError

from geo_plugin_onnx._report import ExportReport

__all__ = ["export_from_config", "sample_shape_from_data"]

Format = Literal["onnx"]
_LOADERS = (
    ("predict", "predict_dataloader"),
    ("test", "test_dataloader"),
    ("validate", "val_dataloader"),
    ("fit", "train_dataloader"),
)


def sample_shape_from_data(data: Any) -> tuple[int, ...]:
    """``(1, *image.shape[1:])`` of the first batch the datamodule serves (predict, test, val, then train).

    Raises:
        ConfigError: No loader gave a batch with a 4-D or 5-D ``image``; names each loader's reason.
    """
    reasons = []
    for stage, loader in _LOADERS:
        fn = getattr(data, loader, None)
        if fn is None:
            continue
        try:
            data.setup(stage)
            dl = fn()
            if isinstance(dl, (list, tuple)):
                dl = dl[0]
            batch = next(iter(dl))
        except Exception as exc:  # a datamodule without this split: try the next one, report all if none works
            reasons.append(f"{stage}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        image = batch.get("image") if isinstance(batch, Mapping) else None
        if image is None or getattr(image, "ndim", 0) not in (4, 5):
            reasons.append(f"{stage}: the batch has no (B, C, H, W) or (B, C, T, H, W) 'image'")
            continue
        return (1, *(int(s) for s in image.shape[1:]))
    raise ConfigError(
        f"cannot take the input shape from the datamodule {type(data).__name__} "
        f"({'; '.join(reasons) or 'it has no dataloaders'}); pass --input-shape 1,C,H,W",
        key="input_shape",
    )


def export_from_config(
    config: Any,
    output: str | Path,
    *,
    ckpt: str | None = None,
    format: Format = "onnx",
    input_shape: Sequence[int] | None = None,
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
    dynamic: bool = True,
    opset: int | None = None,
    check: bool = True,
    tolerance: float = 1e-4,
    trust_checkpoint: bool = False,
) -> ExportReport:
    """Build the configured task, load ``ckpt`` (``best``, ``last`` or a path) and export it.

    The sample input shape is ``input_shape``, else one sample of the config's datamodule, else
    what the backbone declares (see :func:`geo_plugin_onnx.export_onnx`). ``trust_checkpoint`` allows
    pickled objects in ``ckpt`` (runs code from the file: trusted files only).

    Raises:
        ConfigError: Bad config, format or input shape.
        CheckpointError: The checkpoint is missing or does not fit the configured model.
        ExportError: The model cannot be exported.
    """
    if format != "onnx":
        raise ConfigError(f"unknown export format {format!r}; supported: onnx", key="format")
    from geo_plugin_onnx._onnx import export_onnx, require_onnx

    require_onnx()  # before building anything
    from geo_core.runs import build, find_checkpoint, load_config

    extra = ["trainer.enable_checkpointing=false", "trainer.logger=false"]
    ov: Any = (
        {**{"trainer.enable_checkpointing": False, "trainer.logger": False}, **overrides}
        if isinstance(overrides, Mapping)
        else [*extra, *(overrides or [])]
    )
    run = load_config(config, ov)
    built = build(run)
    which = ckpt or run.config.get("ckpt_path")
    if which:
        from geo_core.inference import load_task_checkpoint

        load_task_checkpoint(built.model, find_checkpoint(run.config, which), trust_checkpoint)
    shape = input_shape
    if shape is None and built.data is not None:
        shape = sample_shape_from_data(built.data)
    return export_onnx(built.model, output, shape, dynamic=dynamic, opset=opset, check=check, tolerance=tolerance)
