"""``SMPModelFactory``: whole segmentation_models.pytorch models behind geo's Model contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from geo_core import ConfigError, Model, ModelOutput
from torch import Tensor, nn

from geo_plugin_smp import _smp_compat as compat
from geo_plugin_smp._checkpoint import load_encoder_weights

__all__ = ["SMPModel", "SMPModelFactory"]

Task = Literal["segmentation", "regression"]
_ARCHS = {a.lower(): a for a in compat.ARCHITECTURES}


class SMPModel(Model):
    """An smp model split into ``encoder``, ``decoder`` and ``head`` (and an optional ``aux_head``).

    ``forward`` returns :class:`geo_core.ModelOutput`; the auxiliary classification head
    (smp's ``aux_params``) appears in ``auxiliary_heads`` under ``aux_head_name``. For
    ``task="regression"`` the single output channel is squeezed to ``(B, H, W)``.

    Attributes:
        arch: Architecture name (``Unet``, ``DPT``, ...).
        encoder: The smp encoder.
        decoder: The smp decoder.
        head: The segmentation head.
        aux_head: The classification head or None.
    """

    def __init__(
        self,
        arch: str,
        model: nn.Module,
        task: Task = "segmentation",
        aux_head_name: str = "classification",
    ) -> None:
        super().__init__()
        self.arch = arch
        self.task = task
        self.aux_head_name = aux_head_name
        self.encoder, self.decoder, self.head, self.aux_head = compat.model_parts(model)
        self.divisor = compat.model_divisor(model)

    def _check(self, x: Tensor) -> None:
        h, w = x.shape[-2:]
        d = self.divisor
        if h % d or w % d:
            up = (-(-h // d) * d, -(-w // d) * d)
            raise ValueError(
                f"smp {self.arch}: input height and width must be multiples of {d}, got {(h, w)}; "
                f"pad or crop the tiles (e.g. to {up})."
            )
        if self.arch in compat.BATCH_GT1_ARCHS and self.training and x.shape[0] == 1:
            raise ValueError(
                f"smp {self.arch} cannot train on a batch of one sample: its global-pooling branch feeds "
                "BatchNorm, which needs more than one value per channel. Use batch_size >= 2 (and drop_last=True "
                "so the last batch is not a single sample), or call .eval() for inference."
            )

    def forward(self, x: Tensor, **kwargs: Any) -> ModelOutput:
        """Run the model; extra batch keys (``kwargs``) are ignored by smp models."""
        self._check(x)
        decoded, deepest = compat.model_forward(self.arch, self.encoder, self.decoder, x)
        out = self.head(decoded)
        if self.task == "regression":
            out = out.squeeze(1)
        aux = {self.aux_head_name: self.aux_head(deepest)} if self.aux_head is not None else {}
        return ModelOutput(out, aux)


class SMPModelFactory:
    """Build whole smp models (``arch`` + ``encoder``) as :class:`SMPModel`.

    Example:
        >>> import geo_core
        >>> factory = geo_core.MODEL_FACTORIES.build("smp:SMPModelFactory")
        >>> model = factory.build_model("segmentation", arch="Unet", backbone="resnet18",
        ...                             in_channels=6, num_classes=3)
    """

    def build_model(
        self,
        task: str,
        arch: str = "Unet",
        backbone: str | None = None,
        num_classes: int | None = None,
        in_channels: int = 3,
        encoder_depth: int | None = None,
        backbone_ckpt_path: str | Path | None = None,
        aux_params: dict[str, Any] | None = None,
        aux_head_name: str = "classification",
        freeze_encoder: bool = False,
        freeze_decoder: bool = False,
        encoder: str | None = None,
        pretrained: bool | str | None = False,
        **kwargs: Any,
    ) -> SMPModel:
        """Build an smp model.

        Args:
            task: ``segmentation`` (``num_classes`` output channels) or ``regression`` (one channel,
                squeezed).
            arch: Any smp architecture, case-insensitive (``Unet``, ``UnetPlusPlus``, ``MAnet``, ``Linknet``,
                ``FPN``, ``PSPNet``, ``PAN``, ``DeepLabV3``, ``DeepLabV3Plus``, ``UPerNet``, ``Segformer``,
                ``DPT``).
            backbone: smp encoder name (``resnet34``, ``mit_b0``, ``tu-<timm model>``; a ``smp:`` prefix is
                allowed). DPT needs a ViT-style ``tu-`` encoder; ``dynamic_img_size=True`` is set for it.
            num_classes: Output classes (segmentation).
            in_channels: Input bands.
            encoder_depth: smp's ``encoder_depth`` (default: the architecture's).
            backbone_ckpt_path: Local weights for the encoder (instead of ``pretrained``).
            aux_params: smp's auxiliary classification head, e.g. ``{"classes": 4}``.
            aux_head_name: Key of that head in ``ModelOutput.auxiliary_heads``.
            freeze_encoder: Freeze the encoder (kept in eval mode).
            freeze_decoder: Freeze the decoder (kept in eval mode).
            encoder: Alias of ``backbone`` (smp's word).
            pretrained: ``True`` (imagenet) or an smp weights name (``encoder_weights`` is an alias): smp's
                released encoder weights, fetched and cached by ``geo_core.weights``.
            **kwargs: Further smp model arguments (``decoder_channels``, ``encoder_output_stride``, ...).

        Raises:
            ConfigError: Unknown task, architecture or weights name, missing encoder/classes.
        """
        if task not in ("segmentation", "regression"):
            raise ConfigError(
                f"SMPModelFactory builds pixel-wise models; task must be 'segmentation' or 'regression', got {task!r}. "
                "Use EncoderDecoderFactory with an smp backbone for classification.",
                key="task",
            )
        name = _ARCHS.get(str(arch).lower())
        if name is None:
            raise ConfigError(f"unknown smp architecture {arch!r}; expected one of {list(_ARCHS.values())}", key="arch")
        if backbone is not None and encoder is not None and backbone != encoder:
            raise ConfigError(f"pass the encoder once: backbone={backbone!r} and encoder={encoder!r}", key="backbone")
        enc = backbone or encoder
        if not enc:
            raise ConfigError(
                "SMPModelFactory needs backbone= (an smp encoder name such as 'resnet34')", key="backbone"
            )
        enc = enc.removeprefix("smp:")
        encoder_weights = kwargs.pop("encoder_weights", None)
        pretrained = pretrained or encoder_weights  # smp's word for the same thing
        weights = None
        if pretrained and backbone_ckpt_path is None:
            from geo_plugin_smp._weights import resolve_weights_name, timm_overlay

            weights = resolve_weights_name(enc, pretrained)
            if weights == "timm":  # tu-: timm loads its own released file (stem adapted by timm)
                kwargs["pretrained_cfg_overlay"] = timm_overlay(enc)
        if task == "regression":
            if num_classes not in (None, 1):
                raise ConfigError(f"regression predicts one channel, got num_classes={num_classes}", key="num_classes")
            classes = 1
        elif num_classes is None:
            raise ConfigError("segmentation needs num_classes", key="num_classes")
        else:
            classes = int(num_classes)
        if name == "DPT":
            if not enc.startswith("tu-"):
                raise ConfigError(
                    f"smp DPT works only on ViT-style timm encoders ('tu-vit_...'), got {enc!r}", key="backbone"
                )
            kwargs.setdefault("dynamic_img_size", True)
        if encoder_depth is not None:
            kwargs["encoder_depth"] = encoder_depth
        smp_weights = weights if weights != "timm" else None
        model = compat.create_model(
            name,
            encoder_name=enc,
            in_channels=3 if smp_weights else in_channels,
            classes=classes,
            aux_params=aux_params,
            timm_pretrained=weights == "timm",
            **kwargs,
        )
        if smp_weights:
            from geo_plugin_smp._weights import load_released_weights

            load_released_weights(compat.model_parts(model)[0], enc, smp_weights, in_channels)
        if backbone_ckpt_path is not None:
            load_encoder_weights(compat.model_parts(model)[0], backbone_ckpt_path, in_channels)
        wrapped = SMPModel(name, model, task=task, aux_head_name=aux_head_name)  # type: ignore[arg-type]
        if freeze_encoder:
            wrapped.freeze_encoder()
        if freeze_decoder:
            wrapped.freeze_decoder()
        return wrapped
