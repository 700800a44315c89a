"""``geo embed``: run an EmbeddingGenerationTask config over its datamodule's predict set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["embed_cmd", "run_embedding"]


def run_embedding(config: Any, overrides: Any = None, input: Any = None,
                  output: str | Path | None = None, max_failures: int | None = None,
                  ckpt: str | None = None) -> dict[str, int]:
    """Python API of ``geo embed``: returns ``{"written": n, "skipped": m}``.

    The config's ``model`` must be an ``EmbeddingGenerationTask``; predictions are
    streamed to disk (``return_predictions=False``), so memory stays bounded.
    With ``input`` (a file, folder, glob, text list or STAC document) the scenes are embedded
    instead of the datamodule's predict set, shared among torchrun/SLURM ranks with a ledger
    in ``output`` (default: the task's ``output_dir``); see :func:`geo_core.embeddings._scenes.embed_scenes`.
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
    if input is not None:
        from geo_core.data import scene_preprocessing_of
        from geo_core.embeddings._scenes import embed_scenes

        if ckpt:
            from geo_core.cli._config import find_checkpoint
            from geo_core.inference._stream import load_task_checkpoint

            load_task_checkpoint(built.model, find_checkpoint(run.config, ckpt))
        return embed_scenes(built.model, input, output or built.model.output_dir, scene_preprocessing_of(built.data),
                            max_failures=max_failures)
    built.trainer.predict(built.model, datamodule=built.data, return_predictions=False)
    return dict(built.model.counts)


def embed_cmd(
    ctx: typer.Context,
    config: Annotated[list[Path], typer.Option("--config", "-c", help="YAML config (repeat to merge).")],
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help=(
        "Scenes instead of the datamodule's predict set: a GeoTIFF, folder, glob, .txt list or STAC "
        "ItemCollection/catalogue (repeatable); shared among torchrun/SLURM ranks."))] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Folder of the embeddings with --input (default: the task's output_dir).")] = None,
    ckpt: Annotated[str | None, typer.Option("--ckpt", help="'best', 'last' or a checkpoint path.")] = None,
    max_failures: Annotated[int | None, typer.Option(
        "--max-failures", help="With --input: stop a rank after more than N failed scenes (default: never).")] = None,
) -> None:
    """Write embeddings of every predict input or --input scene (resumable: complete outputs are skipped)."""
    from geo_core.cli._run import _guard

    counts = _guard(lambda: run_embedding(config, ctx.args, input=list(input) if input else None, output=output,
                                          max_failures=max_failures, ckpt=ckpt))
    if counts is not None:
        typer.echo(f"embeddings written: {counts['written']}, skipped (already complete): {counts['skipped']}")
