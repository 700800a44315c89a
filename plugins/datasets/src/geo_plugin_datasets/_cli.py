"""``geo stats``: per-band mean/std/min/max and label statistics, written to a stats file.

Importing this module imports typer only; the work imports numpy/rasterio lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

__all__ = ["stats_cmd"]


def _datamodule_from_config(config: Path) -> Any:
    import geo_core
    import yaml
    from geo_core import ConfigError

    try:
        cfg = yaml.safe_load(config.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {config}: {exc}") from exc
    data = (cfg or {}).get("data")
    if not isinstance(data, dict):
        raise ConfigError(f"{config} has no 'data' section", key="data")
    class_path = str(data.get("class_path", "GenericNonGeoSegmentationDataModule"))
    init_args = dict(data.get("init_args") or {k: v for k, v in data.items() if k != "class_path"})
    name = class_path if class_path in geo_core.DATAMODULES else class_path.rsplit(".", 1)[-1]
    return geo_core.DATAMODULES.build(name, **init_args)


def stats_cmd(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="A training config; its data section is used.")
    ] = None,
    data_root: Annotated[
        Path | None, typer.Option("--data-root", help="Folder of images (instead of --config).")
    ] = None,
    label_root: Annotated[
        Path | None, typer.Option("--label-root", help="Folder of label rasters (default: --data-root).")
    ] = None,
    img_grep: Annotated[str, typer.Option("--img-grep", help="Glob selecting the images.")] = "*",
    label_grep: Annotated[
        str | None, typer.Option("--label-grep", help="Glob selecting the labels (paired by stem).")
    ] = None,
    bands: Annotated[str | None, typer.Option("--bands", help="Comma list of 0-based band indices to read.")] = None,
    band_names: Annotated[
        str | None, typer.Option("--band-names", help="Comma list of names to record for the bands.")
    ] = None,
    constant_scale: Annotated[float, typer.Option("--constant-scale", help="Multiply values first.")] = 1.0,
    task: Annotated[
        str, typer.Option("--task", help="Label statistics: segmentation (class counts), regression, none.")
    ] = "segmentation",
    split: Annotated[str, typer.Option("--split", help="With --config: which split (train, val, test).")] = "train",
    output: Annotated[Path, typer.Option("--output", "-o", help="Stats file to write (.yaml or .json).")] = Path(
        "stats.yaml"
    ),
    no_progress: Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")] = False,
) -> None:
    """Compute per-band mean/std/min/max and label class counts (or mean/std); write a stats file."""
    from geo_core import ConfigError, GeoError

    from geo_plugin_datasets._stats import compute_stats, write_stats

    try:
        if (config is None) == (data_root is None):
            raise ConfigError("give exactly one of --config or --data-root")
        label_values = None
        if config is not None:
            dm = _datamodule_from_config(config)
            items = dm._items(split)
            if not items:
                raise ConfigError(f"the {split} split of {config} is empty")
            reader = dm.make_reader(split, items[0].image, normalize=False)
            names = dm.output_bands or dm.dataset_bands
            image_level = getattr(dm, "label_kind", None)
            if image_level is not None:
                pairs: list[tuple[Path, Path | None]] = [(it.image, None) for it in items]
                label_values = [it.label for it in items] if image_level in ("class", "scalar") else None
                kind: Literal["classes", "regression", "none"] = "classes" if image_level == "class" else "regression"
            else:
                pairs = [(it.image, it.label) for it in dict((str(it.image), it) for it in items).values()]
                kind = "classes" if dm.task == "segmentation" else "regression"
            result = compute_stats(
                pairs,
                bands=reader.bands,
                band_names=names,
                time_steps=reader.time_steps,
                constant_scale=dm.constant_scale,
                label_kind=kind,
                label_values=label_values,
                progress=not no_progress,
            )
        else:
            from geo_plugin_datasets._pairing import find_files, pair_by_key

            assert data_root is not None
            images = find_files(data_root, img_grep, "image")
            if label_grep is not None:
                labels = find_files(label_root or data_root, label_grep, "label")
                if (label_root or data_root) == data_root:
                    images = {k: p for k, p in images.items() if p not in set(labels.values())}
                pairs = [(i, lbl) for _, i, lbl in pair_by_key(images, labels, img_grep, label_grep)]
            else:
                pairs = [(p, None) for _, p in sorted(images.items())]
            idx = [int(b) for b in bands.split(",")] if bands else None
            names = band_names.split(",") if band_names else None
            kind = "classes" if task == "segmentation" else "regression" if task == "regression" else "none"
            result = compute_stats(
                pairs,
                bands=idx,
                band_names=names,
                constant_scale=constant_scale,
                label_kind=kind,
                progress=not no_progress,
            )
        path = write_stats(result, output)
    except GeoError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{'band':>12} {'mean':>12} {'std':>12} {'min':>12} {'max':>12}")
    for b, m, s, lo, hi in zip(
        result["bands"], result["means"], result["stds"], result["mins"], result["maxs"], strict=True
    ):
        typer.echo(f"{b!s:>12} {m:12.5g} {s:12.5g} {lo:12.5g} {hi:12.5g}")
    if "class_counts" in result:
        typer.echo("classes: " + ", ".join(f"{k}: {v}" for k, v in result["class_counts"].items()))
    if "label_mean" in result:
        typer.echo(f"label mean {result['label_mean']:.5g}, std {result['label_std']:.5g}")
    typer.echo(f"wrote {path} ({result['file_count']} files)")
