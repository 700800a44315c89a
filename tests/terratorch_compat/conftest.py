"""One set of small synthetic GeoTIFFs for the whole TerraTorch compatibility suite (session-scoped)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from geo_core.testing import write_geotiff

SIZE = 32


def _write_pair(
    img_path: Path,
    lbl_path: Path | None,
    bands: int,
    rng: np.random.Generator,
    i: int,
    label: str = "mask",
    nodata: bool = False,
) -> None:
    img = rng.random((bands, SIZE, SIZE), dtype=np.float32)
    origin = (500000.0 + 30 * SIZE * i, 4200000.0)
    if nodata:
        img[:, 0, 0] = -9999.0
    write_geotiff(img_path, img, origin=origin, nodata=-9999.0 if nodata else None)
    if lbl_path is None:
        return
    if label == "mask":
        lbl = (img[min(1, bands - 1)] > 0.5).astype("uint8")
        write_geotiff(lbl_path, lbl, origin=origin)
    else:
        write_geotiff(lbl_path, img[0].copy(), origin=origin)


def make_compat_data(root: Path, n: int = 4) -> Path:
    """Folders the configs of this suite point at (``${DATA}/...``); returns ``root``."""
    rng = np.random.default_rng(0)
    for i in range(n):
        # single-frame segmentation / regression: 6 HLS bands, image and label side by side
        _write_pair(root / "seg" / f"s{i}_img.tif", root / "seg" / f"s{i}_mask.tif", 6, rng, i, nodata=i == 0)
        _write_pair(root / "reg" / f"r{i}_input.tif", root / "reg" / f"r{i}_label.tif", 6, rng, i, label="value")
        # two frames of 6 bands (time-major) for multi-temporal Prithvi
        _write_pair(root / "mt" / f"t{i}_img.tif", root / "mt" / f"t{i}_mask.tif", 12, rng, i)
        # files with placeholder bands around the HLS ones
        _write_pair(root / "ph" / f"p{i}_img.tif", root / "ph" / f"p{i}_mask.tif", 8, rng, i)
        # multimodal: S1 (2 bands) and S2 (6 bands) in their own folders, labels in a third
        _write_pair(root / "mm" / "S1GRD" / f"m{i}_S1.tif", None, 2, rng, i)
        _write_pair(root / "mm" / "S2L2A" / f"m{i}_S2.tif", root / "mm" / "labels" / f"m{i}_mask.tif", 6, rng, i)
        # classification: one folder per class
        _write_pair(root / "cls" / ("a" if i % 2 else "b") / f"c{i}.tif", None, 6, rng, i)
    return root


@pytest.fixture(scope="session")
def compat_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The suite's data folder, written once per session."""
    # Lightning binds its log handler to sys.stdout when first imported; import it here, not inside a
    # CliRunner invocation whose captured stream is closed afterwards.
    import lightning.pytorch  # noqa: F401

    return make_compat_data(tmp_path_factory.mktemp("tt_data"))
