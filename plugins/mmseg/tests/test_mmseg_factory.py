"""mmseg heads inside geo models: geo_core.testing.check_decoder, regression, auxiliary FCN head."""

from __future__ import annotations

from typing import Any

import geo_core
import pytest
import torch
from geo_core.models import EncoderDecoderFactory
from geo_core.testing import check_decoder
from geo_plugin_mmseg import LITE_HEADS


@pytest.mark.parametrize("head", LITE_HEADS)
def test_check_decoder_segmentation(head: str, tiny: dict[str, dict[str, Any]]) -> None:
    check_decoder(f"mmseg:{head}", tiny[head], image_size=(32, 48))


@pytest.mark.parametrize("head", [h for h in LITE_HEADS if h != "SegmenterMaskTransformerHead"])
def test_check_decoder_pixelwise_regression(head: str, tiny: dict[str, dict[str, Any]]) -> None:
    check_decoder(f"mmseg:{head}", tiny[head], task="regression", backbones=("cnn",), image_size=(32, 32))


def _uper_with_aux(**extra: Any) -> Any:
    return EncoderDecoderFactory().build_model(
        "segmentation",
        backbone="tiny_cnn",
        backbone_in_channels=3,
        decoder="mmseg:UPerHead",
        decoder_channels=8,
        decoder_pool_scales=(1, 2),
        num_classes=3,
        aux_decoders=[
            {
                "name": "aux_fcn",
                "decoder": "mmseg:FCNHead",
                "decoder_args": {
                    "decoder_in_index": -2,
                    "decoder_channels": 8,
                    "decoder_num_convs": 1,
                    "decoder_concat_input": False,
                },
            }
        ],
        **extra,
    )


def test_auxiliary_fcn_head_as_aux_decoder() -> None:
    model = _uper_with_aux()
    out = model(torch.randn(2, 3, 32, 32))
    assert out.output.shape == (2, 3, 32, 32)
    assert out.auxiliary_heads["aux_fcn"].shape == (2, 3, 32, 32)
    (out.output.mean() + 0.4 * out.auxiliary_heads["aux_fcn"].mean()).backward()
    aux_params = [p for n, p in model.named_parameters() if "aux_fcn" in n]
    assert aux_params and all(p.grad is not None for p in aux_params)


def test_misspelt_head_argument_names_the_fix() -> None:
    with pytest.raises(geo_core.UnusedArgumentError, match="did you mean 'pool_scales'"):
        EncoderDecoderFactory().build_model(
            "segmentation", backbone="tiny_cnn", decoder="mmseg:UPerHead", num_classes=2, decoder_pool_scale=(1,)
        )
