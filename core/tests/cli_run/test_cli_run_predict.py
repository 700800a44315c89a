from __future__ import annotations

import numpy as np
import pytest
import rasterio
import torch
from geo_core import InputDataError
from geo_core import runs as api
from geo_core.data import ScenePreprocessing
from geo_core.inference import PredictOptions, predict_scene
from geo_core.tasks import SemanticSegmentationTask, tiled_forward
from geo_core.testing import write_geotiff

from .conftest import LIGHTNING_PYTREE, run_cli

pytestmark = pytest.mark.filterwarnings(LIGHTNING_PYTREE)


def _task(**kw):
    torch.manual_seed(0)
    return SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 3},
        **kw,
    )


def test_stream_equals_in_memory_tiled_and_keeps_georeferencing(tmp_path):
    src = write_geotiff(tmp_path / "scene.tif", bands=6, height=75, width=101, nodata=-9999.0, seed=3)
    with rasterio.open(src, "r+") as ds:  # a nodata corner
        data = ds.read()
        data[:, :5, :7] = -9999.0
        ds.write(data)
    task = _task().eval()
    pre = ScenePreprocessing(means=[0.5] * 6, stds=[0.25] * 6, no_data_replace=0.0)
    opts = PredictOptions(crop=32, stride=24, batch_size=5, output_kind="probabilities")
    out = predict_scene(task, src, tmp_path / "out" / "probs.tif", pre, opts)
    with rasterio.open(src) as s, rasterio.open(out) as o:
        assert (o.crs, o.transform, o.width, o.height) == (s.crs, s.transform, s.width, s.height)
        assert o.count == 3 and o.dtypes[0] == "float32" and o.nodata == -9999.0
        streamed = o.read()
        raw = s.read().astype("float32")
    raw = np.where(raw == -9999.0, 0.0, raw)
    x = torch.from_numpy((raw - 0.5) / 0.25)[None]
    with torch.no_grad():
        ref = tiled_forward(lambda t: task(t).output.softmax(1), x, crop=32, stride=24, batch_size=7)[0].numpy()
    valid = np.ones(raw.shape[1:], bool)
    valid[:5, :7] = False
    assert np.allclose(streamed[:, valid], ref[:, valid], atol=1e-5)
    assert (streamed[:, ~valid] == -9999.0).all()


