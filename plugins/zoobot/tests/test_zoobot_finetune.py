"""Each module fine-tunes a few steps on a synthetic catalog and reloads; encoders, freezing, layer decay."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from geo_core import CheckpointError, ConfigError
from geo_plugin_zoobot import CatalogDataModule, ZoobotDeprecationWarning, finetune
from geo_plugin_zoobot.finetune import (
    FinetuneableZoobotClassifier,
    FinetuneableZoobotRegressor,
    FinetuneableZoobotTree,
    get_trainer,
)
from geo_plugin_zoobot.testing import THIRD_PARTY_WARNINGS, TREE_COLS, TREE_DEPS, TREE_PAIRS, trainer_kwargs
from torch import nn

# Warnings raised inside Lightning and rasterio (see THIRD_PARTY_WARNINGS for why each is there).
pytestmark = [pytest.mark.filterwarnings(spec) for spec in THIRD_PARTY_WARNINGS]


def _fit(
    model: finetune.FinetuneableZoobotAbstract,
    catalog: Path,
    label_cols: list[str],
    save_dir: Path,
    **dm_kwargs: object,
) -> Path:
    dm = CatalogDataModule(label_cols=label_cols, catalog=catalog, batch_size=4, **dm_kwargs)
    trainer = get_trainer(save_dir, **trainer_kwargs())
    trainer.fit(model, dm)
    assert "finetuning/val_loss" in trainer.callback_metrics
    assert "finetuning/train_loss" in trainer.callback_metrics
    ckpts = sorted((save_dir / "checkpoints").glob("*.ckpt"))
    assert len(ckpts) == 1
    metrics_csv = next((save_dir / "logs").rglob("metrics.csv"))  # CSV logs by default, Zoobot's keys
    assert "finetuning/val_loss" in metrics_csv.read_text().splitlines()[0]
    return ckpts[0]


def _same_predictions(a: nn.Module, b: nn.Module, channels: int = 3) -> None:
    x = torch.rand(2, channels, 32, 32)
    a.eval()
    b.eval()
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x))


def test_classifier_finetunes_logs_zoobot_keys_and_reloads(png_catalog: Path, tmp_path: Path) -> None:
    model = FinetuneableZoobotClassifier(
        name="test_resnet", num_classes=2, label_smoothing=0.1, class_weights=[1.0, 2.0], learning_rate=1e-3
    )
    assert model.monitor == "finetuning/val_loss"
    ckpt = _fit(model, png_catalog, ["bright"], tmp_path / "run")
    reloaded = FinetuneableZoobotClassifier.load_from_checkpoint(ckpt, map_location="cpu")
    _same_predictions(model, reloaded)
    assert reloaded.hparams["class_weights"] == [1.0, 2.0]
    by_path = FinetuneableZoobotClassifier.load_from_name(str(ckpt))
    _same_predictions(model, by_path)
    probs = reloaded.predict_step({"image": torch.rand(3, 3, 32, 32)})
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(3))


def test_classifier_logs_accuracy_and_runs_linear_sanity_check(png_catalog: Path, tmp_path: Path) -> None:
    model = FinetuneableZoobotClassifier(
        name="test_resnet", num_classes=2, run_linear_sanity_check=True, training_mode="head_only"
    )
    dm = CatalogDataModule(label_cols=["bright"], catalog=png_catalog, batch_size=4)
    trainer = get_trainer(tmp_path, **trainer_kwargs())
    trainer.fit(model, dm)
    metrics = trainer.callback_metrics
    for key in (
        "finetuning/train_acc",
        "finetuning/val_acc",
        "finetuning/linear_eval/train",
        "finetuning/linear_eval/val",
    ):
        assert key in metrics, sorted(metrics)
    trainer.test(model, dm)
    assert "finetuning/test_loss" in trainer.callback_metrics and "finetuning/test_acc" in trainer.callback_metrics


def test_regressor_finetunes_geotiffs_and_reloads(tif_catalog: Path, tmp_path: Path) -> None:
    model = FinetuneableZoobotRegressor(
        name="test_convnext",
        unit_interval=True,
        loss="mae",
        scheduler_kwargs={"cosine_schedule": True, "warmup_epochs": 1},
    )
    ckpt = _fit(model, tif_catalog, ["brightness"], tmp_path / "run")
    reloaded = FinetuneableZoobotRegressor.load_from_checkpoint(ckpt, map_location="cpu")
    _same_predictions(model, reloaded)
    out = reloaded(torch.rand(3, 3, 32, 32))
    assert out.shape == (3,) and bool(((out > 0) & (out < 1)).all())


def test_tree_trains_from_scratch_reloads_and_feeds_a_classifier(png_catalog: Path, tmp_path: Path) -> None:
    model = FinetuneableZoobotTree(
        name="test_vit",
        timm_kwargs={"img_size": 32},
        question_answer_pairs=TREE_PAIRS,
        dependencies=TREE_DEPS,
        training_mode="full",
        layer_decay=1.0,
        learning_rate=1e-3,
    )
    ckpt = _fit(model, png_catalog, TREE_COLS, tmp_path / "run")
    assert model.trainer.callback_metrics["finetuning/val_loss/ring-type"] >= 0  # per-question validation loss
    reloaded = FinetuneableZoobotTree.load_from_checkpoint(ckpt, map_location="cpu")
    _same_predictions(model, reloaded)
    assert reloaded.schema == model.schema
    conc = reloaded(torch.rand(2, 3, 32, 32))
    assert conc.shape == (2, 4) and bool((conc > 1).all())
    # the pretrained tree's encoder seeds a new classifier
    clf = FinetuneableZoobotClassifier(zoobot_checkpoint_loc=ckpt, num_classes=3)
    for (n, a), b in zip(model.encoder.state_dict().items(), clf.encoder.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=n)
    assert clf.hparams["name"] == "test_vit" and clf.hparams["zoobot_checkpoint_loc"] is None


def test_tree_accepts_published_schema_names() -> None:
    model = FinetuneableZoobotTree(name="test_resnet", schema="gz2_ortho_schema")
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 30)
    with pytest.raises(ConfigError, match="schema"):
        FinetuneableZoobotTree(name="test_resnet")


def test_encoder_from_exactly_one_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        FinetuneableZoobotClassifier(num_classes=2)
    with pytest.raises(ConfigError, match="exactly one"):
        FinetuneableZoobotClassifier(name="test_resnet", encoder=nn.Identity(), num_classes=2)
    with pytest.raises(CheckpointError, match="not found"):
        FinetuneableZoobotClassifier(zoobot_checkpoint_loc=tmp_path / "none.ckpt", num_classes=2)
    with pytest.raises(CheckpointError, match="does not download"):
        FinetuneableZoobotClassifier.load_from_name("hf_hub:mwalmsley/zoobot-encoder-convnext_nano")
    with pytest.raises(ConfigError, match="unknown timm architecture"):
        FinetuneableZoobotClassifier(name="resnet_nonexistent", num_classes=2)


def test_in_memory_encoders_width_from_metadata_or_one_forward() -> None:
    class Tokens(nn.Module):
        embed_dim = 24

        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Conv2d(3, 24, 8, stride=8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(x).flatten(2).transpose(1, 2)  # (B, N, D) tokens, pooled by the module

    model = FinetuneableZoobotRegressor(encoder=Tokens())
    assert model.encoder_dim == 24 and model(torch.rand(2, 3, 32, 32)).shape == (2,)

    plain = nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU(), nn.Conv2d(5, 7, 3))  # no metadata: one dummy forward
    model = FinetuneableZoobotClassifier(encoder=plain, num_classes=2)
    assert model.encoder_dim == 7 and model(torch.rand(2, 3, 32, 32)).shape == (2, 2)


def test_greyscale_and_local_weights_file(tmp_path: Path) -> None:
    import timm

    model = FinetuneableZoobotClassifier(name="test_resnet", greyscale=True, num_classes=2)
    assert model.channels == 1 and model(torch.rand(2, 1, 32, 32)).shape == (2, 2)

    source = timm.create_model("test_resnet", pretrained=False, num_classes=0)
    torch.save(source.state_dict(), tmp_path / "encoder.pth")
    model = FinetuneableZoobotRegressor(name="test_resnet", weights=tmp_path / "encoder.pth")
    for (n, a), b in zip(source.state_dict().items(), model.encoder.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=n)
    assert model.hparams["weights"] is None  # weights travel in the checkpoint's state dict
    with pytest.raises(CheckpointError, match="not found"):
        FinetuneableZoobotRegressor(name="test_resnet", weights=tmp_path / "missing.pth")


def test_deprecated_names_warn_once_and_map_to_new_ones() -> None:
    with pytest.warns(ZoobotDeprecationWarning) as record:
        model = FinetuneableZoobotClassifier(
            name="test_resnet", num_classes=2, lr_decay=0.5, dropout_prob=0.3, cosine_schedule=True, warmup_epochs=2
        )
    assert len(record) == 1 and isinstance(record[0].message, FutureWarning)
    message = str(record[0].message)
    assert "lr_decay -> layer_decay" in message and "dropout_prob -> head_dropout_prob" in message
    assert model.layer_decay == 0.5 and model.head.dropout.p == 0.3
    assert model.scheduler_kwargs["cosine_schedule"] is True and model.scheduler_kwargs["warmup_epochs"] == 2
    assert "lr_decay" not in model.hparams and model.hparams["layer_decay"] == 0.5
    with pytest.raises(ConfigError, match="pass only layer_decay"):
        FinetuneableZoobotClassifier(name="test_resnet", num_classes=2, lr_decay=0.5, layer_decay=0.9)
    with pytest.raises(TypeError, match="not_an_argument"):
        FinetuneableZoobotClassifier(name="test_resnet", num_classes=2, not_an_argument=1)


def _frozen_state(model: finetune.FinetuneableZoobotAbstract) -> list[tuple[bool, bool]]:
    """(any param trainable, module in train mode) per encoder block, stem first."""
    out = []
    for modules, loose in model._blocks:
        params = [p for m in modules for p in m.parameters()] + list(loose)
        out.append((any(p.requires_grad for p in params), all(m.training for m in modules)))
    return out


def test_n_blocks_freezes_what_it_says(png_catalog: Path, tmp_path: Path) -> None:
    with pytest.warns(ZoobotDeprecationWarning, match="n_blocks"):
        model = FinetuneableZoobotClassifier(name="test_resnet", num_classes=2, n_blocks=2, layer_decay=0.5)
    assert len(model._blocks) == 5  # stem, layer1..layer4
    model.train()
    assert _frozen_state(model) == [(False, False)] * 3 + [(True, True)] * 2
    stem_bn = model.encoder.conv1[1]
    assert isinstance(stem_bn, nn.BatchNorm2d)
    before = stem_bn.running_mean.clone()
    dm = CatalogDataModule(label_cols=["bright"], catalog=png_catalog, batch_size=4)
    get_trainer(tmp_path, **trainer_kwargs()).fit(model, dm)
    torch.testing.assert_close(stem_bn.running_mean, before)  # frozen BatchNorm statistics did not drift
    model.train()
    assert _frozen_state(model)[:3] == [(False, False)] * 3
    names = [g["name"] for g in model.param_groups()]
    assert names == ["head", "encoder.block4", "encoder.block3"]


def test_training_modes_and_layer_decay_scale_each_group() -> None:
    head_only = FinetuneableZoobotRegressor(name="test_resnet", training_mode="head_only")
    assert not any(p.requires_grad for p in head_only.encoder.parameters())
    head_only.train()
    assert not head_only.encoder.training and head_only.head.training
    assert [g["name"] for g in head_only.param_groups()] == ["head"]

    full = FinetuneableZoobotRegressor(name="test_resnet", learning_rate=1e-2, layer_decay=0.5)
    opt = full.configure_optimizers()
    lrs = {g["name"]: g["lr"] for g in opt.param_groups}
    assert lrs == pytest.approx(
        {
            "head": 1e-2,
            "encoder.block4": 5e-3,
            "encoder.block3": 2.5e-3,
            "encoder.block2": 1.25e-3,
            "encoder.block1": 6.25e-4,
            "encoder.block0": 3.125e-4,
        }
    )
    n_params = sum(len(g["params"]) for g in opt.param_groups)
    assert n_params == len(list(full.parameters()))
    with pytest.raises(ConfigError, match="training_mode"):
        FinetuneableZoobotRegressor(name="test_resnet", training_mode="partial")
    with pytest.raises(ConfigError, match="has 5 blocks"):
        FinetuneableZoobotRegressor(name="test_resnet", n_trainable_blocks=9)


def test_from_scratch_alias_trains_everything_at_one_rate() -> None:
    with pytest.warns(ZoobotDeprecationWarning, match="from_scratch"):
        model = FinetuneableZoobotTree(name="test_resnet", schema="gz_rings_schema", from_scratch=True)
    assert {g["lr"] for g in model.param_groups()} == {model.learning_rate}


def test_released_hub_encoder_is_fetched_through_geo_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``name="hf_hub:mwalmsley/zoobot-encoder-<arch>"`` (Zoobot's releases): config + weights from the local Hub."""
    import json

    import timm
    from geo_core import WeightsOfflineError
    from geo_core.testing import WeightServer
    from safetensors.torch import save

    repo = "mwalmsley/zoobot-encoder-test_resnet"
    torch.manual_seed(4)
    source = timm.create_model("test_resnet", pretrained=False, num_classes=0)
    config = {
        "architecture": "test_resnet",
        "num_classes": 0,
        "num_features": source.num_features,
        "pretrained_cfg": {"input_size": [3, 160, 160]},
    }
    with WeightServer() as server:
        server.use(monkeypatch, tmp_path)
        server.add_hf_file(repo, "config.json", json.dumps(config).encode())
        server.add_hf_file(repo, "model.safetensors", save(source.state_dict()))
        model = FinetuneableZoobotClassifier(name=f"hf_hub:{repo}", num_classes=2)
        for (n, a), b in zip(source.state_dict().items(), model.encoder.state_dict().values(), strict=True):
            torch.testing.assert_close(a, b, msg=n)
        assert model.hparams["timm_kwargs"] == {"pretrained": False}  # a reload rebuilds the architecture only
        monkeypatch.setenv("GEO_OFFLINE", "1")
        FinetuneableZoobotClassifier(name=f"hf_hub:{repo}", num_classes=2)  # from the cache
        assert server.count("GET", "model.safetensors") == 1
    with pytest.raises(WeightsOfflineError, match=r"zoobot-encoder-other/config\.json"):
        FinetuneableZoobotClassifier(name="hf_hub:mwalmsley/zoobot-encoder-other", num_classes=2)
    # a plain timm name with timm_kwargs pretrained=True: timm's file, fetched by geo too (offline: named)
    with pytest.raises(WeightsOfflineError, match=r"timm/test_resnet\.r160_in1k"):
        FinetuneableZoobotClassifier(name="test_resnet", timm_kwargs={"pretrained": True}, num_classes=2)
