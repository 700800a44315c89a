"""The shipped catalogue of smp encoders, read without importing smp or torch.

``_encoder_index.json`` is generated from smp's encoder table by
``python -m geo_plugin_smp._index`` (see :func:`write_index`) and compared with the
installed smp by the tests and ``geo plugins doctor``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["INDEX_FILE", "load_index", "encoder_names", "encoder_metadata", "accepts_encoder", "write_index"]

INDEX_FILE = "_encoder_index.json"
_TIMM_PREFIX = "tu-"


@functools.cache
def load_index() -> dict[str, Any]:
    """Return the parsed index: ``{"smp_version": str, "encoders": {name: metadata}}``."""
    text = resources.files("geo_plugin_smp").joinpath(INDEX_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def encoder_names() -> list[str]:
    """Names of every smp encoder in the index (``tu-`` encoders are open-ended and not listed)."""
    return sorted(load_index()["encoders"])


def encoder_metadata(name: str) -> dict[str, Any]:
    """Metadata of encoder ``name`` for ``geo info`` (stage channels and strides at depth 5)."""
    if name.startswith(_TIMM_PREFIX):
        return {
            "summary": f"timm model {name[len(_TIMM_PREFIX) :]!r} through smp's TimmUniversalEncoder "
            "(random init; load weights with ckpt_path). Browse timm models with `geo list backbones --source timm`.",
            "open_ended": True,
        }
    meta = load_index()["encoders"].get(name)
    if meta is None:
        return {}
    out = dict(meta)
    out["pretrained_tags"] = out.pop("weights", [])
    out["summary"] = f"smp encoder {name} ({out.get('family', '')})"
    if out["pretrained_tags"]:
        out["weights_resolver"] = "geo_plugin_smp._weights:weight_refs"
    if name.startswith("timm-"):
        out["deprecated"] = "smp deprecates timm- encoders; prefer the tu- equivalent"
    return out


def accepts_encoder(name: str) -> bool:
    """Whether ``name`` is a buildable but unlisted encoder (``tu-<timm model>``)."""
    return name.startswith(_TIMM_PREFIX) and len(name) > len(_TIMM_PREFIX)


def write_index(path: Path | None = None) -> Path:
    """Regenerate the index from the installed smp (imports smp)."""
    from geo_plugin_smp import _smp_compat as compat

    target = path or Path(__file__).with_name(INDEX_FILE)
    catalogue = compat.encoder_catalogue()
    lines = [f" {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(catalogue.items())]
    body = ",\n".join(lines)
    text = f'{{\n"smp_version": {json.dumps(compat.SMP_VERSION)},\n"encoders": {{\n{body}\n}}}}\n'
    target.write_text(text, encoding="utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover - maintenance command
    print(write_index())
