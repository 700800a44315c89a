"""Where ``geo predict`` writes, decided before anything is written, and the checks that protect inputs.

An output that resolves to one of the inputs is always refused (predicting would destroy the
scene being read). An output that already exists is replaced only when asked (``--overwrite``).
Torch-free.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from geo_core._errors import ConfigError

__all__ = ["pixel_target", "planned_outputs", "check_outputs"]

_TIF = (".tif", ".tiff")


def pixel_target(source: Path, output: Path, n_inputs: int) -> Path:
    """The GeoTIFF written for ``source``: ``output`` itself for one input, else ``<output>/<stem>_pred.tif``."""
    single = n_inputs == 1 and not output.is_dir() and output.suffix.lower() in _TIF
    return output if single else output / f"{source.stem}_pred.tif"


def planned_outputs(files: Sequence[Path], output: str | Path, kind: str, quicklook: bool = False) -> list[Path]:
    """Every file a prediction of ``files`` into ``output`` will write, for a task of ``kind``.

    Args:
        files: The expanded input files.
        output: ``--output`` as given.
        kind: ``pixel`` (GeoTIFF per scene), ``image`` (one CSV table) or ``detection`` (GeoJSON per image).
        quicklook: Pixel-wise outputs also get a PNG preview beside them.
    """
    out = Path(output)
    if kind == "image":
        return [out / "predictions.csv" if out.is_dir() or not out.suffix else out]
    if kind == "detection":
        single = len(files) == 1 and out.suffix.lower() in (".geojson", ".json")
        return [out] if single else [out / f"{f.stem}.geojson" for f in files]
    targets = [pixel_target(f, out, len(files)) for f in files]
    return targets + ([t.with_suffix(".png") for t in targets] if quicklook else [])


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:  # pragma: no cover - a race with a deletion
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(inputs: Sequence[Path], targets: Sequence[Path], overwrite: bool = False) -> None:
    """Refuse outputs that are inputs, and existing outputs unless ``overwrite``.

    Raises:
        ConfigError: Names the output, the input it resolves to or the ``--overwrite`` flag.
    """
    for t in targets:
        if t.parent.exists() and not t.parent.is_dir():
            raise ConfigError(f"--output {t.parent} is a file; several inputs need a folder", key="output")
        for i in inputs:
            if _same(t, i):
                raise ConfigError(f"--output {t} is the input {i}: writing the prediction would destroy the input; "
                                  "choose another output path", key="output")
    if not overwrite:
        existing = [t for t in targets if t.exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise ConfigError(f"{existing[0]} already exists{more}; pass --overwrite to replace it, or choose another "
                              "--output", key="output")
