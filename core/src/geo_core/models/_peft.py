"""Parameter-efficient fine-tuning of a backbone through the ``peft`` library (``geo-core[peft]``).

``peft_config`` keeps TerraTorch's keys::

    peft_config:
      method: LORA
      replace_qkv: qkv            # optional: split fused qkv Linear layers into q/k/v
      peft_config_kwargs: {target_modules: [q_linear, v_linear], r: 8, lora_alpha: 16}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from geo_core._errors import ConfigError, MissingDependencyError, UnusedArgumentError

__all__ = ["apply_peft", "QKVLinear", "replace_qkv_layers"]

_KEYS = ("method", "replace_qkv", "peft_config_kwargs")


class QKVLinear(nn.Module):
    """A fused ``qkv`` linear layer split into ``q_linear``, ``k_linear`` and ``v_linear`` (same output)."""

    def __init__(self, fused: nn.Linear) -> None:
        super().__init__()
        d = fused.in_features
        if fused.out_features != 3 * d:
            raise ConfigError(f"replace_qkv: a fused qkv layer must map {d} -> {3 * d}, got {fused.out_features}")
        bias = fused.bias is not None
        self.q_linear, self.k_linear, self.v_linear = (nn.Linear(d, d, bias=bias) for _ in range(3))
        with torch.no_grad():
            for i, lin in enumerate((self.q_linear, self.k_linear, self.v_linear)):
                lin.weight.copy_(fused.weight[i * d : (i + 1) * d])
                if bias:
                    lin.bias.copy_(fused.bias[i * d : (i + 1) * d])  # type: ignore[index]

    def forward(self, x: Tensor) -> Tensor:
        """Return ``cat([q(x), k(x), v(x)], -1)`` like the fused layer."""
        return torch.cat([self.q_linear(x), self.k_linear(x), self.v_linear(x)], dim=-1)


def replace_qkv_layers(model: nn.Module, name: str) -> int:
    """Replace every ``nn.Linear`` child called ``name`` by a :class:`QKVLinear`; return how many."""
    count = 0
    for parent in list(model.modules()):
        child = getattr(parent, name, None)
        if isinstance(child, nn.Linear) and name in dict(parent.named_children()):
            setattr(parent, name, QKVLinear(child))
            count += 1
    if not count:
        raise ConfigError(f"replace_qkv={name!r}: the backbone has no nn.Linear layer of that name", key="peft_config")
    return count


def apply_peft(backbone: nn.Module, peft_config: Mapping[str, Any]) -> nn.Module:
    """Inject PEFT adapters into ``backbone`` in place; only adapter parameters stay trainable.

    The backbone keeps its class, ``out_channels`` and forward signature.

    Raises:
        MissingDependencyError: ``peft`` is not installed (``pip install 'geo-core[peft]'``).
        UnusedArgumentError: ``peft_config`` has keys other than method/replace_qkv/peft_config_kwargs.
    """
    unknown = [k for k in peft_config if k not in _KEYS]
    if unknown:
        raise UnusedArgumentError([f"peft_config.{k}" for k in unknown], "peft_config")
    try:
        import peft
        from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING, PEFT_TYPE_TO_PREFIX_MAPPING
    except ImportError as exc:
        raise MissingDependencyError("peft", "pip install 'geo-core[peft]'", "peft_config") from exc
    method = str(peft_config.get("method", "LORA")).upper()
    configs: dict[str, Any] = {str(getattr(k, "value", k)): v for k, v in PEFT_TYPE_TO_CONFIG_MAPPING.items()}
    prefixes: dict[str, str] = {str(getattr(k, "value", k)): v for k, v in PEFT_TYPE_TO_PREFIX_MAPPING.items()}
    if method not in configs:
        raise ConfigError(f"unknown peft method {method!r}; for example LORA", key="peft_config.method")
    if peft_config.get("replace_qkv"):
        replace_qkv_layers(backbone, str(peft_config["replace_qkv"]))
    kwargs = dict(peft_config.get("peft_config_kwargs") or {})
    try:
        config = configs[method](**kwargs)
    except TypeError as exc:
        raise ConfigError(f"peft_config_kwargs for {method}: {exc}", key="peft_config.peft_config_kwargs") from exc
    backbone = peft.inject_adapter_in_model(config, backbone)
    prefix = prefixes.get(method, "lora_")
    for n, p in backbone.named_parameters():
        p.requires_grad_(prefix in n)
    return backbone
