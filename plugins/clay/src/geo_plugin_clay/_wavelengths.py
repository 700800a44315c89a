"""Central wavelengths (micrometres) of the band names Clay understands; torch-free.

Clay conditions its patch embedding on each band's wavelength, so any set of bands works as long as
each band has one. The lowercase names are Clay's Sentinel-2 L2A names (its ``metadata.yaml``), kept
here because only Clay knows them; the uppercase names are the HLS / TerraTorch band names of core's
:data:`geo_core.data.HLS_WAVELENGTHS` (shared with DOFA). Both sets and their values are those
TerraTorch's Clay v1 backbone uses, so the same names give the same inputs. Other sensors' bands
(Landsat's ``red`` is 0.65, not Sentinel-2's 0.665): pass ``wavelengths=[...]`` explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence

from geo_core import ConfigError
from geo_core.data import HLS_WAVELENGTHS, band_wavelengths

__all__ = ["WAVELENGTHS", "resolve_wavelengths"]

#: Band name -> central wavelength in micrometres. Names are case-sensitive (``blue`` 0.493 is
#: Sentinel-2's, ``BLUE`` 0.49 the HLS one), as in TerraTorch. Clay's own names first, then core's
#: HLS table (no name is in both, so nothing is overridden).
WAVELENGTHS: dict[str, float] = {
    # Clay / Sentinel-2 L2A
    "blue": 0.493,
    "green": 0.56,
    "red": 0.665,
    "rededge1": 0.704,
    "rededge2": 0.74,
    "rededge3": 0.783,
    "nir": 0.842,
    "nir08": 0.865,
    "swir16": 1.61,
    "swir22": 2.19,
    # Clay / Sentinel-1 (pseudo-wavelengths of the pre-training metadata)
    "vv": 3.5,
    "vh": 4.0,
    # HLS / TerraTorch names
    **HLS_WAVELENGTHS,
}


def resolve_wavelengths(
    variant: str,
    bands: Sequence[str] | None,
    wavelengths: Sequence[float] | None,
    default_bands: Sequence[str],
    default_wavelengths: Sequence[float],
) -> tuple[list[str], list[float]]:
    """Return ``(bands, wavelengths)`` for a model: explicit wavelengths win, else looked up by band name.

    Raises:
        ConfigError: A band has no known wavelength (names the closest ones and the fix), or the counts differ.
    """
    if wavelengths is not None:
        waves = [float(w) for w in wavelengths]
        names = [str(b) for b in bands] if bands is not None else [f"band_{i}" for i in range(len(waves))]
        if len(names) != len(waves):
            raise ConfigError(
                f"{variant}: {len(names)} bands but {len(waves)} wavelengths; give one wavelength per band",
                key="wavelengths",
            )
        return names, waves
    if bands is None:
        return list(default_bands), [float(w) for w in default_wavelengths]
    names = [str(b) for b in bands]
    waves = band_wavelengths(
        names,
        WAVELENGTHS,
        component=variant,
        fix="or pass wavelengths=[...] (micrometres, one per band; backbone_wavelengths in a model config)",
    )
    return names, waves
