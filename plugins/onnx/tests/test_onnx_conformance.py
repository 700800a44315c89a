"""The shared engine check on the onnxruntime engine (``geo.engines``)."""

from __future__ import annotations

import pytest
from geo_core.testing import check_engine

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


def test_onnxruntime_engine_conforms() -> None:
    check_engine("onnxruntime", kinds=("probabilities",))
