"""The base class that turns an mmsegmentation decode head into a geo decoder."""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

from geo_core import ConfigError, UnusedArgumentError, accepted_arguments, suggest
from torch import Tensor, nn
from torch.nn import functional as F

from geo_plugin_mmseg._env import compiled_mmcv_available
from geo_plugin_mmseg._mmcv_ops import CompiledOpsRequiredError

__all__ = ["MMSegDecoder", "BN", "head_defaults", "resize_to_coarsest"]

log = logging.getLogger("geo_plugin_mmseg")

#: The norm layer of mmseg's reference configs (which say SyncBN; same parameters and state dict).
BN: Mapping[str, Any] = {"type": "BN", "requires_grad": True}


def head_defaults(**values: Any) -> Mapping[str, Any]:
    """Return a read-only mapping of a head's defaults (copied into each build)."""
    return MappingProxyType(values)


# Training-only parts of an mmseg head: geo's task computes the loss and samples pixels.
_TRAINING_KEYS = ("loss_decode", "sampler")


class MMSegDecoder(nn.Module):
    """An mmsegmentation decode head as a geo decoder (base class of ``mmseg:<HeadName>``).

    ``includes_head`` is True: every mmseg head ends with its own classifier ``conv_seg``
    (dropout, then a 1x1 conv from ``channels`` to ``num_classes``), which official checkpoints
    contain, so the decoder outputs ``num_classes`` channels and the model factory adds no head.
    With ``num_classes=1`` it outputs one channel for pixel-wise regression. The output has
    the resolution of the head's finest input (for example 1/4 of the image for UPerHead on a
    ResNet); the model rescales it to the image size.

    ``in_channels``, ``in_index`` and ``input_transform`` of the mmseg head are derived from
    ``channel_list``; mmseg's training parts (``loss_decode``, ``sampler``) are not built, and
    ``SyncBN`` in a config becomes ``BN`` (use the trainer's ``sync_batchnorm`` for DDP).

    Args:
        channel_list: Widths of the feature maps the backbone (after necks) yields.
        num_classes: Output channels: classes, or 1 for pixel-wise regression.
        config: An mmseg head config dict, e.g. ``decode_head`` of an mmseg config file.
            ``type``, if present, must name this head; ``in_channels``/``in_index`` in it
            are checked against ``channel_list``.
        in_index: Feature maps to use, as indices into ``channel_list`` (negative from the end).
            Default: the last one for single-level heads, all for multi-level heads. A list
            for a single-level head concatenates the maps (mmseg's ``resize_concat``).
        checkpoint: An official mmseg checkpoint (or a saved state dict) to load into the head,
            see :func:`geo_plugin_mmseg.load_mmseg_checkpoint`.
        checkpoint_prefix: Key prefix of this head in the checkpoint: ``decode_head.`` or
            ``auxiliary_head.``.
        checkpoint_allow_pickle: Allow a checkpoint whose metadata needs unpickling (official
            ones keep numpy objects in ``meta``); only for files you trust.
        checkpoint_skip_mismatched: Skip weights whose shape differs (e.g. ``conv_seg`` when
            fine-tuning to another number of classes).
        **kwargs: The head's own mmseg arguments (``channels``, ``pool_scales``,
            ``dropout_ratio``, ``norm_cfg``, ...), as flat keyword arguments.

    Example:
        >>> import geo_core
        >>> head = geo_core.DECODERS.build("mmseg:UPerHead", [8, 16, 32, 64], num_classes=3, channels=16)
        >>> head.out_channels
        3
    """

    includes_head: ClassVar[bool] = True
    #: Name of the head in mmseg's MODELS registry.
    head_type: ClassVar[str] = ""
    #: Whether the head fuses several feature maps (default: all of them).
    multi_level: ClassVar[bool] = False
    #: Whether the mmseg head fixes ``input_transform`` itself.
    sets_input_transform: ClassVar[bool] = False
    #: Defaults applied below the config and the keyword arguments.
    defaults: ClassVar[Mapping[str, Any]] = head_defaults()
    #: Whether the mmseg head calls compiled ``mmcv.ops`` kernels.
    needs_compiled_mmcv: ClassVar[bool] = False

    def __init__(
        self,
        channel_list: Sequence[int],
        num_classes: int | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        in_index: int | Sequence[int] | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_prefix: str = "decode_head.",
        checkpoint_allow_pickle: bool = False,
        checkpoint_skip_mismatched: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if not self.head_type:
            raise TypeError("MMSegDecoder is a base class; build a head such as mmseg:UPerHead")
        if self.needs_compiled_mmcv and not compiled_mmcv_available():
            raise CompiledOpsRequiredError(f"mmseg:{self.head_type}")
        self.channel_list = [int(c) for c in channel_list]
        if not self.channel_list:
            raise ConfigError(f"mmseg:{self.head_type} needs at least one feature map; channel_list is empty")
        cfg = self._merge(config, kwargs)
        self.num_classes = self._num_classes(num_classes, cfg)
        if "in_index" in cfg:
            if in_index is not None and _listify(in_index) != _listify(cfg["in_index"]):
                raise ConfigError(f"in_index given twice: {in_index!r} and {cfg['in_index']!r} in config", "in_index")
            in_index = cfg.pop("in_index")
        given_in_channels = cfg.pop("in_channels", None)
        indices = self._indices(in_index)
        self.positions = self._configure(indices, cfg)
        if given_in_channels is not None and _listify(given_in_channels) != _listify(cfg["in_channels"]):
            raise ConfigError(
                f"mmseg:{self.head_type}: in_channels={given_in_channels!r} does not match the feature maps it "
                f"receives ({cfg['in_channels']!r} from channel_list {self.channel_list} at in_index {indices}); "
                "geo derives in_channels from the backbone, so leave it out",
                "in_channels",
            )
        self.mmseg_config = {"type": self.head_type, **cfg}
        self.head = self._build(cfg)
        self.out_channels = self.num_classes
        if checkpoint is not None:
            from geo_plugin_mmseg._checkpoint import load_mmseg_checkpoint

            load_mmseg_checkpoint(
                self,
                checkpoint,
                prefix=checkpoint_prefix,
                allow_pickle=checkpoint_allow_pickle,
                skip_mismatched=checkpoint_skip_mismatched,
            )

    # -- configuration -------------------------------------------------------
    def _merge(self, config: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        cfg = copy.deepcopy(dict(self.defaults))
        given = copy.deepcopy(dict(config or {}))
        kind = given.pop("type", None)
        if kind is not None and str(kind).rpartition(".")[2] != self.head_type:
            raise ConfigError(f"config type {kind!r} given to mmseg:{self.head_type}; use mmseg:{kind}", "type")
        for key, value in kwargs.items():
            if key in given and given[key] != value:
                raise ConfigError(f"{key!r} given twice: {value!r} and {given[key]!r} in config", key)
        cfg.update(given)
        cfg.update(copy.deepcopy(dict(kwargs)))
        for key in _TRAINING_KEYS:
            if cfg.pop(key, None) is not None:
                log.info("mmseg:%s ignores %r: geo's task computes the loss", self.head_type, key)
        _sync_bn_to_bn(cfg)
        return cfg

    def _num_classes(self, num_classes: int | None, cfg: dict[str, Any]) -> int:
        in_cfg = cfg.pop("num_classes", None)
        if num_classes is not None and in_cfg is not None and int(in_cfg) != int(num_classes):
            raise ConfigError(f"num_classes given twice: {num_classes} and {in_cfg} in config", "num_classes")
        n = num_classes if num_classes is not None else in_cfg
        if n is None or int(n) < 1:
            raise ConfigError(
                f"mmseg:{self.head_type} needs num_classes >= 1 (1 for regression), got {n!r}", "num_classes"
            )
        out = cfg.pop("out_channels", None)
        if out is not None and int(out) != int(n):
            raise ConfigError(
                f"out_channels={out} differs from num_classes={n}: geo decoders output num_classes channels "
                "(mmseg's one-logit binary mode is num_classes=1 here)",
                "out_channels",
            )
        cfg["out_channels"] = int(n)
        if int(n) == 1:
            cfg.setdefault("threshold", 0.3)  # mmseg's default, used only by its predict; set to avoid its warning
        return int(n)

    def _indices(self, in_index: int | Sequence[int] | None) -> list[int]:
        n = len(self.channel_list)
        if in_index is None:
            in_index = self._default_in_index(n)
        self._multi_index = isinstance(in_index, Sequence)
        out = []
        for i in _listify(in_index):
            if not -n <= int(i) < n:
                raise ConfigError(f"in_index {i} is out of range for {n} feature maps {self.channel_list}", "in_index")
            out.append(int(i) % n)
        return out

    def _default_in_index(self, n: int) -> int | list[int]:
        return list(range(n)) if self.multi_level else -1

    def _configure(self, indices: list[int], cfg: dict[str, Any]) -> list[int]:
        """Derive the head's input arguments in ``cfg``; return the positions forward feeds it."""
        widths = [self.channel_list[i] for i in indices]
        transform = cfg.pop("input_transform", None)
        if self.multi_level:
            cfg["in_channels"], cfg["in_index"] = widths, list(range(len(widths)))
            if self.sets_input_transform:
                if transform not in (None, "multiple_select"):
                    raise ConfigError(
                        f"mmseg:{self.head_type} always uses input_transform='multiple_select'", "input_transform"
                    )
            else:
                cfg["input_transform"] = transform or "multiple_select"
        elif self._multi_index:
            cfg["in_channels"], cfg["in_index"] = widths, list(range(len(widths)))
            cfg["input_transform"] = transform or "resize_concat"
        else:
            if transform is not None:
                raise ConfigError(f"input_transform={transform!r} needs a list in_index", "input_transform")
            cfg["in_channels"], cfg["in_index"] = widths[0], 0
        return indices

    def _build(self, cfg: dict[str, Any]) -> nn.Module:
        from geo_plugin_mmseg._mmseg import build_head, head_class, quiet_init_weights

        full = {"type": self.head_type, **cfg, "num_classes": self.num_classes, "loss_decode": []}  # []: no loss module
        try:
            head = build_head(full)
        except TypeError as exc:
            unknown = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
            if unknown is None:
                raise ConfigError(f"cannot build mmseg {self.head_type} with {_summary(cfg)}: {exc}") from exc
            name, accepted = unknown.group(1), self._accepted_arguments(head_class(self.head_type))
            close = suggest(name, accepted)
            raise UnusedArgumentError([name], f"mmseg:{self.head_type}", {name: close} if close else None) from exc
        except (AssertionError, ValueError, KeyError) as exc:
            detail = str(exc) or "an mmseg assertion failed (it carries no message)"
            raise ConfigError(
                f"cannot build mmseg {self.head_type} with {_summary(cfg)}: {type(exc).__name__}: {detail}"
            ) from exc
        quiet_init_weights(head)
        return head  # type: ignore[no-any-return]

    @staticmethod
    def _accepted_arguments(cls: type) -> list[str]:
        """Keyword arguments an mmseg head class takes, along its ``**kwargs`` chain."""
        names = ["checkpoint", "checkpoint_prefix", "checkpoint_allow_pickle", "checkpoint_skip_mismatched"]
        return list(dict.fromkeys([*names, *accepted_arguments(cls, follow_mro=True)[0]]))

    # -- forward ---------------------------------------------------------------
    def _gather(self, features: Sequence[Tensor]) -> list[Tensor]:
        if isinstance(features, Tensor) or not isinstance(features, Sequence):
            raise TypeError(f"mmseg:{self.head_type} takes a list of feature maps, got {type(features).__name__}")
        if len(features) < len(self.channel_list):
            raise ValueError(
                f"mmseg:{self.head_type} was built for {len(self.channel_list)} feature maps "
                f"{self.channel_list}, got {len(features)}"
            )
        picked = [features[i] for i in self.positions]
        for i, f in zip(self.positions, picked, strict=True):
            if f.dim() != 4:
                raise ValueError(
                    f"mmseg:{self.head_type} needs (B, C, H, W) feature maps; feature {i} has shape "
                    f"{tuple(f.shape)}. For a token backbone add the ReshapeTokensToImage neck"
                )
            if f.shape[1] != self.channel_list[i]:
                raise ValueError(f"feature {i} has {f.shape[1]} channels, channel_list says {self.channel_list[i]}")
        return picked

    def _prepare(self, features: list[Tensor]) -> list[Any]:
        """Adapt the selected maps to what the mmseg head expects (identity by default)."""
        return list(features)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """Run the head on the backbone's feature list; return ``(B, num_classes, h, w)`` logits."""
        out = self.head(self._prepare(self._gather(features)))
        if isinstance(out, (tuple, list)):  # DAHead (and EncHead with its SE loss) append auxiliary outputs
            out = out[0]
        return out  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"{self.head_type}, channel_list={self.channel_list}, positions={self.positions}"


def resize_to_coarsest(features: list[Tensor]) -> list[Tensor]:
    """Bilinearly resize maps to the smallest one's size (ViT heads expect one patch-grid size)."""
    size = min((tuple(f.shape[-2:]) for f in features), key=lambda s: s[0] * s[1])
    return [
        f if tuple(f.shape[-2:]) == size else F.interpolate(f, size=size, mode="bilinear", align_corners=False)
        for f in features
    ]


def _listify(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, Sequence) and not isinstance(value, str) else [int(value)]


def _sync_bn_to_bn(cfg: Any) -> None:
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key.endswith("norm_cfg") and isinstance(value, dict) and value.get("type") == "SyncBN":
                value["type"] = "BN"
            else:
                _sync_bn_to_bn(value)
    elif isinstance(cfg, list):
        for item in cfg:
            _sync_bn_to_bn(item)


def _summary(cfg: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in cfg.items() if k not in ("init_cfg",))
