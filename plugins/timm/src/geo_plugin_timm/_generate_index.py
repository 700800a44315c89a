"""Regenerate ``_index.json``: every timm model and its ``features_only`` metadata.

Models are built on torch's ``meta`` device (no memory, no weights), so the whole
catalogue takes minutes. Run it after upgrading timm::

    python -m geo_plugin_timm._generate_index            # rewrites the shipped index
    python -m geo_plugin_timm._generate_index --check    # exit 1 when the index is stale

(``nox -s timm_index`` in ``plugins/timm/noxfile.py`` does the first.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

__all__ = ["describe_model", "generate", "main"]

INDEX_PATH = Path(__file__).with_name("_index.json")


def _build(name: str, **kwargs: Any) -> Any:
    import timm
    import torch

    try:
        with torch.device("meta"):
            return timm.create_model(name, pretrained=False, features_only=True, **kwargs)
    except (RuntimeError, NotImplementedError) as exc:
        # A few constructors compute values from tensors (``.item()``), which meta tensors refuse.
        if "meta" not in str(exc).lower():
            raise
        return timm.create_model(name, pretrained=False, features_only=True, **kwargs)


def _accepts(name: str, kwarg: str, value: Any) -> bool:
    """Whether the model's constructor accepts ``kwarg`` (probed on the meta device)."""
    try:
        _build(name, **{kwarg: value})
    except TypeError as exc:
        if kwarg in str(exc):
            return False
        raise
    except Exception:
        return False
    return True


def _fmt(model: Any) -> str:
    fmt = getattr(model, "output_fmt", "NCHW")
    return str(getattr(fmt, "value", fmt))


def describe_model(name: str) -> dict[str, Any]:
    """Build ``name`` with ``features_only=True`` on the meta device and describe its features."""
    from timm.models import get_pretrained_cfg
    from timm.models._registry import _model_to_module

    model = _build(name)
    info = model.feature_info
    cfg: Any = get_pretrained_cfg(name)
    cfgd = cfg.to_dict() if cfg is not None else {}
    entry: dict[str, Any] = {
        "family": _model_to_module.get(name, ""),
        "out_channels": [int(c) for c in info.channels()],
        "reduction": [int(r) for r in info.reduction()],
        "out_indices": [int(i) for i in info.out_indices],
        "output_fmt": _fmt(model),
        "input_size": list(cfgd.get("input_size", (3, 224, 224))),
        "fixed_input_size": bool(cfgd.get("fixed_input_size", False)),
    }
    if _accepts(name, "dynamic_img_size", True):
        entry["dynamic_img_size"] = True
    if _accepts(name, "img_size", entry["input_size"][-1]):
        entry["img_size"] = True
    if cfgd.get("license"):
        entry["license"] = cfgd["license"]
    return entry


def generate(names: list[str] | None = None, *, verbose: bool = False) -> dict[str, Any]:
    """Describe every model of the installed timm (or ``names``)."""
    import timm
    import torch

    all_names = names if names is not None else timm.list_models()
    tags: dict[str, list[str]] = {}
    for full in timm.list_pretrained():
        arch, _, tag = full.partition(".")
        tags.setdefault(arch, []).append(tag)
    models: dict[str, Any] = {}
    unsupported: dict[str, str] = {}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, name in enumerate(all_names):
            try:
                entry = describe_model(name)
            except Exception as exc:
                unsupported[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
                continue
            if tags.get(name):
                entry["pretrained_tags"] = tags[name]
            models[name] = entry
            if verbose and i % 100 == 0:
                print(f"{i}/{len(all_names)} {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return {
        "timm_version": timm.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "count": len(models),
        "models": models,
        "unsupported": unsupported,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: regenerate (or ``--check``) the shipped index."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=INDEX_PATH)
    parser.add_argument("--check", action="store_true", help="only compare names with the installed timm")
    args = parser.parse_args(argv)
    if args.check:
        import timm

        from geo_plugin_timm._index import index_names

        listed = set(index_names(include_unsupported=True))
        installed = set(timm.list_models())
        if listed != installed:
            print(f"stale index: {len(installed - listed)} new, {len(listed - installed)} gone", file=sys.stderr)
            return 1
        return 0
    data = generate(verbose=True)
    tmp = args.output.with_name(args.output.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=0, sort_keys=True, separators=(",", ":"))
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, args.output)
    print(f"wrote {args.output}: {data['count']} models, {len(data['unsupported'])} unsupported", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
