"""TerraMind's encoder as a multimodal backbone (TerraTorch's ``TerraMindViT``, raw-input part).

Each selected modality is patch-embedded by its own layer; the token sequences are concatenated and
run through one transformer. Every block's output is split back per modality and merged:

* ``mean`` / ``max`` over the modalities present: ``(B, N, dim)``;
* ``concat`` on channels, in the order of ``modalities``: ``(B, N, dim * M)``; a modality absent from
  the input is filled with the learnt ``missing_mod_token`` in its own slot.

The output is a list of ``(B, N, D)`` token tensors without prefix tokens
(``output_format = "tokens"``, ``prefix_tokens = 0``), ``N = H/16 * W/16``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import torch
from geo_core import ConfigError
from torch import Tensor, nn

from geo_plugin_terramind._embeddings import ImageEmbedding, TokenEmbedding
from geo_plugin_terramind._layers import Block, LayerNorm
from geo_plugin_terramind._modalities import canonical_modality

__all__ = ["MergeMethod", "TerraMindViT"]

MergeMethod = Literal["mean", "max", "concat"]
ModalitySpec = str | Mapping[str, int]


class TerraMindViT(nn.Module):
    """Multimodal TerraMind encoder returning the tokens of every block (or of ``out_indices``).

    Args:
        modalities: Names of pre-trained modalities (``S2L2A``, ``S1GRD``, ...) and/or mappings
            ``{new_name: channels}`` for new raw modalities.
        channels: Input bands per modality layer key (after band selection); defaults to the pre-trained count.
        merge_method: ``mean``, ``max`` or ``concat``.
        dim: Token width.
        depth: Number of blocks.
        num_heads: Attention heads.
        mlp_ratio: MLP hidden width / ``dim``.
        gated_mlp: SwiGLU MLP (base, large) instead of GELU (tiny, small).
        bias: Biases in the attention and MLP linear layers.
        img_size: Size of the stored position embedding (other sizes are resized to).
        patch_size: Patch side.
        num_register_tokens: Learnt tokens prepended to the sequence (dropped from the output).
        drop_path_rate: Stochastic depth, linearly increasing over blocks.
        modality_drop_rate: In training, drop each modality but one with this probability (TerraTorch's).
        out_indices: Blocks to return (default: all).
        encoder_norm: Layer-norm the last block's output.
    """

    def __init__(
        self,
        modalities: Sequence[ModalitySpec],
        *,
        channels: Mapping[str, int] | None = None,
        merge_method: MergeMethod = "mean",
        dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        gated_mlp: bool = False,
        bias: bool = True,
        img_size: int = 224,
        patch_size: int = 16,
        num_register_tokens: int = 0,
        drop_path_rate: float = 0.0,
        modality_drop_rate: float = 0.0,
        out_indices: Sequence[int] | None = None,
        encoder_norm: bool = True,
    ) -> None:
        super().__init__()
        if merge_method not in ("mean", "max", "concat"):
            raise ValueError(
                f"merge_method={merge_method!r}; TerraMind backbones merge modalities with 'mean', 'max' or 'concat' "
                "(TerraTorch's 'dict' and None do not give the list of tensors decoders need)"
            )
        if not 0.0 <= modality_drop_rate <= 1.0:
            raise ValueError(f"modality_drop_rate must be in [0, 1], got {modality_drop_rate}")
        if not modalities:
            raise ValueError("modalities is empty; name at least one, e.g. modalities=['S2L2A']")
        channels = dict(channels or {})
        self.output_format = "tokens"
        self.prefix_tokens = 0
        self.patch_size = patch_size
        self.merge_method: MergeMethod = merge_method
        self.modality_drop_rate = modality_drop_rate
        self.encoder_embeddings = nn.ModuleDict()
        self.modalities: list[str] = []  # names as given
        self._lookup: dict[str, str] = {}  # every accepted spelling -> layer key
        for spec in modalities:
            items = list(spec.items()) if isinstance(spec, Mapping) else [(spec, None)]
            for name, n_new in items:
                if n_new is not None:
                    key = str(name)
                    emb: nn.Module = ImageEmbedding(int(channels.get(key, n_new)), dim, patch_size, img_size)
                    spellings = {key}
                else:
                    mod = canonical_modality(str(name))
                    key = mod.key
                    if mod.kind == "tokens":
                        emb = TokenEmbedding(mod.vocab_size, dim, patch_size, img_size)
                    else:
                        emb = ImageEmbedding(int(channels.get(key, mod.channels)), dim, patch_size, img_size)
                    spellings = {str(name), mod.name, key}
                if key in self.encoder_embeddings:
                    raise ValueError(f"modality {name!r} is given twice (modalities={list(modalities)})")
                self.encoder_embeddings[key] = emb
                self.modalities.append(str(name))
                self._lookup.update(dict.fromkeys(spellings, key))
        self.keys = list(self.encoder_embeddings)
        if merge_method == "concat":
            self.missing_mod_token = nn.Parameter(torch.empty(dim))
            nn.init.normal_(self.missing_mod_token, std=0.02)
        self.num_register_tokens = num_register_tokens
        self.register_tokens = nn.Parameter(torch.zeros(1, num_register_tokens, dim)) if num_register_tokens else None
        if self.register_tokens is not None:
            nn.init.normal_(self.register_tokens, std=0.02)
        rates = torch.linspace(0, drop_path_rate, depth).tolist() if depth else []
        self.encoder = nn.ModuleList(
            Block(dim, num_heads, mlp_ratio, gated=gated_mlp, bias=bias, drop_path=r) for r in rates
        )
        self.encoder_norm: nn.Module = LayerNorm(dim) if encoder_norm else nn.Identity()
        self.dim = dim
        self.depth = depth
        self._warned: set[str] = set()
        self.out_indices = self._check_indices(out_indices)
        self._init_weights()

    def _check_indices(self, out_indices: Sequence[int] | None) -> list[int]:
        if out_indices is None:
            return list(range(self.depth))
        idx = [i + self.depth if i < 0 else i for i in out_indices]
        bad = [i for i in out_indices if not -self.depth <= i < self.depth]
        if bad:
            raise ValueError(f"out_indices {bad} out of range for {self.depth} blocks")
        return idx

    @property
    def out_channels(self) -> list[int]:
        """Token width of every returned block (``dim``, or ``dim * modalities`` for ``concat``)."""
        width = self.dim * len(self.keys) if self.merge_method == "concat" else self.dim
        return [width] * len(self.out_indices)

    def _init_weights(self) -> None:
        """MAE-style initialisation (xavier-uniform linears, q/k/v treated separately)."""
        for name, m in self.named_modules():
            if isinstance(m, nn.Linear):
                if name.endswith("qkv"):
                    bound = (6.0 / (m.weight.shape[0] // 3 + m.weight.shape[1])) ** 0.5
                    nn.init.uniform_(m.weight, -bound, bound)
                else:
                    nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=0.02)

    def _inputs(self, x: Tensor | Mapping[str, Tensor]) -> dict[str, Tensor]:
        if isinstance(x, Tensor):
            return {self.keys[0]: x}
        out: dict[str, Tensor] = {}
        for name, value in x.items():
            key = self._lookup.get(name) or self._canonical_key(name)
            if key is None:
                if name not in self._warned:
                    self._warned.add(name)
                    warnings.warn(
                        f"TerraMind: input modality {name!r} is not one of {self.modalities}; ignored", stacklevel=3
                    )
                continue
            out[key] = value
        if not out:
            raise ValueError(
                f"TerraMind: none of the input modalities {list(x)} is one of the model's {self.modalities}"
            )
        return out

    def _canonical_key(self, name: str) -> str | None:
        try:
            key = canonical_modality(name).key
        except ConfigError:
            return None
        return key if key in self.encoder_embeddings else None

    def _drop_modalities(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        keys = list(inputs)
        if not self.training or not self.modality_drop_rate or len(keys) < 2:
            return inputs
        keep = keys[int(torch.randint(len(keys), ()).item())]
        drop = {k for k in keys if k != keep and float(torch.rand(())) < self.modality_drop_rate}
        return {k: v for k, v in inputs.items() if k not in drop}

    def forward_features(self, x: Tensor | Mapping[str, Tensor]) -> tuple[list[Tensor], list[str], list[int]]:
        """Run the encoder; return every block's tokens, the present modality keys and their token counts."""
        inputs = self._drop_modalities(self._inputs(x))
        present = [k for k in self.keys if k in inputs]  # the model's order, not the dict's
        tokens = [self.encoder_embeddings[k](inputs[k]) for k in present]
        counts = [t.shape[1] for t in tokens]
        h = torch.cat(tokens, dim=1)
        if self.register_tokens is not None:
            h = torch.cat([self.register_tokens.expand(h.shape[0], -1, -1), h], dim=1)
        outs = []
        for block in self.encoder:
            h = block(h)
            outs.append(h)
        if outs:
            outs[-1] = self.encoder_norm(h)
        outs = [o[:, self.num_register_tokens :] for o in outs]
        return outs, present, counts

    def _merge(self, tokens: Tensor, present: list[str], counts: list[int]) -> Tensor:
        parts = dict(zip(present, torch.split(tokens, counts, dim=1), strict=True))
        if self.merge_method == "concat":
            ref = next(iter(parts.values()))
            filler = self.missing_mod_token.expand_as(ref)
            return torch.cat([parts.get(k, filler) for k in self.keys], dim=-1)
        if len(set(counts)) > 1:
            raise ValueError(
                f"TerraMind: the modalities give different token counts "
                f"{dict(zip(present, counts, strict=True))}; give every modality the same height and width"
            )
        stacked = torch.stack(list(parts.values()), dim=1)
        return stacked.mean(dim=1) if self.merge_method == "mean" else stacked.max(dim=1).values

    def forward(self, x: Tensor | Mapping[str, Tensor]) -> list[Tensor]:
        """Encode a ``{modality: tensor}`` dict (or one tensor for the first modality).

        Returns:
            The merged tokens ``(B, N, out_channels[i])`` of the blocks in ``out_indices``.
        """
        outs, present, counts = self.forward_features(x)
        return [self._merge(outs[i], present, counts) for i in self.out_indices]
