"""The Python API behind ``geo train|validate|test|predict`` (the CLI calls exactly these).

Example:
    >>> from geo_core import runs  # doctest: +SKIP
    >>> trainer = runs.train("examples/segmentation_tiny.yaml", {"trainer.max_epochs": 1})  # doctest: +SKIP
    >>> runs.test("examples/segmentation_tiny.yaml", ckpt="best")  # doctest: +SKIP
    >>> runs.predict("examples/segmentation_tiny.yaml", ckpt="best", input="scene.tif",
    ...               output="pred.tif")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from geo_core.runs._config import RunConfig, build, check, compose, find_checkpoint, with_defaults

__all__ = ["load_config", "train", "validate", "test", "predict", "run_embedding"]

ConfigLike = str | Path | Mapping[str, Any] | Sequence[str | Path | Mapping[str, Any]] | RunConfig


def load_config(config: ConfigLike, overrides: Sequence[str] | Mapping[str, Any] | None = None) -> RunConfig:
    """Compose, check and complete a run configuration (nothing is built)."""
    run = config if isinstance(config, RunConfig) else compose(config, overrides)  # type: ignore[arg-type]
    check(run)
    return with_defaults(run)


def _trusting(run: RunConfig, trust_checkpoint: bool) -> RunConfig:
    """Let the run's :class:`AtomicCheckpointIO` unpickle checkpoints (``--trust-checkpoint``)."""
    if not trust_checkpoint:
        return run
    from geo_core.runs._config import nodes_of_class
    from geo_core.tasks._checkpoint_io import AtomicCheckpointIO

    ios = nodes_of_class(run.config["trainer"].get("plugins") or [], AtomicCheckpointIO)
    if not ios:
        from geo_core._errors import ConfigError

        raise ConfigError(
            "--trust-checkpoint works through geo's checkpoint IO; trainer.plugins replaces it: add "
            "{class_path: geo_core.tasks._checkpoint_io.AtomicCheckpointIO} to trainer.plugins",
            key="trainer.plugins",
        )
    for p in ios:
        p["init_args"] = {**(p.get("init_args") or {}), "trust_checkpoint": True}
    return run


def _need_data(run: RunConfig, command: str, hook: str) -> None:
    """A missing ``data:`` section is a config error unless the task brings its own dataloader ``hook``."""
    model = run.config.get("model")
    if run.config.get("data") is not None or not isinstance(model, dict) or "class_path" not in model:
        return
    from lightning.pytorch import LightningModule

    from geo_core._errors import ConfigError
    from geo_core.runs._config import _class_of

    _, cls = _class_of(model["class_path"], "model")
    if getattr(cls, hook, None) is getattr(LightningModule, hook):
        raise ConfigError(
            f"{command} needs data: add a data section (e.g. data: {{class_path: "
            "GenericNonGeoSegmentationDataModule, init_args: {...}})",
            key="data",
        )


def train(
    config: ConfigLike,
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    resume: str | None = None,
    trust_checkpoint: bool = False,
) -> Any:
    """Fit the configured task; ``resume`` is ``last`` or a checkpoint path. Returns the Trainer.

    ``trust_checkpoint`` lets the resumed checkpoint hold pickled objects (runs code from the file).
    """
    run = _trusting(load_config(config, overrides), trust_checkpoint)
    _need_data(run, "train", "train_dataloader")
    ckpt = str(find_checkpoint(run.config, resume)) if resume else run.config.get("ckpt_path")
    built = build(run)
    built.model.geo_data_config = copy.deepcopy(run.config.get("data"))  # for geo predict (runs/_light.py)
    with warnings.catch_warnings():
        # frozen parts (freeze_backbone, freeze_encoder) stay in eval mode on purpose
        warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode at the start of training")
        if ckpt:  # resuming into the run's own checkpoint folder is the point, not a mistake
            warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty")
        built.trainer.fit(built.model, datamodule=built.data, ckpt_path=ckpt)
    return built.trainer


def _evaluate(
    stage: str, config: ConfigLike, overrides: Any, ckpt: str | None, trust_checkpoint: bool
) -> list[dict[str, float]]:
    run = _trusting(load_config(config, overrides), trust_checkpoint)
    _need_data(run, stage, "val_dataloader" if stage == "validate" else "test_dataloader")
    which = ckpt or run.config.get("ckpt_path")
    path = str(find_checkpoint(run.config, which)) if which else None
    built = build(run)
    fn = built.trainer.validate if stage == "validate" else built.trainer.test
    return fn(built.model, datamodule=built.data, ckpt_path=path)  # type: ignore[no-any-return]


