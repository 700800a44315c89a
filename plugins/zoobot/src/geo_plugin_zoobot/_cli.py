"""``geo zoobot`` commands. Importing this module imports typer only; torch loads when a command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["zoobot_app", "predict_cmd", "load_finetuned"]

zoobot_app = typer.Typer(
    help="Zoobot-style catalog fine-tuning: predict on a catalog.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

_CLASSES = {
    "classifier": "FinetuneableZoobotClassifier",
    "regressor": "FinetuneableZoobotRegressor",
    "tree": "FinetuneableZoobotTree",
}


def load_finetuned(checkpoint: str | Path, task: str = "auto"):  # type: ignore[no-untyped-def]
    """Load a Finetuneable Zoobot checkpoint on CPU; ``task='auto'`` reads the class it records.

    Raises:
        CheckpointError: The class cannot be determined (pass ``task``).
    """
    from geo_core import CheckpointError

    from geo_plugin_zoobot import finetune
    from geo_plugin_zoobot._encoder import load_checkpoint_file

    if task == "auto":
        cls_name = load_checkpoint_file(checkpoint).get("zoobot_class")
        if cls_name not in _CLASSES.values():
            raise CheckpointError(
                "cannot tell which Zoobot module wrote this checkpoint; pass --task classifier|regressor|tree",
                path=checkpoint,
            )
    else:
        cls_name = _CLASSES[task]
    cls = getattr(finetune, str(cls_name))
    try:
        return cls.load_from_checkpoint(checkpoint, map_location="cpu")
    except TypeError as exc:
        raise CheckpointError(
            f"cannot rebuild {cls_name} from its hyperparameters ({exc}); a model built from an "
            "in-memory encoder must be loaded in Python with load_from_checkpoint(path, encoder=...)",
            path=checkpoint,
        ) from exc


@zoobot_app.command("predict")
def predict_cmd(
    catalog: Annotated[Path, typer.Option("--catalog", help="CSV/Parquet catalog with id_str and file_loc.")],
    checkpoint: Annotated[Path, typer.Option("--checkpoint", "--ckpt", help="Finetuned .ckpt file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Predictions file (.csv or .parquet).")],
    label_cols: Annotated[str | None, typer.Option(help="Comma-separated output column names.")] = None,
    n_samples: Annotated[int, typer.Option(help="Forward passes per image (>1: MC dropout).")] = 1,
    batch_size: Annotated[int, typer.Option(help="Images per batch.")] = 32,
    num_workers: Annotated[int, typer.Option(help="DataLoader workers.")] = 0,
    image_size: Annotated[int | None, typer.Option(help="Resize images to this size.")] = None,
    scale: Annotated[float | None, typer.Option(help="Multiply pixel values by this factor.")] = None,
    mean: Annotated[str | None, typer.Option(help="Comma-separated per-band means to subtract.")] = None,
    std: Annotated[str | None, typer.Option(help="Comma-separated per-band standard deviations.")] = None,
    task: Annotated[str, typer.Option(help="auto, classifier, regressor or tree.")] = "auto",
) -> None:
    """Predict every image of a catalog with a finetuned checkpoint; one output row per id_str."""
    from geo_core import GeoError

    if task not in ("auto", *_CLASSES):
        raise typer.BadParameter(f"--task must be auto, {', '.join(_CLASSES)}; got {task!r}")
    try:
        from geo_plugin_zoobot.predict_on_catalog import predict

        model = load_finetuned(checkpoint, task)
        dm_kwargs: dict[str, object] = {
            k: v for k, v in (("image_size", image_size), ("scale", scale)) if v is not None
        }
        for key, text in (("mean", mean), ("std", std)):
            if text:
                try:
                    dm_kwargs[key] = [float(v) for v in text.split(",")]
                except ValueError as exc:
                    raise typer.BadParameter(f"--{key} must be comma-separated numbers, got {text!r}") from exc
        preds = predict(
            catalog,
            model,
            output,
            label_cols=label_cols.split(",") if label_cols else None,
            n_samples=n_samples,
            batch_size=batch_size,
            num_workers=num_workers,
            datamodule_kwargs=dm_kwargs,
        )
    except GeoError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {preds.shape[0]} rows to {output}")
