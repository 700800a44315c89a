"""``geo embed``: run an EmbeddingGenerationTask config over its datamodule's predict set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["embed_cmd"]


def embed_cmd(
    ctx: typer.Context,
    config: Annotated[list[Path], typer.Option("--config", "-c", help="YAML config (repeat to merge).")],
) -> None:
    """Write embeddings of every predict input (resumable: complete outputs are skipped)."""
    from geo_core.cli._run import _guard
    from geo_core.runs import run_embedding

    counts = _guard(lambda: run_embedding(config, ctx.args))
    if counts is not None:
        typer.echo(f"embeddings written: {counts['written']}, skipped (already complete): {counts['skipped']}")
