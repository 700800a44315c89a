"""torchgeo whole-model weights (the FTW and OAM-TCD U-Nets) in ``MODELS``.

Use them through ``FullModelFactory``::

    model_factory: FullModelFactory
    model_args: {model: "torchgeo:Unet_Weights.SENTINEL2_2CLASS_FTW", weights_dir: weights/}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geo_core import ConfigError
from torch import nn

from geo_plugin_torchgeo._index import load_index
from geo_plugin_torchgeo._weights import find_weights_file, load_weights

__all__ = ["build_model"]


def build_model(
    name: str,
    *,
    pretrained: bool = True,
    ckpt_path: str | Path | None = None,
    weights_dir: str | Path | None = None,
    num_classes: int | None = None,
) -> nn.Module:
    """Build the segmentation_models_pytorch U-Net of torchgeo weights ``name``.

    Args:
        name: ``Unet_Weights.<MEMBER>``.
        pretrained: Load the weights from disk (default) or keep random ones.
        ckpt_path: The weight file, or its folder.
        weights_dir: Folder to search instead of ``$GEO_TORCHGEO_WEIGHTS`` and torch's hub cache.
        num_classes: Output classes; a value other than the weights' own starts a fresh
            segmentation head (the encoder and decoder stay pretrained).

    Returns:
        The smp model (``encoder``/``decoder`` attributes, so freezing works).
    """
    import segmentation_models_pytorch as smp

    entry = load_index()["models"].get(name)
    if entry is None:
        raise ConfigError(f"unknown torchgeo whole-model weights {name!r}; see `geo list models --source torchgeo`")
    classes = int(num_classes if num_classes is not None else entry["num_classes"])
    model: nn.Module = smp.create_model(
        "Unet", encoder_name=entry["encoder"], encoder_weights=None, in_channels=int(entry["in_chans"]), classes=classes
    )
    if pretrained:
        path = find_weights_file(name, entry, ckpt_path, weights_dir)
        head = ("segmentation_head.",) if classes != entry["num_classes"] else ()
        if head:
            fresh: Any = model.segmentation_head
            keep = fresh.state_dict()
            load_weights(model, path, allow_missing=head, skip=head)
            fresh.load_state_dict(keep)
        else:
            load_weights(model, path)
    return model
