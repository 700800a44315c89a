"""``geo export``: a trained model to ONNX, checked with onnxruntime (torch loads inside the command)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["export_cmd", "parse_shape"]


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,6,224,224"`` (commas, ``x`` or spaces) -> ``(1, 6, 224, 224)``."""
    from geo_core import ConfigError

    parts = [p for p in text.replace("x", ",").replace(" ", ",").split(",") if p]
    try:
        return tuple(int(p) for p in parts)
    except ValueError as exc:
        raise ConfigError(
            f"--input-shape {text!r} is not a list of integers, e.g. 1,6,224,224", key="input_shape"
        ) from exc


def export_cmd(
    ctx: typer.Context,
    config: Annotated[list[Path], typer.Option("--config", "-c", help="YAML config (repeat to merge).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write, e.g. model.onnx.")],
    ckpt: Annotated[str | None, typer.Option("--ckpt", help="'best', 'last' or a checkpoint path.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="Export format: onnx.")] = "onnx",
    input_shape: Annotated[
        str | None,
        typer.Option(
            "--input-shape", help="Sample input B,C,H,W (or B,C,T,H,W); default: one sample of the datamodule."
        ),
    ] = None,
    static: Annotated[bool, typer.Option("--static", help="Fix batch and spatial size to the sample's.")] = False,
    opset: Annotated[int | None, typer.Option("--opset", help="ONNX opset (default: the exporter's).")] = None,
    no_check: Annotated[bool, typer.Option("--no-check", help="Skip the onnxruntime check.")] = False,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Allowed max abs difference, times max(1, output scale).")
    ] = 1e-4,
    trust_checkpoint: Annotated[
        bool,
        typer.Option(
            "--trust-checkpoint",
            help="Allow pickled objects in the checkpoint (runs code from it: trusted files only).",
        ),
    ] = False,
) -> None:
    """Export a trained model's main output to ONNX (dynamic batch and size where the model allows)."""
    from geo_core.cli import guard

    def run() -> object:
        from geo_plugin_onnx import export_from_config

        shape = parse_shape(input_shape) if input_shape else None
        return export_from_config(
            config,
            output,
            ckpt=ckpt,
            format=format,  # type: ignore[arg-type]
            input_shape=shape,
            overrides=ctx.args,
            dynamic=not static,
            opset=opset,
            check=not no_check,
            tolerance=tolerance,
            trust_checkpoint=trust_checkpoint,
        )

    report = guard(run)
    if report is not None:
        typer.echo(report.summary())
