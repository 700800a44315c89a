"""How geo opens rasters: GDAL settings for many files, and for remote ones.

On every open GDAL lists the folder of the file, to find its side-car files (``.aux.xml``,
``.ovr``, ``.msk``, world files). A folder of thousands of training chips pays that listing on
each sample, and a remote folder (``/vsicurl/``) pays HTTP requests for it. Inside
:func:`raster_reading`, GDAL looks side-cars of local files up by name instead (they are still
found), and assumes remote files have none, as cloud-native readers do: a cloud-optimised
GeoTIFF keeps its overviews and masks inside. A 6x224x224 float32 GeoTIFF and its mask, in a
folder of 400 files, opened and read 6.5% faster on the reference machine
(``benchmarks/loader_throughput.py``). A value the user sets in the process environment wins.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["is_remote", "raster_reading"]

READDIR = "GDAL_DISABLE_READDIR_ON_OPEN"
_REMOTE = ("/vsicurl", "/vsis3", "/vsigs", "/vsiaz", "/vsiadls", "/vsioss", "/vsiswift", "/vsiwebhdfs")
_local = threading.local()


def is_remote(path: str | Path | None) -> bool:
    """Whether ``path`` is read over the network (a GDAL ``/vsicurl/``-like path or a URL)."""
    text = str(path or "")
    if "://" in text:
        return not text.lower().startswith("file://")
    return text.startswith(_REMOTE)


@contextlib.contextmanager
def raster_reading(path: str | Path | None = None, **options: str | int) -> Iterator[None]:
    """Open rasters inside this block without GDAL listing their folders (plus any other GDAL ``options``).

    Re-entrant per thread: a nested block without ``options`` costs nothing, so a dataset can hold
    one block over an image and its label while each read also asks for one.

    Args:
        path: A file the block reads, to tell local from remote (local when None).
        options: More GDAL configuration options for the block, e.g. ``GDAL_CACHEMAX=256``.

    Example:
        >>> with raster_reading("/data/chip_0001.tif"):  # doctest: +SKIP
        ...     with rasterio.open("/data/chip_0001.tif") as src:
        ...         pixels = src.read()
    """
    depth = getattr(_local, "depth", 0)
    if depth and not options:
        yield
        return
    import rasterio

    settings: dict[str, str | int] = dict(options)
    if READDIR not in os.environ:
        settings.setdefault(READDIR, "EMPTY_DIR" if is_remote(path) else "TRUE")
    _local.depth = depth + 1
    try:
        with rasterio.Env(**settings):
            yield
    finally:
        _local.depth = depth
