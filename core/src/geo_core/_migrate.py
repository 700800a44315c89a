"""Convert TerraTorch configs to geo configs (``geo migrate terratorch``).

Torch-free: it rewrites names and checks them against the registries' metadata.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MigrationReport", "migrate_terratorch", "TASK_NAMES"]

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
#: TerraTorch registry prefixes -> geo sources (TerraTorch joins them with '_').
_PREFIXES = {"timm": "timm", "smp": "smp", "mmseg": "mmseg", "torchgeo": "torchgeo", "terratorch": None}
_FACTORIES = {
    "EncoderDecoderFactory": "EncoderDecoderFactory",
    "FullModelFactory": "FullModelFactory",
    "SMPModelFactory": "smp:SMPModelFactory",
    "TimmModelFactory": "timm:TimmModelFactory",
    "PrithviModelFactory": "EncoderDecoderFactory",
}


@dataclass
class MigrationReport:
    """What the migration changed and what it could not map."""

    changes: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _component(name: str, kind: str, report: MigrationReport, where: str) -> str:
    """Map a TerraTorch component name to a geo name and check that it resolves."""
    from geo_core._errors import GeoError
    from geo_core._registries import REGISTRIES

    new = name
    head, sep, tail = name.partition("_")
    if sep and head in _PREFIXES and ":" not in name:
        src = _PREFIXES[head]
        if src is None:  # terratorch_<name>: a core or prithvi component
            new = f"prithvi:{tail}" if tail.startswith("prithvi") else tail
        else:
            new = f"{src}:{tail}"
    elif name.startswith("prithvi_") and ":" not in name:
        new = f"prithvi:{name}"
    if new != name:
        report.changes.append(f"{where}: {name} -> {new}")
    try:
        REGISTRIES[kind].resolve(new)
    except GeoError as exc:
        report.unmapped.append(f"{where}: {kind} {new!r} is not available here ({exc})")
    return new


def _class_path(value: str, known: tuple[str, ...] | None, report: MigrationReport, where: str) -> str:
    short = value.rsplit(".", 1)[-1]
    if value.startswith("terratorch."):
        if known is None or short in known:
            report.changes.append(f"{where}: {value} -> {short}")
            return short
        report.unmapped.append(f"{where}: {value} has no geo equivalent")
    return value


def _walk_strings(obj: Any, path: str, report: MigrationReport) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _walk_strings(v, f"{path}.{k}" if path else str(k), report)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _walk_strings(v, f"{path}[{i}]", report)
    elif isinstance(obj, str) and obj.startswith("terratorch."):
        msg = f"{path}: {obj} still refers to TerraTorch"
        if not any(m.startswith(f"{path}:") for m in report.unmapped):
            report.unmapped.append(msg)


def migrate_terratorch(config: dict[str, Any]) -> tuple[dict[str, Any], MigrationReport]:
    """Return a geo version of a TerraTorch (LightningCLI) config and a report.

    Example:
        >>> cfg = {"model": {"class_path": "terratorch.tasks.SemanticSegmentationTask",
        ...                  "init_args": {"model_factory": "EncoderDecoderFactory",
        ...                                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder"}}}}
        >>> new, report = migrate_terratorch(cfg)
        >>> new["model"]["class_path"]
        'SemanticSegmentationTask'
    """
    if not isinstance(config, dict):
        raise TypeError("a TerraTorch config is a mapping with model/data/trainer sections")
    cfg = copy.deepcopy(config)
    report = MigrationReport()
    model = cfg.get("model")
    if isinstance(model, dict):
        if isinstance(model.get("class_path"), str):
            model["class_path"] = _class_path(model["class_path"], TASK_NAMES, report, "model.class_path")
        init = model.get("init_args") or {}
        factory = init.get("model_factory")
        if isinstance(factory, str):
            short = factory.rsplit(".", 1)[-1]
            if short in _FACTORIES:
                if _FACTORIES[short] != factory:
                    report.changes.append(f"model.init_args.model_factory: {factory} -> {_FACTORIES[short]}")
                if short == "PrithviModelFactory":
                    report.notes.append(
                        "PrithviModelFactory is deprecated upstream; EncoderDecoderFactory builds the "
                        "same models (add necks SelectIndices + ReshapeTokensToImage for ViT backbones)"
                    )
                init["model_factory"] = _FACTORIES[short]
            else:
                report.unmapped.append(f"model.init_args.model_factory: {factory} has no geo equivalent")
        margs = init.get("model_args") or {}
        if isinstance(margs.get("backbone"), str):
            margs["backbone"] = _component(margs["backbone"], "backbone", report, "model_args.backbone")
        if isinstance(margs.get("decoder"), str):
            margs["decoder"] = _component(margs["decoder"], "decoder", report, "model_args.decoder")
        for i, neck in enumerate(margs.get("necks") or []):
            if isinstance(neck, dict) and isinstance(neck.get("name"), str):
                neck["name"] = _component(neck["name"], "neck", report, f"model_args.necks[{i}].name")
        for i, aux in enumerate(init.get("aux_heads") or margs.get("aux_decoders") or []):
            if isinstance(aux, dict) and isinstance(aux.get("decoder"), str):
                aux["decoder"] = _component(aux["decoder"], "decoder", report, f"aux[{i}].decoder")
        if isinstance(init.get("loss"), str) and init["loss"] not in (
            "ce",
            "focal",
            "dice",
            "jaccard",
            "lovasz",
            "mse",
            "mae",
            "rmse",
            "huber",
            "bce",
        ):
            init["loss"] = _component(init["loss"], "loss", report, "model.init_args.loss")
    data = cfg.get("data")
    if isinstance(data, dict) and isinstance(data.get("class_path"), str):
        data["class_path"] = _class_path(data["class_path"], None, report, "data.class_path")
        short = data["class_path"].rsplit(".", 1)[-1]
        if "." not in data["class_path"]:
            _component(short, "datamodule", report, "data.class_path")
    _walk_strings(cfg, "", report)
    return cfg, report
