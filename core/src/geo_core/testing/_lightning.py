"""Conformance checks for the Lightning kinds: datamodules and tasks.

Use in a plugin's tests, one call per registered datamodule or task::

    from geo_core.testing import check_datamodule, check_task

    def test_my_datamodule():
        check_datamodule(geo_core.DATAMODULES.build("mine:MyDataModule", ...), target="mask")
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence, Sized
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

    Asserts, for every loader:

    * the batch is a mapping holding ``image``: a float ``(B, C, H, W)`` or ``(B, C, T, H, W)``
      tensor, a ``{modality: tensor}`` dict of those (multimodal), or a list of ``(C, H, W)``
      tensors (detection, images of different sizes); finite values; ``C == bands`` when given
      (the modalities' sum for a dict);
    * ``target`` (``mask``, ``label``, ``boxes``...) is in the training and evaluation batches
      when given; every per-sample entry (the target, ``mask``, ``filename``) holds one value
      per image, and a ``mask`` covers the image's pixels (same ``H, W``);
    * evaluation and prediction loaders keep a fixed order (no random sampler), and every
      dataset can be pickled (DataLoader workers started by spawn need that).

    A datamodule that implements ``scene_preprocessing()`` must return a
    :class:`~geo_core.data.ScenePreprocessing` (what ``geo predict`` reads scenes with) whose band
    count matches the batches, or refuse with a :class:`~geo_core.ConfigError` saying why.

    Returns:
        The first batch of each loader, by loader name.
    """
    from lightning.pytorch import LightningDataModule

    from geo_core._errors import ConfigError
    from geo_core.data import ScenePreprocessing

    assert isinstance(datamodule, LightningDataModule), f"{type(datamodule).__name__} is not a LightningDataModule"
    batches: dict[str, Any] = {}
    channels: set[int] = set()
    for stage in stages:
        assert stage in _LOADERS, f"unknown stage {stage!r}; expected one of {sorted(_LOADERS)}"
        datamodule.setup(stage)
        for loader_name in _LOADERS[stage]:
            loader = getattr(datamodule, loader_name)()
            loader = loader[0] if isinstance(loader, (list, tuple)) else loader
            where = f"{type(datamodule).__name__}.{loader_name}()"
            _check_loader(loader, where, ordered=loader_name != "train_dataloader")
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*does not have many workers.*")
                batch = next(iter(loader))
            assert isinstance(batch, Mapping), f"{where} yields {type(batch).__name__}, not a dict batch"
            n, hw, c = _check_image(batch.get("image"), where, bands)
            if c is not None:
                channels.add(c)
            if target is not None and loader_name != "predict_dataloader":
                assert target in batch, f"{where}: the batch has no {target!r} (keys: {sorted(batch)})"
            for key in {target, "mask", "filename"} - {None}:
                if key in batch:
                    _check_per_sample(batch[key], str(key), n, hw, where)
            batches[loader_name] = batch
    pre = getattr(datamodule, "scene_preprocessing", None)
    if callable(pre):
        try:
            scene = pre()
        except ConfigError:  # a datamodule may refuse scene prediction, saying why
            return batches
        assert isinstance(scene, ScenePreprocessing), "scene_preprocessing() must return a ScenePreprocessing"
        if scene.num_bands is not None and len(channels) == 1:
            assert scene.num_bands == next(iter(channels)), (
                f"scene_preprocessing() reads {scene.num_bands} bands but the batches have {next(iter(channels))}"
            )
    return batches


def _check_loader(loader: Any, where: str, *, ordered: bool) -> None:
    """Evaluation loaders keep their order; datasets survive pickling (workers under spawn)."""
    import pickle

    from torch.utils.data import RandomSampler

    if ordered:
        assert not isinstance(getattr(loader, "sampler", None), RandomSampler), (
            f"{where} shuffles; evaluation and prediction loaders must keep a fixed order"
        )
    dataset = getattr(loader, "dataset", None)
    if dataset is not None:
        try:
            pickle.dumps(dataset)
        except Exception as exc:
            raise AssertionError(
                f"{where}: its dataset cannot be pickled ({exc}); DataLoader workers started by spawn need that"
            ) from exc