def validate(
    config: ConfigLike,
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    ckpt: str | None = None,
    trust_checkpoint: bool = False,
) -> list[dict[str, float]]:
    """Validate the task (weights from ``ckpt``: ``best``, ``last`` or a path)."""
    return _evaluate("validate", config, overrides, ckpt, trust_checkpoint)


def test(
    config: ConfigLike,
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    ckpt: str | None = None,
    trust_checkpoint: bool = False,
) -> list[dict[str, float]]:
    """Test the task on every test dataloader (weights from ``ckpt``)."""
    return _evaluate("test", config, overrides, ckpt, trust_checkpoint)


def predict(
    config: ConfigLike,
    *,
    ckpt: str | None,
    input: str | Path | list[str | Path],
    output: str | Path,
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
    trust_checkpoint: bool = False,
    progress: bool = False,
    max_failures: int | None = None,
    overwrite: bool = False,
    **options: Any,
) -> list[Path]:
    """Stream-predict scenes to GeoTIFFs with the configured task and the datamodule's preprocessing.

    Image-level tasks (classification, multi-label, scalar regression) write one CSV table
    instead, a row per input file (see :func:`geo_core.inference.predict_images`).

    ``options`` override the config's ``predict:`` section (``crop``, ``stride``, ``batch_size``,
    ``output_kind``, ``quicklook``, ``compress``, ``overviews``, ``channels_last``). ``trust_checkpoint`` allows
    pickled objects in ``ckpt``; ``progress`` shows a bar per scene on stderr. Several scenes are
    shared among torchrun/SLURM ranks with a ledger in the output folder; ``max_failures`` stops
    a rank once more scenes failed (see :func:`geo_core.inference.predict_paths`).
    An output that already exists is replaced only with ``overwrite`` (a rerun into a folder skips the
    scenes its ledger records as done); an output that is one of the inputs is always refused. Object
    detection tasks write one GeoJSON per image.
    """
    from geo_core.data import scene_preprocessing_of
    from geo_core.inference._images import IMAGE_KINDS, predict_images
    from geo_core.inference._options import PredictOptions
    from geo_core.inference._outputs import check_outputs, ledger_done, planned_outputs
    from geo_core.inference._scenes import list_all_scenes
    from geo_core.inference._stream import load_task_checkpoint, predict_paths

    light = None if isinstance(config, RunConfig) or trust_checkpoint else _light(config, overrides, ckpt)
    run = load_config(config, overrides) if light is None else light[0]
    section = dict(run.config.get("predict") or {})
    section.update({k: v for k, v in options.items() if v is not None})
    fields = {f.name for f in dataclasses.fields(PredictOptions)}
    unknown = [k for k in section if k not in fields]
    if unknown:
        from geo_core._errors import ConfigError

        raise ConfigError(f"unknown predict option {unknown[0]!r}; valid: {sorted(fields)}", key=unknown[0])
    opts = PredictOptions(**section)
    scenes = list_all_scenes(input)
    if light is None:
        built = build(run)
        model = built.model
    else:  # a task of runs._light.LIGHT_TASKS from a geo checkpoint: no Lightning, no datamodule
        model = light[1]
    task_kind = getattr(model, "task_kind", "")
    kind = "detection" if task_kind == "detection" else "image" if task_kind in IMAGE_KINDS else "pixel"
    ids = [sc.id for sc in scenes]
    targets = planned_outputs(ids, output, kind, quicklook=bool(opts.quicklook))
    local = [Path(sc.path) for sc in scenes if not sc.path.startswith("/vsi")]
    if kind == "pixel" and len(ids) > 1:  # several ranks: another rank's outputs appear while this one starts
        from geo_core.inference._ranks import my_share, rank_info

        check_outputs(local, targets, overwrite=True)  # outputs that are inputs: refused for every scene
        mine = set(my_share(ids, rank_info()))
        local, targets = [], [t for t in targets if t.name.rsplit("_pred", 1)[0] in mine]
    check_outputs(local, targets, overwrite, resumable=ledger_done(output, ids) if kind == "pixel" else ())
    if light is not None and kind == "image":
        return [predict_images(model, input, output, light[2], opts, progress=progress)]
    if light is not None:
        return predict_paths(model, input, output, light[2], opts, progress=progress, max_failures=max_failures)
    which = ckpt or run.config.get("ckpt_path")
    if which:
        load_task_checkpoint(model, find_checkpoint(run.config, which), trust_checkpoint)
    pre = scene_preprocessing_of(built.data)
    if kind == "detection":  # one GeoJSON of boxes per image
        return model.predict_files(input, output, pre, progress=progress)  # type: ignore[no-any-return]
    if kind == "image":  # one table row per file, not a raster per file
        return [predict_images(model, input, output, pre, opts, progress=progress)]
    return predict_paths(model, input, output, pre, opts, progress=progress, max_failures=max_failures)


