"""torchgeo pretrained weights as geo backbones (``torchgeo:ResNet50_Weights.SENTINEL2_ALL_MOCO``).

Architectures are built directly (timm for ResNet/ViT, torchvision for Swin,
``torchgeo.models.dofa`` for DOFA) with the weight's ``in_chans``; weights are
read from a local file named like torchgeo's download (see
:func:`geo_plugin_torchgeo._weights.find_weights_file`). Every backbone returns
``(B, C, H, W)`` feature maps and carries the weight's ``bands``, ``mean`` and
``std`` (folded from torchgeo's transforms) as attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from geo_core import ConfigError
from torch import Tensor, nn

from geo_plugin_torchgeo._bands import band_indices, select_input_channels, slice_stats
from geo_plugin_torchgeo._index import load_index
from geo_plugin_torchgeo._weights import find_weights_file, load_weights

__all__ = ["TorchGeoBackbone", "build_backbone"]


def _entry(name: str) -> dict[str, Any]:
    data = load_index()
    if name in data["weights"]:
        return dict(data["weights"][name])
    reason = data["unsupported"].get(name)
    if reason:
        raise ConfigError(f"torchgeo weights {name} are not available as a geo backbone: {reason}")
    raise ConfigError(f"unknown torchgeo weights {name!r}; see `geo list backbones --source torchgeo`")


class TorchGeoBackbone(nn.Module):
    """Feature extractor over torchgeo weights: ``forward(x) -> list[(B, C, H, W)]``.

    Attributes:
        out_channels: Channels of each returned feature map.
        bands: Band names the weights were trained on (when torchgeo records them).
        mean: Per-band mean to subtract from raw inputs (from torchgeo's transforms), or None.
        std: Per-band std to divide by, or None.
    """

    def __init__(
        self,
        body: nn.Module,
        out_channels: list[int],
        *,
        name: str,
        entry: dict[str, Any],
        channels_last: bool = False,
        stage_positions: Sequence[int] | None = None,
        wavelengths: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.body = body
        self.out_channels = list(out_channels)
        self.name = name
        self.family = entry["family"]
        self.bands: list[str] | None = entry.get("bands")
        self.mean: list[float] | None = entry.get("mean")
        self.std: list[float] | None = entry.get("std")
        self.channels_last = channels_last
        self.stage_positions = list(stage_positions or [])
        self.wavelengths = list(wavelengths) if wavelengths is not None else None

    def forward(self, x: Tensor, wavelengths: Sequence[float] | None = None) -> list[Tensor]:
        """Return one NCHW feature map per selected level.

        Args:
            x: ``(B, C, H, W)`` input.
            wavelengths: DOFA only: centre wavelength (µm) of each input band; defaults to
                the ``wavelengths`` given at build time.
        """
        if self.family == "dofa":
            return self._dofa(x, wavelengths if wavelengths is not None else self.wavelengths)
        if self.family == "torchvision_swin":
            feats = []
            layers: Any = self.body
            for i, layer in enumerate(layers):
                x = layer(x)
                if i in self.stage_positions:
                    feats.append(x.permute(0, 3, 1, 2).contiguous())
            return feats
        out = self.body(x)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    def _dofa(self, x: Tensor, wavelengths: Sequence[float] | None) -> list[Tensor]:
        if wavelengths is None or len(wavelengths) != x.shape[1]:
            raise ConfigError(
                f"DOFA needs one wavelength (µm) per input band: got {x.shape[1]} bands and "
                f"wavelengths={wavelengths}; pass backbone_wavelengths=[...]",
                key="wavelengths",
            )
        m: Any = self.body
        size = m.img_size
        if tuple(x.shape[-2:]) != (size, size):
            raise ConfigError(
                f"DOFA weights use a fixed {size}x{size} position embedding; got input "
                f"{tuple(x.shape[-2:])} (resize or crop to {size})",
                key="img_size",
            )
        waves = torch.tensor(list(wavelengths), device=x.device, dtype=torch.float32)
        tokens, _ = m.patch_embed(x, waves)
        tokens = tokens + m.pos_embed[:, 1:, :]
        cls = (m.cls_token + m.pos_embed[:, :1, :]).expand(tokens.shape[0], -1, -1)
        tokens = torch.cat((cls, tokens), dim=1)
        grid = size // m.patch_size
        feats = []
        for i, block in enumerate(m.blocks):
            tokens = block(tokens)
            if i in self.stage_positions:
                t = tokens[:, 1:, :]
                feats.append(t.transpose(1, 2).reshape(t.shape[0], t.shape[2], grid, grid))
        return feats


def _timm_body(
    entry: dict[str, Any], in_chans: int, out_indices: Sequence[int] | None, kwargs: dict[str, Any]
) -> tuple[nn.Module, nn.Module, list[int]]:
    import timm

    if "img_size" in entry:
        kwargs.setdefault("img_size", entry["img_size"])
    if entry["builder"].startswith("vit"):
        kwargs.setdefault("dynamic_img_size", True)
    if out_indices is not None:
        kwargs["out_indices"] = tuple(out_indices)
    model: Any = timm.create_model(entry["builder"], pretrained=False, in_chans=in_chans, features_only=True, **kwargs)
    target = model.model if type(model).__name__ == "FeatureGetterNet" else model
    return model, target, [int(c) for c in model.feature_info.channels()]


def _swin_body(
    entry: dict[str, Any], in_chans: int, out_indices: Sequence[int] | None, kwargs: dict[str, Any]
) -> tuple[nn.Module, nn.Module, list[int], list[int]]:
    import torchvision

    model = getattr(torchvision.models, entry["builder"])(weights=None, **kwargs)
    stem = model.features[0][0]
    model.features[0][0] = nn.Conv2d(in_chans, stem.out_channels, kernel_size=(4, 4), stride=(4, 4))
    positions = [1, 3, 5, 7]
    dim = stem.out_channels
    channels = [dim * 2**i for i in range(4)]
    idx = list(out_indices) if out_indices is not None else [0, 1, 2, 3]
    return model, model.features, [positions[i] for i in idx], [channels[i] for i in idx]


def _dofa_body(
    entry: dict[str, Any], out_indices: Sequence[int] | None, kwargs: dict[str, Any]
) -> tuple[nn.Module, list[int], list[int]]:
    from torchgeo.models import dofa

    model = getattr(dofa, entry["builder"])(weights=None, **kwargs)
    depth = len(model.blocks)
    idx = (
        list(out_indices)
        if out_indices is not None
        else [depth // 4 - 1, depth // 2 - 1, 3 * depth // 4 - 1, depth - 1]
    )
    return model, idx, [model.embed_dim] * len(idx)


def build_backbone(
    name: str,
    *,
    pretrained: bool = True,
    ckpt_path: str | Path | None = None,
    weights_dir: str | Path | None = None,
    in_chans: int | None = None,
    bands: Sequence[str] | None = None,
    out_indices: Sequence[int] | None = None,
    wavelengths: Sequence[float] | None = None,
    **kwargs: Any,
) -> TorchGeoBackbone:
    """Build the architecture of torchgeo weights ``name`` and load the weights from disk.

    Args:
        name: ``<Enum>.<MEMBER>``, e.g. ``ResNet50_Weights.SENTINEL2_ALL_MOCO``.
        pretrained: Load the weights (default); False gives random weights of the same layout.
        ckpt_path: The weight file, or a folder holding it under torchgeo's file name.
        weights_dir: Folder to look in instead of ``$GEO_TORCHGEO_WEIGHTS`` and torch's hub cache.
        in_chans: Input bands; must equal the weight's ``in_chans`` when pretrained (or ``len(bands)``).
        bands: The dataset's band names, in input order: a subset of the weight's bands (in any
            order; HLS names such as ``BLUE``/``NIR_NARROW`` work for Sentinel-2 and Landsat
            weights). The first convolution keeps those input channels, ``mean``/``std`` too.
        out_indices: Feature levels (stages for ResNet/Swin, blocks for ViT/DOFA).
        wavelengths: DOFA only: wavelength (µm) of each input band.
        **kwargs: Passed to the architecture's constructor.

    Raises:
        ConfigError: Unsupported weights or an ``in_chans`` the weights cannot take.
        CheckpointError: The weight file is absent (the message names it) or does not fit.
    """
    entry = _entry(name)
    meta_chans = entry.get("in_chans")
    selected: list[int] | None = None
    if bands is not None and entry["family"] != "dofa":  # DOFA takes any bands through wavelengths
        if in_chans is not None and in_chans != len(bands):
            raise ConfigError(
                f"in_chans={in_chans} but {len(bands)} bands {list(bands)}; drop in_chans", key="in_chans"
            )
        if pretrained and meta_chans is not None:
            if not entry.get("bands"):
                raise ConfigError(
                    f"torchgeo:{name} records no band names to select from; give in_chans="
                    f"{meta_chans} with its bands in order",
                    key="bands",
                )
            selected = band_indices(name, entry["bands"], bands)
            if selected == list(range(meta_chans)):
                selected = None  # all bands, in the weight's order
        in_chans = meta_chans if selected is not None else len(bands)
    if in_chans is None:
        in_chans = int(meta_chans or (len(wavelengths) if wavelengths else 3))
    if pretrained and meta_chans is not None and in_chans != meta_chans:
        raise ConfigError(
            f"torchgeo:{name} weights take {meta_chans} bands {entry.get('bands') or ''}, "
            f"not in_chans={in_chans}; name the dataset's bands with bands=[...] (a subset of "
            "those) or use pretrained=False",
            key="in_chans",
        )
    family = entry["family"]
    kw = dict(kwargs)
    positions: list[int] = []
    allow_missing: tuple[str, ...] = ()
    if family == "timm":
        body, target, channels = _timm_body(entry, in_chans, out_indices, kw)
    elif family == "torchvision_swin":
        full, body, positions, channels = _swin_body(entry, in_chans, out_indices, kw)
        target, allow_missing = full, ("norm.", "head.")
    elif family == "dofa":
        body, positions, channels = _dofa_body(entry, out_indices, kw)
        target, allow_missing = body, ("head.", "fc_norm.", "norm.")
    else:  # pragma: no cover - the index only lists the families above
        raise ConfigError(f"no geo adapter for torchgeo family {family!r}")
    if pretrained:
        load_weights(target, find_weights_file(name, entry, ckpt_path, weights_dir), allow_missing=allow_missing)
    if selected is not None:
        select_input_channels(body, in_chans, selected)
        entry.update({k: slice_stats(entry.get(k), selected) for k in ("bands", "mean", "std")})
    elif bands is not None and not (pretrained and meta_chans is not None):
        entry["bands"] = list(bands)
    return TorchGeoBackbone(
        body,
        channels,
        name=name,
        entry=entry,
        channels_last=family == "torchvision_swin",
        stage_positions=positions,
        wavelengths=wavelengths,
    )
