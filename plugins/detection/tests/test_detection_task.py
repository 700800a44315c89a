"""ObjectDetectionTask: torchvision detectors on geo backbones, GeoJSON annotations in and predictions out."""

from __future__ import annotations

import json

import geo_core
import numpy as np
import pytest
import torch
from geo_core import ConfigError
from geo_core.testing import write_geotiff

ORIGIN = (500000.0, 4200000.0)
RES = 30.0


def _scene(root, i, n_boxes=2, seed=0):
    """A 64x64 image with bright squares and their GeoJSON polygons (UTM and WGS 84 variants)."""
    rng = np.random.default_rng(seed + i)
    img = rng.random((3, 64, 64), dtype=np.float32) * 0.1
    feats = []
    for _ in range(n_boxes):
        r, c = rng.integers(4, 44, size=2)
        img[:, r : r + 16, c : c + 16] += 1.0
        x0, y0 = ORIGIN[0] + c * RES, ORIGIN[1] - r * RES
        x1, y1 = x0 + 16 * RES, y0 - 16 * RES
        feats.append(
            {
                "type": "Feature",
                "properties": {"class": "square"},
                "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]},
            }
        )
    write_geotiff(root / f"scene{i}.tif", img, origin=ORIGIN, resolution=RES)
    fc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:32616"}}, "features": feats}
    (root / f"scene{i}.geojson").write_text(json.dumps(fc))
    return fc


def test_datamodule_reads_georeferenced_and_wgs84_annotations(tmp_path):
    fc = _scene(tmp_path, 0)
    # the same polygons in WGS 84 (RFC 7946, no crs member) map to the same pixel boxes
    from rasterio.warp import transform_geom

    wgs = {
        "type": "FeatureCollection",
        "features": [
            {**f, "geometry": transform_geom("EPSG:32616", "EPSG:4326", f["geometry"])} for f in fc["features"]
        ],
    }
    (tmp_path / "wgs").mkdir()
    (tmp_path / "wgs" / "scene0.geojson").write_text(json.dumps(wgs))
    dm = geo_core.DATAMODULES.build(
        "GenericDetectionDataModule",
        class_names=["background", "square"],
        train_data_root=str(tmp_path),
        batch_size=1,
        return_masks=True,
    )
    dm.setup("fit")
    s = dm.datasets["train"][0]
    assert s["labels"].tolist() == [1, 1]
    assert s["masks"].shape == (2, 64, 64)
    assert s["masks"][0].sum() == 16 * 16
    dm2 = geo_core.DATAMODULES.build(
        "GenericDetectionDataModule",
        class_names=["background", "square"],
        train_data_root=str(tmp_path),
        train_label_data_root=str(tmp_path / "wgs"),
    )
    dm2.setup("fit")
    assert torch.allclose(dm2.datasets["train"][0]["boxes"], s["boxes"], atol=0.05)


def test_unknown_class_and_unpaired_images_are_errors(tmp_path):
    _scene(tmp_path, 0)
    write_geotiff(tmp_path / "lonely.tif", bands=3, height=64, width=64)
    dm = geo_core.DATAMODULES.build(
        "GenericDetectionDataModule", class_names=["background", "square"], train_data_root=str(tmp_path)
    )
    with pytest.raises(geo_core.InputDataError, match=r"lonely\.tif"):
        dm.setup("fit")
    (tmp_path / "lonely.tif").unlink()
    dm = geo_core.DATAMODULES.build(
        "GenericDetectionDataModule", class_names=["background", "circle"], train_data_root=str(tmp_path)
    )
    dm.setup("fit")
    with pytest.raises(geo_core.InputDataError, match=r"'square' is not one of the classes"):
        dm.datasets["train"][0]