def _light(config: ConfigLike, overrides: Any, ckpt: str | None) -> tuple[RunConfig, Any, Any] | None:
    """``(unresolved run, predictor, preprocessing)`` when predicting needs no Lightning task, else None."""
    from geo_core.runs._light import light_predictor

    run = compose(config, overrides, resolve=False)  # type: ignore[arg-type]
    which = ckpt or run.config.get("ckpt_path")
    if not which or not isinstance(which, str):
        return None
    try:
        path = find_checkpoint(run.config, which)
    except Exception:  # the task path reports it
        return None
    found = light_predictor(run.config, path)
    return None if found is None else (run, *found)


def _light_embed(config: ConfigLike, overrides: Any, ckpt: str | None) -> tuple[Any, str, Any] | None:
    """``(embedder, default output folder, preprocessing)`` when embedding needs no Lightning task, else None."""
    from geo_core.runs._light import light_embedder

    run = compose(config, overrides, resolve=False)  # type: ignore[arg-type]
    path = None
    if ckpt:
        try:
            path = find_checkpoint(run.config, ckpt)
        except Exception:  # the task path reports it
            return None
    return light_embedder(run.config, path)


def run_embedding(
    config: Any,
    overrides: Any = None,
    input: Any = None,
    output: str | Path | None = None,
    max_failures: int | None = None,
    ckpt: str | None = None,
) -> dict[str, int]:
    """Python API of ``geo embed``: returns ``{"written": n, "skipped": m}``.

    The config's ``model`` must be an ``EmbeddingGenerationTask``; predictions are
    streamed to disk (``return_predictions=False``), so memory stays bounded.
    With ``input`` (a file, folder, glob, text list or STAC document) the scenes are embedded
    instead of the datamodule's predict set, shared among torchrun/SLURM ranks with a ledger
    in ``output`` (default: the task's ``output_dir``); see :func:`geo_core.inference._embed_scenes.embed_scenes`.
    """
    extra = ["trainer.enable_checkpointing=false", "trainer.logger=false"]
    ov = [*extra, *(overrides or [])] if not isinstance(overrides, dict) else overrides
    light = None if input is None or isinstance(config, RunConfig) else _light_embed(config, ov, ckpt)
    if light is not None:  # a backbone by name, no datamodule built: no Lightning (runs/_light.py)
        from geo_core.inference._embed_scenes import embed_scenes

        embedder, default_dir, pre = light
        return embed_scenes(embedder, input, output or default_dir, pre, max_failures=max_failures)
    from geo_core._errors import ConfigError
    from geo_core.tasks._embedding import EmbeddingGenerationTask

    run = load_config(config, ov)
    built = build(run)
    if not isinstance(built.model, EmbeddingGenerationTask):
        raise ConfigError(
            f"geo embed needs model.class_path: EmbeddingGenerationTask, got "
            f"{type(built.model).__name__}; use geo predict for other tasks",
            key="model.class_path",
        )
    if input is not None:
        from geo_core.data import scene_preprocessing_of
        from geo_core.inference._embed_scenes import embed_scenes

        if ckpt:
            from geo_core.inference._stream import load_task_checkpoint

            load_task_checkpoint(built.model, find_checkpoint(run.config, ckpt))
        return embed_scenes(
            built.model,
            input,
            output or built.model.output_dir,
            scene_preprocessing_of(built.data),
            max_failures=max_failures,
        )
    built.trainer.predict(built.model, datamodule=built.data, return_predictions=False)
    return dict(built.model.counts)
