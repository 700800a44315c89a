"""Conformance checks a plugin's tests call on its components.

Each check builds tiny inputs, runs forward and backward on the CPU and
raises ``AssertionError`` with a message naming the broken contract. A plugin
author's test is usually one line::

    from geo_core.testing import check_backbone, check_decoder

    def test_my_backbone():
        import geo_core
        check_backbone(geo_core.BACKBONES.build("mine:tiny", in_chans=6), in_channels=6, image_size=(32, 32))

    def test_my_decoder():
        check_decoder("mine:MyDecoder", {"channels": 16}, image_size=(32, 32))

The contracts themselves are described in :mod:`geo_core._contracts`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["check_backbone", "check_decoder", "check_neck", "check_model_factory", "VIT_NECKS"]

#: The neck chain ``check_decoder`` puts between the tiny ViT and the decoder.
VIT_NECKS: tuple[dict[str, Any], ...] = (
    {"name": "SelectIndices", "indices": [0, 1, 2, 3]},
    {"name": "ReshapeTokensToImage", "remove_cls_token": True},
    {"name": "LearnedInterpolateToPyramidal"},
)


def _size(image_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(image_size, int):
        return image_size, image_size
    h, w = image_size
    return int(h), int(w)


def resolve_factory(factory: Any) -> Any:
    """A factory instance from an instance, a class or a ``MODEL_FACTORIES`` name."""
    if isinstance(factory, str):
        from geo_core._registries import MODEL_FACTORIES

        return MODEL_FACTORIES.build(factory)
    return factory() if isinstance(factory, type) else factory


def _backward(value: Tensor | Sequence[Tensor], module: nn.Module, what: str) -> None:
    tensors = [value] if isinstance(value, Tensor) else list(value)
    loss = sum(t.float().mean() for t in tensors)
    assert isinstance(loss, Tensor) and loss.requires_grad, f"{what}: output does not require grad"
    loss.backward()  # type: ignore[no-untyped-call]
    trainable = [p for p in module.parameters() if p.requires_grad]
    assert trainable, f"{what}: no trainable parameters"
    assert any(p.grad is not None for p in trainable), f"{what}: backward reached no parameter"


def check_backbone(
    backbone: nn.Module,
    in_channels: int | None = None,
    image_size: int | Sequence[int] = (64, 64),
    batch_size: int = 2,
    *,
    in_chans: int | None = None,
) -> list[Tensor]:
    """Check the backbone contract and return the features of a random input.

    Asserts: ``out_channels`` is a list of ints; ``forward`` returns a list of
    that length; each width matches (dim 1 of ``(B, C, H, W)`` maps, the last
    dim of ``(B, N, D)`` tokens); the batch size is kept; backward reaches the
    parameters.

    Args:
        backbone: The built backbone (random weights).
        in_channels: Bands of the random input.
        image_size: ``(H, W)`` of the random input (an int for square).
        batch_size: Batch of the random input.
        in_chans: timm's spelling of ``in_channels``.
    """
    if in_channels is None:
        in_channels = in_chans
    if in_channels is None:
        raise TypeError("check_backbone() needs in_channels")
    h, w = _size(image_size)
    name = type(backbone).__name__
    widths = getattr(backbone, "out_channels", None)
    assert isinstance(widths, (list, tuple)) and all(isinstance(c, int) for c in widths), (
        f"{name}.out_channels must be a list of ints, got {widths!r}"
    )
    backbone.train()
    feats = backbone(torch.randn(batch_size, in_channels, h, w))
    assert isinstance(feats, (list, tuple)) and all(isinstance(f, Tensor) for f in feats), (
        f"{name}.forward must return a list of tensors, got {type(feats).__name__}"
    )
    assert len(feats) == len(widths), f"{name} returned {len(feats)} features but out_channels has {len(widths)}"
    for i, (f, c) in enumerate(zip(feats, widths, strict=True)):
        assert f.shape[0] == batch_size, f"{name} feature {i}: batch {f.shape[0]} != {batch_size}"
        if f.dim() == 4:
            assert f.shape[1] == c, f"{name} feature {i}: (B, C, H, W) with C={f.shape[1]} but out_channels[{i}]={c}"
        elif f.dim() == 3:
            assert f.shape[-1] == c, f"{name} feature {i}: (B, N, D) with D={f.shape[-1]} but out_channels[{i}]={c}"
        else:
            raise AssertionError(f"{name} feature {i}: expected a 4-D map or 3-D tokens, got {tuple(f.shape)}")
    _backward(feats, backbone, name)
    return list(feats)


def _tiny_backbone(kind: str, in_channels: int) -> tuple[nn.Module, list[dict[str, Any]]]:
    from geo_core.testing._fakes import TinyCNNBackbone, TinyViTBackbone

    if kind == "cnn":
        return TinyCNNBackbone(in_channels=in_channels), []
    if kind == "vit":
        vit = TinyViTBackbone(in_channels=in_channels, patch_size=8, embed_dim=32, depth=4)
        return vit, [dict(n) for n in VIT_NECKS]
    raise ValueError(f"unknown tiny backbone {kind!r}; use 'cnn' or 'vit'")


def check_decoder(
    decoder: str | Callable[..., nn.Module],
    decoder_kwargs: Mapping[str, Any] | None = None,
    *,
    backbones: Sequence[str] = ("cnn", "vit"),
    num_classes: int = 3,
    image_size: int | Sequence[int] = (64, 48),
    batch_size: int = 2,
    task: str = "segmentation",
    in_channels: int = 6,
) -> None:
    """Build ``decoder`` through :class:`~geo_core.models.EncoderDecoderFactory` and train one step.

    For each of ``backbones``: ``"cnn"`` is :class:`~geo_core.testing.TinyCNNBackbone`
    (maps at strides 2, 4, 8, 16); ``"vit"`` is :class:`~geo_core.testing.TinyViTBackbone`
    (patch 8) behind :data:`VIT_NECKS` (SelectIndices → ReshapeTokensToImage →
    LearnedInterpolateToPyramidal). The default input is not square, so token
    necks must use the real image size. Asserts the output shape —
    ``(B, num_classes, H, W)`` for segmentation, ``(B, H, W)`` for regression —
    and that backward reaches the decoder.

    Args:
        decoder: Registry name (``"mine:MyDecoder"``) or decoder class.
        decoder_kwargs: Extra decoder arguments (keep widths small).
        backbones: Which tiny backbones to use.
        num_classes: Classes for segmentation.
        image_size: ``(H, W)``; sides should be multiples of 16 (padding covers the rest).
        batch_size: Batch size.
        task: ``segmentation`` or ``regression``.
        in_channels: Bands of the random input.
    """
    from geo_core.models._encoder_decoder import EncoderDecoderFactory

    h, w = _size(image_size)
    label = decoder if isinstance(decoder, str) else getattr(decoder, "__name__", repr(decoder))
    for kind in backbones:
        backbone, necks = _tiny_backbone(kind, in_channels)
        model = EncoderDecoderFactory().build_model(
            task,
            backbone=backbone,
            decoder=decoder,
            decoder_kwargs=dict(decoder_kwargs or {}),
            num_classes=num_classes if task == "segmentation" else None,
            necks=necks,
        )
        model.train()
        out = model(torch.randn(batch_size, in_channels, h, w)).output
        expected = (batch_size, num_classes, h, w) if task == "segmentation" else (batch_size, h, w)
        assert tuple(out.shape) == expected, (
            f"decoder {label} over tiny {kind}: output {tuple(out.shape)} != {expected}"
        )
        _backward(out, model, f"decoder {label} over tiny {kind}")
        params = [p for p in model.decoder.parameters() if p.requires_grad]
        assert not params or any(p.grad is not None for p in params), (
            f"decoder {label} over tiny {kind}: backward reached no decoder parameter"
        )
        oc = getattr(model.decoder, "out_channels", None)
        assert isinstance(oc, int), f"decoder {label}: out_channels must be an int, got {oc!r}"


def check_neck(
    neck: nn.Module, channel_list: Sequence[int], features: Sequence[Tensor], image_size: tuple[int, int] | None = None
) -> list[Tensor]:
    """Run ``neck`` on ``features`` and check ``process_channel_list`` equals the real widths.

    Args:
        neck: The built neck.
        channel_list: Widths of ``features``.
        features: Example input features.
        image_size: The input image size, for token necks.

    Returns:
        The neck's output.
    """
    expected = list(neck.process_channel_list(list(channel_list)))  # type: ignore[operator]
    out = neck(list(features), image_size=image_size)
    assert isinstance(out, list) and all(isinstance(o, Tensor) for o in out), (
        f"{type(neck).__name__} must return a list of tensors"
    )
    real = [o.shape[1] if o.dim() in (2, 4) else o.shape[-1] for o in out]
    assert real == expected, f"{type(neck).__name__}: process_channel_list says {expected}, tensors have {real}"
    return out


def check_model_factory(
    factory: Any,
    task: str = "segmentation",
    build_kwargs: Mapping[str, Any] | None = None,
    *,
    in_channels: int = 6,
    image_size: int | Sequence[int] = (64, 64),
    num_classes: int = 2,
    batch_size: int = 2,
) -> Any:
    """Build a model with ``factory.build_model(task, **build_kwargs)``, run forward and backward.

    ``num_classes`` is passed for segmentation and classification unless
    ``build_kwargs`` has it. Asserts a :class:`~geo_core.Model` returning
    :class:`~geo_core.ModelOutput` of shape ``(B, num_classes, H, W)``
    (segmentation), ``(B, H, W)`` (regression), ``(B, num_classes)``
    (classification) or ``(B,)`` (scalar_regression), and that ``freeze_encoder``
    leaves the encoder in eval mode after ``train()``.

    Args:
        factory: A factory instance, class or ``MODEL_FACTORIES`` name.
        task: The task to build.
        build_kwargs: Everything else ``build_model`` needs (backbone, decoder, ...).
        in_channels: Bands of the random input.
        image_size: ``(H, W)`` of the random input.
        num_classes: Classes.
        batch_size: Batch size.

    Returns:
        The built model.
    """
    from geo_core._contracts import Model, ModelOutput

    factory = resolve_factory(factory)
    kwargs = dict(build_kwargs or {})
    if task in ("segmentation", "classification"):
        kwargs.setdefault("num_classes", num_classes)
    model = factory.build_model(task, **kwargs)
    assert isinstance(model, Model), f"build_model returned {type(model).__name__}, not a geo_core.Model"
    h, w = _size(image_size)
    model.train()
    out = model(torch.randn(batch_size, in_channels, h, w))
    assert isinstance(out, ModelOutput), f"forward returned {type(out).__name__}, not ModelOutput"
    n = kwargs.get("num_classes", num_classes)
    expected = {
        "segmentation": (batch_size, n, h, w),
        "regression": (batch_size, h, w),
        "classification": (batch_size, n),
        "scalar_regression": (batch_size,),
    }.get(task)
    if expected is not None:
        assert tuple(out.output.shape) == expected, f"{task}: output {tuple(out.output.shape)} != {expected}"
    _backward(out.output, model, f"{type(factory).__name__} {task}")
    try:
        model.freeze_encoder()
    except NotImplementedError:
        return model
    model.train()
    for m in model.encoder_modules():
        assert not m.training, "freeze_encoder(): the encoder must stay in eval mode after train()"
        assert not any(p.requires_grad for p in m.parameters()), "freeze_encoder() left trainable parameters"
    return model
