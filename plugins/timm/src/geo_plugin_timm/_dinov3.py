"""DINOv3 ViT backbones under TerraTorch's names (``dinov3_vitl16``, ...), incl. the SAT-493M satellite weights.

timm 1.0.31 implements DINOv3 (``timm.models.eva``: RoPE, 4 register tokens, layer scale) and its
checkpoint filter reads Meta's released layout (``storage_tokens``, ``qkv.bias`` + ``bias_mask``,
``ls1.gamma``, ...), so each name here is a timm architecture: the ``*_qkvb`` variants, which keep the q
and v biases Meta's ViTs have (k's is masked to zero), and ``vit_7b_patch16_dinov3`` (no qkv bias).
``dinov3_vitl16plus`` has no timm model of its own: it is ``vit_small_plus_patch16_dinov3_qkvb``
(SwiGLU, ratio 6) widened to 1024 x 24 blocks x 16 heads, as in Meta's hub.

Features follow TerraTorch's ``DinoV3Wrapper``: every block's tokens after the final norm
(``get_intermediate_layers(..., norm=True)``), register tokens dropped, the class token kept when
``return_cls_token`` (TerraTorch's default). TerraTorch appends it after the patch tokens although its
docstring says first; here it comes first, as the token necks expect (``prefix_tokens = 1``).

Weights: ``ckpt_path`` takes Meta's ``.pth`` (the file TerraTorch's ``ckpt_path`` takes) or a timm
``.safetensors``/``.pth``; ``pretrained=True`` fetches timm's copy on the Hugging Face Hub through
``geo_core.weights`` (``weights="sat493m"`` for the satellite ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from geo_core import CheckpointError, ConfigError, key_report
from torch import Tensor, nn

__all__ = ["DINOv3Backbone", "build_dinov3", "load_dinov3_checkpoint", "CFGS"]

Weights = Literal["lvd1689m", "sat493m"]


class DINOv3Backbone(nn.Module):
    """A timm DINOv3 ViT returning normed block tokens: ``forward(x) -> list[(B, prefix + N, D)]``.

    Attributes:
        out_channels: Token width of each returned block.
        output_format: ``"tokens"``.
        prefix_tokens: 1 with the class token, else 0.
    """

    def __init__(
        self, vit: nn.Module, out_indices: Sequence[int], return_cls_token: bool = True, name: str = ""
    ) -> None:
        super().__init__()
        self.vit = vit
        self.name = name
        self.out_indices = list(out_indices)
        self.return_cls_token = return_cls_token
        dim = int(vit.embed_dim)  # type: ignore[arg-type]
        self.out_channels = [dim] * len(self.out_indices)
        self.output_format = "tokens"
        self.prefix_tokens = 1 if return_cls_token else 0

    def forward(self, x: Tensor) -> list[Tensor]:
        """Tokens of the blocks in ``out_indices`` (class token first when kept)."""
        vit: Any = self.vit
        outs = vit.forward_intermediates(
            x,
            indices=self.out_indices,
            norm=True,
            output_fmt="NLC",
            intermediates_only=True,
            return_prefix_tokens=True,
            stop_early=True,
        )
        if self.return_cls_token:
            return [torch.cat([prefix[:, :1], patches], dim=1) for patches, prefix in outs]
        return [patches for patches, _ in outs]


def _read(path: Path) -> dict[str, Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return dict(load_file(str(path)))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"cannot read the DINOv3 weights (truncated or not a weight file?): {exc}", path=path
        ) from exc
    for wrapper in ("model", "state_dict", "teacher"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise CheckpointError(f"expected a state dict, got {type(state).__name__}", path=path)
    return state


def load_dinov3_checkpoint(vit: nn.Module, path: str | Path) -> None:
    """Load Meta's released DINOv3 file (or timm's) into a timm DINOv3 ``vit``.

    Raises:
        CheckpointError: Unreadable file, or keys that do not fit; unexpected keys are named as the
            file spells them, missing ones as timm does (with Meta's spelling for Meta's files).
    """
    from timm.models.eva import checkpoint_filter_fn

    path = Path(path)
    raw = _read(path)
    own = vit.state_dict()
    if "storage_tokens" in raw:  # Meta's layout: convert key by key to keep each key's origin
        state: dict[str, Tensor] = {}
        unexpected = []
        for key, value in raw.items():
            probe = {key: value} if key == "storage_tokens" else {key: value, "storage_tokens": raw["storage_tokens"]}
            got = {
                k: v for k, v in checkpoint_filter_fn(probe, vit).items() if key == "storage_tokens" or k != "reg_token"
            }
            if got and not any(k in own for k in got):
                unexpected.append(key)
            state.update(got)
    else:
        state = dict(raw)
        unexpected = sorted(k for k in raw if k not in own)
    missing = sorted(k for k in own if k not in state and "rope" not in k)
    if missing or unexpected:
        named = [_meta_name(k) for k in missing] if "storage_tokens" in raw else missing
        raise CheckpointError(
            f"not the weights of this DINOv3 size: {key_report(named, sorted(unexpected))} "
            "(names as the file spells them)",
            path=path,
        )
    try:
        vit.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    except RuntimeError as exc:
        raise CheckpointError(f"the weights do not fit this DINOv3 size: {exc}", path=path) from exc


def _meta_name(key: str) -> str:
    """How Meta's checkpoints spell a timm DINOv3 key (for messages)."""
    for timm_name, meta in (
        ("reg_token", "storage_tokens"),
        ("gamma_1", "ls1.gamma"),
        ("gamma_2", "ls2.gamma"),
        ("attn.q_bias", "attn.qkv.bias"),
        ("attn.v_bias", "attn.qkv.bias"),
    ):
        key = key.replace(timm_name, meta)
    return key


