"""``geo embed``: run an EmbeddingGenerationTask config over its datamodule's predict set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["embed_cmd"]


def embed_cmd(
    ctx: typer.Context,
    config: Annotated[list[Path], typer.Option("--config", "-c", help="YAML config (repeat to merge).")],
    input: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            help=(
                "Scenes instead of the datamodule's predict set: a GeoTIFF, folder, glob, .txt list or STAC "
                "ItemCollection/catalogue (repeatable); shared among torchrun/SLURM ranks."
            ),
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Folder of the embeddings with --input (default: the task's output_dir)."),
    ] = None,
    ckpt: Annotated[str | None, typer.Option("--ckpt", help="'best', 'last' or a checkpoint path.")] = None,
    max_failures: Annotated[
        int | None,
        typer.Option(
            "--max-failures", help="With --input: stop a rank after more than N failed scenes (default: never)."
        ),
    ] = None,
) -> None:
    """Write embeddings of every predict input or --input scene (resumable: complete outputs are skipped)."""
    from geo_core.cli._run import _guard
    from geo_core.runs import run_embedding

    counts = _guard(
        lambda: run_embedding(
            config, ctx.args, input=list(input) if input else None, output=output, max_failures=max_failures, ckpt=ckpt
        )
    )
    if counts is not None:
        typer.echo(f"embeddings written: {counts['written']}, skipped (already complete): {counts['skipped']}")
