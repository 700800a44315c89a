"""The shared base of the Finetuneable Zoobot LightningModules: encoder, freezing, optimizer, logging."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Literal, get_args

import lightning as L
import torch
from geo_core import CheckpointError, ConfigError
from torch import Tensor, nn

from geo_plugin_zoobot._aliases import resolve_deprecated
from geo_plugin_zoobot._encoder import (
    build_timm_encoder,
    load_checkpoint_file,
    load_pretrained_zoobot,
    pool_features,
    tuneable_blocks,
)
from geo_plugin_zoobot._encoder import encoder_dim as measure_encoder_dim

__all__ = ["FinetuneableZoobotAbstract", "TrainingMode"]

log = logging.getLogger("geo_plugin_zoobot")

TrainingMode = Literal["full", "head_only"]
_SCHEDULER_DEFAULTS = {
    "cosine_schedule": False,
    "warmup_epochs": 0,
    "max_cosine_epochs": 100,
    "max_learning_rate_reduction_factor": 0.01,
}


class FinetuneableZoobotAbstract(L.LightningModule):
    """Shared arguments and behaviour of the classifier, regressor and tree modules (not used directly).

    The encoder comes from exactly one of ``name``, ``encoder`` or ``zoobot_checkpoint_loc``.

    Args:
        name: timm architecture (``"convnext_nano"``, ``"timm:resnet18"``); random init unless
            ``weights`` (a local file) or ``timm_kwargs={"pretrained": True, ...}``.
        encoder: Any ``nn.Module`` mapping ``(B, C, H, W)`` to ``(B, D)`` (feature maps ``(B, D, h, w)``
            and tokens ``(B, N, D)`` are average-pooled). Its width is read from ``num_features`` or
            ``embed_dim`` (or ``encoder_dim``), measured by one dummy forward only when none exists.
        zoobot_checkpoint_loc: Local checkpoint of any Finetuneable Zoobot module; its encoder
            (architecture and trained weights) is reused.
        weights: Local weights file for ``name`` (timm ``pretrained_cfg_overlay=dict(file=...)``).
        greyscale: One input channel.
        timm_kwargs: Extra ``timm.create_model`` arguments (``in_chans``, ``drop_path_rate``, ...).
        encoder_dim: Feature width, when the encoder declares none.
        training_mode: ``"full"`` trains every encoder block with layer decay; ``"head_only"``
            freezes the encoder (no gradients, kept in eval mode).
        n_trainable_blocks: Train only the top ``n`` encoder blocks (others frozen as above);
            overrides ``training_mode``. Zoobot 2.0 called it ``n_blocks``.
        layer_decay: Learning-rate factor per block below the head: the head trains at
            ``learning_rate``, the top block at ``learning_rate * layer_decay``, the next at
            ``learning_rate * layer_decay**2``, ... (default 0.75).
        weight_decay: AdamW weight decay.
        learning_rate: AdamW learning rate of the head.
        head_dropout_prob: Dropout before the head's linear layer (default 0.5).
        scheduler_kwargs: ``cosine_schedule`` (bool), ``warmup_epochs``, ``max_cosine_epochs``,
            ``max_learning_rate_reduction_factor``: linear warmup then cosine decay per epoch.
        label_col: Key of the labels in dict batches (``(image, label)`` tuples also work).
        prog_bar: Show the logged values on the progress bar.
        visualize_images: Accepted for Zoobot compatibility; no images are uploaded.
        seed: Seed of the optional linear sanity check.
        **deprecated_kwargs: Zoobot 2.0 names (``n_blocks``, ``lr_decay``, ``dropout_prob``,
            ``cosine_schedule``, ``warmup_epochs``, ``max_cosine_epochs``,
            ``max_learning_rate_reduction_factor``, ``from_scratch``, ``always_train_batchnorm``);
            each call using them warns once with a :class:`FutureWarning`.

    Attributes:
        monitor: The logged key that checkpointing and early stopping watch.
    """

    monitor: str = "finetuning/val_loss"
    monitor_mode: str = "min"
    encoder: nn.Module
    head: nn.Module

    def __init__(
        self,
        name: str | None = None,
        encoder: nn.Module | None = None,
        zoobot_checkpoint_loc: str | Path | None = None,
        *,
        weights: str | Path | None = None,
        greyscale: bool = False,
        timm_kwargs: dict[str, Any] | None = None,
        encoder_dim: int | None = None,
        training_mode: TrainingMode = "full",
        n_trainable_blocks: int | None = None,
        layer_decay: float | None = None,
        weight_decay: float = 0.05,
        learning_rate: float = 1e-4,
        head_dropout_prob: float | None = None,
        scheduler_kwargs: dict[str, Any] | None = None,
        label_col: str = "label",
        prog_bar: bool = True,
        visualize_images: bool = False,
        seed: int = 42,
        **deprecated_kwargs: Any,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        args = resolve_deprecated(
            deprecated_kwargs,
            {"layer_decay": layer_decay, "head_dropout_prob": head_dropout_prob, "scheduler_kwargs": scheduler_kwargs},
            owner,
        )
        layer_decay = 0.75 if args["layer_decay"] is None else float(args["layer_decay"])
        head_dropout_prob = 0.5 if args["head_dropout_prob"] is None else float(args["head_dropout_prob"])
        if args.get("n_blocks") is not None:
            if n_trainable_blocks is not None and n_trainable_blocks != args["n_blocks"]:
                raise ConfigError(f"{owner}: pass n_trainable_blocks or n_blocks (deprecated), not both")
            n_trainable_blocks = int(args["n_blocks"])
        if args.get("from_scratch"):
            training_mode, layer_decay, n_trainable_blocks = "full", 1.0, None
        unknown_sched = set(args["scheduler_kwargs"]) - set(_SCHEDULER_DEFAULTS)
        if unknown_sched:
            raise ConfigError(
                f"{owner}: unknown scheduler_kwargs {sorted(unknown_sched)}; expected {sorted(_SCHEDULER_DEFAULTS)}",
                key="scheduler_kwargs",
            )
        self.scheduler_kwargs = {**_SCHEDULER_DEFAULTS, **args["scheduler_kwargs"]}
        if training_mode not in get_args(TrainingMode):
            raise ConfigError(
                f"{owner}: training_mode must be one of {get_args(TrainingMode)}, got {training_mode!r}",
                key="training_mode",
            )
        if not 0.0 < layer_decay <= 1.0:
            raise ConfigError(f"{owner}: layer_decay must be in (0, 1], got {layer_decay}", key="layer_decay")

        timm_kwargs = dict(timm_kwargs or {})
        given = [
            k
            for k, v in (("name", name), ("encoder", encoder), ("zoobot_checkpoint_loc", zoobot_checkpoint_loc))
            if v is not None
        ]
        if len(given) != 1:
            raise ConfigError(
                f"{owner}: pass exactly one of name=, encoder=, zoobot_checkpoint_loc=; got {given or 'none'}",
                key="encoder",
            )
        if encoder is not None:
            if weights is not None:
                raise ConfigError(f"{owner}: weights= applies to name=, not to an in-memory encoder", key="weights")
            if greyscale:
                log.info("greyscale=True with an in-memory encoder: the encoder must already take one channel")
            reset = getattr(encoder, "reset_classifier", None)
            if callable(reset) and bool(getattr(encoder, "num_classes", False)):
                reset(0)  # a timm model with a classifier: keep the pooled features only
            self.encoder = encoder
        elif name is not None:
            self.encoder = build_timm_encoder(name, greyscale=greyscale, weights=weights, timm_kwargs=timm_kwargs)
        else:
            assert zoobot_checkpoint_loc is not None
            src = load_checkpoint_file(zoobot_checkpoint_loc).get("hyper_parameters", {})
            self.encoder = load_pretrained_zoobot(zoobot_checkpoint_loc)
            name, greyscale, timm_kwargs = (
                src.get("name"),
                bool(src.get("greyscale", False)),
                dict(src.get("timm_kwargs") or {}),
            )
        channels = 1 if greyscale else int(timm_kwargs.get("in_chans", 3))
        self.encoder_dim = int(encoder_dim) if encoder_dim is not None else measure_encoder_dim(self.encoder, channels)
        self.channels = channels

        self.training_mode = training_mode
        self.layer_decay = layer_decay
        self.weight_decay = float(weight_decay)
        self.learning_rate = float(learning_rate)
        self.head_dropout_prob = head_dropout_prob
        self.label_col = label_col
        self.prog_bar = prog_bar
        self.visualize_images = visualize_images
        self.seed = seed
        self._frozen_modules: list[nn.Module] = []
        self._blocks = tuneable_blocks(self.encoder)
        n = len(self._blocks)
        if training_mode == "head_only":
            n_train = 0
        elif n_trainable_blocks is not None:
            if not 0 <= n_trainable_blocks <= n:
                raise ConfigError(
                    f"{owner}: the encoder has {n} blocks; n_trainable_blocks={n_trainable_blocks}",
                    key="n_trainable_blocks",
                )
            n_train = n_trainable_blocks
        else:
            n_train = n
        self.n_trainable_blocks = n_train
        if n_train == 0:  # the whole encoder, parameter-free parts (pooling, dropout) included
            from geo_core import freeze_module

            freeze_module(self.encoder)
            self._frozen_modules.append(self.encoder)
        else:
            self._freeze_blocks(self._blocks[: n - n_train])

        # Everything needed to rebuild this module from a checkpoint, as plain values. Encoder
        # weights travel in the state dict, so no weights file or source checkpoint is recorded.
        clean_timm = {k: v for k, v in timm_kwargs.items() if k not in ("pretrained", "pretrained_cfg_overlay")}
        if str(name or "").startswith(("hf_hub:", "hf-hub:")):
            clean_timm["pretrained"] = False  # a reload takes the architecture only; weights are in the state dict
        self.save_hyperparameters(
            {
                "name": name,
                "zoobot_checkpoint_loc": None,
                "weights": None,
                "greyscale": greyscale,
                "timm_kwargs": clean_timm,
                "encoder_dim": self.encoder_dim if encoder is not None else None,
                "training_mode": training_mode,
                "n_trainable_blocks": n_trainable_blocks,
                "layer_decay": layer_decay,
                "weight_decay": self.weight_decay,
                "learning_rate": self.learning_rate,
                "head_dropout_prob": head_dropout_prob,
                "scheduler_kwargs": dict(args["scheduler_kwargs"]),
                "label_col": label_col,
                "prog_bar": prog_bar,
                "visualize_images": visualize_images,
                "seed": seed,
            }
        )

    # -- hyperparameters of subclasses ---------------------------------------
    def _record_hparams(self, **values: Any) -> None:
        """Add subclass arguments (plain values) to the saved hyperparameters."""
        self.save_hyperparameters({**dict(self.hparams), **values})

    # -- freezing ------------------------------------------------------------
    def _freeze_blocks(self, blocks: list[tuple[list[nn.Module], list[nn.Parameter]]]) -> None:
        from geo_core import freeze_module

        for modules, params in blocks:
            for m in modules:
                freeze_module(m)
                self._frozen_modules.append(m)
            for p in params:
                p.requires_grad_(False)

    def train(self, mode: bool = True) -> FinetuneableZoobotAbstract:
        """Set training mode; frozen encoder blocks stay in eval mode (BatchNorm statistics do not drift)."""
        super().train(mode)
        if mode and not getattr(self, "_defer_frozen_eval", False):
            for m in self._frozen_modules:
                m.eval()
        return self

    def on_fit_start(self) -> None:
        """Until training starts, let frozen blocks follow ``train()``.

        Lightning warns about modules in eval mode when fitting starts; ours are frozen on
        purpose and go back to eval in :meth:`on_train_start`, before the first training step.
        """
        self._defer_frozen_eval = True
        for m in self._frozen_modules:
            m.train(self.training)

    def on_train_start(self) -> None:
        """Put frozen blocks back in eval mode for the whole of training."""
        self._defer_frozen_eval = False
        for m in self._frozen_modules:
            m.eval()

    # -- optimisation --------------------------------------------------------
    def param_groups(self) -> list[dict[str, Any]]:
        """AdamW parameter groups: the head at ``learning_rate``, trainable encoder blocks decayed per depth."""
        lr = self.learning_rate
        seen: set[int] = set()

        def take(params: Any) -> list[nn.Parameter]:
            out = []
            for p in params:
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
            return out

        groups = [{"params": take(self.head.parameters()), "lr": lr, "name": "head"}]
        n = len(self._blocks)
        for depth, index in enumerate(range(n - 1, -1, -1), start=1):
            modules, loose = self._blocks[index]
            params = take([p for m in modules for p in m.parameters()] + list(loose))
            if params:
                groups.append({"params": params, "lr": lr * self.layer_decay**depth, "name": f"encoder.block{index}"})
        rest = take(self.parameters())
        if rest:
            groups.append({"params": rest, "lr": lr, "name": "other"})
        return [g for g in groups if g["params"]]

    def configure_optimizers(self) -> Any:
        """AdamW over :meth:`param_groups`, with the optional warmup + cosine schedule."""
        opt = torch.optim.AdamW(self.param_groups(), lr=self.learning_rate, weight_decay=self.weight_decay)
        s = self.scheduler_kwargs
        if not s["cosine_schedule"]:
            return opt
        warmup, max_epochs = int(s["warmup_epochs"]), max(1, int(s["max_cosine_epochs"]))
        floor = float(s["max_learning_rate_reduction_factor"])

        def factor(epoch: int) -> float:
            if epoch < warmup:
                return (epoch + 1) / (warmup + 1)
            t = min(1.0, (epoch - warmup) / max_epochs)
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch", "frequency": 1}}

    # -- forward and steps ---------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """``(B, D)`` pooled features."""
        return pool_features(self.encoder(x))

    def forward(self, x: Tensor) -> Tensor:
        """Head output: logits, regression values or Dirichlet concentrations."""
        out: Tensor = self.head(self.encode(x))
        return out

    def _unpack(self, batch: Any, need_label: bool = True) -> tuple[Tensor, Tensor | None]:
        if isinstance(batch, dict):
            x = batch["image"]
            y = batch.get(self.label_col)
            if y is None and need_label:
                raise KeyError(
                    f"batch has no {self.label_col!r} labels (keys: {sorted(batch)}); "
                    "set label_col= to the key holding them"
                )
            return x, y
        if isinstance(batch, (list, tuple)):
            return batch[0], (batch[1] if len(batch) > 1 else None)
        return batch, None

    def loss(self, y_pred: Tensor, y: Tensor) -> Tensor:
        """Per-example loss ``(B,)`` (or ``(B, ...)``); subclasses define it."""
        raise NotImplementedError

    def _step(self, batch: Any, stage: str) -> Tensor:
        x, y = self._unpack(batch)
        assert y is not None
        y_pred = self(x)
        loss = self.loss(y_pred, y).mean()
        self.log(
            f"finetuning/{stage}_loss",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=self.prog_bar,
            batch_size=x.shape[0],
        )
        self._update_metrics(stage, y_pred.detach(), y)
        return loss

    def _update_metrics(self, stage: str, y_pred: Tensor, y: Tensor) -> None:
        """Subclasses update and log their metrics (``finetuning/{stage}_<metric>``)."""

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """One training step; logs ``finetuning/train_loss``."""
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> Tensor:
        """One validation step; logs ``finetuning/val_loss`` (the monitor)."""
        return self._step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> Tensor:
        """One test step; logs ``finetuning/test_loss``."""
        return self._step(batch, "test")

    def predict_output(self, y_pred: Tensor) -> Tensor:
        """Turn head outputs into predictions (probabilities for the classifier)."""
        return y_pred

    def predict_step(self, batch: Any, batch_idx: int = 0) -> Tensor:
        """Predictions for a batch of images (labels, if present, are ignored)."""
        x, _ = self._unpack(batch, need_label=False)
        return self.predict_output(self(x))

    # -- checkpoints ---------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record which class wrote the checkpoint (used by ``geo zoobot predict``)."""
        checkpoint["zoobot_class"] = type(self).__name__

    @classmethod
    def load_from_name(cls, name: str | Path, **kwargs: Any) -> FinetuneableZoobotAbstract:
        """Load a finetuned checkpoint from a local path (the offline form of Zoobot's Hub loader).

        Raises:
            CheckpointError: ``name`` is not a local file (download ``<Class>.ckpt`` first).
        """
        path = Path(name)
        if not path.is_file():
            raise CheckpointError(
                f"no local checkpoint here; geo does not download. Fetch {cls.__name__}.ckpt from the model "
                "page (e.g. with `huggingface-cli download <repo> {cls.__name__}.ckpt`) and pass its path",
                path=name,
            )
        kwargs.setdefault("map_location", "cpu")
        return cls.load_from_checkpoint(path, **kwargs)  # type: ignore[no-any-return]
