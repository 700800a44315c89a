"""The one band-name -> wavelength table: TerraTorch's values, errors that name the closest bands."""

from __future__ import annotations

import subprocess
import sys

import pytest
from geo_core import ConfigError
from geo_core.data import HLS_WAVELENGTHS, band_wavelengths


def test_names_give_terratorchs_wavelengths_in_order() -> None:
    assert band_wavelengths(["NIR_NARROW", "BLUE", "VV"], component="c") == [0.864, 0.49, 5.405]
    # TerraTorch's tables spell the second thermal band THERMAL_INFRARED_12; both names work.
    assert HLS_WAVELENGTHS["THERMAL_INFRARED_12"] == HLS_WAVELENGTHS["THERMAL_INFRARED_2"] == 12.0
    assert band_wavelengths(["x"], {"x": 1}, component="c") == [1.0]
    with pytest.raises(TypeError):
        HLS_WAVELENGTHS["BLUE"] = 0.5  # type: ignore[index]


def test_unknown_band_names_itself_the_closest_names_and_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"torchgeo:dofa: .*'swir1' \(did you mean 'SWIR_1'.*wavelengths=\[") as err:
        band_wavelengths(["BLUE", "swir1"], component="torchgeo:dofa", key="model_bands")
    assert err.value.key == "model_bands"


def test_the_table_loads_without_torch() -> None:
    code = "import sys; from geo_core.data import band_wavelengths; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
