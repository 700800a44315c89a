"""The shared Lightning task: model building, losses, metrics, optimisation, logging, prediction."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

import lightning.pytorch as pl
from torch import Tensor, nn

from geo_core._contracts import Model, ModelOutput
from geo_core._errors import ConfigError
from geo_core.losses._handler import LossHandler, build_loss
from geo_core.tasks._optim import build_optimizer, build_param_groups, build_scheduler, warmup_factor
from geo_core.tasks._tiled import tiled_forward

if TYPE_CHECKING:
    from lightning.pytorch.core.optimizer import LightningOptimizer
    from lightning.pytorch.utilities.types import OptimizerLRScheduler
    from torch.optim import Optimizer
    from torchmetrics import MetricCollection

__all__ = ["BaseTask", "RESERVED_KEYS", "freeze_part"]

#: Batch keys the task consumes itself; every other key is forwarded to the model as a keyword argument.
RESERVED_KEYS = frozenset({"image", "mask", "label", "filename", "metadata"})


_FIX = "expose the {part} as model.{part} (or override Model.{part}_modules()), or do not freeze it"


def freeze_part(hook: Callable[[], None], key: str, fix: str | None = None) -> None:
    """Call a :class:`Model` freeze hook; a model without that part is a ConfigError on ``key``."""
    try:
        hook()
    except NotImplementedError as exc:
        part = hook.__name__.removeprefix("freeze_")
        raise ConfigError(f"{key}: {exc}; {fix or _FIX.format(part=part)}", key=key) from exc


class BaseTask(pl.LightningModule):
    """Behaviour shared by every geo task (subclasses set the kind, target key, loss and metrics).

    Args:
        model_args: Keyword arguments of ``model_factory.build_model(task, **model_args)``.
        model_factory: Name in :data:`geo_core.MODEL_FACTORIES` (e.g. ``EncoderDecoderFactory``).
        model: A ready :class:`geo_core.Model` instead of factory + args; a plain ``nn.Module`` is
            wrapped in :class:`geo_core.models.FullModel` (see :func:`geo_core.models.as_model`).
        loss: Loss name, ``{name: weight}`` dict, or module.
        aux_heads: Auxiliary decoders, passed to the factory as ``aux_decoders``.
        aux_loss: ``{aux head name: weight}``; must match the model's auxiliary heads.
        class_weights: Per-class loss weights.
        ignore_index: Target value excluded from loss and metrics.
        lr: Base learning rate.
        optimizer: Class name in ``torch.optim``.
        optimizer_hparams: Extra optimiser arguments (``weight_decay``, ``betas``...).
        scheduler: Class name in ``torch.optim.lr_scheduler`` or None.
        scheduler_hparams: Scheduler arguments, plus Lightning's ``interval``/``frequency``/``monitor``.
        warmup_steps: Optimiser steps of linear warmup from ``warmup_start_factor * lr``.
        warmup_start_factor: Fraction of the lr at step 0 of the warmup.
        lr_overrides: ``{parameter-name substring: lr}``.
        layer_decay: Layer-wise lr decay factor for the encoder (None: off).
        training_mode: ``full`` or ``head_only`` (the encoder is frozen).
        freeze_backbone: Freeze the encoder.
        freeze_decoder: Freeze the decoder (and the head).
        freeze_head: Freeze the head only (TerraTorch's ``freeze_head``).
        class_names: Names of the classes (per-class metrics, plots).
        output_on_inference: What ``predict_step`` returns: ``prediction``, ``probabilities``, ``logits``, or a list.
        tiled_inference_parameters: ``{crop, stride, batch_size}`` for tiled validation/test/predict.
        tiled_inference_on_validation: Validate with tiled inference.
        tiled_inference_on_testing: Test with tiled inference.
        plot_on_val: Log sample plots every this many validation epochs (0 turns it off).
        path_to_record_metrics: Write the test metrics as JSON here.
        test_dataloaders_names: Names of several test dataloaders (metrics under ``test/<name>/``).
    """

    task_kind: ClassVar[str] = ""
    target_key: ClassVar[str] = "mask"
    default_loss: ClassVar[str] = "ce"
    #: metric that checkpointing and early stopping monitor, and its mode
    monitor: ClassVar[str] = "val/loss"
    monitor_mode: ClassVar[str] = "min"

    def __init__(
        self,
        model_args: dict[str, Any] | None = None,
        model_factory: str | None = None,
        model: Model | nn.Module | None = None,
        loss: str | dict[str, float] | nn.Module | None = None,
        aux_heads: list[dict[str, Any]] | None = None,
        aux_loss: dict[str, float] | None = None,
        class_weights: list[float] | None = None,
        ignore_index: int | float | None = None,
        lr: float = 1e-3,
        optimizer: str = "AdamW",
        optimizer_hparams: dict[str, Any] | None = None,
        scheduler: str | None = None,
        scheduler_hparams: dict[str, Any] | None = None,
        warmup_steps: int = 0,
        warmup_start_factor: float = 0.01,
        lr_overrides: dict[str, float] | None = None,
        layer_decay: float | None = None,
        training_mode: Literal["full", "head_only"] = "full",
        freeze_backbone: bool = False,
        freeze_decoder: bool = False,
        freeze_head: bool = False,
        class_names: list[str] | None = None,
        output_on_inference: str | list[str] = "prediction",
        tiled_inference_parameters: dict[str, int] | None = None,
        tiled_inference_on_validation: bool = False,
        tiled_inference_on_testing: bool = False,
        plot_on_val: int = 10,
        path_to_record_metrics: str | None = None,
        test_dataloaders_names: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["model"] if isinstance(model, nn.Module) else None)
        if training_mode not in ("full", "head_only"):
            raise ConfigError(
                f"training_mode must be 'full' or 'head_only', got {training_mode!r}", key="training_mode"
            )
        kinds = [output_on_inference] if isinstance(output_on_inference, str) else list(output_on_inference)
        bad = [k for k in kinds if k not in ("prediction", "probabilities", "logits")]
        if bad:
            raise ConfigError(
                f"output_on_inference {bad[0]!r} is not one of prediction, probabilities, logits",
                key="output_on_inference",
            )
        self.output_kinds: list[str] = kinds
        self.model: Model = self._build_model(model, model_factory, model_args, aux_heads)
        if freeze_backbone or training_mode == "head_only":
            freeze_part(self.model.freeze_encoder, "freeze_backbone")
        if freeze_decoder:
            freeze_part(self.model.freeze_decoder, "freeze_decoder")
        if freeze_head:
            freeze_part(
                self.model.freeze_head, "freeze_head", "use freeze_decoder (it freezes the decoder with its head)"
            )
        self.loss_handler = LossHandler(
            build_loss(
                loss if loss is not None else self.default_loss, ignore_index=ignore_index, class_weights=class_weights
            ),
            aux_loss,
        )
        heads = self.model.auxiliary_head_names()
        if heads is not None and (aux_loss or heads):
            self.loss_handler.check_heads(heads)
        metrics = self.build_metrics()
        self.train_metrics = metrics.clone(prefix="train/")
        self.val_metrics = metrics.clone(prefix="val/")
        names = list(test_dataloaders_names or [])
        self.test_names = names
        self.test_metrics = nn.ModuleList(
            [metrics.clone(prefix=f"test/{n}/") for n in names] if names else [metrics.clone(prefix="test/")]
        )
        self._test_results: dict[str, float] = {}

    # -- construction ------------------------------------------------------
    def _build_model(
        self,
        model: Model | nn.Module | None,
        factory: str | None,
        args: Mapping[str, Any] | None,
        aux_heads: list[dict[str, Any]] | None,
    ) -> Model:
        from geo_core.models._full import as_model

        if model is not None:
            if factory is not None or args:
                raise ConfigError("give either model or model_factory + model_args, not both", key="model")
            try:
                return as_model(model, self.task_kind)
            except TypeError as exc:
                raise ConfigError(str(exc), key="model") from exc
        if factory is None:
            raise ConfigError(
                f"{type(self).__name__} needs model_factory + model_args or a ready model", key="model_factory"
            )
        from geo_core import MODEL_FACTORIES
        from geo_core._errors import UnknownComponentError

        try:
            fac = MODEL_FACTORIES.build(factory)
        except UnknownComponentError as exc:
            raise ConfigError(str(exc), key="model_factory") from exc
        kwargs = dict(args or {})
        if aux_heads:
            kwargs["aux_decoders"] = aux_heads
        from geo_core.models._routing import check_call

        check_call(fac.build_model, kwargs, where="model_args", skip=1)
        built = fac.build_model(self.task_kind, **kwargs)
        if not isinstance(built, Model):
            raise ConfigError(
                f"model_factory {factory!r} built a {type(built).__name__}, not a geo_core.Model, so "
                f"{type(self).__name__} cannot train it; use a factory made for {self.task_kind!r}",
                key="model_factory",
            )
        return built

    def build_metrics(self) -> MetricCollection:
        """Return the task's ``MetricCollection`` (without prefix)."""
        raise NotImplementedError

    # -- hooks subclasses implement -----------------------------------------
    def metric_inputs(self, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """What the metrics are updated with (default: the raw output)."""
        return output, target

    def convert(self, output: Tensor, kind: str) -> Tensor:
        """Turn model output into ``prediction``, ``probabilities`` or ``logits``."""
        raise NotImplementedError

    # -- forward -------------------------------------------------------------
    def forward(self, x: Tensor, **kwargs: Any) -> ModelOutput:
        """Run the model; a bare tensor output (a lax :class:`Model`) is wrapped into :class:`ModelOutput`."""
        out: ModelOutput | Tensor = self.model(x, **kwargs)
        return out if isinstance(out, ModelOutput) else ModelOutput(out)

    def _model_kwargs(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if k not in RESERVED_KEYS}

    def _tiled(self, batch: Mapping[str, Any]) -> Tensor:
        params = dict(self.hparams.get("tiled_inference_parameters") or {})
        kwargs = self._model_kwargs(batch)
        return tiled_forward(lambda t: self(t, **kwargs).output, batch["image"], **params)

    def _target(self, batch: Mapping[str, Any]) -> Tensor:
        try:
            return batch[self.target_key]  # type: ignore[no-any-return]
        except KeyError as exc:
            raise KeyError(f"{type(self).__name__} needs batch key {self.target_key!r}; got {sorted(batch)}") from exc

    # -- steps ---------------------------------------------------------------
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        """Forward, loss with auxiliary heads, metrics update."""
        target = self._target(batch)
        out = self(batch["image"], **self._model_kwargs(batch))
        losses = self.loss_handler.compute(out.output, target, out.auxiliary_heads)
        bs = target.shape[0]
        self.log("train/loss", losses["loss"], on_step=True, on_epoch=True, prog_bar=True, batch_size=bs)
        if len(losses) > 2:
            self.log_dict(
                {f"train/loss_{k}": v for k, v in losses.items() if k != "loss"},
                on_step=False,
                on_epoch=True,
                batch_size=bs,
            )
        self.train_metrics.update(*self.metric_inputs(out.output.detach(), target))
        return losses["loss"]

    def on_train_epoch_end(self) -> None:
        """Log and reset the training metrics."""
        self._log_metrics(self.train_metrics)

    def _eval_step(self, batch: dict[str, Any], metrics: MetricCollection, prefix: str, tiled: bool) -> Tensor:
        target = self._target(batch)
        if tiled:
            output, aux = self._tiled(batch), {}
        else:
            out = self(batch["image"], **self._model_kwargs(batch))
            output, aux = out.output, out.auxiliary_heads
        losses = self.loss_handler.compute(output, target, aux)
        self.log(
            f"{prefix}loss",
            losses["loss"],
            on_epoch=True,
            prog_bar=prefix == "val/",
            sync_dist=True,
            batch_size=target.shape[0],
            add_dataloader_idx=False,
        )
        metrics.update(*self.metric_inputs(output, target))
        return output

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        """Validation loss and metrics (tiled when ``tiled_inference_on_validation``)."""
        output = self._eval_step(batch, self.val_metrics, "val/", self.hparams["tiled_inference_on_validation"])
        every = int(self.hparams.get("plot_on_val") or 0)
        if batch_idx == 0 and every > 0 and self.current_epoch % every == 0:
            self._maybe_plot(batch, output)

    def on_validation_epoch_end(self) -> None:
        """Log and reset the validation metrics."""
        self._log_metrics(self.val_metrics)

    def test_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> None:
        """Test loss and metrics, per named dataloader."""
        if self.test_names and dataloader_idx >= len(self.test_names):
            raise ConfigError(
                f"test dataloader {dataloader_idx} has no name in test_dataloaders_names {self.test_names}",
                key="test_dataloaders_names",
            )
        prefix = f"test/{self.test_names[dataloader_idx]}/" if self.test_names else "test/"
        metrics = cast("MetricCollection", self.test_metrics[dataloader_idx if self.test_names else 0])
        self._eval_step(batch, metrics, prefix, self.hparams["tiled_inference_on_testing"])

    def on_test_epoch_end(self) -> None:
        """Log the test metrics and record them to ``path_to_record_metrics``."""
        for m in self.test_metrics:
            self._log_metrics(cast("MetricCollection", m))
        path = self.hparams.get("path_to_record_metrics")
        if path and self.trainer.is_global_zero:
            from geo_core._atomic import atomic_open

            results = {k: float(v) for k, v in self.trainer.callback_metrics.items() if k.startswith("test/")}
            with atomic_open(Path(path), "w") as fh:
                json.dump(results, fh, indent=2, sort_keys=True)

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        """``{kind: tensor}`` for every kind in ``output_on_inference``, plus ``filename`` when given."""
        tiled = self.hparams.get("tiled_inference_parameters") is not None
        output = self._tiled(batch) if tiled else self(batch["image"], **self._model_kwargs(batch)).output
        res: dict[str, Any] = {k: self.convert(output, k) for k in self.output_kinds}
        if "filename" in batch:
            res["filename"] = batch["filename"]
        return res

    def _log_metrics(self, metrics: MetricCollection) -> None:
        values = metrics.compute()
        flat = {k: v for k, v in values.items()}
        self.log_dict(flat, sync_dist=False, add_dataloader_idx=False)
        metrics.reset()

    def _maybe_plot(self, batch: Mapping[str, Any], output: Tensor) -> None:
        logger = self.logger
        experiment = getattr(logger, "experiment", None) if logger is not None else None
        dm = getattr(self.trainer, "datamodule", None)
        if experiment is None or not hasattr(experiment, "add_figure") or dm is None or not hasattr(dm, "plot"):
            return
        sample = {k: (v[0].detach().cpu() if isinstance(v, Tensor) else v[0]) for k, v in batch.items()}
        sample["prediction"] = self.convert(output[:1], "prediction")[0].detach().cpu()
        fig = dm.plot(sample)
        if fig is not None:
            experiment.add_figure("val/sample", fig, global_step=self.global_step)

    # -- optimisation --------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record what ``geo predict`` needs to run without Lightning (see :mod:`geo_core.runs._light`).

        The task's class, the run's ``data`` section (set by :func:`geo_core.runs.train`) and the
        datamodule's scene preprocessing go under ``checkpoint["geo_predict"]`` as plain values.
        """
        trainer = getattr(self, "_trainer", None)
        dm = getattr(trainer, "datamodule", None) if trainer is not None else None
        fn = getattr(dm, "scene_preprocessing", None)
        try:
            pre = dataclasses.asdict(fn()) if fn is not None else None
        except Exception:  # a datamodule that needs setup first: predict then builds it
            pre = None
        cls = type(self)
        checkpoint["geo_predict"] = {
            "task": f"{cls.__module__}.{cls.__qualname__}",
            "data": getattr(self, "geo_data_config", None),
            "scene_preprocessing": pre,
        }

    def configure_optimizers(self) -> OptimizerLRScheduler:
        """Optimiser over named parameter groups, optional scheduler."""
        hp = self.hparams
        opt_hp = dict(hp.get("optimizer_hparams") or {})
        groups = build_param_groups(
            self, hp["lr"], opt_hp.pop("weight_decay", None), hp.get("lr_overrides"), hp.get("layer_decay")
        )
        opt: Optimizer = build_optimizer(hp["optimizer"], groups, hp["lr"], opt_hp)
        if not hp.get("scheduler"):
            return opt
        return {  # type: ignore[return-value]  # build_scheduler's dict is Lightning's LRSchedulerConfig
            "optimizer": opt,
            "lr_scheduler": build_scheduler(hp["scheduler"], opt, hp.get("scheduler_hparams"), self.monitor),
        }

    def optimizer_step(
        self,
        epoch: int,
        batch_idx: int,
        optimizer: Optimizer | LightningOptimizer,
        optimizer_closure: Callable[[], Any] | None = None,
    ) -> None:
        """Step, scaling every group's lr by the warmup factor for this step only."""
        f = warmup_factor(
            self.global_step,
            int(self.hparams.get("warmup_steps") or 0),
            float(self.hparams.get("warmup_start_factor", 0.01)),
        )
        if f >= 1.0:
            optimizer.step(closure=optimizer_closure)
            return
        saved = [g["lr"] for g in optimizer.param_groups]
        for g in optimizer.param_groups:
            g["lr"] = g["lr"] * f
        try:
            optimizer.step(closure=optimizer_closure)
        finally:
            for g, lr in zip(optimizer.param_groups, saved, strict=True):
                g["lr"] = lr

    def on_train_start(self) -> None:
        """Keep frozen parts in eval mode (Lightning calls ``train()`` on the whole task)."""
        self.model.train()
