"""Read the shipped torchgeo index (torch-free, torchgeo-free)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from geo_core.weights import WeightRef

__all__ = [
    "load_index",
    "weight_names",
    "weight_metadata",
    "model_names",
    "model_metadata",
    "datamodule_names",
    "datamodule_metadata",
    "weight_ref",
]

INDEX_PATH = Path(__file__).with_name("_index.json")
_HASH = re.compile(r"-([a-f0-9]{8,})\.")  # torchvision's convention: a sha256 prefix in the file name


@cache
def load_index() -> dict[str, Any]:
    """Return the parsed ``_index.json`` (cached)."""
    with open(INDEX_PATH, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def weight_names() -> list[str]:
    """Weight enum members usable as backbones (``ResNet50_Weights.SENTINEL2_ALL_MOCO``)."""
    return sorted(load_index()["weights"])


def weight_metadata(name: str) -> dict[str, Any]:
    """Metadata of one weight (bands, in_chans, file, mean/std, ...)."""
    data = load_index()
    entry = data["weights"].get(name)
    if entry is None:
        reason = data["unsupported"].get(name)
        return {"unsupported": reason} if reason else {}
    meta = dict(entry)
    meta["summary"] = (
        f"torchgeo {entry['builder']} weights"
        + (f" ({entry['ssl_method']})" if entry.get("ssl_method") else "")
        + (f" pretrained on {entry['dataset']}" if entry.get("dataset") else "")
    )
    meta["torchgeo_version"] = data["torchgeo_version"]
    meta["weights"] = _weights_table(entry)
    return meta


def weight_ref(entry: dict[str, Any]) -> WeightRef:
    """The weights enum's URL, with the sha256 prefix its file name carries (torchvision's convention)."""
    found = _HASH.search(str(entry["file"]))
    return WeightRef(url=str(entry["url"]), sha256=found.group(1) if found else None)


def _weights_table(entry: dict[str, Any]) -> dict[str, str]:
    """The ``weights`` table that ``geo info`` shows and geo_core.weights fetches."""
    return weight_ref(entry).to_mapping()


def model_names() -> list[str]:
    """Whole-model weights (``Unet_Weights.SENTINEL2_2CLASS_FTW``)."""
    return sorted(load_index()["models"])


def model_metadata(name: str) -> dict[str, Any]:
    """Metadata of one whole-model weight (encoder, classes, bands, file, ...)."""
    data = load_index()
    entry = data["models"].get(name)
    if entry is None:
        return {}
    meta = dict(entry)
    meta["summary"] = f"torchgeo U-Net ({entry.get('encoder')}) trained on {entry.get('dataset')}"
    meta["torchgeo_version"] = data["torchgeo_version"]
    meta["weights"] = _weights_table(entry)
    return meta


def datamodule_names() -> list[str]:
    """Non-geo datamodule class names (``EuroSATDataModule``)."""
    return sorted(load_index()["datamodules"])


def datamodule_metadata(name: str) -> dict[str, Any]:
    """Target and summary of one datamodule."""
    entry = load_index()["datamodules"].get(name)
    return dict(entry) if entry else {}
