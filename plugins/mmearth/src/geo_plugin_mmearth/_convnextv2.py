"""MMEarth ConvNeXt-V2 (atto to huge): blocks, model, checkpoint filter, builder, configs, variants.

MMEarth (Nedungadi et al., ECCV 2024) pre-trains ConvNeXt-V2 with multi-modal pretext tasks. Its
encoder differs from the ImageNet ConvNeXt-V2 (and timm's) in the stem: a 3x3 convolution (stride
1, no padding) + channels-first LayerNorm + GELU, then a depth-wise "patchifying" convolution of
kernel and stride ``patch_size // 8`` (padding half of it) + LayerNorm. The module layout here is
the dense one of MMEarth's fine-tuning code and TerraTorch's ``mmearth_convnextv2.py``
(``initial_conv``, ``stem``, ``stages.<i>.<j>.{dwconv,norm,pwconv1,grn,pwconv2}``,
``downsample_layers``), so those state dicts load unchanged; the released pre-training checkpoints
(``{"model": {"encoder.*": sparse MinkowskiEngine tensors, decoder keys}}``) are converted by
:func:`checkpoint_filter_fn`.

The backbone returns the four stage outputs ``(B, C_i, H_i, W_i)`` (``out_indices`` selects).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from geo_core import CheckpointError, ConfigError, key_report
from geo_core.data import HLS_SENTINEL2_BANDS
from torch import Tensor, nn

__all__ = ["ConvNeXtV2", "checkpoint_filter_fn", "build_convnextv2", "CFGS", "CHECKPOINTS", "S2_BANDS"]


# --- blocks ---------------------------------------------------------------------------------------


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of ``(B, C, H, W)`` maps (MMEarth's ``channels_first`` LayerNorm)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class GRN(nn.Module):
    """Global response normalisation of channels-last maps (parameters shaped ``(1, 1, 1, C)``)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + self.eps)
        out: Tensor = self.gamma * (x * nx) + self.beta + x
        return out