def _check_image(image: Any, where: str, bands: int | None) -> tuple[int, tuple[int, ...] | None, int | None]:
    """Check a batch's ``image``; return its batch size, ``(H, W)`` (None when sizes vary) and channels."""
    import torch

    if isinstance(image, Mapping):  # multimodal: {modality: (B, C, H, W)}
        assert image, f"{where}: the image dict holds no modality"
        parts = {k: _check_image(v, f"{where}: image[{k!r}]", None) for k, v in image.items()}
        sizes = {k: p[0] for k, p in parts.items()}
        assert len(set(sizes.values())) == 1, f"{where}: the modalities hold different batch sizes {sizes}"
        total = sum(p[2] or 0 for p in parts.values())
        if bands is not None:
            assert total == bands, f"{where}: {total} bands over all modalities, expected {bands}"
        first = next(iter(parts.values()))
        return first[0], first[1], total
    if isinstance(image, (list, tuple)) and image:  # detection: one (C, H, W) tensor per image
        for i, one in enumerate(image):
            assert isinstance(one, torch.Tensor) and one.ndim == 3 and one.is_floating_point(), (
                f"{where}: image[{i}] must be a float (C, H, W) tensor"
            )
            assert bool(torch.isfinite(one).all()), f"{where}: image[{i}] holds NaN or Inf values"
            if bands is not None:
                assert one.shape[0] == bands, f"{where}: {one.shape[0]} bands, expected {bands}"
        return len(image), None, None
    assert isinstance(image, torch.Tensor), f"{where}: the batch has no 'image' tensor"
    assert image.ndim in (4, 5) and image.is_floating_point(), (
        f"{where}: image must be float (B, C, H, W) or (B, C, T, H, W), got {image.dtype} {tuple(image.shape)}"
    )
    assert bool(torch.isfinite(image).all()), f"{where}: image holds NaN or Inf values"
    if bands is not None:
        assert image.shape[1] == bands, f"{where}: {image.shape[1]} bands, expected {bands}"
    return int(image.shape[0]), tuple(image.shape[-2:]), int(image.shape[1])


def _check_per_sample(value: Any, key: str, n: int, hw: tuple[int, ...] | None, where: str) -> None:
    """A per-sample batch entry holds ``n`` values; a mask covers the image's pixels."""
    import torch

    if isinstance(value, torch.Tensor):
        count = value.shape[0] if value.ndim else None
    else:
        count = len(value) if isinstance(value, Sized) else None
    assert count == n, f"{where}: {key!r} holds {count} values for {n} images"
    if key == "mask" and isinstance(value, torch.Tensor) and hw is not None:
        assert tuple(value.shape[-2:]) == hw, (
            f"{where}: mask is {tuple(value.shape[-2:])} but the image is {hw}; they must cover the same pixels"
        )


def check_task(
    task: Any,
    datamodule: Any = None,
    *,
    bands: int = 6,
    size: int = 32,
    num_classes: int = 2,
    model_contract: bool = True,
) -> Any:
    """Fit, validate and predict one batch of ``task`` on CPU (Lightning ``fast_dev_run``).

    Without ``datamodule`` the task runs on :class:`~geo_core.testing.TinyGeoDataModule`
    (``bands`` x ``size`` x ``size`` images, ``num_classes`` classes). Asserts that the task is a
    LightningModule, that its model holds the :class:`~geo_core.Model` contract when it has one,
    that training moved the parameters, and that it declares the ``monitor`` its checkpoints watch.

    Args:
        task: The built task (tiny model).
        datamodule: Data to fit on (default: synthetic data for the task's ``task_kind``).
        bands: Bands of the synthetic images.
        size: Side of the synthetic images.
        num_classes: Classes of the synthetic targets.
        model_contract: Require ``task.model`` to be a :class:`~geo_core.Model`; set False for a
            task kind whose model has its own contract (object detection's takes image lists).

    Returns:
        The trainer after fitting.
    """
    import torch
    from lightning.pytorch import LightningModule, Trainer

    from geo_core._contracts import Model

    assert isinstance(task, LightningModule), f"{type(task).__name__} is not a LightningModule"
    model = getattr(task, "model", None)
    if model is not None and model_contract:
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
