"""Where ``geo predict`` writes, decided before anything is written, and the checks that protect inputs.

An output that resolves to one of the inputs is always refused (predicting would destroy the
scene being read). An output that already exists is replaced only when asked (``--overwrite``).
Torch-free.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path

from geo_core._errors import ConfigError

__all__ = ["planned_outputs", "check_outputs", "ledger_done"]

_TIF = (".tif", ".tiff")


def planned_outputs(ids: Sequence[str], output: str | Path, kind: str, quicklook: bool = False) -> list[Path]:
    """Every file a prediction of the scenes ``ids`` (file stems) into ``output`` will write.

    Args:
        ids: Scene ids (file stems), in order.
        output: ``--output`` as given.
        kind: ``pixel`` (GeoTIFF per scene), ``image`` (one CSV table) or ``detection`` (GeoJSON per image).
        quicklook: Pixel-wise outputs also get a PNG preview beside them.
    """
    out = Path(output)
    if kind == "image":
        return [out / "predictions.csv" if out.is_dir() or not out.suffix else out]
    if kind == "detection":
        single = len(ids) == 1 and out.suffix.lower() in (".geojson", ".json")
        return [out] if single else [out / f"{i}.geojson" for i in ids]
    single = len(ids) == 1 and not out.is_dir() and out.suffix.lower() in _TIF
    targets = [out] if single else [out / f"{i}_pred.tif" for i in ids]
    return targets + ([t.with_suffix(".png") for t in targets] if quicklook else [])


def ledger_done(output: str | Path, ids: Sequence[str]) -> set[Path]:
    """Outputs of ``ids`` that the output folder's ledger tracks (a rerun skips or retries, not replaces, them).

    Any record counts, not only ``done``: under torchrun/SLURM another rank claims a scene (an
    ``in_progress`` record) before writing its output, so a rank starting a moment later must not
    take that output for a stranger's file; the ledger decides what happens to it.
    """
    from geo_core.inference._ledger import LEDGER_DIR, Ledger

    folder = Path(output)
    if not (folder / LEDGER_DIR).is_dir():
        return set()
    ledger = Ledger(folder)
    return {folder / f"{i}_pred{ext}" for i in ids if ledger.read(i).get("state") for ext in (".tif", ".png", ".json")}


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:  # pragma: no cover - a race with a deletion
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(
    inputs: Sequence[Path], targets: Sequence[Path], overwrite: bool = False, resumable: Collection[Path] = ()
) -> None:
    """Refuse outputs that are inputs, and existing outputs unless ``overwrite``.

    Args:
        inputs: The local input files.
        targets: Every file the run will write.
        overwrite: Existing outputs may be replaced.
        resumable: Existing outputs a rerun skips (done in the ledger): not in the way.

    Raises:
        ConfigError: Names the output, the input it resolves to or the ``--overwrite`` flag.
    """
    for t in targets:
        if t.parent.exists() and not t.parent.is_dir():
            raise ConfigError(f"--output {t.parent} is a file; several inputs need a folder", key="output")
        for i in inputs:
            if _same(t, i):
                raise ConfigError(
                    f"--output {t} is the input {i}: writing the prediction would destroy the input; "
                    "choose another output path",
                    key="output",
                )
    if not overwrite:
        existing = [t for t in targets if t.exists() and t not in resumable]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise ConfigError(
                f"{existing[0]} already exists{more}; pass --overwrite to replace it, or choose another --output",
                key="output",
            )
