"""``geo embed``: run an EmbeddingGenerationTask config over its datamodule's predict set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["embed_cmd", "run_embedding"]


def run_embedding(config: Any, overrides: Any = None) -> dict[str, int]:
    """Python API of ``geo embed``: returns ``{"written": n, "skipped": m}``.

    The config's ``model`` must be an ``EmbeddingGenerationTask``; predictions are
    streamed to disk (``return_predictions=False``), so memory stays bounded.
    """
    from geo_core._errors import ConfigError
    from geo_core.cli._config import build
    from geo_core.tasks._api import load_config
    from geo_core.tasks._embedding import EmbeddingGenerationTask

    extra = ["trainer.enable_checkpointing=false", "trainer.logger=false"]
    ov = [*extra, *(overrides or [])] if not isinstance(overrides, dict) else overrides
    run = load_config(config, ov)
    built = build(run)
    if not isinstance(built.model, EmbeddingGenerationTask):
        raise ConfigError(f"geo embed needs model.class_path: EmbeddingGenerationTask, got "
                          f"{type(built.model).__name__}; use geo predict for other tasks", key="model.class_path")
    built.trainer.predict(built.model, datamodule=built.data, return_predictions=False)
    return dict(built.model.counts)


def embed_cmd(
    ctx: typer.Context,
    config: Annotated[list[Path], typer.Option("--config", "-c", help="YAML config (repeat to merge).")],
) -> None:
    """Write embeddings of every predict input (resumable: complete outputs are skipped)."""
    from geo_core.cli._run import _guard

    counts = _guard(lambda: run_embedding(config, ctx.args))
    if counts is not None:
        typer.echo(f"embeddings written: {counts['written']}, skipped (already complete): {counts['skipped']}")