def _check_indices(out_indices: Sequence[int] | None, depth: int) -> list[int]:
    if out_indices is None:
        return list(range(depth))
    idx = [int(i) + depth if int(i) < 0 else int(i) for i in out_indices]
    if any(not 0 <= i < depth for i in idx):
        raise ConfigError(f"out_indices={list(out_indices)}: this DINOv3 has blocks 0..{depth - 1}", key="out_indices")
    return idx


def build_dinov3(
    name: str,
    *,
    ckpt_path: str | Path | None = None,
    pretrained: bool = False,
    weights: Weights | None = None,
    return_cls_token: bool = True,
    out_indices: Sequence[int] | None = None,
    in_chans: int = 3,
    img_size: int | None = None,
    **kwargs: Any,
) -> DINOv3Backbone:
    """Build TerraTorch's DINOv3 backbone ``name``.

    Args:
        name: A key of :data:`CFGS`.
        ckpt_path: Meta's released file (TerraTorch's argument) or a timm file; implies pretrained.
        pretrained: Fetch timm's copy of the weights from the Hugging Face Hub (via ``geo_core.weights``).
        weights: Which pre-training: ``lvd1689m`` (web images) or ``sat493m`` (satellite; ViT-L and 7B).
        return_cls_token: Keep the class token first in each output (TerraTorch's default).
        out_indices: Blocks to return (default: all, as TerraTorch).
        in_chans: Input bands; the released weights take RGB (3).
        img_size: Nominal input size (DINOv3 uses RoPE: any multiple of 16 works).
        **kwargs: Passed to ``timm.create_model`` (``drop_path_rate``, or ``depth``/``embed_dim`` for
            reduced test models).

    Raises:
        ConfigError: Unknown name or weights, in_chans other than 3 with weights.
        CheckpointError: A file that is unreadable or does not fit (keys named as in the file).
    """
    import timm

    if name not in CFGS:
        raise ConfigError(f"unknown DINOv3 backbone {name!r}; choose from {sorted(CFGS)}", key="backbone")
    cfg = CFGS[name]
    tag = weights or cfg.get("default_weights", "lvd1689m")
    if tag not in cfg.get("weights", ()):
        if pretrained and ckpt_path is None:
            raise ConfigError(
                f"{name} has no {tag} weights; choose from {list(cfg.get('weights', ())) or 'none'}", key="weights"
            )
    load = ckpt_path is not None or pretrained
    if load and in_chans != 3:
        raise ConfigError(
            f"DINOv3 weights take RGB (in_chans=3), not in_chans={in_chans}; select three bands or "
            "use pretrained=False",
            key="in_chans",
        )
    opts = {**cfg.get("overrides", {}), **kwargs}
    if img_size is not None:
        opts["img_size"] = img_size
    vit = timm.create_model(
        cfg["arch"], pretrained=False, in_chans=in_chans, num_classes=0, dynamic_img_size=True, **opts
    )
    if load:
        path = ckpt_path
        if path is None:
            from geo_core.weights import WeightRef, fetch_weights

            ref = WeightRef(hf_repo=f"timm/{cfg['arch']}.{tag}", filename="model.safetensors")
            path = fetch_weights(ref, name=f"timm:{name} ({tag})")
        load_dinov3_checkpoint(vit, path)
    idx = _check_indices(out_indices, len(vit.blocks))  # type: ignore[arg-type]
    return DINOv3Backbone(vit, idx, return_cls_token, name=name)


#: TerraTorch name -> timm architecture, released weights, overrides.
CFGS: dict[str, dict[str, Any]] = {
    "test_dinov3": {
        "arch": "vit_small_patch16_dinov3_qkvb",
        "overrides": {"embed_dim": 64, "depth": 4, "num_heads": 2},
    },
    "dinov3_vits16": {"arch": "vit_small_patch16_dinov3_qkvb", "weights": ("lvd1689m",)},
    "dinov3_vits16plus": {"arch": "vit_small_plus_patch16_dinov3_qkvb", "weights": ("lvd1689m",)},
    "dinov3_vitb16": {"arch": "vit_base_patch16_dinov3_qkvb", "weights": ("lvd1689m",)},
    "dinov3_vitl16": {"arch": "vit_large_patch16_dinov3_qkvb", "weights": ("lvd1689m", "sat493m")},
    "dinov3_vitl16plus": {
        "arch": "vit_small_plus_patch16_dinov3_qkvb",
        "overrides": {"embed_dim": 1024, "depth": 24, "num_heads": 16},
    },
    "dinov3_vith16plus": {"arch": "vit_huge_plus_patch16_dinov3_qkvb", "weights": ("lvd1689m",)},
    "dinov3_vit7b16": {"arch": "vit_7b_patch16_dinov3", "weights": ("lvd1689m", "sat493m")},
    "dinov3_vitl16_sat493m": {
        "arch": "vit_large_patch16_dinov3_qkvb",
        "weights": ("sat493m",),
        "default_weights": "sat493m",
    },
    "dinov3_vit7b16_sat493m": {"arch": "vit_7b_patch16_dinov3", "weights": ("sat493m",), "default_weights": "sat493m"},
}


def _variant(name: str) -> Any:
    def builder(ckpt_path: str | Path | None = None, **kwargs: Any) -> DINOv3Backbone:
        return build_dinov3(name, ckpt_path=ckpt_path, **kwargs)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"TerraTorch's ``{name}`` (timm ``{CFGS[name]['arch']}``); arguments as :func:`build_dinov3`."
    return builder


for _name in CFGS:
    globals()[_name] = _variant(_name)
