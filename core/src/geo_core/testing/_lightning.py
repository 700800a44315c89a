"""Conformance checks for the Lightning kinds: datamodules and tasks.

Use in a plugin's tests, one call per registered datamodule or task::

    from geo_core.testing import check_datamodule, check_task

    def test_my_datamodule():
        check_datamodule(geo_core.DATAMODULES.build("mine:MyDataModule", ...), target="mask")
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["check_datamodule", "check_task"]

_LOADERS = {
    "fit": ("train_dataloader", "val_dataloader"),
    "validate": ("val_dataloader",),
    "test": ("test_dataloader",),
    "predict": ("predict_dataloader",),
}


def check_datamodule(
    datamodule: Any,
    stages: Sequence[str] = ("fit",),
    *,
    bands: int | None = None,
    target: str | None = None,
) -> dict[str, Any]:
    """Set up each stage and read one batch from each of its loaders.

    Asserts that every batch is a mapping holding ``image``, a float ``(B, C, H, W)`` or
    ``(B, C, T, H, W)`` tensor (``C == bands`` when given), and ``target`` for the training
    and evaluation loaders when given (``mask``, ``label``...). A datamodule that implements
    ``scene_preprocessing()`` must return a :class:`~geo_core.data.ScenePreprocessing` (what
    ``geo predict`` reads scenes with).

    Returns:
        The first batch of each loader, by loader name.
    """
    import torch
    from lightning.pytorch import LightningDataModule

    from geo_core.data import ScenePreprocessing

    assert isinstance(datamodule, LightningDataModule), f"{type(datamodule).__name__} is not a LightningDataModule"
    batches: dict[str, Any] = {}
    for stage in stages:
        assert stage in _LOADERS, f"unknown stage {stage!r}; expected one of {sorted(_LOADERS)}"
        datamodule.setup(stage)
        for loader_name in _LOADERS[stage]:
            loader = getattr(datamodule, loader_name)()
            loader = loader[0] if isinstance(loader, (list, tuple)) else loader
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*does not have many workers.*")
                batch = next(iter(loader))
            where = f"{type(datamodule).__name__}.{loader_name}()"
            assert isinstance(batch, Mapping), f"{where} yields {type(batch).__name__}, not a dict batch"
            image = batch.get("image")
            assert isinstance(image, torch.Tensor), f"{where}: the batch has no 'image' tensor"
            assert image.ndim in (4, 5) and image.is_floating_point(), (
                f"{where}: image must be float (B, C, H, W) or (B, C, T, H, W), got {image.dtype} {tuple(image.shape)}"
            )
            if bands is not None:
                assert image.shape[1] == bands, f"{where}: {image.shape[1]} bands, expected {bands}"
            if target is not None and loader_name != "predict_dataloader":
                assert target in batch, f"{where}: the batch has no {target!r} (keys: {sorted(batch)})"
            batches[loader_name] = batch
    pre = getattr(datamodule, "scene_preprocessing", None)
    if callable(pre):
        assert isinstance(pre(), ScenePreprocessing), "scene_preprocessing() must return a ScenePreprocessing"
    return batches


def check_task(task: Any, datamodule: Any = None, *, bands: int = 6, size: int = 32, num_classes: int = 2) -> Any:
    """Fit, validate and predict one batch of ``task`` on CPU (Lightning ``fast_dev_run``).

    Without ``datamodule`` the task runs on :class:`~geo_core.testing.TinyGeoDataModule`
    (``bands`` x ``size`` x ``size`` images, ``num_classes`` classes). Asserts that the task is a
    LightningModule, that its model holds the :class:`~geo_core.Model` contract when it has one,
    that training moved the parameters, and that it declares the ``monitor`` its checkpoints watch.

    Returns:
        The trainer after fitting.
    """
    import torch
    from lightning.pytorch import LightningModule, Trainer

    from geo_core._contracts import Model

    assert isinstance(task, LightningModule), f"{type(task).__name__} is not a LightningModule"
    model = getattr(task, "model", None)
    if model is not None:
        assert isinstance(model, Model), f"{type(task).__name__}.model is {type(model).__name__}, not a geo_core.Model"
    assert isinstance(getattr(task, "monitor", "val/loss"), str), "monitor must name a logged metric"
    if datamodule is None:
        from typing import cast, get_args

        from geo_core.testing._datamodules import TaskKind, TinyGeoDataModule

        kind = getattr(task, "task_kind", "") or "segmentation"
        kind = {"multilabel_classification": "multilabel"}.get(kind, kind)
        assert kind in get_args(TaskKind), f"no synthetic data for task_kind {kind!r}; pass a datamodule"
        datamodule = TinyGeoDataModule(task=cast(TaskKind, kind), bands=bands, size=size, num_classes=num_classes)
    before = [p.detach().clone() for p in task.parameters() if p.requires_grad]
    trainer = Trainer(
        fast_dev_run=1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        trainer.fit(task, datamodule=datamodule)
    after = [p.detach() for p in task.parameters() if p.requires_grad]
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True)), "one training step changed nothing"
    return trainer
