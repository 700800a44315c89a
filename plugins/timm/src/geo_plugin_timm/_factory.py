"""``TimmModelFactory``: whole timm classification models wrapped to the geo ``Model`` contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from geo_core import ConfigError, Model, ModelOutput
from torch import Tensor, nn

from geo_plugin_timm._backbone import timm_kwargs

__all__ = ["TimmModel", "TimmModelFactory"]

Task = Literal["classification", "multilabel_classification", "regression", "scalar_regression"]
_TASKS = ("classification", "multilabel_classification", "multilabel", "regression", "scalar_regression")


class TimmModel(Model):
    """A whole timm model: ``forward(x) -> ModelOutput(logits (B, num_classes))``.

    ``encoder`` is everything but the classifier, ``decoder`` the classifier
    (timm's ``pretrained_cfg['classifier']``), so ``freeze_encoder()`` leaves only
    the classifier trainable. For ``scalar_regression`` a single output is squeezed
    to ``(B,)``, as core's :class:`~geo_core.models.ScalarOutputModel` does.
    """

    def __init__(self, model: nn.Module, name: str = "", task: str = "classification") -> None:
        super().__init__()
        self.model = model
        self.name = name
        self.task = task
        path = str(getattr(model, "pretrained_cfg", {}).get("classifier") or "")
        self._classifier = path.split(".") if path else []

    def _split(self) -> tuple[list[nn.Module], list[nn.Module]]:
        encoder: list[nn.Module] = []
        parent: Any = self.model
        for i, part in enumerate(self._classifier):
            for child_name, child in parent.named_children():
                if child_name != part:
                    encoder.append(child)
            if i < len(self._classifier) - 1:
                parent = getattr(parent, part)
        if not self._classifier:
            return [self.model], []
        head = self.model.get_submodule(".".join(self._classifier))
        return encoder, [head]

    def encoder_modules(self) -> list[nn.Module]:
        """Every module except the classifier."""
        return self._split()[0]

    def decoder_modules(self) -> list[nn.Module]:
        """The classifier."""
        head = self._split()[1]
        if not head:
            raise NotImplementedError(f"timm model {self.name!r} declares no classifier to freeze")
        return head

    def forward(self, x: Tensor, **kwargs: Any) -> ModelOutput:
        """Classify ``x``; timm models take no extra inputs."""
        if kwargs:
            raise ConfigError(f"timm model {self.name!r} takes only the image; got extra inputs {sorted(kwargs)}")
        y: Tensor = self.model(x)
        if self.task == "scalar_regression" and y.ndim == 2 and y.shape[1] == 1:
            y = y.squeeze(1)
        return ModelOutput(y)


class TimmModelFactory:
    """Build whole timm models for scalar-output tasks.

    Example:
        >>> import geo_core, torch
        >>> f = geo_core.MODEL_FACTORIES.build("timm:TimmModelFactory")
        >>> m = f.build_model("classification", backbone="resnet18", num_classes=4, in_chans=6)
        >>> m(torch.zeros(2, 6, 64, 64)).output.shape
        torch.Size([2, 4])
    """

    def build_model(
        self,
        task: str,
        backbone: str,
        num_classes: int | None = None,
        in_chans: int = 3,
        pretrained: bool = False,
        ckpt_path: str | Path | None = None,
        **kwargs: Any,
    ) -> TimmModel:
        """Build ``backbone`` (a timm name, ``timm:`` prefix optional) for ``task``.

        Args:
            task: ``classification``, ``multilabel_classification``, ``regression``
                or ``scalar_regression``.
            backbone: timm model name.
            num_classes: Classes (outputs for regression, default 1).
            in_chans: Input channels (pretrained stem adapted, see ``geo_plugin_timm._backbone``).
            pretrained: Load timm's released weights (fetched and cached by ``geo_core.weights``).
            ckpt_path: Local timm checkpoint; a classifier of another size is dropped.
            **kwargs: ``timm.create_model`` arguments; a ``backbone_`` prefix is accepted
                (``backbone_drop_path_rate``) as in ``EncoderDecoderFactory`` configs.
        """
        import timm

        if task not in _TASKS:
            raise ConfigError(
                f"TimmModelFactory builds whole classifiers; task {task!r} is not one of {_TASKS} "
                "(use EncoderDecoderFactory with backbone='timm:...' for dense tasks)",
                key="task",
            )
        kw = {k.removeprefix("backbone_"): v for k, v in kwargs.items()}
        in_chans = kw.pop("in_chans", in_chans)
        pretrained = kw.pop("pretrained", pretrained)
        ckpt_path = kw.pop("ckpt_path", ckpt_path)
        name = backbone.removeprefix("timm:")
        if num_classes is None:
            if "regression" not in task:
                raise ConfigError(f"TimmModelFactory needs num_classes for task {task!r}", key="num_classes")
            num_classes = 1
        extra = timm_kwargs(
            name,
            pretrained=pretrained,
            ckpt_path=ckpt_path,
            features=False,
            img_size=kw.pop("img_size", None),
            dynamic_img_size=kw.pop("dynamic_img_size", None),
        )
        model = timm.create_model(name, num_classes=num_classes, in_chans=in_chans, **extra, **kw)
        return TimmModel(model, name, task)
