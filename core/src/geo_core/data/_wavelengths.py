"""Band name -> central wavelength (micrometres): the one table of TerraTorch's HLS band names (torch-free).

Wavelength-conditioned backbones (DOFA, Clay) turn the band names a config gives into wavelengths
with :func:`band_wavelengths`. The values are those TerraTorch's DOFA (``dofa_vit.waves_list``) and
Clay v1 (``clay_v1.modules.WAVELENGTHS``) use for these names, which agree entry by entry, so the same
names give the same inputs as in TerraTorch. A family with names of its own (Clay's Sentinel-2
``blue``, ``nir08`` ...) passes its own table built on this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from geo_core._errors import ConfigError
from geo_core._suggest import close_matches

__all__ = ["HLS_SENTINEL2_BANDS", "HLS_WAVELENGTHS", "band_wavelengths"]

#: HLS / TerraTorch band name -> central wavelength in micrometres (read-only; case-sensitive).
HLS_WAVELENGTHS: Mapping[str, float] = MappingProxyType(
    {
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
        # TerraTorch's tables spell this one THERMAL_INFRARED_12 (its HLSBands enum: THERMAL_INFRARED_2);
        # both names are accepted so configs written for either carry over.
        "THERMAL_INFRARED_2": 12.00,
        "THERMAL_INFRARED_12": 12.00,
        "VV": 5.405,
        "VH": 5.405,
        "ASC_VV": 5.405,
        "ASC_VH": 5.405,
        "DSC_VV": 5.405,
        "DSC_VH": 5.405,
        "VV-VH": 5.405,
    }
)

#: HLS / TerraTorch band name -> Sentinel-2 band id (read-only), for weights trained on named Sentinel-2
#: bands (torchgeo's weight metadata, MMEarth's checkpoints). ``NIR`` is the broad-band B8.
HLS_SENTINEL2_BANDS: Mapping[str, str] = MappingProxyType(
    {
        "COASTAL_AEROSOL": "B1",
        "BLUE": "B2",
        "GREEN": "B3",
        "RED": "B4",
        "RED_EDGE_1": "B5",
        "RED_EDGE_2": "B6",
        "RED_EDGE_3": "B7",
        "NIR_BROAD": "B8",
        "NIR": "B8",
        "NIR_NARROW": "B8A",
        "WATER_VAPOR": "B9",
        "CIRRUS": "B10",
        "SWIR_1": "B11",
        "SWIR_2": "B12",
    }
)


def band_wavelengths(
    bands: Iterable[str],
    table: Mapping[str, float] = HLS_WAVELENGTHS,
    *,
    component: str,
    key: str = "bands",
    fix: str = "or pass wavelengths=[...] (micrometres, one per band)",
) -> list[float]:
    """Return the central wavelength of each band name, looked up in ``table``.

    Args:
        bands: Band names, in input order.
        table: Name -> wavelength (micrometres); default the HLS / TerraTorch names.
        component: Who asks, first in the message (``"torchgeo:dofa_base_patch16_224"``).
        key: The config key the names came from, carried by the error.
        fix: What else the user can do, appended to the message.

    Raises:
        ConfigError: A band has no known wavelength; names it, the closest known names and the fix.

    Example:
        >>> band_wavelengths(["BLUE", "NIR_NARROW"], component="demo")
        [0.49, 0.864]
    """
    out = []
    for name in bands:
        if name not in table:
            close = close_matches(name, table) or close_matches(name.upper(), table)  # HLS names are upper
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise ConfigError(
                f"{component}: no wavelength known for band {name!r}{hint}; use a known name "
                f"({', '.join(table)}) {fix}",
                key=key,
            )
        out.append(float(table[name]))
    return out
