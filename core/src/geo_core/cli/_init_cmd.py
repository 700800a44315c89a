"""``geo init``: write a commented starting config for a task, backbone and decoder (checked by loading it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["init_cmd", "render_config", "TASKS"]

#: task word -> (task class, datamodule, loss)
TASKS: dict[str, tuple[str, str, str]] = {
    "segmentation": ("SemanticSegmentationTask", "GenericNonGeoSegmentationDataModule", "ce"),
    "regression": ("PixelwiseRegressionTask", "GenericNonGeoPixelwiseRegressionDataModule", "rmse"),
    "classification": ("ClassificationTask", "GenericNonGeoClassificationDataModule", "ce"),
    "multilabel": ("MultiLabelClassificationTask", "GenericNonGeoMultiLabelClassificationDataModule", "bce"),
    "scalar_regression": ("ScalarRegressionTask", "GenericNonGeoScalarRegressionDataModule", "mse"),
}
_PIXEL = ("segmentation", "regression")


def _default_backbone() -> str:
    from geo_core import BACKBONES

    for name in ("smp:resnet18", "timm:resnet18"):
        if name in BACKBONES:
            return name
    return "tiny_cnn"


def _default_decoder(task: str, backbone: str) -> str:
    return "UNetDecoder" if task in _PIXEL else "IdentityDecoder"


def _channels_key(backbone: str) -> str:
    """How the backbone names its input-channel argument (``in_channels``, ``in_chans``, ``bands``...)."""
    from geo_core import BACKBONES
    from geo_core.models import accepted_arguments

    names, _ = accepted_arguments(BACKBONES.get(backbone))
    for key in ("in_channels", "in_chans", "num_channels"):
        if key in names:
            return key
    return "in_channels"


def render_config(task: str, backbone: str, decoder: str, data: str, bands: int, classes: int, name: str) -> str:
    """The commented YAML text of a starting config (see ``geo init --help``)."""
    task_cls, dm, loss = TASKS[task]
    pixel = task in _PIXEL
    chans = _channels_key(backbone)
    classes_line = (
        f"      num_classes: {classes}            # classes in your masks (0..{classes - 1})\n"
        if task == "segmentation"
        else f"      num_classes: {classes}            # classes (one sub-folder per class)\n"
        if task in ("classification", "multilabel")
        else ""
    )
    if pixel:
        data_args = (
            f"    train_data_root: {data}/train/images        # GeoTIFF chips\n"
            f"    train_label_data_root: {data}/train/labels  # masks with the same file stems\n"
            f"    val_data_root: {data}/val/images\n"
            f"    val_label_data_root: {data}/val/labels\n"
            f"    test_data_root: {data}/val/images           # point at a held-out test split when you have one\n"
            f"    test_label_data_root: {data}/val/labels\n"
            f'    img_grep: "*.tif"                          # which files are images ...\n'
            f'    label_grep: "*.tif"                        # ... and which are labels (paired by stem)\n'
        )
    else:
        data_args = (
            f"    train_data_root: {data}/train     # one sub-folder per class, or a .csv catalog (filename,label)\n"
            f"    val_data_root: {data}/val\n"
            f"    test_data_root: {data}/val\n"
        )
    seg_extra = (
        "    ignore_index: -1                # label pixels to skip (nodata becomes -1)\n"
        if task == "segmentation"
        else ""
    )
    dm_classes = f"    num_classes: {classes}\n" if task in ("segmentation", "classification", "multilabel") else ""
    return f"""# geo starting config: {task} with {backbone} + {decoder}.
# Written by `geo init`; edit the paths and numbers marked below, then:
#   geo train -c {name}
#   geo test -c {name} --ckpt best
#   geo predict -c {name} --ckpt best -i scene.tif -o scene_pred.tif
# See every option with its default: geo train -c {name} --print-config
seed_everything: 0
trainer:
  max_epochs: 20                     # passes over the training chips
  accelerator: auto                  # cpu, gpu or auto
  devices: auto
  default_root_dir: runs/{Path(name).stem}   # checkpoints, logs and metrics go here
  log_every_n_steps: 1
model:
  class_path: {task_cls}
  init_args:
    model_factory: EncoderDecoderFactory
    model_args:
      backbone: {backbone}           # `geo list backbones` shows them all
      backbone_{chans}: {bands}            # bands of your chips
      decoder: {decoder}             # `geo list decoders`
{classes_line}    loss: {loss}
{seg_extra}    lr: 0.001
    freeze_backbone: false           # true: train only the decoder and head
data:
  class_path: {dm}
  init_args:
    batch_size: 8
    num_workers: 0                   # raise to read chips in parallel
{data_args}{dm_classes}    # means: [...]                   # per-band normalisation: `geo stats` computes it
    # stds: [...]
"""


def init_cmd(
    path: Annotated[Path, typer.Argument(help="The config file to write.")] = Path("config.yaml"),
    task: Annotated[str, typer.Option("--task", "-t", help=f"One of: {', '.join(TASKS)}.")] = "segmentation",
    backbone: Annotated[
        str | None,
        typer.Option(
            "--backbone", "-b", help="Backbone name (default: smp:resnet18 when geo-plugin-smp is installed)."
        ),
    ] = None,
    decoder: Annotated[
        str | None,
        typer.Option(
            "--decoder", "-d", help="Decoder name (default: UNetDecoder for pixel tasks, IdentityDecoder otherwise)."
        ),
    ] = None,
    data: Annotated[str, typer.Option("--data", help="Folder of your chips (train/ and val/ inside).")] = "data",
    bands: Annotated[int, typer.Option("--bands", help="Bands per chip.")] = 3,
    classes: Annotated[int, typer.Option("--classes", help="Number of classes (classification tasks).")] = 2,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the file if it exists.")] = False,
) -> None:
    """Write a commented starting config for a task, backbone and decoder (checked by loading it)."""
    from geo_core.cli._output import err

    def fail(message: str) -> None:
        err(message)
        raise typer.Exit(2)

    if task not in TASKS:
        from geo_core.models import suggest

        close = suggest(task, TASKS)
        fail(f"unknown task {task!r}{f'; did you mean {close!r}?' if close else ''} (one of: {', '.join(TASKS)})")
    if path.exists() and not overwrite:
        fail(f"{path} already exists; pass --overwrite to replace it, or give another file name")
    if path.is_dir():
        fail(f"{path} is a directory; give a file name such as {path / 'config.yaml'}")
    import yaml

    from geo_core._errors import GeoError

    try:
        bb = backbone or _default_backbone()
        text = render_config(task, bb, decoder or _default_decoder(task, bb), data, bands, classes, path.name)
        from geo_core.runs._api import load_config

        load_config(yaml.safe_load(text))  # the template is a real config: names, keys and types check out
    except GeoError as exc:
        fail(str(exc))
    from geo_core import atomic_open

    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    typer.echo(
        f"wrote {path}: {task} with {bb} + {decoder or _default_decoder(task, bb)}. Edit the paths under "
        f"data: (and the numbers marked), then: geo train -c {path}"
    )
