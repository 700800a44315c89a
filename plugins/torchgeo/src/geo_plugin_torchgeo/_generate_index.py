"""Regenerate ``_index.json``: torchgeo's weight enums and non-geo datamodules.

Listing must not import torchgeo (``import torchgeo.models`` takes seconds), so
the plugin ships this index. Regenerate after upgrading torchgeo::

    python -m geo_plugin_torchgeo._generate_index
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["describe_weights", "generate", "main"]

INDEX_PATH = Path(__file__).with_name("_index.json")

#: torchgeo builder -> how geo builds it as a backbone.
FAMILIES: dict[str, str] = {
    "resnet18": "timm",
    "resnet50": "timm",
    "resnet152": "timm",
    "vit_small_patch16_224": "timm",
    "vit_base_patch16_224": "timm",
    "vit_large_patch16_224": "timm",
    "vit_huge_patch14_224": "timm",
    "vit_small_patch14_dinov2": "timm",
    "vit_base_patch14_dinov2": "timm",
    "swin_t": "torchvision_swin",
    "swin_s": "torchvision_swin",
    "swin_b": "torchvision_swin",
    "swin_v2_t": "torchvision_swin",
    "swin_v2_b": "torchvision_swin",
    "dofa_base_patch16_224": "dofa",
    "dofa_large_patch16_224": "dofa",
}

#: Whole-model weights geo exposes in MODELS (builder -> family).
WHOLE_MODELS: dict[str, str] = {"unet": "smp_unet"}

#: Weights geo does not expose as backbones, and why.
UNSUPPORTED: dict[str, str] = {
    "aurora_swin_unet": "whole weather-forecasting model (Aurora) on atmospheric variables, not an image "
    "backbone; needs the microsoft-aurora package",
    "earthloc": "whole image-retrieval model producing one descriptor per image, not a feature pyramid",
    "croma_base": "CROMA needs paired Sentinel-1 and Sentinel-2 inputs (two modalities), not one image tensor",
    "croma_large": "CROMA needs paired Sentinel-1 and Sentinel-2 inputs (two modalities), not one image tensor",
    "copernicusfm_base": "CopernicusFM needs per-band wavelengths, bandwidths, language embeddings and metadata inputs",
    "panopticon_vitb14": "Panopticon needs per-band channel ids / spectral response inputs",
    "scalemae_large_patch16": "Scale-MAE needs the ground sample distance of every input as an extra input",
}


def _transform_info(transforms: Any) -> dict[str, Any]:
    """Fold a torchgeo transform pipeline into one (mean, std) and an input size."""
    out: dict[str, Any] = {}
    steps = list(transforms) if hasattr(transforms, "__iter__") else [transforms]
    mean: list[float] | None = None
    std: list[float] | None = None
    for step in steps:
        kind = type(step).__name__
        if kind == "Normalize":
            m = [float(v) for v in step.mean]
            s = [float(v) for v in step.std]
            if mean is None or std is None:
                mean, std = m, s
            else:
                # (((x - m1) / s1) - m2) / s2 == (x - (m1 + m2 * s1)) / (s1 * s2)
                n = max(len(mean), len(m))
                mean1 = mean * n if len(mean) == 1 else mean
                std1 = std * n if len(std) == 1 else std
                m2 = m * n if len(m) == 1 else m
                s2 = s * n if len(s) == 1 else s
                mean = [a + b * c for a, b, c in zip(mean1, m2, std1, strict=True)]
                std = [a * b for a, b in zip(std1, s2, strict=True)]
        elif kind in ("CenterCrop", "Resize"):
            size = step.size
            size = [size, size] if isinstance(size, int) else list(size)
            out["input_size" if kind == "CenterCrop" or "input_size" not in out else "resize"] = size
    if mean is not None and std is not None:
        out["mean"], out["std"] = mean, std
    return out


def describe_weights(builder: str, weights: Any) -> dict[str, Any]:
    """Metadata of one weight enum member."""
    meta = dict(weights.meta)
    url = str(weights.url)
    entry: dict[str, Any] = {
        "builder": builder,
        "family": FAMILIES.get(builder, ""),
        "file": url.split("?")[0].rsplit("/", 1)[-1],
        "url": url,
    }
    for key in ("in_chans", "bands", "dataset", "ssl_method", "license", "img_size", "publication"):
        if key in meta:
            value = meta[key]
            entry[key] = list(value) if isinstance(value, tuple) else value
    if weights.transforms is not None:
        entry.update(_transform_info(weights.transforms))
    return entry


def generate() -> dict[str, Any]:
    """Describe the installed torchgeo's weights and non-geo datamodules."""
    import torchgeo
    import torchgeo.datamodules as dms
    from torchgeo.models import get_model_weights, list_models

    weights: dict[str, Any] = {}
    models: dict[str, Any] = {}
    unsupported: dict[str, str] = {}
    for builder in list_models():
        try:
            enum = get_model_weights(builder)
        except KeyError:
            continue  # an architecture without published weights
        for w in enum:
            name = f"{type(w).__name__}.{w.name}"
            if builder in WHOLE_MODELS:
                entry = describe_weights(builder, w)
                entry["family"] = WHOLE_MODELS[builder]
                for key in ("encoder", "num_classes", "classes"):
                    if key in w.meta:
                        value = w.meta[key]
                        entry[key] = list(value) if isinstance(value, tuple) else value
                models[name] = entry
                continue
            if builder in UNSUPPORTED or builder not in FAMILIES:
                unsupported[name] = UNSUPPORTED.get(builder, f"no geo adapter for torchgeo builder {builder!r}")
                continue
            weights[name] = describe_weights(builder, w)
    datamodules: dict[str, Any] = {}
    for cls_name in dms.__all__:
        cls = getattr(dms, cls_name)
        if not inspect.isclass(cls) or not issubclass(cls, dms.NonGeoDataModule) or cls is dms.NonGeoDataModule:
            continue
        if cls_name == "SpaceNetBaseDataModule":
            continue  # abstract base of the SpaceNet datamodules
        doc = (inspect.getdoc(cls) or "").splitlines()
        datamodules[cls_name] = {"target": f"{cls.__module__}:{cls_name}", "summary": doc[0] if doc else ""}
    return {
        "torchgeo_version": torchgeo.__version__,
        "weights": weights,
        "models": models,
        "unsupported": unsupported,
        "datamodules": datamodules,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: rewrite the shipped index."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=INDEX_PATH)
    args = parser.parse_args(argv)
    data = generate()
    tmp = args.output.with_name(args.output.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, args.output)
    print(
        f"wrote {args.output}: {len(data['weights'])} weights, {len(data['models'])} models, "
        f"{len(data['unsupported'])} unsupported, "
        f"{len(data['datamodules'])} datamodules",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
