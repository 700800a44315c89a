"""``geo train|validate|test|predict``: import-light; torch and lightning load inside the commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]

_CTX = {"allow_extra_args": True, "ignore_unknown_options": True}
_EPILOG = (
    "Overrides: dotted keys after the options, e.g. trainer.max_epochs=2 model.lr=0.01 "
    "(model.X reaches model.init_args.X). Registry names work as class_path."
)

ConfigOpt = Annotated[list[Path], typer.Option("--config", "-c", help="YAML config (repeat to merge).")]
PrintOpt = Annotated[bool, typer.Option("--print-config", help="Print the complete config (with defaults) and exit.")]
TrustOpt = Annotated[
    bool,
    typer.Option(
        "--trust-checkpoint", help="Allow pickled objects in the checkpoint (runs code from it: trusted files only)."
    ),
]


def _fail(exc: BaseException) -> None:
    from geo_core._errors import ConfigError

    sys.stderr.write(f"error: {exc}\n")
    raise typer.Exit(2 if isinstance(exc, ConfigError) else 1)


def _guard(fn: Callable[[], Any]) -> Any:
    from geo_core._errors import GeoError

    try:
        return fn()
    except GeoError as exc:
        _fail(exc)
    except OSError as exc:  # disk full, permissions, quota: one line naming the file, not a traceback
        _fail(exc)


def _print_config(config: list[Path], overrides: list[str], need_model: bool = True) -> None:
    from geo_core.runs._api import load_config
    from geo_core.runs._config import dump

    typer.echo(dump(load_config(config, overrides), need_model=need_model))


def train_cmd(
    ctx: typer.Context,
    config: ConfigOpt,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            "--ckpt_path",
            help="'last' (this run's last checkpoint) or a path (--ckpt_path: TerraTorch's spelling).",
        ),
    ] = None,
    trust_checkpoint: TrustOpt = False,
    print_config: PrintOpt = False,
) -> None:
    """Fit a task (checkpoints best+last on the task's monitor, CSV logs in the run directory)."""
    if print_config:
        _guard(lambda: _print_config(config, ctx.args))
        return
    from geo_core.runs._api import train

    trainer = _guard(lambda: train(config, ctx.args, resume=resume, trust_checkpoint=trust_checkpoint))
    if trainer is not None:
        typer.echo(outputs_report(trainer))


def outputs_report(trainer: Any) -> str:
    """Where a finished run put its outputs: run directory, best and last checkpoints, log folders."""
    lines = [f"run directory: {trainer.default_root_dir}"]
    cb = getattr(trainer, "checkpoint_callback", None)
    if cb is not None:
        best, last = getattr(cb, "best_model_path", ""), getattr(cb, "last_model_path", "")
        score = getattr(cb, "best_model_score", None)
        monitor = getattr(cb, "monitor", None)
        if best:
            shown = f" ({monitor} = {float(score):.4g})" if score is not None and monitor else ""
            lines.append(f"best checkpoint: {best}{shown}")
        if last:
            lines.append(f"last checkpoint: {last}")
    for logger in getattr(trainer, "loggers", []) or []:
        folder = getattr(logger, "log_dir", None)
        if folder:
            lines.append(f"{type(logger).__name__.removesuffix('Logger').lower()} logs: {folder}")
    return "\n".join(lines)


def _eval(stage: str) -> Callable[..., None]:
    def cmd(
        ctx: typer.Context,
        config: ConfigOpt,
        ckpt: Annotated[
            str | None,
            typer.Option(
                "--ckpt",
                "--ckpt_path",
                help="'best', 'last' or a checkpoint path (--ckpt_path: TerraTorch's spelling).",
            ),
        ] = None,
        trust_checkpoint: TrustOpt = False,
        print_config: PrintOpt = False,
    ) -> None:
        if print_config:
            _guard(lambda: _print_config(config, ctx.args))
            return
        from geo_core.runs import _api

        _guard(lambda: getattr(_api, stage)(config, ctx.args, ckpt=ckpt, trust_checkpoint=trust_checkpoint))

    cmd.__doc__ = f"{stage.capitalize()} a task on the datamodule's {stage} data."
    return cmd


def predict_cmd(
    ctx: typer.Context,
    config: ConfigOpt,
    input: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            help=(
                "A GeoTIFF, a folder of them, a glob, a .txt list of paths/URLs, or a STAC ItemCollection/catalogue "
                "(default: the config's data.init_args.predict_data_root)."
            ),
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            "--predict_output_dir",
            help="Output GeoTIFF (one input), folder, or .csv (image-level tasks); --predict_output_dir is "
            "TerraTorch's spelling.",
        ),
    ] = None,
    ckpt: Annotated[
        str | None,
        typer.Option(
            "--ckpt", "--ckpt_path", help="'best', 'last' or a checkpoint path (--ckpt_path: TerraTorch's spelling)."
        ),
    ] = None,
    output_kind: Annotated[str | None, typer.Option(help="prediction | probabilities | logits")] = None,
    crop: Annotated[int | None, typer.Option(help="Window size in pixels.")] = None,
    stride: Annotated[int | None, typer.Option(help="Window step (overlaps are blended).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Windows per forward pass.")] = None,
    quicklook: Annotated[bool, typer.Option("--quicklook", help="Also write a PNG preview.")] = False,
    overviews: Annotated[bool, typer.Option("--overviews", help="Tiled output with internal overviews.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="Hide the per-scene progress bar.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace outputs that already exist.")] = False,
    max_failures: Annotated[
        int | None,
        typer.Option(
            "--max-failures", help="Several scenes: stop a rank after more than N failed scenes (default: never)."
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="torch (default) or onnxruntime (the model exported to ONNX, same streaming)."),
    ] = None,
    onnx_model: Annotated[
        str | None,
        typer.Option(
            "--onnx-model", help="With --engine onnxruntime: a file from `geo export` instead of exporting now."
        ),
    ] = None,
    trust_checkpoint: TrustOpt = False,
    print_config: PrintOpt = False,
) -> None:
    """Stream-predict large scenes to GeoTIFFs (source CRS, transform, nodata); image-level tasks write a CSV."""
    if print_config:
        _guard(lambda: _print_config(config, ctx.args))
        return
    from geo_core.runs._api import predict

    input, output = _guard(lambda: _predict_io(config, ctx.args, input, output))
    paths = _guard(
        lambda: predict(
            config,
            ckpt=ckpt,
            input=input,
            output=output,
            overrides=ctx.args,
            output_kind=output_kind,
            crop=crop,
            stride=stride,
            batch_size=batch_size,
            quicklook=quicklook or None,
            overviews=overviews or None,
            engine=engine,
            onnx_model=onnx_model,
            trust_checkpoint=trust_checkpoint,
            progress=not no_progress,
            max_failures=max_failures,
            overwrite=overwrite,
        )
    )
    for p in paths or []:
        typer.echo(str(p))


def _predict_io(config: list[Path], overrides: list[str], input: str | None, output: Path | None) -> tuple[str, Path]:
    """``--input`` / ``--output``, else TerraTorch's ``data.init_args.predict_data_root`` / ``predict_output_dir``."""
    from geo_core._errors import ConfigError

    if input is None:
        from geo_core.runs._config import compose

        data = compose(config, overrides).config.get("data") or {}
        root = (data.get("init_args") or {}).get("predict_data_root") if isinstance(data, dict) else None
        if root is None:
            raise ConfigError(
                "give --input (a GeoTIFF, folder or glob) or data.init_args.predict_data_root", key="input"
            )
        input = str(root)
    if output is None:
        raise ConfigError("give --output (or TerraTorch's --predict_output_dir)", key="output")
    return input, output


def register(app: typer.Typer) -> None:
    """Add the run commands to the root app (``fit`` is TerraTorch's name of ``train``)."""
    app.command("train", context_settings=_CTX, epilog=_EPILOG)(train_cmd)
    app.command("fit", context_settings=_CTX, epilog=_EPILOG, hidden=True, help="TerraTorch's name of `geo train`.")(
        train_cmd
    )
    app.command("validate", context_settings=_CTX, epilog=_EPILOG)(_eval("validate"))
    app.command("test", context_settings=_CTX, epilog=_EPILOG)(_eval("test"))
    app.command("predict", context_settings=_CTX, epilog=_EPILOG)(predict_cmd)
