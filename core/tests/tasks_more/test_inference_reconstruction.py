"""InferenceTask (frozen, from a checkpoint or a registry name) and ReconstructionTask (masked MSE)."""

from __future__ import annotations

from typing import Any

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError, ModelOutput
from geo_core.tasks._inference_only import InferenceTask
from geo_core.tasks._reconstruction import ReconstructionTask, masked_mse
from torch import nn

ARGS = {"backbone": "tiny_cnn", "backbone_in_channels": 6, "decoder": "UNetDecoder", "num_classes": 3}


def test_inference_task_loads_checkpoint_and_freezes(tmp_path, tifs, trainer, loader):
    from geo_core.models._state import save_state_dict

    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    trained = factory.build_model("segmentation", **ARGS)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.01)
    ckpt = save_state_dict(trained, tmp_path / "w.pt")
    task = InferenceTask(
        task="segmentation",
        model_factory="EncoderDecoderFactory",
        model_args=ARGS,
        checkpoint=str(ckpt),
        output_on_inference=["prediction", "probabilities"],
    )
    assert not any(p.requires_grad for p in task.parameters())
    task.train()
    assert not task.training and not task.model.training
    x = torch.randn(2, 6, 32, 48)
    trained.eval()
    assert torch.allclose(task(x), trained(x).output, atol=1e-6)
    preds = trainer().predict(task, loader(tifs))
    assert preds[0]["prediction"].shape == (2, 32, 48)
    assert torch.allclose(preds[0]["probabilities"].sum(1), torch.ones(2, 32, 48), atol=1e-5)
    assert preds[0]["filename"] == tifs[:2]


def test_inference_task_from_models_registry(tmp_path):
    @geo_core.MODELS.register(name="inference_doc_model")
    def build(channels: int = 6) -> nn.Module:
        return nn.Conv2d(channels, 2, 1)

    try:
        task = InferenceTask(
            task="segmentation",
            model="inference_doc_model",
            model_args={"channels": 6},
            output_on_inference="logits",
            tiled_inference_parameters={"crop": 16, "stride": 12, "batch_size": 4},
        )
        out = task.predict_step({"image": torch.randn(1, 6, 40, 40)}, 0)
        assert out["logits"].shape == (1, 2, 40, 40)
    finally:
        geo_core.MODELS.unregister("inference_doc_model")


def test_inference_task_errors(tmp_path):
    with pytest.raises(ConfigError, match="exactly one of"):
        InferenceTask(task="segmentation")
    with pytest.raises(ConfigError, match="output_on_inference"):
        InferenceTask(model_factory="EncoderDecoderFactory", model_args=ARGS, output_on_inference="argmax")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"bad\.pt"):
        InferenceTask(model_factory="EncoderDecoderFactory", model_args=ARGS, checkpoint=str(tmp_path / "bad.pt"))


def test_masked_mse_counts_masked_pixels_only():
    target = torch.zeros(1, 2, 4, 4)
    rec = torch.zeros(1, 2, 4, 4)
    rec[:, :, :2] = 3.0  # wrong on the top half
    mask = torch.zeros(1, 4, 4)
    mask[:, 2:] = 1  # only the bottom half was masked
    assert masked_mse(rec, target, mask).item() == 0.0
    mask[:, :1] = 1  # one wrong row now masked: 8 wrong values of 9 at 3^2, over 12 pixels x 2 bands
    assert masked_mse(rec, target, mask).item() == pytest.approx(8 * 9 / 24)


class ToyMAE(nn.Module):
    """Masks the left half of the image; reconstructs with a 1x1 conv."""

    def __init__(self, channels: int = 6) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)
        self.seen_ratio: float | None = None

    def forward(self, x: torch.Tensor, mask_ratio: float | None = None, **kw: Any) -> ModelOutput:
        self.seen_ratio = mask_ratio
        mask = torch.zeros(x.shape[0], *x.shape[-2:])
        mask[..., : x.shape[-1] // 2] = 1
        return ModelOutput(self.conv(x), {"mask": mask})


def test_reconstruction_task_trains_and_writes_quicklooks(tmp_path, tifs, trainer, loader):
    model = ToyMAE()
    task = ReconstructionTask(model=model, mask_ratio=0.6, lr=0.05, save_reconstructions=str(tmp_path / "rec"))
    x = next(iter(loader(tifs)))["image"]
    start = masked_mse(model(x).output, x, model(x).auxiliary_heads["mask"]).item()
    trainer(max_epochs=15).fit(task, loader(tifs), loader(tifs))
    end = masked_mse(model(x).output, x, model(x).auxiliary_heads["mask"]).item()
    assert end < start
    assert model.seen_ratio is None  # direct calls above
    task(x)
    assert model.seen_ratio == 0.6
    assert sorted(p.name for p in (tmp_path / "rec").glob("*.png"))[0] == "epoch000.png"
    out = task.predict_step({"image": x}, 0)
    assert out["reconstruction"].shape == x.shape and out["mask"].shape == (x.shape[0], 32, 48)


def test_reconstruction_task_rejects_non_mae_models():
    task = ReconstructionTask(model=nn.Conv2d(6, 6, 1))
    with pytest.raises(TypeError, match="auxiliary_heads=\\{'mask'"):
        task(torch.randn(1, 6, 8, 8))
    with pytest.raises(ConfigError, match="mask_ratio"):
        ReconstructionTask(model=nn.Conv2d(6, 6, 1), mask_ratio=1.5)
