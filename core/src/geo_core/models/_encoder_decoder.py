"""EncoderDecoderFactory: backbone + necks + decoder + head (+ auxiliary heads) from names or modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from torch import nn

from geo_core._errors import ConfigError, UnusedArgumentError
from geo_core.models._heads import ClassificationHead, RegressionHead, SegmentationHead
from geo_core.models._models import DecoderWithHead, PixelWiseModel, ScalarOutputModel
from geo_core.models._padding import PaddingMode
from geo_core.models._routing import PREFIXES, accepted_arguments, check_arguments, route_prefixed, suggest
from geo_core.models.necks._chain import build_necks

__all__ = ["EncoderDecoderFactory", "Task", "TASK_ALIASES"]

Task = Literal["segmentation", "regression", "classification", "scalar_regression"]
#: Accepted spellings of each task.
TASK_ALIASES: dict[str, Task] = {
    "segmentation": "segmentation",
    "semantic_segmentation": "segmentation",
    "regression": "regression",
    "pixelwise_regression": "regression",
    "pixel_regression": "regression",
    "classification": "classification",
    "multilabel_classification": "classification",
    "multilabel": "classification",
    "multi_label_classification": "classification",
    "scalar_regression": "scalar_regression",
}
_TEMPORAL_KEYS = ("use_temporal", "temporal_pooling", "n_timestamps")
_HEAD_KEYS = {
    "segmentation": ["channel_list", "dropout", "activation", "learned_upscale_layers"],
    "regression": ["channel_list", "dropout", "activation", "final_act", "learned_upscale_layers"],
    "classification": ["channel_list", "dim_list", "dropout", "activation", "linear_after_pool"],
}
_HEAD_KEYS["scalar_regression"] = _HEAD_KEYS["classification"]


def _normalize_task(task: str) -> Task:
    t = TASK_ALIASES.get(str(task).lower())
    if t is None:
        s = suggest(str(task), TASK_ALIASES)
        raise ConfigError(
            f"unknown task {task!r}; expected one of {sorted(set(TASK_ALIASES.values()))}"
            + (f" (did you mean {s!r}?)" if s else ""),
            key="task",
        )
    return t


def _builder(kind: str, spec: Any) -> tuple[Callable[..., Any], dict[str, Any]]:
    """Return (builder, registry metadata) for a registry name or a class/callable."""
    if isinstance(spec, str):
        from geo_core._registries import REGISTRIES

        reg = REGISTRIES[kind]
        meta = dict(reg.info(spec).metadata)
        return reg.get(spec), meta
    if callable(spec):
        return spec, {}
    raise TypeError(f"{kind} must be a registry name, an nn.Module or a class, got {type(spec).__name__}")


def _includes_head(builder: Any, meta: Mapping[str, Any]) -> bool:
    value = getattr(builder, "includes_head", None)
    if isinstance(value, bool):
        return value
    return bool(meta.get("includes_head", False))


class EncoderDecoderFactory:
    """Build a :class:`~geo_core.Model` from a backbone, necks, a decoder and a head.

    Example:
        >>> from geo_core.models import EncoderDecoderFactory
        >>> model = EncoderDecoderFactory().build_model(
        ...     "segmentation", backbone="tiny_cnn", decoder="UNetDecoder", num_classes=2, backbone_in_channels=3)
        >>> import torch
        >>> model(torch.zeros(1, 3, 40, 40)).output.shape
        torch.Size([1, 2, 40, 40])
    """

    def build_model(
        self,
        task: str,
        backbone: str | nn.Module | Callable[..., nn.Module],
        decoder: str | nn.Module | Callable[..., nn.Module],
        backbone_kwargs: Mapping[str, Any] | None = None,
        decoder_kwargs: Mapping[str, Any] | None = None,
        head_kwargs: Mapping[str, Any] | None = None,
        num_classes: int | None = None,
        necks: Sequence[Mapping[str, Any] | nn.Module] | None = None,
        aux_decoders: Sequence[Mapping[str, Any] | Any] | None = None,
        rescale: bool = True,
        peft_config: Mapping[str, Any] | None = None,
        padding: PaddingMode | bool | None = "reflect",
        **kwargs: Any,
    ) -> PixelWiseModel | ScalarOutputModel:
        """Build the model for ``task``.

        Args:
            task: ``segmentation``, ``regression``, ``classification`` or ``scalar_regression``.
            backbone: Registry name (``tiny_cnn``, ``timm:resnet18``), ready module or class.
            decoder: Registry name (``UNetDecoder``, ``smp:Unet``), ready module or class
                (built as ``decoder(channel_list, **decoder_kwargs)``).
            backbone_kwargs: Arguments of the backbone; also ``use_temporal``,
                ``temporal_pooling`` (mean|max|concat|diff) and ``n_timestamps``.
            decoder_kwargs: Arguments of the decoder.
            head_kwargs: ``dropout``, ``channel_list``, ``activation`` (and ``final_act``
                for regression, ``linear_after_pool`` for classification).
            num_classes: Classes (segmentation, classification) or outputs (regression; default 1).
            necks: ``[{"name": "SelectIndices", "indices": [...]}, ...]`` or modules.
            aux_decoders: ``[{"name", "decoder", "decoder_args"}]``; ``decoder_args`` holds
                ``decoder_*`` / ``head_*`` keys. Outputs land in ``ModelOutput.auxiliary_heads``.
            rescale: Interpolate pixel-wise outputs to the input size.
            peft_config: ``{"method": "LORA", "replace_qkv": ..., "peft_config_kwargs": {...}}``.
            padding: How inputs are padded to the backbone's patch size / stride:
                ``reflect`` (default), ``replicate``, ``constant``, or ``none``/``False``.
            **kwargs: Flat ``backbone_*``, ``decoder_*``, ``head_*`` arguments.

        Raises:
            UnusedArgumentError: An argument nobody consumes (named, with a did-you-mean).
            ConfigError: An impossible combination (unknown task, missing ``num_classes``...).
        """
        task = _normalize_task(task)
        parts, rest = route_prefixed(
            kwargs, {"backbone": backbone_kwargs, "decoder": decoder_kwargs, "head": head_kwargs}
        )
        if rest:
            raise UnusedArgumentError(
                list(rest), "EncoderDecoderFactory.build_model", {k: s for k in rest if (s := self._suggest_top(k))}
            )
        pad_mode: PaddingMode = (
            "none" if padding in (None, False, "none") else ("reflect" if padding is True else padding)  # type: ignore[assignment]
        )
        if pad_mode not in ("reflect", "replicate", "constant", "none"):
            raise ConfigError(f"padding must be reflect, replicate, constant or none, got {padding!r}", key="padding")
        pixel = task in ("segmentation", "regression")
        if task in ("segmentation", "classification") and not num_classes:
            raise ConfigError(f"task {task!r} needs num_classes", key="num_classes")
        n_out = int(num_classes or 1)

        encoder = self._build_backbone(backbone, parts["backbone"])
        if peft_config is not None:
            from geo_core.models._peft import apply_peft

            encoder = apply_peft(encoder, peft_config)
        widths = getattr(encoder, "out_channels", None)
        if not isinstance(widths, (list, tuple)) or not widths:
            raise ConfigError(
                f"the backbone {type(encoder).__name__} has no out_channels list; backbones must "
                "declare the width of each returned feature",
                key="backbone",
            )
        if pixel:
            necks = _with_token_reshape(necks, encoder)
        necks = _with_backbone_args(necks, encoder)
        chain, channels = build_necks(necks, [int(c) for c in widths])
        dec, head = self._decoder_and_head(task, decoder, channels, parts["decoder"], parts["head"], n_out, "")
        aux = {}
        for i, spec in enumerate(aux_decoders or []):
            name, aux_dec, aux_args = self._aux_spec(spec, i)
            aparts, arest = route_prefixed(aux_args, {})
            if arest or aparts["backbone"]:
                bad = list(arest) + ["backbone_" + k for k in aparts["backbone"]]
                raise UnusedArgumentError(bad, f"aux_decoders[{i}] ({name}) decoder_args")
            aux[name] = DecoderWithHead(
                *self._decoder_and_head(
                    task, aux_dec, channels, aparts["decoder"], aparts["head"], n_out, f"aux_decoders[{i}] "
                )
            )
        cls = PixelWiseModel if pixel else ScalarOutputModel
        extra: dict[str, Any] = {"rescale": rescale} if pixel else {}
        return cls(task, encoder, dec, head, chain, aux, padding=pad_mode, **extra)  # type: ignore[arg-type]

    def _suggest_top(self, key: str) -> str | None:
        """A top-level argument or, for a misspelt prefix (``backone_x``), the re-prefixed key."""
        head, sep, tail = key.partition("_")
        fixed = suggest(head, PREFIXES) if sep and tail else None
        if fixed:
            return f"{fixed}_{tail}"
        return suggest(key, [p for p in accepted_arguments(self.build_model)[0] if p != "kwargs"])

    @staticmethod
    def _build_backbone(spec: Any, kwargs: dict[str, Any]) -> nn.Module:
        temporal = {k: kwargs.pop(k) for k in _TEMPORAL_KEYS if k in kwargs}
        if isinstance(spec, nn.Module):
            if kwargs:
                raise UnusedArgumentError(["backbone_" + k for k in kwargs], "a ready backbone module")
            encoder = spec
        else:
            builder, _ = _builder("backbone", spec)
            check_arguments(builder, kwargs, prefix="backbone_", where=f"backbone {spec!r}", extra=_TEMPORAL_KEYS)
            try:
                encoder = builder(**kwargs)
            except UnusedArgumentError as exc:  # a plugin's own check: name the arguments as the config does
                if not exc.names or not set(exc.names) <= set(kwargs):
                    raise
                raise exc.prefixed("backbone_", f"backbone {spec!r}") from None
        if temporal.get("use_temporal"):
            from geo_core.models._temporal import TemporalWrapper

            encoder = TemporalWrapper(encoder, temporal.get("temporal_pooling", "mean"), temporal.get("n_timestamps"))
        elif set(temporal) - {"use_temporal"}:
            raise ConfigError(
                "backbone_temporal_pooling/backbone_n_timestamps need backbone_use_temporal=True",
                key="backbone_use_temporal",
            )
        return encoder

    @staticmethod
    def _aux_spec(spec: Any, i: int) -> tuple[str, Any, dict[str, Any]]:
        get = spec.get if isinstance(spec, Mapping) else lambda k, d=None: getattr(spec, k, d)
        name, decoder = get("name"), get("decoder")
        if not isinstance(name, str) or decoder is None:
            raise ConfigError(
                f"aux_decoders[{i}] needs 'name' and 'decoder' (and optional 'decoder_args')", key="aux_decoders"
            )
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"name", "decoder", "decoder_args"}
            if unknown:
                raise UnusedArgumentError(sorted(unknown), f"aux_decoders[{i}]")
        return name, decoder, dict(get("decoder_args") or {})

    @staticmethod
    def _decoder_and_head(
        task: Task, spec: Any, channels: list[int], dkw: dict[str, Any], hkw: dict[str, Any], n_out: int, where: str
    ) -> tuple[nn.Module, nn.Module | None]:
        if isinstance(spec, nn.Module):
            if dkw:
                raise UnusedArgumentError(["decoder_" + k for k in dkw], f"{where}a ready decoder module")
            dec, includes = spec, _includes_head(spec, {})
        else:
            builder, meta = _builder("decoder", spec)
            includes = _includes_head(builder, meta)
            if includes:
                dkw.setdefault("num_classes", n_out)
            check_arguments(builder, dkw, prefix="decoder_", where=f"{where}decoder {spec!r}", skip=1)
            dec = builder(channels, **dkw)
        if includes:
            if hkw:
                raise UnusedArgumentError(
                    ["head_" + k for k in hkw],
                    f"{where}decoder {spec!r}, which includes its head (head_* arguments have no effect)",
                )
            return dec, None
        keys = _HEAD_KEYS[task]
        unknown = [k for k in hkw if k not in keys]
        if unknown:
            raise UnusedArgumentError(
                ["head_" + k for k in unknown],
                f"{where}the {task} head",
                {"head_" + k: s for k in unknown if (s := suggest("head_" + k, ["head_" + n for n in keys]))},
            )
        c = getattr(dec, "out_channels", None)
        if not isinstance(c, int):
            raise ConfigError(f"decoder {type(dec).__name__} has no integer out_channels", key="decoder")
        if task == "segmentation":
            return dec, SegmentationHead(c, n_out, **hkw)
        if task == "regression":
            return dec, RegressionHead(c, n_out, **hkw)
        return dec, ClassificationHead(c, n_out, **hkw)


_TOKEN_NECKS = ("ReshapeTokensToImage", "AggregateTokens")


def _neck_name(spec: Any) -> str:
    name = spec.get("name") if isinstance(spec, Mapping) else type(spec).__name__
    return str(name).rpartition(":")[2]


def _with_token_reshape(necks: Any, encoder: nn.Module) -> Any:
    """Put ``ReshapeTokensToImage`` first when a token backbone feeds a pixel-wise decoder without one.

    Token backbones declare ``output_format = "tokens"`` and ``prefix_tokens`` (leading
    non-patch tokens); TerraTorch reshapes their tokens to images on its own, so configs
    written for it list no neck.
    """
    if getattr(encoder, "output_format", "image") != "tokens":
        return necks
    specs = list(necks or [])
    if any(_neck_name(n) in _TOKEN_NECKS for n in specs):
        return necks
    prefix = int(getattr(encoder, "prefix_tokens", 0) or 0)
    if prefix > 1:
        raise ConfigError(
            f"the backbone {type(encoder).__name__} returns tokens with {prefix} leading non-patch "
            "tokens; add a neck that turns them into images, e.g. necks: [{name: "
            "ReshapeTokensToImage, ...}] after dropping them",
            key="necks",
        )
    import logging

    logging.getLogger("geo_core.models").info(
        "backbone %s returns tokens: reshaping them to images (ReshapeTokensToImage) before the decoder",
        type(encoder).__name__,
    )
    return [{"name": "ReshapeTokensToImage", "remove_cls_token": bool(prefix)}, *specs]


def _with_backbone_args(necks: Any, encoder: Any) -> Any:
    """Fill the neck arguments a neck's manifest takes from the backbone (``from_backbone``) when left out.

    ``ReshapeTokensToImage`` declares ``from_backbone = ["effective_time_dim"]``: multi-frame token
    backbones (Prithvi with T > 1) say how many token frames they return, so configs need not repeat it.
    """
    from geo_core._errors import UnknownComponentError
    from geo_core._registries import NECKS

    if not necks:
        return necks
    out = []
    for n in necks:
        if isinstance(n, Mapping) and isinstance(n.get("name"), str):
            try:
                wanted = NECKS.info(n["name"]).metadata.get("from_backbone") or []
            except UnknownComponentError:  # reported with its did-you-mean when the neck is built
                wanted = []
            filled = {a: v for a in wanted if a not in n and _plain_int(v := getattr(encoder, a, None))}
            n = {**n, **filled} if filled else n
        out.append(n)
    return out


def _plain_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
