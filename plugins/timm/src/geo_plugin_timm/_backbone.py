"""Build timm models as geo backbones (``features_only=True``).

* ``out_channels`` comes from timm's ``feature_info`` for the chosen ``out_indices``.
* Features are always ``(B, C, H, W)``: models whose features are channels-last
  under ``features_only`` (Swin, MambaOut, ...) are permuted. ViT-like models
  return their tokens already reshaped to ``(B, D, H/p, W/p)`` feature maps.
* Token models that support it get ``dynamic_img_size=True`` so any input size
  divisible by the patch size works; models with fixed windows (Swin, MaxViT, ...)
  take ``img_size`` instead.
* ``in_chans`` adaptation: a random-weight model is simply built with ``in_chans``
  input channels. When local weights are loaded, timm adapts the first
  convolution: with ``in_chans=1`` the RGB kernels are summed; otherwise the RGB
  kernels are repeated cyclically over the new channels and scaled by
  ``3 / in_chans`` so activations keep their magnitude.
* Weights: ``pretrained=True`` fetches timm's released file (its ``pretrained_cfg``:
  Hugging Face id or URL) through ``geo_core.weights`` (cached, verified, offline-capable);
  ``ckpt_path`` (``backbone_ckpt_path`` in a model config) loads a local file instead.
  Either way timm loads it through ``pretrained_cfg_overlay=dict(file=...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geo_core import CheckpointError, ConfigError
from geo_core.models import accepted_arguments, unexpected_argument_error
from torch import Tensor, nn

from geo_plugin_timm._index import load_index

__all__ = ["TimmBackbone", "build_backbone", "timm_kwargs"]


def _model_entry(name: str, features: bool = True) -> dict[str, Any]:
    data = load_index()
    entry = data["models"].get(name)
    if entry is not None:
        return dict(entry)
    reason = data["unsupported"].get(name)
    if reason and features:
        raise ConfigError(f"timm model {name!r} cannot be a backbone: features_only is unsupported ({reason})")
    return {}


def timm_kwargs(
    name: str,
    *,
    pretrained: bool = False,
    ckpt_path: str | Path | None = None,
    img_size: int | Sequence[int] | None = None,
    dynamic_img_size: bool | None = None,
    features: bool = True,
) -> dict[str, Any]:
    """Return the keyword arguments geo adds to ``timm.create_model`` for ``name``.

    ``features=False`` is for whole models (:class:`TimmModelFactory`), which need no
    ``features_only`` support.

    Raises:
        ConfigError: An image-size option the model does not accept.
        CheckpointError: ``ckpt_path`` does not exist, or ``pretrained=True`` for a model timm has no weights for.
        WeightsError: Fetching the released weights failed.
    """
    entry = _model_entry(name, features)
    kwargs: dict[str, Any] = {}
    if ckpt_path is not None:
        path = Path(ckpt_path).expanduser()
        if not path.is_file():
            raise CheckpointError(f"checkpoint for timm model {name!r} not found", path=path)
        kwargs["pretrained"] = True
        kwargs["pretrained_cfg_overlay"] = {"file": str(path), "source": ""}
    elif pretrained:
        from geo_plugin_timm._weights import fetch_timm_weights

        kwargs["pretrained"] = True
        kwargs["pretrained_cfg_overlay"] = {"file": str(fetch_timm_weights(name)), "source": ""}
    else:
        kwargs["pretrained"] = False
    if dynamic_img_size is None:
        dynamic_img_size = True if entry.get("dynamic_img_size") else None
    if dynamic_img_size is not None:
        if entry and not entry.get("dynamic_img_size"):
            raise ConfigError(
                f"timm model {name!r} does not accept dynamic_img_size; pass img_size instead", key="dynamic_img_size"
            )
        kwargs["dynamic_img_size"] = dynamic_img_size
    if img_size is not None:
        if entry and not entry.get("img_size"):
            raise ConfigError(
                f"timm model {name!r} does not accept img_size (it works on any input size its strides divide)",
                key="img_size",
            )
        kwargs["img_size"] = img_size if isinstance(img_size, int) else tuple(img_size)
    return kwargs


class TimmBackbone(nn.Module):
    """A timm ``features_only`` model returning NCHW feature maps.

    Attributes:
        model: The timm feature extractor.
        out_channels: Channels of each returned feature map.
        reduction: Stride of each feature map relative to the input.
    """

    def __init__(self, model: nn.Module, name: str = "") -> None:
        super().__init__()
        self.model = model
        self.name = name
        info: Any = model.feature_info
        self.out_channels: list[int] = [int(c) for c in info.channels()]
        self.reduction: list[int] = [int(r) for r in info.reduction()]
        fmt = getattr(model, "output_fmt", "NCHW")
        self.channels_last = str(getattr(fmt, "value", fmt)) == "NHWC"

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return one ``(B, C, H, W)`` tensor per selected feature level."""
        feats = self.model(x)
        if not isinstance(feats, (list, tuple)):
            feats = [feats]
        if self.channels_last:
            return [f.permute(0, 3, 1, 2).contiguous() for f in feats]
        return list(feats)


def build_backbone(
    name: str,
    *,
    pretrained: bool = False,
    ckpt_path: str | Path | None = None,
    in_chans: int = 3,
    out_indices: Sequence[int] | None = None,
    img_size: int | Sequence[int] | None = None,
    dynamic_img_size: bool | None = None,
    **kwargs: Any,
) -> TimmBackbone:
    """Build ``timm:<name>`` with ``features_only=True``.

    Args:
        name: A timm model name (``resnet50``, ``convnext_tiny``, ...).
        pretrained: Load timm's released weights (fetched and cached by ``geo_core.weights``).
        ckpt_path: Local timm checkpoint to load (implies pretrained).
        in_chans: Input channels (see the module docstring for weight adaptation).
        out_indices: Feature levels to return (timm's default when None).
        img_size: Input size for models with fixed windows/positional tables.
        dynamic_img_size: Defaults to True for models that support it.
        **kwargs: Passed to ``timm.create_model`` (``drop_path_rate``, ...).

    Example:
        >>> import geo_core, torch
        >>> bb = geo_core.BACKBONES.build("timm:resnet18", in_chans=6, out_indices=[2, 4])
        >>> [f.shape[1] for f in bb(torch.zeros(1, 6, 64, 64))] == bb.out_channels
        True
    """
    import timm

    extra = timm_kwargs(
        name, pretrained=pretrained, ckpt_path=ckpt_path, img_size=img_size, dynamic_img_size=dynamic_img_size
    )
    if out_indices is not None:
        kwargs["out_indices"] = tuple(out_indices)
    try:
        model = timm.create_model(name, features_only=True, in_chans=in_chans, **extra, **kwargs)
    except RuntimeError as exc:
        if ckpt_path is not None and "state_dict" in str(exc):
            raise CheckpointError(f"cannot load it into timm model {name!r}: {exc}", path=ckpt_path) from exc
        raise
    except TypeError as exc:  # timm's bare "unexpected keyword argument": name it with a did-you-mean
        err = unexpected_argument_error(exc, f"timm:{name}", accepted_arguments(build_backbone, skip=1)[0])
        if err is None:
            raise
        raise err from exc
    return TimmBackbone(model, name)
