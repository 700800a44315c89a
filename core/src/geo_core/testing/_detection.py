"""Conformance check for object-detection model factories (torchvision's detector convention).

Detection models do not return :class:`~geo_core.ModelOutput`: like torchvision's detectors they take a
list of images (and, when training, a list of targets) and return a loss dict in training mode and one
``{boxes, labels, scores}`` dict per image in eval mode. Use in a plugin's tests::

    from geo_core.testing import check_detection_model_factory

    def test_my_detector_factory():
        check_detection_model_factory("MyDetectionFactory", {"backbone": "tiny_cnn", "in_channels": 3})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["check_detection_model_factory"]


def check_detection_model_factory(
    factory: Any,
    build_kwargs: Mapping[str, Any] | None = None,
    *,
    task: str = "object_detection",
    in_channels: int = 3,
    image_size: int | Sequence[int] = (64, 64),
    num_classes: int = 2,
) -> nn.Module:
    """Build a detector with ``factory.build_model(task, **build_kwargs)``; train one step and detect.

    Asserts: a module with an ``encoder`` part; in training mode a dict of finite scalar losses whose sum
    gives the encoder gradients; ``freeze_encoder()`` (when present) keeps the encoder in eval mode and
    without gradients after ``train()``; in eval mode one dict per image with ``boxes`` ``(N, 4)``,
    ``labels`` ``(N,)`` and ``scores`` ``(N,)``.

    Args:
        factory: A factory instance, class or ``MODEL_FACTORIES`` name.
        build_kwargs: Everything else ``build_model`` needs (backbone, framework, ...).
        task: The task name the factory builds.
        in_channels: Bands of the random images.
        image_size: ``(H, W)`` of the random images.
        num_classes: Classes, passed unless ``build_kwargs`` has them (background excluded or not, as the
            factory defines; labels used here are ``1``).

    Returns:
        The built model.
    """
    from geo_core.testing._conformance import _size, resolve_factory

    factory = resolve_factory(factory)
    kwargs = {"num_classes": num_classes, "in_channels": in_channels, **dict(build_kwargs or {})}
    model = factory.build_model(task, **kwargs)
    assert isinstance(model, nn.Module), f"build_model returned {type(model).__name__}, not an nn.Module"
    encoder = getattr(model, "encoder", None)
    assert isinstance(encoder, nn.Module), "a detection model exposes its backbone as `.encoder`"
    h, w = _size(image_size)
    torch.manual_seed(0)
    images = [torch.rand(in_channels, h, w) for _ in range(2)]
    targets = [
        {"boxes": torch.tensor([[2.0, 2.0, w / 2, h / 2]]), "labels": torch.tensor([1])},
        {"boxes": torch.tensor([[w / 4, h / 4, w - 2.0, h - 2.0]]), "labels": torch.tensor([1])},
    ]
    model.train()
    losses = model(images, targets)
    assert isinstance(losses, Mapping) and losses, f"training mode must return a loss dict, got {type(losses)}"
    for name, value in losses.items():
        assert isinstance(value, torch.Tensor) and value.ndim == 0, f"loss {name!r} is not a scalar tensor"
        assert torch.isfinite(value), f"loss {name!r} is not finite: {value}"
    total = sum(losses.values())
    assert isinstance(total, torch.Tensor)
    total.backward()
    grads = [p.grad for p in encoder.parameters() if p.requires_grad]
    assert grads and any(g is not None and g.abs().sum() > 0 for g in grads), "no gradient reaches the encoder"
    model.zero_grad(set_to_none=True)
    if callable(getattr(model, "freeze_encoder", None)):
        model.freeze_encoder()
        model.train()
        assert not encoder.training, "freeze_encoder() must keep the encoder in eval mode after train()"
        assert not any(p.requires_grad for p in encoder.parameters()), "frozen encoder still requires grad"
    model.eval()
    with torch.no_grad():
        detections = model(images)
    assert isinstance(detections, list) and len(detections) == len(images), "eval mode: one result per image"
    for det in detections:
        n = det["boxes"].shape[0]
        assert det["boxes"].shape == (n, 4), f"boxes must be (N, 4), got {tuple(det['boxes'].shape)}"
        assert det["labels"].shape == (n,) and det["scores"].shape == (n,), "labels and scores must be (N,)"
    return model
