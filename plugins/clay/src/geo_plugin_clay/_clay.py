"""Clay v1 / v1.5 encoders: blocks, model, checkpoint filter, builder, registered variants.

Clay is a ViT over 8x8 patches whose patch-embedding weights are *generated* from the central
wavelength of every input band (the dynamic embedding of DOFA), so one model takes any set of bands.
Each patch token gets a sin-cos position encoding scaled by the ground sample distance (GSD) in its
first ``D - 8`` channels and the time (sin/cos of week and hour) and location (sin/cos of latitude and
longitude) of the sample in its last 8. A cls token leads the sequence.

Module and parameter names follow the released encoders (``model.encoder.*`` in the Lightning
checkpoints: ``patch_embedding.*``, ``transformer.layers.N.{0,1}.*``, ``transformer.norm.*``,
``cls_token``), so the released files load unchanged and error messages can name their keys.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from geo_core import CheckpointError, ConfigError, InputDataError, key_report
from torch import Tensor, nn

from geo_plugin_clay._manifest import backbone_config
from geo_plugin_clay._wavelengths import resolve_wavelengths

__all__ = ["ClayEncoder", "build_backbone", "filter_clay_state_dict", "load_clay_checkpoint"]

log = logging.getLogger("geo_plugin_clay")


# -- blocks --------------------------------------------------------------------------------------------
def sincos_1d(values: Tensor, dim: int, temperature: int = 10000) -> Tensor:
    """Sin-cos embedding ``(N, dim)`` of ``N`` scalars (Clay embeds band wavelengths with it)."""
    omega = torch.arange(dim // 2).to(values) / (dim // 2 - 1)
    omega = 1.0 / (temperature**omega)
    scaled = values[:, None] * omega[None, :]
    return torch.cat((scaled.sin(), scaled.cos()), dim=1).float()


def sincos_2d_gsd(h: int, w: int, dim: int, gsd: float | Tensor, temperature: int = 10000) -> Tensor:
    """Clay's GSD-scaled 2-D sin-cos position encoding: ``(h*w, dim)``, or ``(B, h*w, dim)`` for a per-sample GSD."""
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    omega = torch.arange(dim // 4) / (dim // 4 - 1)
    if isinstance(gsd, Tensor):
        gsd = gsd.detach().float().cpu()
        gsd = gsd.reshape(()) if gsd.numel() == 1 else gsd.reshape(-1, 1)
    omega = 1.0 / (temperature ** (2 * omega / dim)) * (gsd / 1.0)
    if omega.dim() == 2:  # one GSD per sample: (B, dim/4)
        ys = y.flatten()[None, :, None] * omega[:, None, :]
        xs = x.flatten()[None, :, None] * omega[:, None, :]
        return torch.cat((xs.sin(), xs.cos(), ys.sin(), ys.cos()), dim=2).float()
    ys = y.flatten()[:, None] * omega[None, :]
    xs = x.flatten()[:, None] * omega[None, :]
    return torch.cat((xs.sin(), xs.cos(), ys.sin(), ys.cos()), dim=1).float()


class FCBlock(nn.Module):
    """Two GELU layers with a residual connection (refines the wavelength embedding)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.l1 = nn.Linear(size, size)
        self.l2 = nn.Linear(size, size)

    def forward(self, x: Tensor) -> Tensor:
        """Return ``x + gelu(l2(gelu(l1(x))))``."""
        return x + F.gelu(self.l2(F.gelu(self.l1(x))))


class WavesTransformer(nn.Module):
    """Generate per-band convolution weights and a bias from the wavelength embeddings.

    A one-layer transformer reads ``num_latent_tokens`` learned tokens, the ``C`` band tokens and a bias
    token; the band tokens (plus their input) become the ``C`` weight rows, the bias token the bias.
    """

    def __init__(
        self, wave_dim: int, output_dim: int, num_latent_tokens: int, embed_dim: int, num_heads: int = 4
    ) -> None:
        super().__init__()
        self.num_latent_tokens = num_latent_tokens
        layer = nn.TransformerEncoderLayer(
            d_model=wave_dim, nhead=num_heads, activation="gelu", dropout=0.0, norm_first=False, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.fc_weight = nn.Linear(wave_dim, output_dim)
        self.fc_bias = nn.Linear(wave_dim, embed_dim)
        self.weight_tokens = nn.Parameter(torch.randn(num_latent_tokens, wave_dim) * 0.02)
        self.bias_token = nn.Parameter(torch.randn(1, wave_dim) * 0.02)

    def forward(self, waves: Tensor) -> tuple[Tensor, Tensor]:
        """``(C, wave_dim)`` embeddings -> weights ``(C, D*p*p)`` and bias ``(D,)``."""
        x = torch.cat([self.weight_tokens, waves, self.bias_token], dim=0)
        out = self.encoder(x)
        n = self.num_latent_tokens
        return self.fc_weight(out[n:-1] + x[n:-1]), self.fc_bias(out[-1])


class DynamicEmbedding(nn.Module):
    """Wavelength-conditioned patch embedding: a strided convolution whose weights depend on the bands."""

    def __init__(self, wave_dim: int, num_latent_tokens: int, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.wave_dim = wave_dim
        self.patch_size = patch_size
        self.embed_dim = embed_dim
        self.weight_generator = WavesTransformer(wave_dim, patch_size**2 * embed_dim, num_latent_tokens, embed_dim)
        self.fclayer = FCBlock(wave_dim)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor, waves: Tensor) -> Tensor:
        """``(B, C, H, W)`` pixels and ``(C,)`` wavelengths (micrometres) -> ``(B, h*w, D)`` patch tokens."""
        emb = self.fclayer(sincos_1d(waves, self.wave_dim).to(x.device))
        weight, bias = self.weight_generator(emb)
        p = self.patch_size
        kernel = weight.reshape(weight.shape[0], self.embed_dim, p, p).transpose(0, 1)  # (D, C, p, p)
        out = F.conv2d(x, kernel * 0.02, bias=bias, stride=p)
        return out.flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Pre-norm multi-head self-attention without biases (``norm``, ``to_qkv``, ``to_out``)."""

    def __init__(self, dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.to_qkv = nn.Linear(dim, heads * dim_head * 3, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Attend over the token axis of ``(B, N, D)``."""
        b, n, _ = x.shape
        q, k, v = (t.reshape(b, n, self.heads, -1).transpose(1, 2) for t in self.to_qkv(self.norm(x)).chunk(3, -1))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(out.transpose(1, 2).reshape(b, n, -1))  # type: ignore[no-any-return]


class FeedForward(nn.Module):
    """Pre-norm MLP: ``net = (LayerNorm, Linear, GELU, Linear)``."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden_dim), nn.GELU(), nn.Linear(hidden_dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        """Apply the MLP."""
        return self.net(x)  # type: ignore[no-any-return]


class Block(nn.ModuleList):
    """One transformer layer ``[Attention, FeedForward]`` with residuals (keys ``layers.N.0``, ``layers.N.1``)."""

    def __init__(self, dim: int, heads: int, dim_head: int, mlp_dim: int) -> None:
        super().__init__([Attention(dim, heads, dim_head), FeedForward(dim, mlp_dim)])

    def forward(self, x: Tensor) -> Tensor:
        """``x + attn(x)``, then ``x + ff(x)``."""
        x = self[0](x) + x
        return self[1](x) + x  # type: ignore[no-any-return]


class Transformer(nn.Module):
    """The layer stack and its final norm (``transformer.layers``, ``transformer.norm``)."""

    def __init__(self, dim: int, depth: int, heads: int, dim_head: int, mlp_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.layers = nn.ModuleList([Block(dim, heads, dim_head, mlp_dim) for _ in range(depth)])


# -- model ---------------------------------------------------------------------------------------------
class ClayEncoder(nn.Module):
    """Clay encoder as a geo backbone: tokens ``(B, 1 + h*w, D)`` of the selected blocks.

    The last block's output is layer-normed (the encoder's final norm), the others are raw, as in the
    released encoder and TerraTorch's ``clay_v1_base``.

    Args:
        embed_dim: Token width ``D``.
        depth: Transformer layers.
        num_heads: Attention heads.
        dim_head: Width of one head.
        mlp_ratio: MLP width as a multiple of ``embed_dim``.
        patch_size: Side of the square patches.
        wavelengths: Central wavelengths (micrometres) of the input bands, in input order.
        bands: Names of the input bands (for messages and ``geo info``).
        gsd: Ground sample distance (metres) used when ``forward`` gets none.
        out_indices: Blocks whose outputs are returned (default: all).
        img_size: Size the weights were trained at (informational; any multiple of ``patch_size`` works).
        wave_dim: Width of the wavelength embedding.
        num_latent_tokens: Learned tokens of the weight generator.

    Example:
        >>> import torch
        >>> m = build_backbone("clay_test")
        >>> [t.shape for t in m(torch.zeros(1, 6, 16, 24))]
        [torch.Size([1, 7, 32]), torch.Size([1, 7, 32])]
    """

    waves: Tensor

    def __init__(
        self,
        *,
        embed_dim: int,
        depth: int,
        num_heads: int,
        dim_head: int,
        mlp_ratio: float,
        patch_size: int,
        wavelengths: Sequence[float],
        bands: Sequence[str] | None = None,
        gsd: float = 1.0,
        out_indices: Sequence[int] | None = None,
        img_size: int = 256,
        wave_dim: int = 128,
        num_latent_tokens: int = 128,
    ) -> None:
        super().__init__()
        if (embed_dim - 8) % 4:
            raise ConfigError(f"Clay needs embed_dim - 8 divisible by 4, got embed_dim={embed_dim}", key="embed_dim")
        indices = list(range(depth)) if out_indices is None else [int(i) for i in out_indices]
        bad = [i for i in indices if not -depth <= i < depth]
        if bad:
            raise ConfigError(f"out_indices {bad} out of range for depth {depth}", key="out_indices")
        self.embed_dim = self.dim = embed_dim
        self.depth = depth
        self.patch_size = patch_size
        self.img_size = img_size
        self.gsd = float(gsd)
        self.bands = list(bands) if bands is not None else [f"band_{i}" for i in range(len(wavelengths))]
        self.out_indices = [i % depth for i in indices]
        self.out_channels = [embed_dim] * len(self.out_indices)
        self.output_format = "tokens"
        self.prefix_tokens = 1
        self.register_buffer("waves", torch.tensor([float(w) for w in wavelengths]), persistent=False)
        self.cls_token = nn.Parameter(torch.randn(1, 1, embed_dim) * 0.02)
        self.patch_embedding = DynamicEmbedding(wave_dim, num_latent_tokens, patch_size, embed_dim)
        self.transformer = Transformer(embed_dim, depth, num_heads, dim_head, int(embed_dim * mlp_ratio))

    def _metadata(self, value: Tensor | None, b: int, name: str, ref: Tensor) -> Tensor:
        if value is None:
            return ref.new_zeros(b, 4)
        value = torch.as_tensor(value).to(ref)
        if value.shape != (b, 4):
            what = "sin/cos of week, sin/cos of hour" if name == "time" else "sin/cos of latitude, sin/cos of longitude"
            raise InputDataError(f"Clay's {name} must be (batch, 4) = {what}; got shape {tuple(value.shape)}")
        return value

    def forward(
        self,
        x: Tensor,
        time: Tensor | None = None,
        latlon: Tensor | None = None,
        gsd: float | Tensor | None = None,
        waves: Tensor | Sequence[float] | None = None,
    ) -> list[Tensor]:
        """Encode ``(B, C, H, W)`` pixels (or ``(B, C, 1, H, W)``) with optional metadata.

        Args:
            x: Normalised pixels; ``H`` and ``W`` multiples of the patch size.
            time: ``(B, 4)`` sin/cos of week of year and hour of day (zeros when absent).
            latlon: ``(B, 4)`` sin/cos of latitude and longitude (zeros when absent).
            gsd: Ground sample distance in metres, a scalar or one per sample (the built default when absent).
            waves: ``(C,)`` wavelengths in micrometres, overriding the built bands for this call.

        Returns:
            One ``(B, 1 + h*w, D)`` tensor per index of ``out_indices``.
        """
        if x.dim() == 5 and x.shape[2] == 1:
            x = x[:, :, 0]
        if x.dim() != 4:
            raise InputDataError(f"Clay takes (B, C, H, W) images (or (B, C, 1, H, W)); got {tuple(x.shape)}")
        b, c, h, w = x.shape
        p = self.patch_size
        if h % p or w % p:
            raise InputDataError(f"Clay needs H and W divisible by the patch size {p}; got {h}x{w} (pad or crop)")
        wv = self.waves if waves is None else torch.as_tensor(waves, dtype=torch.float32, device=x.device).reshape(-1)
        if wv.numel() != c:
            raise InputDataError(
                f"the input has {c} bands but the model has {wv.numel()} wavelengths ({self.bands}); build it with "
                "bands=[...] or wavelengths=[...] matching the data, or pass waves=... to forward"
            )
        patches = self.patch_embedding(x, wv)
        pos = sincos_2d_gsd(h // p, w // p, self.embed_dim - 8, self.gsd if gsd is None else gsd).to(patches)
        meta = torch.cat((self._metadata(time, b, "time", patches), self._metadata(latlon, b, "latlon", patches)), -1)
        n = patches.shape[1]
        pos = pos.expand(b, n, -1) if pos.dim() == 3 else pos[None].expand(b, n, -1)
        patches = patches + torch.cat((pos, meta[:, None, :].expand(b, n, 8)), dim=-1)
        tokens = torch.cat((self.cls_token.expand(b, -1, -1), patches), dim=1)
        wanted, out, last = set(self.out_indices), {}, self.depth - 1
        for i, layer in enumerate(self.transformer.layers):
            tokens = layer(tokens)
            if i in wanted:
                out[i] = self.transformer.norm(tokens) if i == last else tokens
            if i >= max(wanted):
                break
        return [out[i] for i in self.out_indices]


# -- checkpoint filter ---------------------------------------------------------------------------------
_MARKER = "patch_embedding.weight_generator.weight_tokens"


def load_state_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``.

    Raises:
        CheckpointError: Missing, truncated, not a mapping, or holding pickled objects.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise CheckpointError("checkpoint file does not exist", path=p)
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"cannot read the checkpoint (truncated or not a torch file? {type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''})",
            path=p,
        ) from exc
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"expected a state dict or a Lightning checkpoint, got {type(obj).__name__}", path=p)
    return dict(obj)


def filter_clay_state_dict(state_dict: Mapping[str, Any]) -> tuple[dict[str, Tensor], str]:
    """Return the encoder's tensors without their prefix, and that prefix.

    Understands the released Lightning checkpoints (``state_dict`` -> ``model.encoder.*``, next to the
    decoder and teacher, which are dropped), a bare encoder state dict, and any prefix around the encoder
    (TerraTorch's ``clay_encoder.``, fine-tuned geo models' ``model.encoder.``).

    Raises:
        CheckpointError: No Clay encoder in the mapping (names a few of its keys).
    """
    for key in ("state_dict", "model", "model_state_dict"):
        inner = state_dict.get(key)
        if isinstance(inner, Mapping):
            state_dict = inner
            break
    keys = [k for k in state_dict if isinstance(k, str)]
    prefix = next((k[: -len(_MARKER)] for k in keys if k.endswith(_MARKER)), None)
    if prefix is None:
        raise CheckpointError(
            f"no Clay encoder in this checkpoint (no key ends with {_MARKER!r}); its keys start with "
            f"{keys[:6]}. Is it a Clay checkpoint (e.g. v1/clay-v1-base.ckpt, v1.5/clay-v1.5.ckpt)?"
        )
    sd = {
        k[len(prefix) :]: v
        for k, v in state_dict.items()
        if isinstance(k, str) and k.startswith(prefix) and isinstance(v, Tensor)
    }
    return sd, prefix


def load_clay_checkpoint(model: ClayEncoder, source: str | os.PathLike[str] | Mapping[str, Any]) -> None:
    """Load a released or saved Clay encoder into ``model``, strictly.

    Raises:
        CheckpointError: Missing, unexpected or misshapen keys, named as they are in the file.
    """
    where = None if isinstance(source, Mapping) else Path(source)
    raw = source if isinstance(source, Mapping) else load_state_file(source)
    sd, prefix = filter_clay_state_dict(raw)
    own = model.state_dict()
    missing = [prefix + k for k in own if k not in sd]
    unexpected = [prefix + k for k in sd if k not in own]
    shapes = [
        f"{prefix + k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in sd.items()
        if k in own and own[k].shape != v.shape
    ]
    if missing or unexpected or shapes:

        def few(items: list[str]) -> str:
            return f"{items[:8]}{f' ... ({len(items)} in all)' if len(items) > 8 else ''}"

        parts = [key_report(missing, unexpected)] * bool(missing or unexpected) + [
            f"shapes that do not fit {few(shapes)}"
        ] * bool(shapes)
        raise CheckpointError(
            "the checkpoint does not match the model: " + "; ".join(parts) + f" (model: depth {model.depth}, "
            f"embed_dim {model.embed_dim}; a different variant or depth, or a truncated file?)",
            path=where,
        )
    with torch.no_grad():
        model.load_state_dict(sd, strict=True)
    log.info("loaded Clay weights from %s", where or "a state dict")


# -- builder -------------------------------------------------------------------------------------------
def _weights_path(variant: str, cfg: Mapping[str, Any]) -> Path:
    table = cfg.get("weights")
    if not table:
        raise CheckpointError(
            f"{variant} has no released weights (only clay_v1_base and clay_v15_large do); pass ckpt_path=<file> "
            "(backbone_ckpt_path in a model config) or build it with pretrained=False"
        )
    from geo_core.weights import WeightRef, fetch_weights

    return Path(fetch_weights(WeightRef.from_mapping(table), name=f"clay:{variant}"))


def build_backbone(
    variant: str,
    *,
    pretrained: bool = False,
    ckpt_path: str | os.PathLike[str] | None = None,
    bands: Sequence[str] | None = None,
    wavelengths: Sequence[float] | None = None,
    gsd: float | None = None,
    out_indices: Sequence[int] | None = None,
    img_size: int | None = None,
    num_frames: int = 1,
    depth: int | None = None,
) -> ClayEncoder:
    """Build a registered Clay variant, optionally loading weights.

    Args:
        variant: A name of the ``[backbone.*]`` tables of ``geo-plugin.toml``.
        pretrained: Load the released checkpoint through the weights layer (cached download).
        ckpt_path: Load this file instead (a released checkpoint or a saved encoder).
        bands: Input band names, looked up in :data:`~geo_plugin_clay.WAVELENGTHS` (default: the variant's).
        wavelengths: Central wavelengths in micrometres, one per band (overrides the lookup).
        gsd: Default ground sample distance in metres (the variant's when absent).
        out_indices: Blocks whose tokens are returned (default: every block).
        img_size: Informational training size (any multiple of the patch size works).
        num_frames: Only 1 (Clay encodes single images).
        depth: Fewer layers than the variant (tests, reduced-size checks).

    Raises:
        ConfigError: Conflicting arguments or unknown bands.
        CheckpointError: Weights unavailable or not matching.
    """
    cfg = backbone_config(variant)
    if num_frames != 1:
        raise ConfigError(
            f"{variant}: Clay encodes single images; num_frames={num_frames} is not supported", key="num_frames"
        )
    names, waves = resolve_wavelengths(variant, bands, wavelengths, cfg["bands"], cfg["wavelengths"])
    model = ClayEncoder(
        embed_dim=cfg["embed_dim"],
        depth=depth or cfg["depth"],
        num_heads=cfg["num_heads"],
        dim_head=cfg["dim_head"],
        mlp_ratio=cfg["mlp_ratio"],
        patch_size=cfg["patch_size"],
        wavelengths=waves,
        bands=names,
        gsd=cfg["gsd"] if gsd is None else gsd,
        out_indices=out_indices,
        img_size=img_size or cfg["img_size"],
        wave_dim=cfg["wave_dim"],
        num_latent_tokens=cfg["num_latent_tokens"],
    )
    if ckpt_path is not None:
        load_clay_checkpoint(model, ckpt_path)
    elif pretrained:
        load_clay_checkpoint(model, _weights_path(variant, cfg))
    return model


# -- registered variants -------------------------------------------------------------------------------
def clay_test(**kwargs: Any) -> ClayEncoder:
    """Tiny Clay encoder (D=32, 2 layers) for tests; no released weights."""
    return build_backbone("clay_test", **kwargs)


def clay_v1_base(**kwargs: Any) -> ClayEncoder:
    """Clay v1 base (D=768, 12 layers, patch 8); weights ``made-with-clay/Clay-legacy`` ``v1/clay-v1-base.ckpt``."""
    return build_backbone("clay_v1_base", **kwargs)


def clay_v15_tiny(**kwargs: Any) -> ClayEncoder:
    """Clay v1.5 tiny (D=192, 6 layers); architecture only."""
    return build_backbone("clay_v15_tiny", **kwargs)


def clay_v15_small(**kwargs: Any) -> ClayEncoder:
    """Clay v1.5 small (D=384, 6 layers); architecture only."""
    return build_backbone("clay_v15_small", **kwargs)


def clay_v15_base(**kwargs: Any) -> ClayEncoder:
    """Clay v1.5 base (D=768, 12 layers); architecture only."""
    return build_backbone("clay_v15_base", **kwargs)


def clay_v15_large(**kwargs: Any) -> ClayEncoder:
    """Clay v1.5 large (D=1024, 24 layers); weights ``made-with-clay/Clay`` ``v1.5/clay-v1.5.ckpt``."""
    return build_backbone("clay_v15_large", **kwargs)
