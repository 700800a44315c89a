"""``geo embed --input``: embed scenes from a folder, glob, text list or STAC document, one file per scene.

Each scene (a chip: read whole) is read and normalised like the training data (the datamodule's
:class:`~geo_core.data.ScenePreprocessing`), run through the ``EmbeddingGenerationTask`` and
written as ``<output>/<id>_embedding.{tif,parquet}``. Scenes are shared among torchrun/SLURM ranks
with the ledger of :mod:`geo_core.inference._many`; GeoParquet rows carry the scene id
(``item_id``: the STAC item id for STAC inputs) and the source href.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from geo_core._errors import InputDataError
from geo_core.data import ScenePreprocessing
from geo_core.embeddings._writers import output_path_for, write_embedding_geotiff, write_embedding_parquet

__all__ = ["embed_scenes"]


def _read_scene(path: str, pre: ScenePreprocessing) -> tuple[np.ndarray, dict[str, Any]]:
    import rasterio

    from geo_core.inference._stream import _preprocess, bands_to_read

    try:
        with rasterio.open(path) as src:
            bands = bands_to_read(src, pre, Path(path))
            raw = src.read(bands, out_dtype="float32")
            georef = (
                {}
                if src.crs is None
                else {
                    "crs": src.crs,
                    "transform": src.transform,
                    "width": src.width,
                    "height": src.height,
                    "bounds": tuple(src.bounds),
                }
            )
            nodata = src.nodata
    except InputDataError:
        raise
    except Exception as exc:
        raise InputDataError(f"cannot read raster ({type(exc).__name__}: {exc})", path=path) from exc
    x = _preprocess(raw, pre, nodata)
    if not np.isfinite(x).all():
        raise InputDataError("holds NaN/Inf pixel values; set the datamodule's no_data_replace", path=path)
    return x, georef


def embed_scenes(
    task: Any,
    inputs: str | Path | list[str | Path],
    output_dir: str | Path,
    preprocessing: ScenePreprocessing | None = None,
    max_failures: int | None = None,
) -> dict[str, int]:
    """Embed every scene of ``inputs`` (this rank's share) into ``output_dir``.

    Args:
        task: An ``EmbeddingGenerationTask`` (its pooling, layers and output format are used).
        inputs: Scene sources (see :func:`geo_core.inference._scenes.list_scenes`).
        output_dir: Folder of the embedding files and of the ledger.
        preprocessing: Band selection and normalisation (identity when None).
        max_failures: Stop this rank once more scenes failed (None: never).

    Returns:
        ``{"written": n, "skipped": m, "failed": k}`` for this rank; a summary also goes to stderr.

    Raises:
        InputDataError: A scene failed (after every other scene was done).
    """
    import torch

    from geo_core.inference._many import run_scenes
    from geo_core.inference._scenes import Scene, list_all_scenes

    scenes = list_all_scenes(inputs)
    out = Path(output_dir)
    pre = preprocessing or ScenePreprocessing()
    fmt = task.output_format
    task.eval()
    device = next(iter(task.parameters())).device

    def job(scene: Scene, target: Path) -> Path:
        if scene.item is None:
            x, georef = _read_scene(scene.path, pre)
        else:  # a STAC item: its band assets stacked by the model's band names
            from geo_core.inference._stac_in import scene_vrt

            vrt = scene_vrt(scene, pre.band_names)
            try:
                x, georef = _read_scene(vrt, dataclasses.replace(pre, bands=None) if pre.band_names else pre)
            finally:
                if vrt.endswith(".vrt"):
                    os.remove(vrt)
        with torch.inference_mode():
            emb = task(torch.from_numpy(x)[None].to(device)).float().cpu().numpy()[0]
        if fmt == "parquet":
            return write_embedding_parquet(target, scene.source, emb, georef, item_id=scene.id)
        return write_embedding_geotiff(target, emb if emb.ndim == 3 else emb[:, None, None], georef)

    summary = run_scenes(scenes, job, lambda sc: output_path_for(out, sc.id, fmt), out, max_failures=max_failures)
    sys.stderr.write(summary.format() + "\n")
    summary.raise_if_incomplete(out / ".geo-ledger")
    return {"written": len(summary.done), "skipped": len(summary.skipped), "failed": len(summary.failed)}
