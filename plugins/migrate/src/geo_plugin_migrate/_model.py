"""The ``model:`` section: task class, task arguments, model factories and their ``model_args``."""

from __future__ import annotations

from typing import Any

from geo_plugin_migrate._factories import migrate_factory
from geo_plugin_migrate._names import component
from geo_plugin_migrate._report import MigrationReport, accepted, closest, short_name

__all__ = ["migrate_model", "TASK_NAMES", "tiled_parameters"]

#: TerraTorch task classes geo provides under the same names.
TASK_NAMES = (
    "SemanticSegmentationTask",
    "PixelwiseRegressionTask",
    "ClassificationTask",
    "MultiLabelClassificationTask",
    "ScalarRegressionTask",
    "EmbeddingGenerationTask",
    "InferenceTask",
    "ReconstructionTask",
    "ObjectDetectionTask",
)
_TILED_KEYS = (
    "h_crop",
    "h_stride",
    "w_crop",
    "w_stride",
    "average_patches",
    "blend_overlaps",
    "delta",
    "batch_size",
    "verbose",
    "padding",
)


def migrate_model(model: Any, report: MigrationReport, predict: dict[str, Any]) -> Any:
    """Convert the task class and its ``init_args``; tiled-inference settings also land in ``predict``."""
    if isinstance(model, str):
        model = {"class_path": model}
    if not isinstance(model, dict) or not isinstance(model.get("class_path"), str):
        return model
    path = model["class_path"]
    name = short_name(path)
    if name not in TASK_NAMES:
        report.not_mapped(
            "model.class_path",
            f"task {path} has no geo equivalent",
            closest(name, TASK_NAMES) + " (or write the task as your own LightningModule)",
        )
        return model
    if name != path:
        report.change("model.class_path", path, name)
    model["class_path"] = name
    from geo_core import TASKS

    cls = TASKS.get(name)
    args = dict(model.get("init_args") or {})
    extra = {k: v for k, v in model.items() if k not in ("class_path", "init_args")}
    for k in extra:
        report.not_mapped(f"model.{k}", "not class_path/init_args", "move it under model.init_args")
    if name == "ReconstructionTask":
        model["init_args"] = _reconstruction(args, report)
    elif name == "EmbeddingGenerationTask":
        model["init_args"] = _embedding(args, report)
    else:
        model["init_args"] = _task(cls, args, report, predict)
    return {"class_path": name, "init_args": model["init_args"]}


def tiled_parameters(params: dict[str, Any], where: str, report: MigrationReport) -> dict[str, Any]:
    """TerraTorch's ``{h_crop, h_stride, w_crop, w_stride, ...}`` -> geo's ``{crop, stride, batch_size}``."""
    out: dict[str, Any] = {}
    for k in params:
        if k not in _TILED_KEYS and k not in ("crop", "stride"):
            report.not_mapped(f"{where}.{k}", "not a tiled-inference parameter", closest(k, _TILED_KEYS))
    crops = [params[k] for k in ("crop", "h_crop", "w_crop") if params.get(k) is not None]
    strides = [params[k] for k in ("stride", "h_stride", "w_stride") if params.get(k) is not None]
    if crops:
        out["crop"] = int(max(crops))
        if len(set(crops)) > 1:
            report.note(where, f"geo tiles with square windows: h_crop/w_crop {crops} -> crop {out['crop']}")
    if strides:
        out["stride"] = int(min(strides))
        if len(set(strides)) > 1:
            report.note(where, f"h_stride/w_stride {strides} -> stride {out['stride']} (the smaller keeps overlap)")
    if "crop" in out and "stride" in out and out["stride"] > out["crop"]:
        out["stride"] = out["crop"]
    if params.get("batch_size") is not None:
        out["batch_size"] = int(params["batch_size"])
    report.change(
        where, {k: params[k] for k in params if k in ("h_crop", "h_stride", "w_crop", "w_stride")} or params, out
    )
    for k in ("average_patches", "blend_overlaps"):
        if k in params:
            report.note(f"{where}.{k}", "geo always blends overlapping windows with linear ramps (averaging)")
    if "delta" in params:
        report.note(f"{where}.delta", "geo's blending ramps down window borders instead of cutting delta pixels")
    if "verbose" in params:
        report.note(f"{where}.verbose", "dropped (use `geo predict` without --no-progress for a progress bar)")
    if "padding" in params:
        report.note(f"{where}.padding", "geo pads scenes smaller than the window with zeros")
    return out


def _task(cls: Any, args: dict[str, Any], report: MigrationReport, predict: dict[str, Any]) -> dict[str, Any]:
    valid, var_kw = accepted(cls)
    out: dict[str, Any] = {}
    kind = getattr(cls, "task_kind", "") or "segmentation"
    factory = args.get("model_factory")
    if "model_args" in args or factory is not None:
        new_factory, margs = migrate_factory(
            factory, dict(args.get("model_args") or {}), kind, report, "model.init_args"
        )
        if new_factory is not None:
            out["model_factory"] = new_factory
        out["model_args"] = margs
    for key, value in args.items():
        where = f"model.init_args.{key}"
        if key in ("model_factory", "model_args"):
            continue
        if key == "output_most_probable":
            kinds = "prediction" if value else "probabilities"
            out["output_on_inference"] = kinds
            report.change(where, value, f"model.init_args.output_on_inference: {kinds}")
        elif key == "tiled_inference_parameters" and isinstance(value, dict):
            tiled = tiled_parameters(value, where, report)
            out[key] = tiled
            predict.update({k: v for k, v in tiled.items() if k in ("crop", "stride", "batch_size")})
            report.change(where, "tiled_inference_parameters", f"predict: {predict}")
        elif key == "plot_on_val" and isinstance(value, bool):
            out[key] = int(value)
            report.change(where, value, f"{int(value)} (every N validation epochs; 0 turns it off)")
        elif key == "loss":
            out[key] = _loss(value, where, report)
        elif key == "aux_heads" and isinstance(value, list):
            out[key] = [_aux_head(a, f"{where}[{i}]", kind, report) for i, a in enumerate(value)]
        elif key == "freeze_encoder" and "freeze_encoder" not in valid and "freeze_backbone" in valid:
            out["freeze_backbone"] = value
            report.change(where, key, "model.init_args.freeze_backbone")
        elif key in valid or var_kw:
            out[key] = value
        else:
            report.not_mapped(where, f"{cls.__name__} has no argument {key!r}", closest(key, valid))
    return out