def test_prediction_dtype_classes_and_quicklook(tmp_path):
    src = write_geotiff(tmp_path / "a.tif", bands=6, height=40, width=40, nodata=0.0, dtype="uint16")
    out = predict_scene(
        _task(),
        src,
        tmp_path / "pred.tif",
        None,
        PredictOptions(crop=32, stride=16, output_kind="prediction", quicklook=True),
    )
    with rasterio.open(out) as o:
        assert o.dtypes[0] == "uint8" and o.count == 1 and o.nodata == 255  # source nodata 0 is a class here
        assert set(np.unique(o.read())) <= {0, 1, 2, 255}
    assert (tmp_path / "pred.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "pred.png", "pred.tif"]


def test_corrupt_input_names_the_file_and_leaves_no_output(tmp_path):
    bad = tmp_path / "broken.tif"
    good = write_geotiff(tmp_path / "good.tif", height=64, width=64)
    bad.write_bytes(good.read_bytes()[:600])  # truncated
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(InputDataError, match=r"broken\.tif"):
        predict_scene(_task(), bad, out_dir / "x.tif", None, PredictOptions(crop=32, stride=32))
    assert list(out_dir.iterdir()) == []
    with pytest.raises(InputDataError, match=r"missing\.tif"):
        predict_scene(_task(), tmp_path / "missing.tif", out_dir / "y.tif")
    with pytest.raises(InputDataError, match="band 9"):
        predict_scene(_task(), good, out_dir / "z.tif", ScenePreprocessing(bands=[1, 9]))
    assert list(out_dir.iterdir()) == []


def test_geo_predict_folder_with_checkpoint_uses_datamodule_preprocessing(write_config, tmp_path):
    cfg = write_config()
    res = run_cli(["train", "-c", str(cfg), "trainer.limit_train_batches=1", "trainer.limit_val_batches=1"])
    assert res.exit_code == 0, res.output
    scenes = tmp_path / "scenes"
    for i in range(2):
        write_geotiff(scenes / f"s{i}.tif", bands=6, height=48, width=40, seed=i)
    res = run_cli(
        [
            "predict",
            "-c",
            str(cfg),
            "--ckpt",
            "best",
            "-i",
            str(scenes),
            "-o",
            str(tmp_path / "preds"),
            "--crop",
            "32",
            "--stride",
            "16",
        ]
    )
    assert res.exit_code == 0, res.output
    outs = sorted((tmp_path / "preds").glob("*.tif"))
    assert [p.name for p in outs] == ["s0_pred.tif", "s1_pred.tif"]
    # Python API gives the same file
    api.predict(cfg, ckpt="best", input=str(scenes / "s0.tif"), output=tmp_path / "api.tif", crop=32, stride=16)
    with rasterio.open(outs[0]) as a, rasterio.open(tmp_path / "api.tif") as b:
        assert (a.read() == b.read()).all()
    res = run_cli(
        ["predict", "-c", str(cfg), "--ckpt", "best", "-i", str(tmp_path / "nope" / "*.tif"), "-o", str(tmp_path / "x")]
    )
    assert res.exit_code == 1 and "no GeoTIFF" in res.output


def test_regression_scene_is_float32_single_band(tmp_path):
    from geo_core.tasks import PixelwiseRegressionTask

    task = PixelwiseRegressionTask(
        model_factory="EncoderDecoderFactory", model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder"}
    )
    src = write_geotiff(tmp_path / "r.tif", height=33, width=50)
    out = predict_scene(task, src, tmp_path / "r_pred.tif", None, PredictOptions(crop=32, stride=16))
    with rasterio.open(out) as o:
        assert o.count == 1 and o.dtypes[0] == "float32" and np.isfinite(o.read()).all()


class _NCHWOnly(torch.nn.Module):
    """A model whose forward assumes contiguous NCHW feature maps (``.view`` fails on channels-last)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(6, 3, 3, padding=1)
        self.num_classes = 3

    def forward(self, x, **kw):
        y = self.conv(x)
        b, c, h, w = y.shape
        return y.view(b, c * h * w).view(b, c, h, w)


def test_channels_last_matches_default_layout_and_leaves_the_model_as_it_was(tmp_path):
    src = write_geotiff(tmp_path / "s.tif", bands=6, height=70, width=90, seed=5)
    task = _task().eval()
    outs = {}
    for cl in (True, False):
        opts = PredictOptions(crop=32, stride=24, output_kind="logits", channels_last=cl, compress="none")
        with rasterio.open(predict_scene(task, src, tmp_path / f"{cl}.tif", None, opts)) as o:
            outs[cl] = o.read()
        assert all(p.is_contiguous() for p in task.parameters())  # layout restored after the run
    assert np.abs(outs[True]).max() > 0
    np.testing.assert_allclose(outs[True], outs[False], atol=1e-4, rtol=1e-4)
    task.to(memory_format=torch.channels_last)  # a model the user keeps channels-last stays so
    predict_scene(task, src, tmp_path / "again.tif", None, PredictOptions(crop=32, stride=24))
    conv = next(p for p in task.parameters() if p.dim() == 4 and p.shape[-1] > 1)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()


class _WithConv3d(torch.nn.Module):
    """Conv3d weights are 5-D: ``Module.to(memory_format=channels_last)`` raises on them."""

    def __init__(self):
        super().__init__()
        self.patch = torch.nn.Conv3d(6, 4, (1, 3, 3), padding=(0, 1, 1))
        self.head = torch.nn.Conv2d(4, 2, 1)
        self.num_classes = 2

    def forward(self, x, **kw):
        return self.head(self.patch(x[:, :, None])[:, :, 0])


def test_model_with_5d_weights_falls_back_and_stays_usable(tmp_path, caplog):
    src = write_geotiff(tmp_path / "s.tif", bands=6, height=40, width=50, seed=2)
    task = SemanticSegmentationTask(model=_WithConv3d()).eval()
    with caplog.at_level("INFO", logger="geo_core.inference"):
        out = predict_scene(task, src, tmp_path / "p.tif", None, PredictOptions(crop=32, stride=16))
    assert "does not run channels-last" in caplog.text
    with rasterio.open(out) as o:
        assert set(np.unique(o.read())) <= {0, 1}
    assert all(p.is_contiguous() for p in task.parameters())


def test_model_that_cannot_run_channels_last_falls_back(tmp_path, caplog):
    src = write_geotiff(tmp_path / "s.tif", bands=6, height=40, width=50, seed=1)
    with pytest.raises(RuntimeError, match="view"):  # the premise: this model breaks on channels-last input
        _NCHWOnly().to(memory_format=torch.channels_last)(
            torch.zeros(1, 6, 8, 8).contiguous(memory_format=torch.channels_last)
        )
    task = SemanticSegmentationTask(model=_NCHWOnly()).eval()
    with caplog.at_level("INFO", logger="geo_core.inference"):
        out = predict_scene(
            task,
            src,
            tmp_path / "p.tif",
            None,
            PredictOptions(crop=32, stride=16, output_kind="probabilities", batch_size=3),
        )
    assert "does not run channels-last" in caplog.text
    with rasterio.open(out) as o:
        probs = o.read()
    np.testing.assert_allclose(probs.sum(0), 1.0, atol=1e-5)
    assert all(p.is_contiguous() for p in task.parameters())


def test_default_batch_size_is_small_on_cpu_and_validated():
    assert PredictOptions().batch_size is None
    with pytest.raises(Exception, match="batch_size must be positive"):
        PredictOptions(batch_size=0)


@pytest.mark.parametrize(
    ("h", "w", "crop", "stride", "batch"),
    [
        (20, 90, 32, 24, 2),  # shorter than a window: one padded strip
        (90, 20, 32, 24, None),  # narrower than a window
        (64, 64, 32, 32, 3),  # no overlap, exact fit
        (77, 53, 32, 8, 4),  # heavy overlap, ragged edges
        (33, 100, 32, 31, 1),  # last strip advances one row
    ],
)
def test_stream_matches_in_memory_for_every_kind_on_odd_geometries(tmp_path, h, w, crop, stride, batch):
    src = write_geotiff(tmp_path / "s.tif", bands=6, height=h, width=w, seed=h * w)
    task = _task().eval()
    with rasterio.open(src) as s:
        x = torch.from_numpy(s.read().astype("float32"))[None]
    with torch.no_grad():
        probs = tiled_forward(lambda t: task(t).output.softmax(1), x, crop=crop, stride=stride)[0].numpy()
        logits = tiled_forward(lambda t: task(t).output, x, crop=crop, stride=stride)[0].numpy()
    got = {}
    for kind in ("probabilities", "logits", "prediction"):
        opts = PredictOptions(crop=crop, stride=stride, batch_size=batch, output_kind=kind, compress="none")
        with rasterio.open(predict_scene(task, src, tmp_path / f"{kind}.tif", None, opts)) as o:
            got[kind] = o.read()
    np.testing.assert_allclose(got["probabilities"], probs, atol=1e-5)
    np.testing.assert_allclose(got["logits"], logits, atol=1e-4)
    ambiguous = np.sort(probs, 0)[-1] - np.sort(probs, 0)[-2] < 1e-5  # near-ties may go either way
    assert (got["prediction"][0] == probs.argmax(0))[~ambiguous].all()


def test_progress_reports_every_strip_up_to_the_full_height(tmp_path, capsys):
    from geo_core.inference import predict_paths

    src = write_geotiff(tmp_path / "s.tif", bands=6, height=70, width=40)
    seen = []
    predict_scene(
        _task().eval(),
        src,
        tmp_path / "p.tif",
        None,
        PredictOptions(crop=32, stride=24),
        on_rows=lambda done, total: seen.append((done, total)),
    )
    assert seen == sorted(seen) and seen[-1] == (70, 70) and len(seen) == 4
    assert seen[0] == (0, 70)  # issue 22: the total is known from the first row, not after the first strip
    predict_paths(_task().eval(), src, tmp_path / "q.tif", None, PredictOptions(crop=32, stride=24), progress=True)
    err = capsys.readouterr().err
    assert "s.tif" in err and "70/70 rows" in err


def test_scene_with_a_band_count_the_backbone_rejects_names_the_file(tmp_path):
    src = write_geotiff(tmp_path / "four_bands.tif", bands=4, height=40, width=40)
    with pytest.raises(InputDataError, match=r"four_bands\.tif.*expects 6 input bands"):
        predict_scene(_task(), src, tmp_path / "p.tif", None, PredictOptions(crop=32, stride=16))
    assert not (tmp_path / "p.tif").exists()


@pytest.mark.parametrize("kind", ["prediction", "probabilities"])
def test_overviews_make_a_tiled_output_with_pyramids(tmp_path, kind):
    src = write_geotiff(tmp_path / "s.tif", bands=6, height=300, width=520, seed=4)
    task = _task().eval()
    opts = PredictOptions(crop=64, stride=48, output_kind=kind, overviews=True)
    with rasterio.open(predict_scene(task, src, tmp_path / "o.tif", None, opts)) as o:
        assert o.overviews(1) == [2, 4] and o.block_shapes[0] == (256, 256)
        assert o.tags(ns="rio_overview")["resampling"] == ("nearest" if kind == "prediction" else "average")
        full, small = o.read(1), o.read(1, out_shape=(75, 130))
    if kind == "prediction":
        assert set(np.unique(small)) <= set(np.unique(full)) <= {0, 1, 2}
    plain = PredictOptions(crop=64, stride=48, output_kind=kind)
    with rasterio.open(predict_scene(task, src, tmp_path / "p.tif", None, plain)) as p:
        assert p.overviews(1) == [] and np.array_equal(p.read(1), full)  # same pixels, only the layout differs
