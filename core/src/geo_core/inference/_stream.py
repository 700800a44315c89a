"""Stream a scene through a task: strip-wise windowed reads, batched windows, blended overlaps, strip writes.

Memory holds one strip of ``crop`` rows of the input and of the blended output (plus one
window batch), so it grows with the scene width, never with its area.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from geo_core._atomic import atomic_path
from geo_core._errors import UNTRUSTED_PICKLE, CheckpointError, ConfigError, InputDataError, is_raw_pickle
from geo_core.data import ScenePreprocessing
from geo_core.data._gdal import raster_reading
from geo_core.inference._engines import open_engine
from geo_core.inference._heap import retained_heap
from geo_core.inference._options import PredictOptions, default_batch_size
from geo_core.tasks._tiled import blend_weights, coverage, starts

__all__ = ["predict_scene", "predict_paths", "expand_inputs", "load_task_checkpoint", "read_preprocessed"]

log = logging.getLogger("geo_core.inference")

_PIXEL_KINDS = ("segmentation", "regression")
_PALETTE = np.array(
    [
        [31, 119, 180],
        [255, 127, 14],
        [44, 160, 44],
        [214, 39, 40],
        [148, 103, 189],
        [140, 86, 75],
        [227, 119, 194],
        [127, 127, 127],
        [188, 189, 34],
        [23, 190, 207],
    ],
    dtype=np.uint8,
)


def load_task_checkpoint(task: Any, ckpt: str | Path, trust_checkpoint: bool = False) -> Any:
    """Load a Lightning checkpoint's ``state_dict`` into ``task`` (strict); returns the task.

    Args:
        task: The task the weights are for.
        ckpt: Checkpoint file.
        trust_checkpoint: Allow pickled objects in the file (runs code from it; only for trusted files).

    Raises:
        CheckpointError: The file is missing, truncated/corrupt, holds pickled objects (unless trusted),
            or does not fit the task.
    """
    from geo_core.tasks._checkpoint_io import load_error, warn_trusted

    path = Path(ckpt)
    if not path.is_file():
        raise CheckpointError("checkpoint file does not exist", path=path)
    if trust_checkpoint:
        warn_trusted(path)
    elif is_raw_pickle(path):  # refused before torch warns about the pickle protocol
        raise CheckpointError(UNTRUSTED_PICKLE, path=path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=not trust_checkpoint)
    except Exception as exc:
        raise load_error(exc, path) from exc
    sd = state.get("state_dict", state) if isinstance(state, dict) else None
    if not isinstance(sd, dict):
        raise CheckpointError("no state_dict in checkpoint", path=path)
    try:
        task.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights do not fit the configured model: {exc}", path=path) from exc
    return task


def expand_inputs(spec: str | Path) -> list[Path]:
    """A file, a folder (its ``*.tif``/``*.tiff``) or a glob pattern -> sorted files."""
    p = Path(spec)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".tif", ".tiff"))
    elif any(ch in str(spec) for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(str(spec)))
    else:
        if not p.exists():
            raise InputDataError("input file does not exist", path=p)
        files = [p]
    if not files:
        raise InputDataError("no GeoTIFF (*.tif, *.tiff) found", path=spec)
    return files


def expand_all(inputs: str | Path | list[str | Path]) -> list[Path]:
    """:func:`expand_inputs` over one spec or a list of them, in order."""
    files: list[Path] = []
    for spec in inputs if isinstance(inputs, list) else [inputs]:
        files += expand_inputs(spec)
    return files


def bands_to_read(src: Any, pre: ScenePreprocessing, path: Path) -> list[int]:
    """The 1-based bands ``pre`` selects from the open raster ``src``, checked against its statistics."""
    bands = list(pre.bands) if pre.bands is not None else list(range(1, src.count + 1))
    if max(bands) > src.count:
        raise InputDataError(f"asks for band {max(bands)} but the raster has {src.count}", path=path)
    for name, stats in (("means", pre.means), ("stds", pre.stds)):
        if stats is not None and len(stats) != len(bands):
            raise InputDataError(
                f"has {len(bands)} band(s) to read but the preprocessing has {len(stats)} "
                f"{name}; the file must have the training data's bands",
                path=path,
            )
    return bands


def read_preprocessed(path: str | Path, preprocessing: ScenePreprocessing | None = None) -> np.ndarray:
    """A whole raster as ``(C, H, W)`` float32, bands selected and normalised as :func:`predict_scene` does.

    For small images (detection chips); large scenes stream through :func:`predict_scene`.

    Raises:
        InputDataError: The file cannot be opened or read, or its bands do not fit (names the file).
    """
    import rasterio

    pre = preprocessing or ScenePreprocessing()
    try:
        with rasterio.open(path) as src:
            x = src.read(bands_to_read(src, pre, Path(path)), out_dtype="float32")
            nodata = src.nodata
    except rasterio.errors.RasterioError as exc:
        raise InputDataError(f"cannot read raster ({type(exc).__name__}: {exc})", path=path) from exc
    return _preprocess(x, pre, nodata)


def _preprocess(x: np.ndarray, pre: ScenePreprocessing, nodata: float | None) -> np.ndarray:
    if pre.no_data_replace is not None:  # as the datamodules do: NaN and the file's nodata
        bad = np.isnan(x) if nodata is None else (np.isnan(x) | (x == nodata))
        x = np.where(bad, np.float32(pre.no_data_replace), x)
    if pre.constant_scale != 1.0:
        x = x * np.float32(pre.constant_scale)
    if pre.means is not None:
        x = x - np.asarray(pre.means, dtype=np.float32)[:, None, None]
    if pre.stds is not None:
        x = x / np.asarray(pre.stds, dtype=np.float32)[:, None, None]
    return np.ascontiguousarray(x, dtype=np.float32)


def _out_spec(task_kind: str, kind: str, k: int, src_nodata: float | None) -> tuple[str, float | None]:
    if task_kind == "segmentation" and kind == "prediction":
        dtype = "uint8" if k < 255 else "int16"
        if src_nodata is None:
            return dtype, None
        lo, hi = (k, 255) if dtype == "uint8" else (k, 32767)
        nd = (
            src_nodata
            if float(src_nodata).is_integer() and lo <= src_nodata <= hi
            else (255 if dtype == "uint8" else -1)
        )
        return dtype, nd
    if src_nodata is None:
        return "float32", None
    return "float32", float(src_nodata) if np.isfinite(src_nodata) else float("nan")


def even_batch(windows: int, batch_size: int) -> int:
    """The batch that runs ``windows`` windows in as few passes as ``batch_size`` allows, all of one size."""
    passes = -(-windows // batch_size)
    return -(-windows // passes)


def _read_strips(src: Any, bands: list[int], ys: list[int], crop: int, height: int, width: int) -> Iterator[np.ndarray]:
    from rasterio.windows import Window

    for y in ys:
        h = min(crop, height - y)
        try:
            yield src.read(bands, window=Window(0, y, width, h), out_dtype="float32")
        except Exception as exc:
            raise InputDataError(f"cannot read rows {y}..{y + h} ({type(exc).__name__}: {exc})", path=src.name) from exc


@torch.inference_mode()
def predict_scene(
    task: Any,
    source: str | Path,
    output: str | Path,
    preprocessing: ScenePreprocessing | None = None,
    options: PredictOptions | None = None,
    on_rows: Callable[[int, int], None] | None = None,
) -> Path:
    """Predict one scene into a GeoTIFF with the source's CRS, transform and nodata.

    Args:
        task: A pixel-wise task (segmentation or pixel-wise regression), weights loaded.
        source: Input raster.
        output: Output GeoTIFF; written to a temporary name beside it and renamed at the end.
        preprocessing: Band selection and normalisation (identity when None).
        options: Window size, stride, batch size, output kind, quicklook, compression.
        on_rows: Called as ``on_rows(rows_written, height)`` after each strip (progress bars).

    Returns:
        The output path.

    Raises:
        InputDataError: The input cannot be opened or read (names the file).
    """
    pre = preprocessing or ScenePreprocessing()
    opt = options or PredictOptions()
    task_kind = getattr(task, "task_kind", "segmentation")
    if task_kind not in _PIXEL_KINDS:
        raise ConfigError(f"scene prediction needs a pixel-wise task, not {type(task).__name__}", key="model")
    source, output = Path(source), Path(output)
    with raster_reading(source, GDAL_CACHEMAX=GDAL_CACHE_MB), retained_heap():
        return _predict_scene(task, source, output, pre, opt, task_kind, on_rows)


#: GDAL block cache during prediction (MiB); GDAL's default (5% of RAM) would grow with the scene.
GDAL_CACHE_MB = 256


def _predict_scene(
    task: Any,
    source: Path,
    output: Path,
    pre: ScenePreprocessing,
    opt: PredictOptions,
    task_kind: str,
    on_rows: Callable[[int, int], None] | None = None,
) -> Path:
    import rasterio
    from rasterio.windows import Window

    try:
        src = rasterio.open(source)
    except Exception as exc:
        raise InputDataError(f"cannot open raster ({type(exc).__name__}: {exc})", path=source) from exc
    task.eval()
    device = next(iter(task.parameters())).device
    with src:
        height, width = src.height, src.width
        if on_rows is not None:  # the bar knows its total before the first strip, not only after it
            on_rows(0, height)
        bands = bands_to_read(src, pre, source)
        nodata = src.nodata
        crop, stride = opt.crop, opt.stride
        wp = max(width, crop)
        ys, xs = starts(max(height, crop), crop, stride), starts(wp, crop, stride)
        weight = blend_weights(crop, crop - stride, device)
        # weights are separable: the weight sum of pixel (r, c) is norm_y[r] * norm_x[c]
        norm_y, norm_x = coverage(height, crop, stride, device), coverage(width, crop, stride, device)
        class_map = opt.output_kind == "prediction" and task_kind == "segmentation"
        blend_kind = (
            "logits"
            if opt.output_kind == "logits"
            else ("prediction" if task_kind == "regression" else "probabilities")
        )
        # batches never span two strips: share a strip's windows out evenly (22 windows at batch 16
        # run as 11 + 11, not 16 + 6; a fixed-shape engine would pad the 6 to 16)
        batch_size = even_batch(len(xs), opt.batch_size or default_batch_size(task, device.type))
        opt = dataclasses.replace(opt, batch_size=batch_size)  # every engine runs the batch chosen here
        acc: torch.Tensor | None = None
        # one window batch, reused: a fresh 10-20 MiB tensor per batch costs page faults each time
        windows = torch.empty((batch_size, len(bands), crop, crop), device=device)
        dst = None
        with (
            open_engine(opt.engine, task, blend_kind, opt, (len(bands), crop, crop)) as run,
            atomic_path(output, suffix=".tif") as tmp,
        ):
            try:
                for i, strip in enumerate(_read_strips(src, bands, ys, crop, height, width)):
                    y, h = ys[i], strip.shape[1]
                    valid = None if nodata is None else ~np.all(strip == nodata, axis=0)
                    x = _preprocess(strip, pre, nodata)
                    if not np.isfinite(x).all():
                        raise InputDataError(
                            f"rows {y}..{y + h} hold NaN/Inf pixel values; set the datamodule's no_data_replace "
                            "(fills NaN and nodata) or declare the file's nodata value",
                            path=source,
                        )
                    if x.shape[1:] != (crop, wp):
                        x = np.pad(x, ((0, 0), (0, crop - h), (0, wp - width)))
                    xt = torch.from_numpy(x).to(device)
                    for k in range(0, len(xs), batch_size):
                        cols = xs[k : k + batch_size]
                        try:
                            out = run(torch.stack([xt[:, :, c : c + crop] for c in cols], out=windows[: len(cols)]))
                        except (RuntimeError, InputDataError) as exc:  # a band count the model was not built for
                            if isinstance(exc, InputDataError) and exc.path is not None:
                                raise
                            raise InputDataError(
                                f"the model cannot take this scene's {len(bands)} band(s): {str(exc).splitlines()[0]}",
                                path=source,
                            ) from exc
                        out = out.unsqueeze(1) if out.ndim == 3 else out
                        if acc is None:
                            acc = torch.zeros((out.shape[1], crop, wp), device=device)
                        for c, o in zip(cols, out, strict=True):  # fused weight-and-add: no weighted copy
                            acc[:, :, c : c + crop].addcmul_(o, weight)
                    assert acc is not None
                    n = (ys[i + 1] - y) if i + 1 < len(ys) else crop
                    rows = min(n, height - y)
                    if class_map:  # the weight sum is the same for every class: argmax of the sum is enough
                        block = acc[:, :rows, :width].permute(1, 2, 0).contiguous().argmax(-1)[None]
                    else:
                        block = acc[:, :rows, :width] / (norm_y[y : y + rows, None] * norm_x[None, :width])
                    if dst is None:
                        dtype, out_nd = _out_spec(task_kind, opt.output_kind, acc.shape[0], nodata)
                        dst = _open_output(tmp, src, block.shape[0], dtype, out_nd, opt.compress, opt.overviews)
                    arr = block.cpu().numpy().astype(dtype)
                    if valid is not None and out_nd is not None:
                        arr[:, ~valid[:rows]] = out_nd
                    try:
                        dst.write(arr, window=Window(0, y, width, rows))
                    except OSError as exc:  # disk full, quota: name the output, drop the partial file
                        raise OSError(exc.errno, f"cannot write {output}: {exc.strerror or exc}") from exc
                    if on_rows is not None:
                        on_rows(y + rows, height)
                    if n < crop:  # the next strip starts n rows down: keep what overlaps it
                        acc[:, : crop - n] = acc[:, n:].clone()
                    acc[:, crop - n :] = 0
                if dst is not None and opt.overviews:
                    _build_overviews(dst, categorical=class_map)
            finally:
                if dst is not None:
                    dst.close()
    _readable(output)
    if opt.quicklook:
        _readable(
            write_quicklook(
                output,
                output.with_suffix(".png"),
                categorical=opt.output_kind == "prediction" and task_kind == "segmentation",
            )
        )
    return output


def _open_output(
    tmp: Path, src: Any, count: int, dtype: str, nodata: float | None, compress: str | None, tiled: bool = False
) -> Any:
    import rasterio

    profile = {
        "driver": "GTiff",
        "height": src.height,
        "width": src.width,
        "count": count,
        "dtype": dtype,
        "crs": src.crs,
        "transform": src.transform,
        "nodata": nodata,
        "BIGTIFF": "IF_SAFER",
    }
    if compress and compress != "none":
        profile["compress"] = compress
    if tiled:  # 256-px tiles: what viewers and COG readers page through
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    return rasterio.open(tmp, "w", **profile)


def _build_overviews(dst: Any, categorical: bool) -> None:
    """Internal overviews halving until the longer side is 128-256 px (nearest for class maps, else average)."""
    from rasterio.enums import Resampling

    factors = []
    f = 2
    while max(dst.height, dst.width) / f >= 128:
        factors.append(f)
        f *= 2
    if factors:
        method = Resampling.nearest if categorical else Resampling.average
        dst.build_overviews(factors, method)
        dst.update_tags(ns="rio_overview", resampling=method.name)


def _readable(path: Path) -> Path:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
    return path


def write_quicklook(tif: Path, png: Path, categorical: bool, max_size: int = 1024) -> Path:
    """A downsampled RGB PNG of an output GeoTIFF (palette for classes, grey ramp otherwise)."""
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(tif) as src:
        f = max(1, int(np.ceil(max(src.height, src.width) / max_size)))
        shape = (max(1, src.height // f), max(1, src.width // f))
        band = src.read(1, out_shape=shape, resampling=Resampling.nearest, masked=True)
    if categorical:
        rgb = _PALETTE[np.asarray(band.filled(0)) % len(_PALETTE)]
    else:
        b = np.asarray(band.filled(np.nan), dtype=np.float64)
        lo, hi = np.nanmin(b) if np.isfinite(b).any() else 0.0, np.nanmax(b) if np.isfinite(b).any() else 1.0
        g = np.nan_to_num((b - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8)
        rgb = np.repeat(g[..., None], 3, axis=-1)
    rgb[np.ma.getmaskarray(band)] = 0
    with atomic_path(png, suffix=".png") as tmp, warnings.catch_warnings():
        # a quicklook is a picture: no georeferencing on purpose
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(
            tmp, "w", driver="PNG", width=rgb.shape[1], height=rgb.shape[0], count=3, dtype="uint8"
        ) as dst:
            dst.write(np.moveaxis(rgb, -1, 0))
    aux = Path(str(tmp) + ".aux.xml")
    if aux.exists():
        os.remove(aux)
    return png


def predict_paths(
    task: Any,
    inputs: str | Path | list[str | Path],
    output: str | Path,
    preprocessing: ScenePreprocessing | None = None,
    options: PredictOptions | None = None,
    progress: bool = False,
    max_failures: int | None = None,
) -> list[Path]:
    """Predict a file, folder, glob, text list or STAC document: one output file for one input, else a folder.

    Several scenes go to ``<output>/<id>_pred.tif`` and are shared among the ranks of a ``torchrun``
    or SLURM launch, with a ledger in ``<output>/.geo-ledger`` (see :mod:`geo_core.inference._many`):
    a rerun skips done scenes, a scene that raises is recorded as failed and the run goes on
    (until more than ``max_failures`` failed), and a summary goes to stderr at the end. STAC inputs
    choose their band assets by the model's band names (``preprocessing.band_names``) and also get
    a STAC Item per prediction and ``<output>/catalog.json``.
    ``progress`` shows a bar per scene on stderr (rows written, throughput, time left).

    Raises:
        InputDataError: The single input cannot be predicted, or a scene of several failed (after
            every other scene was done).
    """
    from geo_core.inference._scenes import list_all_scenes

    scenes = list_all_scenes(inputs)
    out = Path(output)
    single = len(scenes) == 1 and not out.is_dir() and out.suffix.lower() in (".tif", ".tiff")
    if single:
        with _progress_bar(progress) as bar:
            if scenes[0].item is not None:  # one STAC item: its band assets, and its STAC Item beside the output
                return [
                    _predict_stac_scene(
                        task, scenes[0], out, preprocessing, options or PredictOptions(), _bar_rows(bar, scenes[0].id)
                    )
                ]
            return [
                predict_scene(
                    task, scenes[0].path, out, preprocessing, options, on_rows=_bar_rows(bar, _label(scenes[0]))
                )
            ]
    from geo_core.inference._many import run_scenes

    opt = options or PredictOptions()
    with _progress_bar(progress) as bar:

        def job(scene: Any, target: Path) -> Path:
            log.info("predicting %s -> %s", scene.source, target)
            if scene.item is None:
                return predict_scene(
                    task, scene.path, target, preprocessing, opt, on_rows=_bar_rows(bar, _label(scene))
                )
            return _predict_stac_scene(task, scene, target, preprocessing, opt, _bar_rows(bar, _label(scene)))

        summary = run_scenes(scenes, job, lambda sc: out / f"{sc.id}_pred.tif", out, max_failures=max_failures)
    if any(sc.item is not None for sc in scenes):
        from geo_core.inference._stac_out import write_prediction_catalog

        write_prediction_catalog(out)
    sys.stderr.write(summary.format() + "\n")
    summary.raise_if_incomplete(out / ".geo-ledger")
    return summary.outputs


def _label(scene: Any) -> str:
    """A scene's file name for the progress bar (``s.tif``, not the id ``s``)."""
    return str(scene.source).rsplit("/", 1)[-1].split("?", 1)[0] or str(scene.id)