class DropPath(nn.Module):
    """Stochastic depth per sample (identity in eval mode or with ``p=0``)."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class Block(nn.Module):
    """ConvNeXt-V2 block: 7x7 depth-wise conv, LayerNorm, MLP with GRN, residual."""

    def __init__(self, dim: int, drop_path: float = 0.0, grn_eps: float = 1e-6) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.grn = GRN(4 * dim, grn_eps)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.grn(self.act(self.pwconv1(self.norm(y)))))
        out: Tensor = x + self.drop_path(y.permute(0, 3, 1, 2))
        return out


# --- model ----------------------------------------------------------------------------------------


class ConvNeXtV2(nn.Module):
    """MMEarth's ConvNeXt-V2 encoder as a geo backbone: ``forward(x) -> list[(B, C_i, H_i, W_i)]``.

    Args:
        depths: Blocks per stage.
        dims: Width per stage.
        in_chans: Input bands.
        patch_size: Overall downsampling the stem is sized for (its conv has kernel and stride
            ``patch_size // 8``); 8 for the 56-px, 16 for the 112-px released checkpoints.
        drop_path_rate: Stochastic depth, linearly increasing over the blocks.
        out_indices: Stages whose outputs are returned.
        use_orig_stem: The ImageNet ConvNeXt-V2 stem (one strided conv + LayerNorm) instead.
        grn_eps: Epsilon of GRN: 1e-4 in MMEarth's ``norm_layers`` (the ImageNet ConvNeXt-V2 uses 1e-6).
        bands: Band names of the input, kept as metadata.

    Attributes:
        out_channels: Widths of the returned stages.
        output_format: ``"image"``.
    """

    def __init__(
        self,
        depths: Sequence[int],
        dims: Sequence[int],
        in_chans: int = 12,
        patch_size: int = 32,
        drop_path_rate: float = 0.0,
        out_indices: Sequence[int] = (0, 1, 2, 3),
        use_orig_stem: bool = False,
        grn_eps: float = 1e-4,
        bands: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if len(depths) != 4 or len(dims) != 4:
            raise ConfigError(f"ConvNeXt-V2 has 4 stages; got depths={list(depths)} dims={list(dims)}", key="depths")
        k = patch_size // 8
        if k < 1:
            raise ConfigError(
                f"patch_size must be a multiple of 8 (the stem's kernel is patch_size // 8); got {patch_size}",
                key="patch_size",
            )
        self.use_orig_stem = use_orig_stem
        if use_orig_stem:
            self.stem_orig = nn.Sequential(nn.Conv2d(in_chans, dims[0], kernel_size=k, stride=k), LayerNorm2d(dims[0]))
        else:
            self.initial_conv = nn.Sequential(
                nn.Conv2d(in_chans, dims[0], kernel_size=3, stride=1), LayerNorm2d(dims[0]), nn.GELU()
            )
            self.stem = nn.Sequential(
                nn.Conv2d(dims[0], dims[0], kernel_size=k, stride=k, padding=k // 2, groups=dims[0]),
                LayerNorm2d(dims[0]),
            )
        self.downsample_layers = nn.ModuleList(
            nn.Sequential(LayerNorm2d(dims[i]), nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2))
            for i in range(3)
        )
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        stages, cur = [], 0
        for i in range(4):
            stages.append(nn.Sequential(*[Block(dims[i], rates[cur + j], grn_eps) for j in range(depths[i])]))
            cur += depths[i]
        self.stages = nn.ModuleList(stages)
        self.out_indices = _check_indices(out_indices)
        self.out_channels = [int(dims[i]) for i in self.out_indices]
        self.output_format = "image"
        self.in_chans = in_chans
        self.bands = list(bands) if bands is not None else None
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return the outputs of the stages in ``out_indices``."""
        x = self.stem_orig(x) if self.use_orig_stem else self.stem(self.initial_conv(x))
        feats = []
        for i in range(4):
            if i > 0:
                x = self.downsample_layers[i - 1](x)
            x = self.stages[i](x)
            if i in self.out_indices:
                feats.append(x)
            if i >= max(self.out_indices):
                break
        return feats


def _check_indices(out_indices: Sequence[int]) -> list[int]:
    idx = [int(i) + 4 if int(i) < 0 else int(i) for i in out_indices]
    if not idx or any(not 0 <= i < 4 for i in idx):
        raise ConfigError(f"out_indices={list(out_indices)}: ConvNeXt-V2 has stages 0..3", key="out_indices")
    return idx


# --- checkpoint filter ----------------------------------------------------------------------------


def _dense_kernel(key: str, v: Tensor) -> Tensor:
    """A MinkowskiEngine kernel as a Conv2d weight: ``(k*k, in, out)`` or depth-wise ``(k*k, C)``."""
    ks = math.isqrt(v.shape[0])
    if ks * ks != v.shape[0]:
        raise CheckpointError(f"{key}: a sparse kernel of {v.shape[0]} taps is not a square kernel")
    if v.ndim == 3:
        _, cin, cout = v.shape
        return v.permute(2, 1, 0).reshape(cout, cin, ks, ks).transpose(3, 2)
    return v.permute(1, 0).reshape(v.shape[1], 1, ks, ks).transpose(3, 2)


def checkpoint_filter_fn(state: Mapping[str, Any]) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Convert an MMEarth checkpoint to this module's keys.

    Accepts a released pre-training checkpoint (``{"model": {...}}`` with ``encoder.`` keys in
    MinkowskiEngine's layout: ``*.kernel``, ``*.ln.*``, ``*.linear.*``, ``(1, C)`` biases and GRN
    parameters; decoder, ``proj``, ``pred`` and ``mask_token`` keys are dropped), a fine-tuned dense
    state dict (optionally under ``model``/``state_dict``) or this module's own state dict.

    Returns:
        The converted state dict, and for each of its keys the key it had in the file (for messages).
    """
    for wrapper in ("model", "state_dict"):
        if isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
    has_encoder = any(k.startswith("encoder.") for k in state)
    out: dict[str, Tensor] = {}
    origin: dict[str, str] = {}
    for key, v in state.items():
        if not isinstance(v, Tensor):
            continue
        k = key
        if has_encoder:
            if not k.startswith("encoder."):
                continue  # the pre-training decoder, projections, mask token
            k = k[len("encoder.") :]
        if k.startswith("head.") or k.startswith("norm."):
            continue  # the classifier of a fine-tuned model: no feature uses it
        parts = k.split(".")
        if parts[-1] == "kernel":
            k, v = ".".join([*parts[:-1], "weight"]), _dense_kernel(key, v)
        elif len(parts) >= 2 and parts[-2] in ("ln", "linear"):
            k = ".".join(parts[:-2] + parts[-1:])
        if k.endswith("bias") and v.ndim != 1:
            v = v.reshape(-1)
        elif k.split(".")[-1] in ("gamma", "beta") and v.ndim == 2:
            v = v[None, None]  # sparse GRN parameters are (1, C)
        out[k] = v
        origin[k] = key
    return out, origin


def _released_name(key: str, value: Tensor) -> str:
    """How MMEarth's pre-training checkpoint spells this module's ``key``."""
    mod, _, leaf = key.rpartition(".")
    if value.ndim == 4 and leaf == "weight":
        return f"encoder.{mod}.kernel"
    if (
        leaf in ("gamma", "beta")
        or mod.endswith(("dwconv", "initial_conv.0", "stem.0"))
        or (mod.startswith("downsample_layers") and mod.endswith(".1"))
    ):
        return f"encoder.{key}"
    inner = "linear" if mod.endswith(("pwconv1", "pwconv2")) else "ln"
    return f"encoder.{mod}.{inner}.{leaf}"


def load_checkpoint(model: ConvNeXtV2, path: str | Path, bands: Sequence[int] | None = None) -> None:
    """Load an MMEarth checkpoint file into ``model`` (strictly; errors name the file's keys).

    Args:
        model: The built encoder.
        path: The checkpoint.
        bands: Input channels of the checkpoint to keep (band selection), in the model's order.

    Raises:
        CheckpointError: Unreadable file, missing or unexpected keys, or shapes that do not fit.
    """
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"cannot read the MMEarth checkpoint (truncated or not a torch file?): {exc}", path=path
        ) from exc
    if not isinstance(raw, Mapping):
        raise CheckpointError(f"expected a state dict, got {type(raw).__name__}", path=path)
    state, origin = checkpoint_filter_fn(raw)
    stem = "stem_orig.0.weight" if model.use_orig_stem else "initial_conv.0.weight"
    if bands is not None and stem in state:
        state[stem] = state[stem][:, list(bands)]
    own = model.state_dict()
    released = any(v.startswith("encoder.") for v in origin.values())
    missing = sorted(_released_name(k, own[k]) if released else k for k in own if k not in state)
    unexpected = sorted(origin[k] for k in state if k not in own)
    if missing or unexpected:
        raise CheckpointError(
            f"not an MMEarth ConvNeXt-V2 of this size: {key_report(missing, unexpected)} "
            "(names as the file spells them)",
            path=path,
        )
    wrong = [
        f"{origin[k]} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in state.items() if v.shape != own[k].shape
    ]
    if wrong:
        raise CheckpointError(
            f"shapes do not fit this variant (file vs model): {wrong[:5]}; check the variant, "
            "patch_size and in_chans/bands",
            path=path,
        )
    model.load_state_dict(state)


# --- builder --------------------------------------------------------------------------------------

#: The Sentinel-2 bands of MMEarth's pre-training, in input order.
S2_BANDS = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8A", "B8", "B9", "B11", "B12"]

#: Released checkpoints: tag -> (URL, patch_size). All are atto, on the 12 Sentinel-2 bands.
CHECKPOINTS: dict[str, tuple[str, int]] = {
    tag: (f"https://sid.erda.dk/share_redirect/g23YOnaaTp/{tag}/checkpoint-199.pth", int(tag.rsplit("-", 1)[1]))
    for tag in (
        "pt-all_mod_atto_1M_64_uncertainty_56-8",
        "pt-all_mod_atto_1M_64_unweighted_56-8",
        "pt-all_mod_atto_1M_128_uncertainty_112-16",
        "pt-all_mod_atto_100k_128_uncertainty_112-16",
        "pt-S2_atto_1M_64_uncertainty_56-8",
    )
}
DEFAULT_CHECKPOINT = "pt-all_mod_atto_1M_64_uncertainty_56-8"


def _band_positions(bands: Sequence[str]) -> list[int]:
    canon = {b.upper().replace("B0", "B"): i for i, b in enumerate(S2_BANDS)}
    # MMEarth has no B10: its HLS name (CIRRUS) stays out of the names the error offers
    aliases = {k: v for k, v in HLS_SENTINEL2_BANDS.items() if v.replace("B0", "B") in canon}
    out = []
    for b in bands:
        key = str(getattr(b, "value", b)).upper()
        key = aliases.get(key, key).replace("B0", "B")
        if key not in canon:
            raise ConfigError(
                f"band {b!r} is not one of MMEarth's Sentinel-2 bands {S2_BANDS} (or their HLS names "
                f"{sorted(aliases)}); use pretrained=False for other inputs",
                key="bands",
            )
        out.append(canon[key])
    return out


def build_convnextv2(
    variant: str,
    *,
    pretrained: bool = False,
    checkpoint: str | None = None,
    ckpt_path: str | Path | None = None,
    in_chans: int | None = None,
    bands: Sequence[str] | None = None,
    patch_size: int | None = None,
    out_indices: Sequence[int] = (0, 1, 2, 3),
    **kwargs: Any,
) -> ConvNeXtV2:
    """Build ``mmearth:<variant>``, optionally with released or local weights.

    Args:
        variant: A key of :data:`CFGS` (``mmearth_convnextv2_atto``, ...).
        pretrained: Load a released checkpoint (atto only), fetched through ``geo_core.weights``.
        checkpoint: Which released checkpoint (a key of :data:`CHECKPOINTS`); its patch size follows.
        ckpt_path: A local checkpoint (released, fine-tuned or this module's layout); implies pretrained.
        in_chans: Input bands (default 12, or ``len(bands)``).
        bands: Sentinel-2 band names of the input; with weights, a subset of :data:`S2_BANDS` (or HLS
            names) whose stem channels are kept.
        patch_size: The stem's downsampling (default: the checkpoint's, else 16).
        out_indices: Stages to return.
        **kwargs: ``drop_path_rate``, ``use_orig_stem``, ``grn_eps``, or ``depths``/``dims`` overrides.

    Raises:
        ConfigError: Unknown variant or checkpoint, bands the weights lack, in_chans that disagrees.
        CheckpointError: A file that is unreadable or does not fit (keys named as in the file).
    """
    if variant not in CFGS:
        raise ConfigError(f"unknown MMEarth variant {variant!r}; choose from {sorted(CFGS)}", key="variant")
    cfg: dict[str, Any] = dict(CFGS[variant])
    cfg.update({k: kwargs.pop(k) for k in ("depths", "dims") if k in kwargs})
    released = None
    if pretrained and ckpt_path is None:
        if not cfg.get("checkpoints"):
            raise ConfigError(
                f"{variant} has no released weights (MMEarth released atto only); use pretrained=False or ckpt_path=",
                key="pretrained",
            )
        tag = checkpoint or DEFAULT_CHECKPOINT
        if tag not in CHECKPOINTS:
            raise ConfigError(
                f"unknown MMEarth checkpoint {tag!r}; choose from {sorted(CHECKPOINTS)}", key="checkpoint"
            )
        released = tag
        patch_size = patch_size or CHECKPOINTS[tag][1]
    elif checkpoint is not None and ckpt_path is None:
        raise ConfigError("checkpoint= names a released checkpoint: add pretrained=True", key="checkpoint")
    load = released is not None or ckpt_path is not None
    selected = None
    if bands is not None:
        if in_chans is not None and in_chans != len(bands):
            raise ConfigError(f"in_chans={in_chans} but {len(bands)} bands given; drop in_chans", key="in_chans")
        in_chans = len(bands)
        if load:
            selected = _band_positions(bands)
    elif load and in_chans not in (None, len(S2_BANDS)):
        raise ConfigError(
            f"MMEarth weights take the 12 Sentinel-2 bands {S2_BANDS}, not in_chans={in_chans}; name the "
            "input bands with bands=[...] (a subset) or use pretrained=False",
            key="in_chans",
        )
    model = ConvNeXtV2(
        cfg["depths"],
        cfg["dims"],
        in_chans=in_chans or len(S2_BANDS),
        patch_size=patch_size or 16,
        out_indices=out_indices,
        bands=[str(getattr(b, "value", b)) for b in bands] if bands is not None else (S2_BANDS if load else None),
        **kwargs,
    )
    if load:
        if ckpt_path is None:
            from geo_core.weights import WeightRef, fetch_weights

            ref = WeightRef(url=CHECKPOINTS[str(released)][0])
            # the name feeds the suggested `geo weights download NAME`: only the manifest's default checkpoint
            # has a component name; the others are fetched by their URL
            ckpt_path = fetch_weights(ref, name=f"mmearth:{variant}" if released == DEFAULT_CHECKPOINT else "")
        load_checkpoint(model, ckpt_path, selected)
    return model


# --- configs and registered variants --------------------------------------------------------------

CFGS: dict[str, dict[str, Any]] = {
    "test_mmearth_convnextv2": {"depths": [1, 1, 1, 1], "dims": [8, 16, 24, 32]},
    "mmearth_convnextv2_atto": {"depths": [2, 2, 6, 2], "dims": [40, 80, 160, 320], "checkpoints": True},
    "mmearth_convnextv2_femto": {"depths": [2, 2, 6, 2], "dims": [48, 96, 192, 384]},
    "mmearth_convnextv2_pico": {"depths": [2, 2, 6, 2], "dims": [64, 128, 256, 512]},
    "mmearth_convnextv2_nano": {"depths": [2, 2, 8, 2], "dims": [80, 160, 320, 640]},
    "mmearth_convnextv2_tiny": {"depths": [3, 3, 9, 3], "dims": [96, 192, 384, 768]},
    "mmearth_convnextv2_base": {"depths": [3, 3, 27, 3], "dims": [128, 256, 512, 1024]},
    "mmearth_convnextv2_large": {"depths": [3, 3, 27, 3], "dims": [192, 384, 768, 1536]},
    "mmearth_convnextv2_huge": {"depths": [3, 3, 27, 3], "dims": [352, 704, 1408, 2816]},
}


def _variant(name: str) -> Any:
    def builder(**kwargs: Any) -> ConvNeXtV2:
        return build_convnextv2(name, **kwargs)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"``mmearth:{name}`` ({CFGS[name]['dims']}); arguments as :func:`build_convnextv2`."
    return builder


for _name in CFGS:
    globals()[_name] = _variant(_name)
