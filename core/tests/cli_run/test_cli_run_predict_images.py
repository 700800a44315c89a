"""`geo predict` for image-level tasks: one CSV row per GeoTIFF chip."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import rasterio
import torch
from geo_core import ConfigError, InputDataError
from geo_core import runs as api
from geo_core.data import ScenePreprocessing
from geo_core.inference import PredictOptions, predict_images
from geo_core.tasks import ClassificationTask, MultiLabelClassificationTask, ScalarRegressionTask
from geo_core.testing import write_geotiff

from .conftest import LIGHTNING_PYTREE

pytestmark = pytest.mark.filterwarnings(LIGHTNING_PYTREE)

PRE = ScenePreprocessing(means=[0.5] * 6, stds=[0.25] * 6)


def _model_args(num_classes: int) -> dict:
    return {"backbone": "tiny_cnn", "decoder": "IdentityDecoder", "num_classes": num_classes}


def _chips(tmp_path, shapes=((32, 32), (32, 32), (40, 24), (32, 32))):
    return [
        write_geotiff(tmp_path / "chips" / f"c{i}.tif", bands=6, height=h, width=w, seed=i)
        for i, (h, w) in enumerate(shapes)
    ]


def _expected(task, path) -> torch.Tensor:
    with rasterio.open(path) as s:
        x = (s.read().astype("float32") - 0.5) / 0.25
    with torch.no_grad():
        return task(torch.from_numpy(x)[None]).output[0]


def _table(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_classification_rows_match_the_model_file_by_file(tmp_path):
    torch.manual_seed(0)
    task = ClassificationTask(
        model_factory="EncoderDecoderFactory", model_args=_model_args(3), class_names=["water", "forest", "urban"]
    ).eval()
    chips = _chips(tmp_path)
    out = predict_images(
        task, tmp_path / "chips", tmp_path / "preds", PRE, PredictOptions(output_kind="probabilities", batch_size=2)
    )
    assert out == tmp_path / "preds" / "predictions.csv"
    rows = _table(out)
    assert list(rows[0]) == ["filename", "prediction", "class", "confidence", "prob_water", "prob_forest", "prob_urban"]
    assert [r["filename"] for r in rows] == [str(c) for c in chips]  # one row each, in file order
    for r, chip in zip(rows, chips, strict=True):
        probs = _expected(task, chip).softmax(0)
        got = np.array([float(r[f"prob_{n}"]) for n in ("water", "forest", "urban")])
        np.testing.assert_allclose(got, probs.numpy(), atol=1e-5)
        assert (
            int(r["prediction"]) == int(probs.argmax())
            and r["class"] == ["water", "forest", "urban"][int(probs.argmax())]
        )
        assert float(r["confidence"]) == pytest.approx(float(probs.max()), abs=1e-6)


def test_multilabel_and_scalar_regression_columns(tmp_path):
    torch.manual_seed(1)
    chips = _chips(tmp_path, shapes=((32, 32), (32, 32)))
    ml = MultiLabelClassificationTask(
        model_factory="EncoderDecoderFactory", model_args=_model_args(3), class_names=["cloud", "shadow", "snow"]
    ).eval()
    rows = _table(predict_images(ml, chips, tmp_path / "ml.csv", PRE, PredictOptions(output_kind="logits")))
    assert list(rows[0]) == ["filename", "labels", "logit_cloud", "logit_shadow", "logit_snow"]
    for r, chip in zip(rows, chips, strict=True):
        logits = _expected(ml, chip)
        want = ";".join(n for n, p in zip(["cloud", "shadow", "snow"], logits.sigmoid(), strict=True) if p >= 0.5)
        assert r["labels"] == want
        np.testing.assert_allclose([float(r[f"logit_{n}"]) for n in ("cloud", "shadow", "snow")], logits, atol=1e-5)
    reg = ScalarRegressionTask(model_factory="EncoderDecoderFactory", model_args=_model_args(1)).eval()
    rows = _table(predict_images(reg, chips, tmp_path / "reg.csv", PRE))
    assert list(rows[0]) == ["filename", "prediction"]
    for r, chip in zip(rows, chips, strict=True):
        assert float(r["prediction"]) == pytest.approx(float(_expected(reg, chip).squeeze()), abs=1e-5)


def test_bad_inputs_name_the_file_and_leave_no_table(tmp_path):
    task = ClassificationTask(model_factory="EncoderDecoderFactory", model_args=_model_args(2)).eval()
    chips = _chips(tmp_path, shapes=((32, 32), (32, 32)))
    bad = tmp_path / "chips" / "c9_broken.tif"
    bad.write_bytes(b"II*\x00garbage")
    with pytest.raises(InputDataError, match=r"c9_broken\.tif"):
        predict_images(task, tmp_path / "chips", tmp_path / "p.csv", PRE)
    assert not (tmp_path / "p.csv").exists()
    bad.unlink()
    with pytest.raises(ConfigError, match=r"CSV table.*\.csv file or a folder"):
        predict_images(task, chips, tmp_path / "p.tif", PRE)
    four = write_geotiff(tmp_path / "four.tif", bands=4, height=32, width=32)
    with pytest.raises(InputDataError, match=r"four\.tif"):
        predict_images(task, four, tmp_path / "p.csv", ScenePreprocessing())
    assert not (tmp_path / "p.csv").exists()


def test_geo_predict_api_writes_the_table_for_a_classification_config(tmp_path):
    chips = _chips(tmp_path, shapes=((16, 16), (16, 16), (16, 16)))
    cfg = {
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "enable_progress_bar": False,
            "logger": False,
            "enable_checkpointing": False,
            "default_root_dir": str(tmp_path / "run"),
        },
        "model": {
            "class_path": "ClassificationTask",
            "init_args": {"model_factory": "EncoderDecoderFactory", "model_args": _model_args(3)},
        },
        "data": {
            "class_path": "geo_core.testing.TinyGeoDataModule",
            "init_args": {"task": "classification", "num_classes": 3, "size": 16},
        },
    }
    paths = api.predict(cfg, ckpt=None, input=str(tmp_path / "chips" / "*.tif"), output=tmp_path / "out.csv")
    assert paths == [tmp_path / "out.csv"]
    rows = _table(paths[0])
    assert [r["filename"] for r in rows] == [str(c) for c in chips]
    assert {r["class"] for r in rows} <= {"0", "1", "2"}