def _predict_stac_scene(
    task: Any,
    scene: Any,
    target: Path,
    pre: ScenePreprocessing | None,
    opt: PredictOptions,
    on_rows: Callable[[int, int], None] | None,
) -> Path:
    """Predict a STAC item (its band assets stacked by name into a VRT) and write its STAC Item beside it."""
    from geo_core.inference._stac_in import scene_vrt
    from geo_core.inference._stac_out import write_prediction_item

    pre = pre or ScenePreprocessing()
    path = scene_vrt(scene, pre.band_names)
    try:
        if pre.band_names is not None:  # the VRT holds the model's bands, in order
            pre = dataclasses.replace(pre, bands=None)
        predict_scene(task, path, target, pre, opt, on_rows=on_rows)
    finally:
        if path.endswith(".vrt"):
            with contextlib.suppress(OSError):
                os.remove(path)
    categorical = opt.output_kind == "prediction" and getattr(task, "task_kind", "segmentation") == "segmentation"
    write_prediction_item(scene, target, opt.output_kind, categorical)
    return target


def _bar_rows(bar: Any, label: str) -> Callable[[int, int], None] | None:
    if bar is None:
        return None
    job = bar.add_task(label, total=None)

    def on_rows(done: int, total: int) -> None:
        bar.update(job, completed=done, total=total)

    return on_rows


@contextlib.contextmanager
def _progress_bar(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        yield bar