@pytest.mark.parametrize("framework", ["faster-rcnn", "retinanet", "fcos", "mask-rcnn"])
def test_every_framework_trains_a_step_and_predicts(framework):
    task = geo_core.TASKS.build(
        "ObjectDetectionTask",
        model_args={
            "framework": framework,
            "backbone": "tiny_cnn",
            "in_channels": 3,
            "num_classes": 2,
            "min_size": 64,
            "max_size": 64,
            "fpn_channels": 32,
        },
        iou_type="segm" if framework == "mask-rcnn" else "bbox",
    )
    x = torch.rand(2, 3, 64, 64)
    batch = {
        "image": x,
        "boxes": [torch.tensor([[4.0, 4.0, 30.0, 30.0]]), torch.tensor([[10.0, 20.0, 40.0, 60.0]])],
        "labels": [torch.tensor([1]), torch.tensor([1])],
    }
    if framework == "mask-rcnn":
        m = torch.zeros(1, 64, 64, dtype=torch.uint8)
        m[0, 4:30, 4:30] = 1
        batch["masks"] = [m, m.clone()]
    task.train()
    losses = task.model(task._images(batch), task._targets(batch))
    loss = sum(losses.values())
    loss.backward()
    assert torch.isfinite(loss)
    assert any(p.grad is not None for p in task.model.encoder.parameters())
    task.eval()
    with torch.no_grad():
        task._eval(batch, task.val_map)
        res = task.val_map.compute()
    assert "map" in res
    assert task.monitor == "val/map"


def test_vit_backbone_through_necks_and_geojson_output(tmp_path, trainer):
    (tmp_path / "data").mkdir()
    for i in range(2):
        _scene(tmp_path / "data", i)
    dm = geo_core.DATAMODULES.build(
        "GenericDetectionDataModule",
        class_names=["background", "square"],
        train_data_root=str(tmp_path / "data"),
        val_data_root=str(tmp_path / "data"),
        predict_data_root=str(tmp_path / "data"),
        batch_size=2,
    )
    task = geo_core.TASKS.build(
        "ObjectDetectionTask",
        model_args={
            "framework": "faster-rcnn",
            "backbone": "tiny_vit",
            "backbone_args": {"in_channels": 3, "img_size": 64},
            "necks": [
                {"name": "SelectIndices", "indices": [0, 1, 2, 3]},
                {"name": "ReshapeTokensToImage"},
                {"name": "LearnedInterpolateToPyramidal"},
            ],
            "num_classes": 2,
            "min_size": 64,
            "max_size": 64,
            "fpn_channels": 16,
            "score_thresh": 0.0,
        },
        class_names=["background", "square"],
        predict_output_dir=str(tmp_path / "pred"),
        predict_score_thresh=0.0,
    )
    tr = trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=1)
    tr.fit(task, datamodule=dm)
    assert "val/map" in tr.callback_metrics
    preds = tr.predict(task, datamodule=dm)
    files = sorted((tmp_path / "pred").glob("*.geojson"))
    assert [f.name for f in files] == ["scene0.geojson", "scene1.geojson"]
    fc = json.loads(files[0].read_text())
    assert fc["crs"]["properties"]["name"] == "EPSG:32616"
    if fc["features"]:  # untrained detectors may return nothing; when they do, coordinates are in UTM
        x, y = fc["features"][0]["geometry"]["coordinates"][0][0]
        assert ORIGIN[0] <= x <= ORIGIN[0] + 64 * RES and ORIGIN[1] - 64 * RES <= y <= ORIGIN[1]
    assert preds[0][0]["filename"].endswith("scene0.tif")


def test_detection_config_errors():
    with pytest.raises(ConfigError, match="framework"):
        geo_core.MODEL_FACTORIES.build("ObjectDetectionModelFactory").build_model(
            framework="yolo", backbone="tiny_cnn", num_classes=2
        )
    with pytest.raises(ConfigError, match="multiple of 32"):
        geo_core.MODEL_FACTORIES.build("ObjectDetectionModelFactory").build_model(
            framework="fcos", backbone="tiny_cnn", num_classes=2, fpn_channels=16
        )
    with pytest.raises(ConfigError, match="background"):
        geo_core.MODEL_FACTORIES.build("ObjectDetectionModelFactory").build_model(
            framework="fcos", backbone="tiny_cnn", num_classes=1
        )
    with pytest.raises(geo_core.UnusedArgumentError, match="num_clases"):
        geo_core.MODEL_FACTORIES.build("ObjectDetectionModelFactory").build_model(
            framework="fcos", backbone="tiny_cnn", num_clases=3
        )
    with pytest.raises(ConfigError, match="mask-rcnn"):
        geo_core.TASKS.build(
            "ObjectDetectionTask",
            model_args={"framework": "fcos", "backbone": "tiny_cnn", "in_channels": 3, "num_classes": 2},
            iou_type="segm",
        )


