"""How a raw scene becomes model input: band selection, scaling, normalisation, nodata."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from geo_core._errors import ConfigError

__all__ = ["ScenePreprocessing", "scene_preprocessing_of"]

log = logging.getLogger("geo_core.data")


@dataclass
class ScenePreprocessing:
    """The preprocessing contract between a datamodule and streaming prediction.

    Applied per window as ``((raw * constant_scale) - mean) / std`` after replacing
    nodata pixels by ``no_data_replace``.

    Attributes:
        bands: 1-based raster band indices to read, in model order; None reads every band.
        constant_scale: Factor applied to raw values first (e.g. ``1e-4`` for reflectance).
        means: Per-band means (after scaling), one per read band; None skips centring.
        stds: Per-band standard deviations; None skips scaling.
        no_data_replace: Value written over nodata pixels before normalisation (None keeps them).
        band_names: Names of the model's bands in model order (TerraTorch/HLS names such as ``RED``,
            ``NIR_NARROW``, or STAC common names); STAC inputs choose their assets by these names.

    Example:
        >>> ScenePreprocessing(bands=[1, 2, 3], means=[0.1, 0.1, 0.1], stds=[0.2, 0.2, 0.2]).num_bands
        3
    """

    bands: list[int] | None = None
    constant_scale: float = 1.0
    means: list[float] | None = None
    stds: list[float] | None = None
    no_data_replace: float | None = None
    band_names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.bands is not None and any(int(b) < 1 for b in self.bands):
            raise ConfigError(f"ScenePreprocessing.bands are 1-based raster indices, got {self.bands}", key="bands")
        n = self.num_bands
        for key in ("means", "stds"):
            v = getattr(self, key)
            if v is not None and n is not None and len(v) != n:
                raise ConfigError(f"ScenePreprocessing.{key} has {len(v)} values for {n} bands", key=key)
        if self.stds is not None and any(float(s) == 0 for s in self.stds):
            raise ConfigError("ScenePreprocessing.stds contains 0", key="stds")

    @property
    def num_bands(self) -> int | None:
        """Number of bands read, or None when every band is read."""
        return None if self.bands is None else len(self.bands)


def scene_preprocessing_of(datamodule: Any) -> ScenePreprocessing:
    """Return ``datamodule.scene_preprocessing()``, or the identity (all bands) with a logged note."""
    fn = getattr(datamodule, "scene_preprocessing", None)
    if fn is None:
        log.warning(
            "%s has no scene_preprocessing(); predicting on every band without normalisation",
            type(datamodule).__name__ if datamodule is not None else "no datamodule",
        )
        return ScenePreprocessing()
    pre = fn()
    if not isinstance(pre, ScenePreprocessing):
        raise TypeError(f"{type(datamodule).__name__}.scene_preprocessing() must return ScenePreprocessing")
    return pre
