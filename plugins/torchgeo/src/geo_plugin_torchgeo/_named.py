"""TerraTorch's names for torchgeo weights (``satlas_swin_b_sentinel2_si_ms``, ``ssl4eol_resnet50_...``).

Each name is a torchgeo weight enum member (see :mod:`geo_plugin_torchgeo._satlas` and
:mod:`geo_plugin_torchgeo._ssl4eo`) built by :func:`geo_plugin_torchgeo._backbone.build_backbone`,
with TerraTorch's arguments and feature semantics on top, so a TerraTorch config carries over:

- ``model_bands``: the dataset's bands (TerraTorch's spelling of ``bands``); with pretrained
  weights, a subset of the bands the weights were trained on, in any order.
- ``pretrained`` defaults to False as in TerraTorch; ``ckpt_data`` (or ``ckpt_path``) names a
  local file, a URL or an ``https://hf.co/<repo>/resolve/<revision>/<file>`` address and
  implies pretrained.
- ``out_indices`` counts TerraTorch's feature list: for Swin the eight layers of torchvision's
  ``features`` (patch embedding, stage 1, merge, stage 2, ...), for ResNet the stem and the
  four stages (timm's ``forward_intermediates``), for ViT the blocks. The default is the last
  feature for Swin and ResNet and every block for ViT, as in TerraTorch.

Features are ``(B, C, H, W)`` maps. TerraTorch's Satlas Swin returns torchvision's
channels-last ``(B, H, W, C)`` maps; they are permuted here so every core decoder takes them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from geo_core import CheckpointError, ConfigError, key_report

from geo_plugin_torchgeo._backbone import TorchGeoBackbone, build_backbone
from geo_plugin_torchgeo._index import load_index
from geo_plugin_torchgeo._weights import find_weights_file

__all__ = ["Layout", "build_named", "check_keys", "layer_indices", "released_file", "resolve_checkpoint", "variant"]

Layout = Literal["swin", "resnet", "vit"]

#: Keys a released file may lack: the classifier and the final norm, which no feature uses.
_OPTIONAL = {"swin": ("norm.", "head."), "resnet": ("fc.",), "vit": ("head.", "fc_norm.", "norm.")}

#: Features TerraTorch's wrappers can return, per layout (ViT: one per block, depth-dependent).
_N_FEATURES = {"swin": 8, "resnet": 5}


def layer_indices(layout: Layout, out_indices: Sequence[int] | None, n_features: int) -> list[int]:
    """TerraTorch's ``out_indices`` as non-negative positions in the feature list.

    Args:
        layout: ``swin``, ``resnet`` or ``vit``.
        out_indices: Positions (negative ones count from the end), or None for TerraTorch's default.
        n_features: Length of the feature list (8 Swin layers, 5 ResNet levels, ViT depth).

    Raises:
        ConfigError: An index outside the feature list.
    """
    if out_indices is None:
        return list(range(n_features)) if layout == "vit" else [n_features - 1]
    picked = []
    for i in out_indices:
        j = int(i) + n_features if int(i) < 0 else int(i)
        if not 0 <= j < n_features:
            raise ConfigError(
                f"out_indices={list(out_indices)}: {i} is outside the {n_features} features of this "
                f"{layout} backbone (0..{n_features - 1}, or negative from the end)",
                key="out_indices",
            )
        picked.append(j)
    return picked


def resolve_checkpoint(ckpt: str | os.PathLike[str], name: str) -> Path:
    """A local path for ``ckpt``: a file, a URL, or an ``https://hf.co/<repo>/resolve/<rev>/<file>`` address.

    Remote files go through :func:`geo_core.weights.fetch_weights` (cached and verified).
    """
    text = str(ckpt)
    if not text.startswith(("http://", "https://")):
        return Path(text).expanduser()
    from geo_core.weights import WeightRef, fetch_weights

    for host in ("https://hf.co/", "https://huggingface.co/"):
        if text.startswith(host) and "/resolve/" in text:
            repo, _, rest = text[len(host) :].partition("/resolve/")
            revision, _, filename = rest.partition("/")
            return Path(fetch_weights(WeightRef(hf_repo=repo, filename=filename, revision=revision), name=name))
    return Path(fetch_weights(WeightRef(url=text), name=name))


def released_file(name: str, weights: str, weights_dir: str | Path | None = None) -> Path:
    """The local file of the released weights of ``name`` (torchgeo ``weights``).

    :func:`~geo_plugin_torchgeo._weights.find_weights_file`: ``weights_dir`` only when given; otherwise
    ``$GEO_TORCHGEO_WEIGHTS`` and torch's hub cache, else the manifest's URL fetched (and its SHA-256
    prefix checked) by :func:`geo_core.weights.fetch_weights`.
    """
    return find_weights_file(weights, dict(load_index()["weights"][weights]), None, weights_dir)


def _band_names(bands: Sequence[Any] | None) -> list[str] | None:
    if bands is None:
        return None
    return [str(getattr(b, "value", b)) for b in bands]


def build_named(
    name: str,
    weights: str,
    layout: Layout,
    *,
    model_bands: Sequence[Any] | None = None,
    bands: Sequence[Any] | None = None,
    pretrained: bool = False,
    ckpt_data: str | Path | None = None,
    ckpt_path: str | Path | None = None,
    weights_dir: str | Path | None = None,
    out_indices: Sequence[int] | None = None,
    **kwargs: Any,
) -> TorchGeoBackbone:
    """Build TerraTorch's backbone ``name`` over torchgeo weights ``weights``.

    Args:
        name: The TerraTorch name (for messages).
        weights: The torchgeo weight enum member (``Swin_V2_B_Weights.SENTINEL2_SI_MS_SATLAS``).
        layout: How ``out_indices`` count (see the module docstring).
        model_bands: The dataset's band names, in input order (TerraTorch's argument).
        bands: Same as ``model_bands`` (geo's spelling); give one of them.
        pretrained: Load the released weights (see :func:`released_file`; ``geo info`` shows where
            they come from).
        ckpt_data: TerraTorch's checkpoint argument: a path, URL or hf.co address; implies pretrained.
        ckpt_path: Same as ``ckpt_data``.
        weights_dir: Folder holding the weight file under torchgeo's file name.
        out_indices: Features to return, counted as TerraTorch does.
        **kwargs: Passed to :func:`~geo_plugin_torchgeo._backbone.build_backbone` (``in_chans``, ...).

    Raises:
        ConfigError: Conflicting arguments, unknown bands, out-of-range indices.
        CheckpointError: The weight file is absent, truncated or does not fit (keys named).
    """
    if model_bands is not None and bands is not None and _band_names(model_bands) != _band_names(bands):
        raise ConfigError(
            f"{name}: model_bands={list(model_bands)} and bands={list(bands)} disagree; give one", key="model_bands"
        )
    if ckpt_data is not None and ckpt_path is not None and str(ckpt_data) != str(ckpt_path):
        raise ConfigError(
            f"{name}: ckpt_data={ckpt_data} and ckpt_path={ckpt_path} disagree; give one", key="ckpt_data"
        )
    ckpt = ckpt_path if ckpt_path is not None else ckpt_data
    chosen = _band_names(model_bands if model_bands is not None else bands)
    entry = load_index()["weights"][weights]
    unnamed = chosen is not None and not entry.get("bands")
    if unnamed:  # torchgeo records no band names (fMoW GASSL): the input must be the weight's bands, in order
        if (pretrained or ckpt is not None) and len(chosen or []) != entry["in_chans"]:
            raise ConfigError(
                f"{name}: the weights take {entry['in_chans']} bands (torchgeo records no names), "
                f"got model_bands={chosen}; give them all, in the weight's order",
                key="in_chans",
            )
        kwargs.setdefault("in_chans", len(chosen or []))
        given, chosen = chosen, None
    local = resolve_checkpoint(ckpt, name) if ckpt is not None else None
    if local is None and pretrained:
        local = released_file(name, weights, weights_dir)
    if local is not None:
        check_keys(local, weights, layout, name)
    if layout != "swin":  # a Swin returns every feature; its stages are picked below
        depth = _vit_depth(kwargs) if layout == "vit" else _N_FEATURES["resnet"]
        kwargs["out_indices"] = layer_indices(layout, out_indices, depth)
    bb = build_backbone(
        weights,
        pretrained=pretrained or local is not None,
        ckpt_path=local,
        weights_dir=weights_dir,
        bands=chosen,
        **kwargs,
    )
    if layout == "swin":
        dim = bb.out_channels[0]
        widths = [dim * 2 ** (i // 2) for i in range(_N_FEATURES["swin"])]  # embed, stage, merge, stage, ...
        bb.stage_positions = layer_indices("swin", out_indices, len(widths))
        bb.out_channels = [widths[i] for i in bb.stage_positions]
    bb.name = name
    if unnamed:
        bb.bands = given
    return bb


def _full_keys(weights: str, layout: Layout) -> set[str]:
    """Parameter and buffer names of the whole architecture of ``weights`` (built on the meta device)."""
    import torch

    entry = load_index()["weights"][weights]
    with torch.device("meta"):
        if layout == "swin":
            import torchvision

            model = getattr(torchvision.models, entry["builder"])(weights=None)
            stem = model.features[0][0]
            model.features[0][0] = torch.nn.Conv2d(entry["in_chans"], stem.out_channels, 4, 4)
        else:
            import timm

            model = timm.create_model(entry["builder"], pretrained=False, in_chans=entry["in_chans"])
    return set(model.state_dict())


def check_keys(path: Path, weights: str, layout: Layout, name: str) -> None:
    """Compare the keys of the weight file at ``path`` with the architecture of ``weights``.

    Raises:
        CheckpointError: The file cannot be read (truncated, not a state dict), or it lacks keys of
            the architecture or holds keys it does not have; both lists use the file's own names.
    """
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:
        raise CheckpointError(
            f"cannot read the weights of {name} (truncated or not a torch file?): {exc}", path=path
        ) from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"the weights of {name} are a {type(state).__name__}, not a state dict", path=path)
    have = set(state)
    want = _full_keys(weights, layout)
    missing = sorted(k for k in want - have if not k.startswith(_OPTIONAL[layout]))
    unexpected = sorted(have - want)
    if missing or unexpected:
        raise CheckpointError(
            f"this file does not hold the {load_index()['weights'][weights]['builder']} weights {name} expects "
            f"(torchgeo {weights}): {key_report(missing, unexpected)}",
            path=path,
        )


def _vit_depth(kwargs: dict[str, Any]) -> int:
    """Blocks of the ViT-S/16 architecture (12) unless ``depth`` is overridden."""
    return int(kwargs.get("depth", 12))


def variant(name: str, weights: str, layout: Layout, module: str) -> Any:
    """A registered builder for TerraTorch's name ``name`` (what the entry point names)."""

    def builder(
        model_bands: Sequence[Any] | None = None,
        *,
        pretrained: bool = False,
        ckpt_data: str | Path | None = None,
        out_indices: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> TorchGeoBackbone:
        return build_named(
            name,
            weights,
            layout,
            model_bands=model_bands,
            pretrained=pretrained,
            ckpt_data=ckpt_data,
            out_indices=out_indices,
            **kwargs,
        )

    builder.__name__ = builder.__qualname__ = name
    builder.__module__ = module
    builder.__doc__ = (
        f"TerraTorch's ``{name}``: torchgeo weights ``{weights}`` "
        f"({layout}; see :func:`geo_plugin_torchgeo._named.build_named` for the arguments)."
    )
    return builder
