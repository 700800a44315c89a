from __future__ import annotations

import json

import pytest
import torch
from geo_core import ConfigError
from geo_core.tasks import (
    ClassificationTask,
    MultiLabelClassificationTask,
    PixelwiseRegressionTask,
    ScalarRegressionTask,
    SemanticSegmentationTask,
)
from geo_core.testing import TinyGeoDataModule

from .conftest import LIGHTNING_PYTREE, TinyPixelModel, quiet_trainer

pytestmark = pytest.mark.filterwarnings(LIGHTNING_PYTREE)

CASES = [
    (
        SemanticSegmentationTask,
        "segmentation",
        {},
        {"class_names": ["land", "water"]},
        {"mIoU", "mIoU_micro", "F1", "accuracy", "IoU_land", "IoU_water"},
    ),
    (PixelwiseRegressionTask, "regression", {"num_classes": 1}, {"ignore_index": -1}, {"RMSE", "MAE", "R2"}),
    (
        ClassificationTask,
        "classification",
        {"num_classes": 3, "scalar": True},
        {},
        {"accuracy", "F1", "precision", "recall"},
    ),
    (MultiLabelClassificationTask, "multilabel", {"num_classes": 3, "scalar": True}, {}, {"AUROC", "AP", "F1"}),
    (ScalarRegressionTask, "scalar_regression", {"num_classes": 1, "scalar": True}, {}, {"RMSE", "MAE", "R2"}),
]


@pytest.mark.parametrize(("cls", "kind", "margs", "targs", "metrics"), CASES, ids=[c[0].__name__ for c in CASES])
def test_every_task_fits_and_logs_prefixed_metrics(cls, kind, margs, targs, metrics):
    nc = margs.get("num_classes", 2)
    if cls in (ClassificationTask, MultiLabelClassificationTask):
        targs = {**targs, "class_names": [f"c{i}" for i in range(nc)]}
    task = cls(model=TinyPixelModel(**margs), lr=1e-2, **targs)
    dm = TinyGeoDataModule(task=kind, num_classes=nc, num_samples=8, size=16)
    trainer = quiet_trainer(max_epochs=1)
    before = [p.detach().clone() for p in task.parameters()]
    trainer.fit(task, dm)
    logged = set(trainer.callback_metrics)
    for stage in ("train", "val"):
        assert {f"{stage}/{m}" for m in metrics} <= logged, logged
    assert "val/loss" in logged and task.monitor == "val/loss"
    assert any(not torch.equal(a, b) for a, b in zip(before, task.parameters(), strict=True))
    res = trainer.test(task, dm, verbose=False)[0]
    assert {f"test/{m}" for m in metrics} | {"test/loss"} <= set(res)


def test_segmentation_learns_the_synthetic_mask():
    task = SemanticSegmentationTask(model=TinyPixelModel(), lr=0.05, class_names=["a", "b"])
    dm = TinyGeoDataModule(num_samples=128, size=16, batch_size=16)
    quiet_trainer(max_epochs=3, limit_val_batches=0).fit(task, dm)
    assert quiet_trainer().validate(task, dm, verbose=False)[0]["val/accuracy"] > 0.75


def test_extra_batch_keys_reach_the_model_and_predict_outputs():
    model = TinyPixelModel()
    task = SemanticSegmentationTask(model=model, output_on_inference=["prediction", "probabilities", "logits"])
    dm = TinyGeoDataModule(num_samples=4, size=16, extra_keys=["location_coords", "temporal_coords"])
    trainer = quiet_trainer(limit_val_batches=0)
    trainer.fit(task, dm)
    assert model.seen_kwargs == {"location_coords", "temporal_coords"}
    out = trainer.predict(task, dm)[0]
    assert out["prediction"].shape == (4, 16, 16) and out["prediction"].dtype == torch.long
    assert torch.allclose(out["probabilities"].sum(1), torch.ones(4, 16, 16))
    assert out["logits"].shape == (4, 2, 16, 16) and len(out["filename"]) == 4


def test_named_test_dataloaders_and_recorded_metrics(tmp_path):
    path = tmp_path / "metrics.json"
    task = SemanticSegmentationTask(
        model=TinyPixelModel(), test_dataloaders_names=["spring", "autumn"], path_to_record_metrics=str(path)
    )
    res = quiet_trainer().test(task, TinyGeoDataModule(num_samples=4, size=16, test_dataloaders=2), verbose=False)
    assert "test/spring/mIoU" in res[0] and "test/autumn/mIoU" in res[1]
    recorded = json.loads(path.read_text())
    assert {"test/spring/loss", "test/autumn/mIoU"} <= set(recorded)


def test_tiled_validation_matches_plain_for_a_local_model():
    dm = TinyGeoDataModule(num_samples=4, size=32)
    torch.manual_seed(0)
    plain = SemanticSegmentationTask(model=TinyPixelModel())
    tiled = SemanticSegmentationTask(
        model=TinyPixelModel(),
        tiled_inference_on_validation=True,
        tiled_inference_parameters={"crop": 16, "stride": 8, "batch_size": 3},
    )
    tiled.load_state_dict(plain.state_dict())
    a = quiet_trainer().validate(plain, dm, verbose=False)[0]
    b = quiet_trainer().validate(tiled, dm, verbose=False)[0]
    # a 3-layer 3x3 CNN sees 3 px: blending only differs near window borders
    assert abs(a["val/accuracy"] - b["val/accuracy"]) < 0.1


def test_aux_heads_mismatch_is_reported_before_training():
    with pytest.raises(ConfigError, match="aux"):
        SemanticSegmentationTask(model=TinyPixelModel(aux=True), aux_loss={"deep": 0.4})
    with pytest.raises(ConfigError, match="without a weight"):
        SemanticSegmentationTask(model=TinyPixelModel(aux=True))
    task = SemanticSegmentationTask(model=TinyPixelModel(aux=True), aux_loss={"aux": 0.4})
    quiet_trainer(max_steps=1, limit_val_batches=0).fit(task, TinyGeoDataModule(num_samples=4, size=16))


def test_model_factory_or_model_is_required():
    with pytest.raises(ConfigError, match="model_factory"):
        SemanticSegmentationTask()
    with pytest.raises(ConfigError, match="did you mean"):
        SemanticSegmentationTask(model_factory="EncoderDecoderFactroy", model_args={"num_classes": 2})
    with pytest.raises(ConfigError, match="output_on_inference"):
        SemanticSegmentationTask(model=TinyPixelModel(), output_on_inference="probs")


def test_plot_on_val_logs_datamodule_figures():
    from lightning.pytorch.loggers.logger import Logger

    class FigLogger(Logger):
        name, version = "fig", 0

        def __init__(self):
            super().__init__()
            self.figs: list[tuple[str, dict]] = []

        @property
        def experiment(self):
            return self

        def add_figure(self, tag, fig, global_step=None):
            self.figs.append((tag, fig))

        def log_metrics(self, metrics, step=None):
            pass

        def log_hyperparams(self, params, *args, **kwargs):
            pass

    class PlottingDM(TinyGeoDataModule):
        def plot(self, sample):
            return {"keys": sorted(sample)}

    logger = FigLogger()
    task = SemanticSegmentationTask(model=TinyPixelModel(), plot_on_val=2)
    quiet_trainer(max_epochs=3, logger=logger, log_every_n_steps=1).fit(task, PlottingDM(num_samples=4, size=16))
    assert [t for t, _ in logger.figs] == ["val/sample", "val/sample"]  # epochs 0 and 2
    assert "prediction" in logger.figs[0][1]["keys"]
