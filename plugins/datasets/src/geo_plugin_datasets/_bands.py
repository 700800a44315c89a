"""Band selection by name or index, multi-temporal band layout, and normalisation statistics.

``dataset_bands`` names the bands of the files in order; ``output_bands`` picks
the ones the model sees, by name or by 0-based index. With
``expand_temporal_dimension`` a file holds ``T`` time steps one after the other
(time-major: all bands of t0, then all bands of t1, ...) and the sample becomes
``(C, T, H, W)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geo_core import ConfigError, InputDataError

__all__ = ["BandSpec", "resolve_bands", "load_stats", "resolve_norm"]

BandName = str | int


def _name(b: Any) -> BandName:
    # TerraTorch configs may pass enum members (HLSBands.RED); use their value or name.
    if isinstance(b, int | str):
        return b
    return str(getattr(b, "value", getattr(b, "name", b)))


def resolve_bands(
    dataset_bands: Sequence[Any] | None,
    output_bands: Sequence[Any] | None,
    file_band_count: int | None = None,
    file_descriptions: Sequence[str | None] | None = None,
) -> list[int]:
    """Return 0-based indices (into one time step of the file) of ``output_bands``.

    Names are looked up in ``dataset_bands``, or in the file's band descriptions
    when ``dataset_bands`` is None; integers are indices. Raises ``ConfigError``
    naming the unknown band and the valid ones (never silently dropping it).
    """
    ds = [_name(b) for b in dataset_bands] if dataset_bands is not None else None
    if output_bands is None:
        if ds is not None:
            return list(range(len(ds)))
        if file_band_count is None:
            raise ConfigError("cannot tell how many bands to read: give dataset_bands or output_bands")
        return list(range(file_band_count))
    names = ds if ds is not None else [d or "" for d in (file_descriptions or [])]
    out = []
    for b in (_name(x) for x in output_bands):
        if isinstance(b, int):
            limit = len(ds) if ds is not None else file_band_count
            if b < 0 or (limit is not None and b >= limit):
                raise ConfigError(f"output band index {b} is out of range (0..{(limit or 0) - 1})", key="output_bands")
            out.append(b)
        elif b in names:
            out.append(names.index(b))
        else:
            from geo_core import close_matches

            close = close_matches(str(b), [str(n) for n in names], n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ConfigError(f"output band {b!r} is not among dataset_bands {names}{hint}", key="output_bands")
    return out


class BandSpec:
    """Which file bands to read and how to reshape them.

    Args:
        indices: 0-based indices within one time step.
        bands_per_step: Bands per time step in the file (``len(dataset_bands)``).
        time_steps: Number of time steps, or None for a plain ``(C, H, W)`` sample.
    """

    def __init__(self, indices: list[int], bands_per_step: int | None, time_steps: int | None = None) -> None:
        self.indices = indices
        self.bands_per_step = bands_per_step
        self.time_steps = time_steps

    def file_indices(self, file_count: int, path: Path | None = None) -> list[int] | None:
        """Return the 0-based file bands to read (None = all, in order)."""
        if self.time_steps is None and self.bands_per_step is None:
            return None if self.indices == list(range(file_count)) else self.indices
        per = self.bands_per_step or file_count
        if self.time_steps is not None:
            if file_count % per:
                raise InputDataError(
                    f"has {file_count} bands, not a multiple of the {per} dataset_bands per time step",
                    path,
                )
            steps = file_count // per
            idx = [t * per + i for t in range(steps) for i in self.indices]
        else:
            idx = self.indices
        return None if idx == list(range(file_count)) else idx


def load_stats(path: str | Path) -> dict[str, Any]:
    """Read a stats file written by ``geo stats`` (YAML or JSON)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputDataError(f"cannot read stats file: {exc}", path) from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # json.JSONDecodeError or yaml.YAMLError
        raise InputDataError(f"cannot parse stats file: {exc}", path) from exc
    if not isinstance(data, dict) or "means" not in data or "stds" not in data:
        raise InputDataError("not a stats file: expected keys 'means' and 'stds' (write it with `geo stats`)", path)
    return data


def resolve_norm(
    means: Sequence[float] | str | Path | None,
    stds: Sequence[float] | str | Path | None,
    stats_file: str | Path | None,
    n_bands: int,
    output_bands: Sequence[Any] | None = None,
) -> tuple[list[float], list[float]] | None:
    """Return ``(means, stds)`` of length ``n_bands`` from lists or a stats file, or None.

    A stats file covers the bands it was computed on (its ``bands`` list); when it
    has more bands than the model reads, the ``output_bands`` are picked by name.
    """
    if isinstance(means, str | Path):
        stats_file, means = means, None
    if isinstance(stds, str | Path):
        stats_file, stds = stds, None
    if stats_file is not None and means is None and stds is None:
        data = load_stats(stats_file)
        m, s = list(data["means"]), list(data["stds"])
        names = data.get("bands")
        if len(m) != n_bands and names and output_bands is not None:
            try:
                pick = [names.index(_name(b)) for b in output_bands]
            except ValueError as exc:
                raise ConfigError(
                    f"stats file {stats_file} covers bands {names}; it lacks one of {list(output_bands)}",
                    key="stats_file",
                ) from exc
            m, s = [m[i] for i in pick], [s[i] for i in pick]
        means, stds = m, s
    if means is None and stds is None:
        return None
    if means is None or stds is None:
        raise ConfigError("give both means and stds (or a stats_file)", key="means")
    means, stds = [float(v) for v in means], [float(v) for v in stds]
    if len(means) != n_bands or len(stds) != n_bands:
        raise ConfigError(
            f"means/stds have {len(means)}/{len(stds)} values but {n_bands} band(s) are read; "
            "give one value per output band",
            key="means",
        )
    if any(v <= 0 for v in stds):
        raise ConfigError(f"stds must be positive, got {stds}", key="stds")
    return means, stds