def _loss(value: Any, where: str, report: MigrationReport) -> Any:
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, dict) else []
    for n in names:
        component(n, "loss", report, where)
    return value


def _aux_head(spec: Any, where: str, kind: str, report: MigrationReport) -> Any:
    if not isinstance(spec, dict):
        return spec
    from geo_plugin_migrate._factories import migrate_part_args

    out = dict(spec)
    if isinstance(spec.get("decoder"), str):
        out["decoder"] = component(spec["decoder"], "decoder", report, f"{where}.decoder")
    if isinstance(spec.get("decoder_args"), dict):
        out["decoder_args"] = migrate_part_args(
            spec["decoder_args"],
            None,
            out.get("decoder"),
            kind,
            report,
            f"{where}.decoder_args",
            parts=("decoder", "head"),
        )
    for k in spec:
        if k not in ("name", "decoder", "decoder_args"):
            report.not_mapped(
                f"{where}.{k}", "not an auxiliary-head key", closest(k, ("name", "decoder", "decoder_args"))
            )
            out.pop(k)
    return out


def _reconstruction(args: dict[str, Any], report: MigrationReport) -> dict[str, Any]:
    from geo_core import TASKS

    valid, _ = accepted(TASKS.get("ReconstructionTask"))
    out: dict[str, Any] = {}
    w = "model.init_args"
    factory = args.get("model_factory")
    margs = dict(args.get("model_args") or {})
    if factory is not None and short_name(str(factory)) != "FullModelFactory":
        report.not_mapped(
            f"{w}.model_factory",
            f"ReconstructionTask with {factory}",
            "geo reconstructs with whole MODELS entries (FullModelFactory's model_args.model)",
        )
    elif factory is not None:
        report.change(f"{w}.model_factory", factory, "model (the MODELS name from model_args.model)")
    if "model" in margs:
        out["model"] = component(str(margs.pop("model")), "model", report, f"{w}.model_args.model")
    elif "model" in args:
        out["model"] = args["model"]
    if margs:
        out["model_args"] = margs
    for key, value in args.items():
        where = f"{w}.{key}"
        if key in ("model_factory", "model_args", "model"):
            continue
        if key == "loss":
            if value in ("mse", "masked_mse"):
                report.note(where, "geo's ReconstructionTask trains with MSE on the masked patches")
            else:
                report.not_mapped(where, f"reconstruction loss {value!r}", "geo trains with masked MSE only")
        elif key == "masked_metric":
            if value:
                report.note(where, "geo computes the reconstruction loss on masked patches only")
            else:
                report.not_mapped(where, "metrics over all pixels", "geo reports masked MSE only")
        elif key == "plot_on_val":
            report.note(where, "dropped; set save_reconstructions: DIR for PNG quicklooks of validation")
        elif key in valid:
            out[key] = value
        else:
            report.not_mapped(where, f"ReconstructionTask has no argument {key!r}", closest(key, valid))
    return out


_POOLING = {
    None: "none",
    "mean": "mean",
    "vit_mean": "mean",
    "max": "max",
    "vit_max": "max",
    "cls": "cls",
    "vit_cls": "cls",
    "none": "none",
}


def _embedding(args: dict[str, Any], report: MigrationReport) -> dict[str, Any]:
    """EmbeddingGenerationTask: ``model``/``model_args`` -> ``backbone``/``backbone_args``, pooling names."""
    from geo_core import TASKS

    valid, _ = accepted(TASKS.get("EmbeddingGenerationTask"))
    w = "model.init_args"
    out: dict[str, Any] = {}
    for key, value in args.items():
        where = f"{w}.{key}"
        if key == "model" and isinstance(value, str):
            out["backbone"] = component(value, "backbone", report, where)
            report.change(where, "model", "backbone")
        elif key == "model_args":
            out["backbone_args"] = value
            report.change(where, key, "backbone_args")
        elif key == "embedding_pooling":
            if value in _POOLING:
                out["pooling"] = _POOLING[value]
                report.change(where, value, f"pooling: {_POOLING[value]}")
            else:
                report.not_mapped(where, f"pooling {value!r}", "geo pools with cls, mean, max or none")
        elif key == "has_cls":
            report.note(where, "dropped: geo reads the leading non-patch tokens from the backbone (prefix_tokens)")
        elif key == "embed_file_key":
            if value == "filename":
                report.note(where, "geo names embeddings after the input's filename")
            else:
                report.not_mapped(where, f"embedding ids from batch key {value!r}", "geo uses the filename")
        elif key in valid:
            out[key] = value
        else:
            report.not_mapped(where, f"EmbeddingGenerationTask has no argument {key!r}", closest(key, valid))
    if "embedding_pooling" not in args and "pooling" not in args:
        out["pooling"] = "none"  # TerraTorch's default keeps the token grid
        report.change(f"{w}.embedding_pooling", "(default: no pooling)", "pooling: none")
    return out
