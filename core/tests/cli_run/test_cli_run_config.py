from __future__ import annotations

import pytest
import yaml
from geo_core import ConfigError
from geo_core.runs._config import compose

from .conftest import LIGHTNING_PYTREE, base_config, run_cli

pytestmark = pytest.mark.filterwarnings(LIGHTNING_PYTREE)


@pytest.mark.parametrize(
    ("override", "key", "closest"),
    [
        ("model.init_args.lrr=0.1", "model.init_args.lrr", "model.init_args.lr"),
        ("trainer.max_epoch=3", "trainer.max_epochs", "trainer.max_epochs"),
        ("data.init_args.batchsize=2", "data.init_args.batchsize", "data.init_args.batch_size"),
        ("model.model_factory=EncoderDecoderFactroy", "model.init_args.model_factory", "EncoderDecoderFactory"),
        ("model.loss=dicee", "model.init_args.loss", "dice"),
        ("model.model_args.backbone=tiny_cnnn", "model_args.backbone", "tiny_cnn"),
        ("model.class_path=SemanticSegmentationTsk", "model.class_path", "SemanticSegmentationTask"),
        ("model.lr=fast", "model.init_args.lr", "float"),
        ("trainerr.max_epochs=1", "trainerr", "trainer"),
    ],
)
def test_config_errors_exit_2_before_anything_is_built(write_config, marker, capsys, override, key, closest):
    res = run_cli(["train", "--config", str(write_config()), override])
    assert res.exit_code == 2, res.output
    err = res.stderr if hasattr(res, "stderr") else res.output
    assert key.split(".")[-1].rstrip("r") in err and closest in err, err
    assert not marker.exists(), "the datamodule was built before the config was checked"


def test_print_config_shows_defaults_and_overrides(write_config, marker, tmp_path):
    res = run_cli(["train", "-c", str(write_config()), "--print-config", "trainer.max_epochs=7", "model.lr=0.5"])
    assert res.exit_code == 0, res.output
    cfg = yaml.safe_load(res.stdout)
    assert cfg["trainer"]["max_epochs"] == 7
    assert cfg["model"]["init_args"]["lr"] == 0.5
    assert cfg["model"]["class_path"] == "geo_core.tasks._segmentation.SemanticSegmentationTask"
    assert cfg["seed_everything"] == 0
    ckpt = next(c for c in cfg["trainer"]["callbacks"] if c["class_path"].endswith("ModelCheckpoint"))["init_args"]
    assert ckpt["monitor"] == "val/loss" and ckpt["save_last"] is True
    assert cfg["trainer"]["logger"][0]["class_path"].endswith("CSVLogger")
    assert cfg["trainer"]["plugins"][0]["class_path"].endswith("AtomicCheckpointIO")
    assert not marker.exists()


def test_early_stopping_without_monitor_watches_the_tasks_metric(write_config, tmp_path, custom_module):
    cfg = base_config(tmp_path, custom_module)
    cfg.setdefault("trainer", {})["callbacks"] = [
        {"class_path": "lightning.pytorch.callbacks.EarlyStopping", "init_args": {"patience": 2}},
        {"class_path": "EarlyStopping", "init_args": {"monitor": "val/mIoU", "mode": "max"}},
    ]
    res = run_cli(["train", "-c", str(write_config(cfg)), "--print-config"])
    assert res.exit_code == 0, res.output
    stops = [
        c["init_args"]
        for c in yaml.safe_load(res.stdout)["trainer"]["callbacks"]
        if c["class_path"].endswith("EarlyStopping")
    ]
    assert stops[0] == {**stops[0], "monitor": "val/loss", "mode": "min", "patience": 2}
    assert stops[1]["monitor"] == "val/mIoU" and stops[1]["mode"] == "max"  # explicit choice kept
    cfg["trainer"]["max_epochs"] = 6  # and it stops a real run: no val/loss gain of 100 after the first epoch
    cfg["trainer"]["callbacks"] = [{"class_path": "EarlyStopping", "init_args": {"patience": 1, "min_delta": 100}}]
    res = run_cli(["train", "-c", str(write_config(cfg))])
    assert res.exit_code == 0, res.output
    metrics = next((tmp_path / "run").rglob("metrics.csv")).read_text().splitlines()
    epochs = {int(float(r.split(",")[0])) for r in metrics[1:] if r.split(",")[0]}
    assert max(epochs) == 1, metrics
    cfg["trainer"]["callbacks"] = [{"class_path": "EarlyStoping"}]
    res = run_cli(["train", "-c", str(write_config(cfg)), "--print-config"])
    assert res.exit_code == 2 and "did you mean 'EarlyStopping'" in res.output


def test_overrides_merge_files_and_lists(tmp_path, custom_module):
    cfg = base_config(tmp_path, custom_module)
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"model": {"init_args": {"lr": 0.3}}, "trainer": {"max_epochs": 4}}))
    main = tmp_path / "main.yaml"
    main.write_text(yaml.safe_dump(cfg))
    run = compose([main, extra], ["--model.optimizer", "SGD", "data.num_samples=3"])
    assert run.config["model"]["init_args"]["lr"] == 0.3
    assert run.config["model"]["init_args"]["optimizer"] == "SGD"
    assert run.config["data"]["init_args"]["num_samples"] == 3
    assert run.config["trainer"]["max_epochs"] == 4
    assert run.name == "main"
    with pytest.raises(ConfigError, match="override"):
        compose(main, ["justakey"])


def test_model_needs_a_class_path(tmp_path, custom_module):
    cfg = base_config(tmp_path, custom_module)
    cfg["model"] = {"init_args": {}}
    with pytest.raises(ConfigError, match="class_path"):
        compose(cfg)


def test_plugin_datamodule_registry_name_as_class_path(tmp_path, custom_module):
    pytest.importorskip("geo_plugin_datasets")
    from geo_core.runs._config import check

    cfg = base_config(tmp_path, custom_module)
    cfg["data"] = {
        "class_path": "GenericNonGeoSegmentationDataModule",
        "init_args": {"batch_size": 2, "num_classes": 2, "train_data_root": str(tmp_path)},
    }
    run = compose(cfg)
    check(run)
    assert run.config["data"]["class_path"].startswith("geo_plugin_datasets.")
    cfg["data"]["init_args"]["batchsize"] = 2
    with pytest.raises(ConfigError, match=r"did you mean 'data\.init_args\.batch_size'"):
        check(compose(cfg))


def test_lightning_product_tips_are_dropped_but_its_info_stays(tmp_path, custom_module, caplog):
    from geo_core.runs._api import load_config
    from geo_core.runs._config import build

    with caplog.at_level("INFO"):
        build(load_config(base_config(tmp_path, custom_module)))
    assert "GPU available" in caplog.text and "Tip" not in caplog.text
