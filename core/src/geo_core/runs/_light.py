"""``geo predict`` without Lightning: the model from the factory, the weights and preprocessing from the checkpoint.

Building the Lightning task imports Lightning, which imports torchmetrics and torchvision: most
of ``geo predict``'s start-up. The tasks of :data:`LIGHT_TASKS` (segmentation, pixel-wise
regression, classification, multi-label classification, scalar regression) need none of it to
predict: their model comes from
``model_factory.build_model(task_kind, **model_args)`` and the task only converts the output.
Checkpoints written by ``geo train`` carry ``geo_predict`` (the task class, the run's ``data``
section and the datamodule's :class:`~geo_core.data.ScenePreprocessing`), so the datamodule need
not be built either while the config's ``data`` section is the one the model was trained with.

:func:`light_predictor` returns None whenever any of that does not hold (another task, a ready
``model``, a changed ``data`` section, an older checkpoint, weights that do not fit, ...);
:func:`geo_core.runs.predict` then builds the task as before, which also reports any error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from geo_core._contracts import ModelOutput
from geo_core.data import ScenePreprocessing, scene_preprocessing_of
from geo_core.tasks._convert import CONVERTERS

__all__ = ["LightPredictor", "light_predictor", "light_embedder", "declared_scene_preprocessing", "LIGHT_TASKS"]

log = logging.getLogger("geo_core.runs")

#: task classes predicted without Lightning -> their task kind
LIGHT_TASKS = {
    "geo_core.tasks._segmentation.SemanticSegmentationTask": "segmentation",
    "geo_core.tasks._regression.PixelwiseRegressionTask": "regression",
    "geo_core.tasks._classification.ClassificationTask": "classification",
    "geo_core.tasks._classification.MultiLabelClassificationTask": "multilabel_classification",
    "geo_core.tasks._regression.ScalarRegressionTask": "scalar_regression",
}


class LightPredictor(nn.Module):
    """What prediction uses of a task: ``forward``, ``convert``, ``task_kind`` and ``hparams["class_names"]``.

    Args:
        model: The model the task wraps (its ``model`` attribute), weights loaded.
        task_kind: A kind of :data:`LIGHT_TASKS` (``segmentation``, ``classification``, ...).
        class_names: The task's ``class_names`` (column names of image-level tables).
    """

    def __init__(self, model: nn.Module, task_kind: str, class_names: list[str] | None = None) -> None:
        super().__init__()
        self.model = model
        self.task_kind = task_kind
        self.hparams: dict[str, Any] = {"class_names": class_names}
        self._convert = CONVERTERS[task_kind]

    def forward(self, x: Tensor, **kwargs: Any) -> ModelOutput:
        """Run the model; a bare tensor output is wrapped into :class:`ModelOutput` (as the task does)."""
        out = self.model(x, **kwargs)
        return out if isinstance(out, ModelOutput) else ModelOutput(out)

    def convert(self, output: Tensor, kind: str) -> Tensor:
        """The task's conversion (class map, probabilities, logits or regression values)."""
        return self._convert(output, kind)


def _tail(class_path: Any) -> str:
    return str(class_path).rpartition(":")[2].rpartition(".")[2]


def _same_data(config_data: Any, trained: Any) -> bool:
    """The config's (unresolved) ``data`` section equals the trained (resolved) one, class names by their tail."""
    if config_data is None or trained is None:
        return config_data is None and trained is None
    if not (isinstance(config_data, Mapping) and isinstance(trained, Mapping)):
        return False
    cp, tp = config_data.get("class_path"), trained.get("class_path")
    if "." in str(cp) and ":" not in str(cp):
        if cp != tp:
            return False
    elif _tail(cp) != _tail(tp):
        return False
    rest = {k: v for k, v in config_data.items() if k != "class_path"}
    return rest == {k: v for k, v in trained.items() if k != "class_path"}


def light_predictor(config: Mapping[str, Any], ckpt: Path) -> tuple[LightPredictor, ScenePreprocessing] | None:
    """The predictor and preprocessing of a composed, unresolved run config, or None to build the task.

    Args:
        config: The run configuration as composed with ``resolve=False`` (registry names kept).
        ckpt: The checkpoint file to load.
    """
    model = config.get("model")
    if not isinstance(model, Mapping) or _tail(model.get("class_path")) not in {_tail(t) for t in LIGHT_TASKS}:
        return None
    args = dict(model.get("init_args") or {})
    factory, model_args = args.get("model_factory"), args.get("model_args")
    if not isinstance(factory, str) or not isinstance(model_args, Mapping) or args.get("model") is not None:
        return None
    try:
        state = torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # the task path reports what is wrong with the file
        return None
    record = state.get("geo_predict") if isinstance(state, dict) else None
    sd = state.get("state_dict") if isinstance(state, dict) else None
    if not isinstance(record, dict) or not isinstance(sd, dict):
        return None
    task_kind = LIGHT_TASKS.get(str(record.get("task")))
    if task_kind is None or _tail(record["task"]) != _tail(model["class_path"]):
        return None
    data = config.get("data")
    pre_fields = record.get("scene_preprocessing")
    if not _same_data(data, record.get("data")) or (data is not None and not isinstance(pre_fields, dict)):
        return None
    try:
        from geo_core import MODEL_FACTORIES

        kwargs = dict(model_args)
        if args.get("aux_heads"):
            kwargs["aux_decoders"] = args["aux_heads"]
        seed = config.get("seed_everything", 0)
        if seed is not False and seed is not None:
            torch.manual_seed(int(seed))
        net = MODEL_FACTORIES.build(factory).build_model(task_kind, **kwargs)
        net.load_state_dict({k[len("model.") :]: v for k, v in sd.items() if k.startswith("model.")}, strict=True)
        pre = ScenePreprocessing(**pre_fields) if isinstance(pre_fields, dict) else ScenePreprocessing()
    except Exception as exc:  # the task path raises the same problem as a ConfigError/CheckpointError
        log.debug("predicting through the Lightning task: %s", exc)
        return None
    if data is None:
        log.warning("no datamodule; predicting on every band without normalisation")
    return LightPredictor(net, task_kind, args.get("class_names")), pre


