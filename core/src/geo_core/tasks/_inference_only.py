"""InferenceTask: a frozen model from a checkpoint or a registry name, predict-only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from geo_core._contracts import Model, ModelOutput
from geo_core._errors import ConfigError

__all__ = ["InferenceTask"]

_RESERVED = frozenset({"image", "mask", "label", "filename", "metadata"})
_KINDS = ("prediction", "probabilities", "logits")


class InferenceTask(pl.LightningModule):
    """Run a trained model over a predict set; nothing trains, every parameter is frozen.

    The model comes from exactly one of: ``model`` (a ``MODELS`` registry name, built
    through ``FullModelFactory``, or a ready module) or ``model_factory`` +
    ``model_args``. ``checkpoint`` then loads weights (a geo/Lightning checkpoint or a
    plain state dict) with ``torch.load(weights_only=True)``.

    Args:
        task: ``segmentation``, ``regression``, ``classification``, ``multilabel`` or ``scalar_regression``.
        model: ``MODELS`` name or module.
        model_args: Arguments of the model (or of ``model_factory.build_model``).
        model_factory: ``MODEL_FACTORIES`` name.
        checkpoint: Weights to load.
        output_on_inference: ``prediction``, ``probabilities``, ``logits`` or a list of them.
        tiled_inference_parameters: ``{crop, stride, batch_size}`` for tiled pixel-wise inference.
    """

    monitor: ClassVar[str | None] = None

    def __init__(
        self,
        task: str = "segmentation",
        model: str | nn.Module | None = None,
        model_args: dict[str, Any] | None = None,
        model_factory: str | None = None,
        checkpoint: str | None = None,
        output_on_inference: str | list[str] = "prediction",
        tiled_inference_parameters: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["model"] if isinstance(model, nn.Module) else None)
        kinds = [output_on_inference] if isinstance(output_on_inference, str) else list(output_on_inference)
        bad = [k for k in kinds if k not in _KINDS]
        if bad:
            raise ConfigError(
                f"output_on_inference {bad[0]!r} is not one of {', '.join(_KINDS)}", key="output_on_inference"
            )
        self.kinds = kinds
        self.task_kind = task
        if (model is None) == (model_factory is None):
            raise ConfigError(
                "InferenceTask needs exactly one of model (a MODELS name or module) and model_factory + model_args",
                key="model",
            )
        if model_factory is not None:
            from geo_core import MODEL_FACTORIES

            built = MODEL_FACTORIES.build(model_factory).build_model(task, **dict(model_args or {}))
            if not isinstance(built, Model):
                raise ConfigError(
                    f"model_factory {model_factory!r} built a {type(built).__name__}, not a geo_core.Model; "
                    f"use a factory made for {task!r}",
                    key="model_factory",
                )
            self.model: Model = built
        else:
            from geo_core.models._full import FullModelFactory

            assert model is not None
            if isinstance(model, nn.Module) and model_args:
                raise ConfigError("model_args only apply to a model given by name", key="model_args")
            self.model = FullModelFactory().build_model(task, model=model, **dict(model_args or {}))
        if checkpoint:
            from geo_core.models._state import load_state_dict

            load_state_dict(self.model, checkpoint)
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.model.eval()

    def train(self, mode: bool = True) -> InferenceTask:
        """Stay in eval mode: this task never trains."""
        return super().train(False)

    def forward(self, x: Tensor, **kwargs: Any) -> Tensor:
        """The model's main output."""
        out = self.model(x, **kwargs)
        return out.output if isinstance(out, ModelOutput) else out

    def _convert(self, out: Tensor, kind: str) -> Tensor:
        if kind == "logits":
            return out
        if self.task_kind in ("segmentation", "classification"):
            probs = out.softmax(dim=1)
            return probs if kind == "probabilities" else probs.argmax(dim=1)
        if self.task_kind == "multilabel":
            probs = out.sigmoid()
            return probs if kind == "probabilities" else (probs > 0.5).long()
        return out  # regression: the value itself

    def predict_step(self, batch: Mapping[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        """``{kind: tensor}`` per requested output kind, plus ``filename``."""
        kwargs = {k: v for k, v in batch.items() if k not in _RESERVED}
        params = self.hparams.get("tiled_inference_parameters")
        with torch.no_grad():
            if params:
                from geo_core.tasks._tiled import tiled_forward

                out = tiled_forward(lambda t: self(t, **kwargs), batch["image"], **params)
            else:
                out = self(batch["image"], **kwargs)
        res: dict[str, Any] = {k: self._convert(out, k) for k in self.kinds}
        if "filename" in batch:
            res["filename"] = batch["filename"]
        return res
