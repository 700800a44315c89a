"""Central wavelengths (micrometres) of the band names Clay understands; torch-free.

Clay conditions its patch embedding on each band's wavelength, so any set of bands works as long as
each band has one. The lowercase names are Clay's Sentinel-2 L2A names (its ``metadata.yaml``); the
uppercase names are the HLS / TerraTorch band names. Both sets and their values are those TerraTorch's
Clay v1 backbone uses, so the same names give the same inputs. Other sensors' bands (Landsat's ``red``
is 0.65, not Sentinel-2's 0.665): pass ``wavelengths=[...]`` explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence

from geo_core import ConfigError, close_matches

__all__ = ["WAVELENGTHS", "resolve_wavelengths"]

#: Band name -> central wavelength in micrometres. Names are case-sensitive (``blue`` 0.493 is
#: Sentinel-2's, ``BLUE`` 0.49 the HLS one), as in TerraTorch.
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
    "COASTAL_AEROSOL": 0.44,
    "BLUE": 0.49,
    "GREEN": 0.56,
    "RED": 0.665,
    "RED_EDGE_1": 0.705,
    "RED_EDGE_2": 0.74,
    "RED_EDGE_3": 0.783,
    "NIR_BROAD": 0.832,
    "NIR_NARROW": 0.864,
    "WATER_VAPOR": 0.945,
    "CIRRUS": 1.373,
    "SWIR_1": 1.61,
    "SWIR_2": 2.20,
    "THERMAL_INFRARED_1": 10.90,
    "THERMAL_INFRARED_2": 12.00,
    "VV": 5.405,
    "VH": 5.405,
    "ASC_VV": 5.405,
    "ASC_VH": 5.405,
    "DSC_VV": 5.405,
    "DSC_VH": 5.405,
    "VV-VH": 5.405,
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
    names, waves = [], []
    for b in bands:
        name = str(b)
        if name not in WAVELENGTHS:
            close = close_matches(name, WAVELENGTHS, n=3)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise ConfigError(
                f"{variant}: no wavelength known for band {name!r}{hint}. Clay needs each band's central "
                f"wavelength: use a known name ({', '.join(sorted(WAVELENGTHS))}) or pass "
                "wavelengths=[...] (micrometres, one per band; backbone_wavelengths in a model config)",
                key="bands",
            )
        names.append(name)
        waves.append(WAVELENGTHS[name])
    return names, waves
