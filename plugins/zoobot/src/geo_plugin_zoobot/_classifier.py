"""Classification: dropout + linear head, cross-entropy with label smoothing and class weights, accuracy."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
import torchmetrics as tm
from geo_core import ConfigError
from torch import Tensor

from geo_plugin_zoobot._base import FinetuneableZoobotAbstract
from geo_plugin_zoobot._heads import LinearHead
from geo_plugin_zoobot._losses import cross_entropy_loss

__all__ = ["FinetuneableZoobotClassifier"]

log = logging.getLogger("geo_plugin_zoobot")


class FinetuneableZoobotClassifier(FinetuneableZoobotAbstract):
    """Finetune an encoder on a classification problem.

    Logs ``finetuning/{train,val,test}_loss`` and ``finetuning/{train,val,test}_acc``; predictions
    are softmax probabilities. Other arguments: see :class:`FinetuneableZoobotAbstract`.

    Args:
        num_classes: Number of classes (2 for binary).
        label_smoothing: Cross-entropy label smoothing.
        class_weights: Per-class loss weights.
        run_linear_sanity_check: Before training, fit a logistic regression on frozen embeddings
            of the train set and log its accuracy (``finetuning/linear_eval/{train,val}``).

    Example:
        >>> from geo_plugin_zoobot.finetune import FinetuneableZoobotClassifier
        >>> model = FinetuneableZoobotClassifier(name="test_resnet", num_classes=2, training_mode="head_only")
        >>> model.monitor
        'finetuning/val_loss'
    """

    def __init__(
        self,
        num_classes: int,
        label_smoothing: float = 0.0,
        class_weights: Sequence[float] | None = None,
        run_linear_sanity_check: bool = False,
        **super_kwargs: Any,
    ) -> None:
        super().__init__(**super_kwargs)
        if num_classes < 2:
            raise ConfigError(f"num_classes must be at least 2, got {num_classes}", key="num_classes")
        if class_weights is not None and len(class_weights) != num_classes:
            raise ConfigError(
                f"class_weights has {len(class_weights)} values for {num_classes} classes", key="class_weights"
            )
        self.num_classes = num_classes
        self.head = LinearHead(self.encoder_dim, num_classes, dropout_prob=self.head_dropout_prob)
        self.label_smoothing = float(label_smoothing)
        weights = None if class_weights is None else torch.tensor([float(w) for w in class_weights])
        self.register_buffer("class_weights", weights, persistent=False)
        self.run_linear_sanity_check = run_linear_sanity_check
        self.train_acc = tm.Accuracy(task="multiclass", num_classes=num_classes)
        self.val_acc = tm.Accuracy(task="multiclass", num_classes=num_classes)
        self.test_acc = tm.Accuracy(task="multiclass", num_classes=num_classes)
        self._record_hparams(
            num_classes=num_classes,
            label_smoothing=self.label_smoothing,
            class_weights=None if class_weights is None else [float(w) for w in class_weights],
            run_linear_sanity_check=run_linear_sanity_check,
        )

    def loss(self, y_pred: Tensor, y: Tensor) -> Tensor:
        """Unreduced cross-entropy with label smoothing and class weights."""
        weight = self.class_weights if isinstance(self.class_weights, Tensor) else None
        return cross_entropy_loss(y_pred, y, label_smoothing=self.label_smoothing, weight=weight)

    def _update_metrics(self, stage: str, y_pred: Tensor, y: Tensor) -> None:
        metric = getattr(self, f"{stage}_acc")
        metric(y_pred.argmax(dim=1), y.long())
        self.log(f"finetuning/{stage}_acc", metric, on_step=False, on_epoch=True, prog_bar=self.prog_bar)

    def predict_output(self, y_pred: Tensor) -> Tensor:
        """Softmax probabilities ``(B, num_classes)``."""
        return F.softmax(y_pred, dim=1)

    def on_train_start(self) -> None:
        """Run the linear sanity check when asked."""
        super().on_train_start()
        if self.run_linear_sanity_check:
            self.linear_sanity_check()

    def linear_sanity_check(self) -> dict[str, float]:
        """Fit a multinomial logistic regression on frozen embeddings; log and return its accuracies.

        Uses the trainer's train and (if any) validation dataloaders.
        """
        trainer = self.trainer
        loaders: dict[str, Any] = {"train": trainer.train_dataloader}
        val = trainer.val_dataloaders
        if val is not None:
            loaders["val"] = val[0] if isinstance(val, (list, tuple)) else val
        was_training = self.training
        self.eval()
        feats: dict[str, tuple[Tensor, Tensor]] = {}
        with torch.no_grad():
            for split, loader in loaders.items():
                xs, ys = [], []
                for batch in loader:
                    x, y = self._unpack(batch)
                    assert y is not None
                    xs.append(self.encode(x.to(self.device)).float().cpu())
                    ys.append(y.long().cpu())
                feats[split] = (torch.cat(xs), torch.cat(ys))
        self.train(was_training)
        x_tr, y_tr = feats["train"]
        mean, std = x_tr.mean(0), x_tr.std(0).clamp_min(1e-6)
        gen = torch.Generator().manual_seed(self.seed)
        lin = torch.nn.Linear(x_tr.shape[1], self.num_classes)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=gen) * 0.01)
            lin.bias.zero_()
        opt = torch.optim.LBFGS(lin.parameters(), max_iter=200, line_search_fn="strong_wolfe")
        z_tr = (x_tr - mean) / std

        def closure() -> Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(lin(z_tr), y_tr) + 1e-4 * lin.weight.pow(2).sum()
            loss.backward()  # type: ignore[no-untyped-call]
            return loss

        with torch.enable_grad():
            opt.step(closure)  # type: ignore[no-untyped-call]
        result = {}
        with torch.no_grad():
            for split, (x, y) in feats.items():
                acc = float((lin((x - mean) / std).argmax(1) == y).float().mean())
                result[split] = acc
                self.log(f"finetuning/linear_eval/{split}", acc)
        log.info("linear sanity check accuracies: %s", result)
        return result