def test_geo_predict_on_a_detection_config_writes_geojson(tmp_path):
    """issue 22: the CLI crashed ('ObjectDetectionTask' object has no attribute 'convert') leaving an empty folder."""
    import yaml
    from geo_core.cli._app import app
    from typer.testing import CliRunner

    (tmp_path / "data").mkdir()
    for i in range(2):
        _scene(tmp_path / "data", i)
    cfg = {
        "trainer": {"accelerator": "cpu", "devices": 1, "default_root_dir": str(tmp_path / "run")},
        "model": {
            "class_path": "ObjectDetectionTask",
            "init_args": {
                "model_args": {
                    "framework": "faster-rcnn",
                    "backbone": "tiny_cnn",
                    "in_channels": 3,
                    "num_classes": 2,
                    "min_size": 64,
                    "max_size": 64,
                    "fpn_channels": 16,
                    "score_thresh": 0.0,
                },
                "class_names": ["background", "square"],
                "predict_score_thresh": 0.0,
            },
        },
        "data": {
            "class_path": "GenericDetectionDataModule",
            "init_args": {
                "class_names": ["background", "square"],
                "train_data_root": str(tmp_path / "data"),
                "batch_size": 2,
            },
        },
    }
    (tmp_path / "det.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "preds"
    args = ["predict", "-c", str(tmp_path / "det.yaml"), "-i", str(tmp_path / "data"), "-o", str(out)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["scene0.geojson", "scene1.geojson"]
    fc = json.loads((out / "scene0.geojson").read_text())
    assert fc["type"] == "FeatureCollection" and fc["crs"]["properties"]["name"] == "EPSG:32616"
    single = tmp_path / "one.geojson"
    res = CliRunner().invoke(app, [*args[:4], str(tmp_path / "data" / "scene1.tif"), "-o", str(single)])
    assert res.exit_code == 0 and json.loads(single.read_text())["source"].endswith("scene1.tif"), res.output
    res = CliRunner().invoke(app, args)  # the outputs exist now
    assert res.exit_code == 2 and "--overwrite" in res.output, res.output


def test_plugin_metadata() -> None:
    from geo_core.testing import check_plugin_metadata

    found = check_plugin_metadata("detection")
    assert found["task"] == ["detection:ObjectDetectionTask"]
    assert found["model_factory"] == ["detection:ObjectDetectionModelFactory"]


def test_detection_task_conforms(tmp_path) -> None:
    """The shared task check (the detection model takes image lists, so it has its own model contract)."""
    from geo_core.testing import check_task

    (tmp_path / "data").mkdir()
    for i in range(2):
        _scene(tmp_path / "data", i)
    root = str(tmp_path / "data")
    dm = geo_core.DATAMODULES.build(
        "GenericDetectionDataModule",
        class_names=["background", "square"],
        train_data_root=root,
        val_data_root=root,
        batch_size=2,
    )
    task = geo_core.TASKS.build(
        "ObjectDetectionTask",
        model_args={
            "framework": "faster-rcnn",
            "backbone": "tiny_cnn",
            "in_channels": 3,
            "num_classes": 2,
            "min_size": 64,
            "max_size": 64,
            "fpn_channels": 16,
        },
    )
    check_task(task, dm, model_contract=False)


@pytest.mark.parametrize("framework", ["faster-rcnn", "fcos"])
def test_detection_model_factory_conforms(framework) -> None:
    """The shared detection-factory check, on a two-stage and a one-stage detector."""
    from geo_core.testing import check_detection_model_factory

    kwargs = {"framework": framework, "backbone": "tiny_cnn", "min_size": 64, "max_size": 64, "fpn_channels": 32}
    model = check_detection_model_factory("ObjectDetectionModelFactory", kwargs)
    assert model.framework == framework