#: how a config may name the embedding task for the Lightning-free ``geo embed --input``
EMBEDDING_TASK_NAMES = frozenset(
    {
        "EmbeddingGenerationTask",
        "core:EmbeddingGenerationTask",
        "geo_core.tasks.EmbeddingGenerationTask",
        "geo_core.tasks._embedding.EmbeddingGenerationTask",
    }
)
_EMBED_ARGS = frozenset(
    {"backbone", "backbone_args", "layers", "pooling", "output_dir", "output_format", "skip_existing"}
)


def declared_scene_preprocessing(data: Any) -> ScenePreprocessing | None:
    """A ``data`` section's scene preprocessing without building the datamodule, or None.

    A datamodule's manifest table may name a function ``scene_preprocessing = "module:f"``,
    ``f(name, init_args) -> ScenePreprocessing``, returning what the built datamodule's
    ``scene_preprocessing()`` returns (and raising when it cannot tell). Datamodules named by a
    dotted path or without that declaration give None (the datamodule is built).

    Args:
        data: The ``data`` section as composed with ``resolve=False`` (registry names kept).
    """
    if not isinstance(data, Mapping) or set(data) - {"class_path", "init_args"}:
        return None
    name, init_args = data.get("class_path"), data.get("init_args") or {}
    if not isinstance(name, str) or ("." in name and ":" not in name) or not isinstance(init_args, Mapping):
        return None
    from geo_core import DATAMODULES
    from geo_core._registry import load_target

    try:
        info = DATAMODULES.info(name)
        target = info.metadata.get("scene_preprocessing")
        if not isinstance(target, str):
            return None
        pre = load_target(target)(info.name, dict(init_args))
    except Exception as exc:  # the datamodule, once built, reports the problem
        log.debug("building the datamodule for its scene preprocessing: %s", exc)
        return None
    return pre if isinstance(pre, ScenePreprocessing) else None


def light_embedder(config: Mapping[str, Any], ckpt: Path | None) -> tuple[Any, str, ScenePreprocessing] | None:
    """The :class:`~geo_core.embeddings._embedder.Embedder`, output folder and preprocessing of an embedding run.

    Applies to an ``EmbeddingGenerationTask`` whose backbone is a registry name and whose run has
    no ``data`` section or one whose datamodule declares its preprocessing function
    (:func:`declared_scene_preprocessing`); otherwise returns None. The weights come from
    ``ckpt`` (a checkpoint of the task, ``backbone.*`` keys) when given.

    Args:
        config: The run configuration as composed with ``resolve=False``.
        ckpt: The checkpoint file to load, or None for the backbone's own weights.
    """
    from geo_core.embeddings._embedder import DEFAULT_FORMAT, DEFAULT_OUTPUT_DIR, DEFAULT_POOLING, Embedder

    model = config.get("model")
    if not isinstance(model, Mapping) or model.get("class_path") not in EMBEDDING_TASK_NAMES:
        return None
    args = dict(model.get("init_args") or {})
    if not isinstance(args.get("backbone"), str) or set(args) - _EMBED_ARGS:
        return None
    data = config.get("data")
    pre = None if data is None else declared_scene_preprocessing(data)
    if data is not None and pre is None:
        return None
    try:
        sd = None
        if ckpt is not None:
            state = torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True)
            sd = state.get("state_dict", state) if isinstance(state, dict) else None
            if not isinstance(sd, dict):
                return None
        from geo_core import BACKBONES

        seed = config.get("seed_everything", 0)
        if seed is not False and seed is not None:
            torch.manual_seed(int(seed))
        backbone = BACKBONES.build(args["backbone"], **dict(args.get("backbone_args") or {}))
        fmt = args.get("output_format", DEFAULT_FORMAT)
        net = Embedder(backbone, args.get("layers"), args.get("pooling", DEFAULT_POOLING), fmt)
        if sd is not None:
            net.load_state_dict(sd, strict=True)
    except Exception as exc:  # the task path raises the same problem as a ConfigError/CheckpointError
        log.debug("embedding through the Lightning task: %s", exc)
        return None
    if pre is None:  # no data section: logs that every band is read without normalisation
        pre = scene_preprocessing_of(None)
    return net, str(args.get("output_dir", DEFAULT_OUTPUT_DIR)), pre
