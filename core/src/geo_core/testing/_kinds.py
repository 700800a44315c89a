"""Conformance checks for losses and prediction engines.

Use in a plugin's tests, one call per registered loss or engine::

    from geo_core.testing import check_engine, check_loss

    @pytest.mark.parametrize("name", ["mine:dice", "mine:focal"])
    def test_my_loss(name):
        check_loss(name, ignore_index=255)

    def test_my_engine():
        check_engine("myengine")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

__all__ = ["check_engine", "check_loss"]


def check_loss(
    loss: str | nn.Module,
    *,
    prediction: Tensor | None = None,
    target: Tensor | None = None,
    num_classes: int = 3,
    ignore_index: int | None = None,
    **build_kwargs: Any,
) -> Tensor:
    """Build ``loss``, evaluate it on ``(prediction, target)`` and backpropagate.

    Without inputs it uses segmentation logits ``(2, num_classes, 8, 8)`` and a class mask
    ``(2, 8, 8)`` (one pixel set to ``ignore_index`` when given). Asserts a module, a finite
    scalar value and a finite gradient on the prediction that is not all zero.

    Args:
        loss: ``LOSSES`` name (``"mine:dice"``) or a built loss module.
        prediction: The model output the loss takes (``requires_grad`` is switched on).
        target: The target it takes.
        num_classes: Classes of the default inputs.
        ignore_index: Passed to the builder and written into the default target.
        **build_kwargs: Further builder arguments.

    Returns:
        The loss value.
    """
    if isinstance(loss, str):
        from geo_core._registries import LOSSES

        kwargs = dict(build_kwargs)
        if ignore_index is not None:
            kwargs["ignore_index"] = ignore_index
        module = LOSSES.build(loss, **kwargs)
    else:
        module = loss
    label = loss if isinstance(loss, str) else type(loss).__name__
    assert isinstance(module, nn.Module), f"loss {label}: built a {type(module).__name__}, not an nn.Module"
    if prediction is None:
        prediction = torch.randn(2, num_classes, 8, 8)
    if target is None:
        target = torch.randint(0, num_classes, (2, 8, 8))
        if ignore_index is not None:
            target[0, 0, 0] = ignore_index
    pred = prediction.detach().clone().requires_grad_(True)
    value = module(pred, target)
    assert isinstance(value, Tensor) and value.ndim == 0, (
        f"loss {label}: must return a scalar tensor, got {getattr(value, 'shape', type(value).__name__)}"
    )
    assert torch.isfinite(value), f"loss {label}: value {float(value)} is not finite"
    value.backward()  # type: ignore[no-untyped-call]
    grad = pred.grad
    assert grad is not None, f"loss {label}: backward did not reach the prediction"
    assert torch.isfinite(grad).all(), f"loss {label}: the gradient is not finite"
    assert bool(grad.abs().sum() > 0), f"loss {label}: the gradient is all zero"
    return value.detach()


def _engine_factory(engine: str | Callable[..., Any]) -> tuple[str, Callable[..., Any]]:
    if not isinstance(engine, str):
        return getattr(engine, "__name__", type(engine).__name__), engine
    from geo_core.inference._engines import ENGINE_GROUP, _torch_engine, engine_names

    if engine == "torch":
        return engine, _torch_engine
    from importlib.metadata import entry_points

    eps = {ep.name: ep for ep in entry_points(group=ENGINE_GROUP)}
    assert engine in eps, f"no engine {engine!r} in entry-point group {ENGINE_GROUP} (have: {engine_names()})"
    return engine, eps[engine].load()


def _tiny_task(bands: int) -> Any:
    from geo_core.tasks._segmentation import SemanticSegmentationTask

    torch.manual_seed(0)
    return SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 3, "backbone_in_channels": bands},
    ).eval()


def check_engine(
    engine: str | Callable[..., Any],
    task: Any = None,
    *,
    kinds: Sequence[str] = ("probabilities", "logits"),
    bands: int = 6,
    crop: int = 32,
    batch_size: int = 2,
    atol: float = 1e-4,
) -> None:
    """Run a window batch through ``engine`` and compare it with the built-in ``torch`` engine.

    An engine is a factory ``(task, kind, options, sample_shape) -> runner`` (see
    :mod:`geo_core.inference`); the runner is a context manager and a callable
    ``batch (B, C, crop, crop) -> task.convert(logits, kind)``. Asserts, for each kind, a float
    tensor of the torch engine's shape whose values agree within ``atol``, also for a batch
    shorter than ``batch_size`` (the last windows of a scene).

    Args:
        engine: ``geo.engines`` entry-point name or the factory itself.
        task: The task to run (default: a tiny segmentation task, 3 classes).
        kinds: Output kinds to compare.
        bands: Bands of the random windows.
        crop: Window size.
        batch_size: Windows per batch.
        atol: Largest allowed difference from the torch engine.
    """
    from geo_core.inference import PredictOptions
    from geo_core.inference._engines import _torch_engine

    name, factory = _engine_factory(engine)
    task = task if task is not None else _tiny_task(bands)
    torch.manual_seed(1)
    batch = torch.rand(batch_size, bands, crop, crop)
    for kind in kinds:
        opts = PredictOptions(
            crop=crop, stride=crop, batch_size=batch_size, output_kind=cast(Any, kind), channels_last=False
        )
        with torch.no_grad(), _torch_engine(task, kind, opts, (bands, crop, crop)) as ref_run:
            ref = ref_run(batch)
        runner = factory(task, kind, opts, (bands, crop, crop))
        assert hasattr(runner, "__enter__") and callable(runner), (
            f"engine {name}: the factory must return a callable context manager, got {type(runner).__name__}"
        )
        with torch.no_grad(), runner as run:
            for part in (batch, batch[:1]):
                out = run(part)
                want = ref[: part.shape[0]]
                where = f"engine {name} ({kind}, batch {part.shape[0]})"
                assert isinstance(out, Tensor) and out.is_floating_point(), f"{where}: must return a float tensor"
                assert out.shape == want.shape, f"{where}: shape {tuple(out.shape)} != torch's {tuple(want.shape)}"
                diff = float((out.float() - want.float()).abs().max())
                assert diff <= atol, f"{where}: differs from the torch engine by {diff:.3g} > {atol}"
