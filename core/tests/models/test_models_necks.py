"""Unit tests of every core neck, including the paths TerraTorch left untested."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_core.models.necks import (
    AddBottleneckLayer,
    AggregateTokens,
    FeaturePyramidNetworkNeck,
    InterpolateToPyramidal,
    LearnedInterpolateToPyramidal,
    MaxpoolToPyramidal,
    PermuteDims,
    ReshapeTokensToImage,
    SelectIndices,
    build_necks,
)
from geo_core.models.necks._tokens import grid_shape
from geo_core.testing import check_neck


def maps(widths: list[int], size: int = 8, batch: int = 2) -> list[torch.Tensor]:
    return [torch.randn(batch, c, size, size) for c in widths]


def test_every_core_neck_is_registered() -> None:
    names = {n.split(":", 1)[1] for n in geo_core.NECKS.names(source="core")}
    assert names == {
        "SelectIndices",
        "PermuteDims",
        "ReshapeTokensToImage",
        "AggregateTokens",
        "InterpolateToPyramidal",
        "LearnedInterpolateToPyramidal",
        "MaxpoolToPyramidal",
        "FeaturePyramidNetworkNeck",
        "AddBottleneckLayer",
    }


def test_select_indices_negative_and_errors() -> None:
    out = check_neck(SelectIndices([4, 8, 16], indices=[0, -1]), [4, 8, 16], maps([4, 8, 16]))
    assert [o.shape[1] for o in out] == [4, 16]
    with pytest.raises(ValueError, match="out of range"):
        SelectIndices([4, 8], indices=[2])
    with pytest.raises(ValueError, match="expected 2 features"):
        SelectIndices([4, 8], indices=[0])(maps([4]))


def test_permute_dims() -> None:
    nhwc = [torch.randn(2, 5, 6, 8)]
    out = PermuteDims([8], new_order=[0, 3, 1, 2])(nhwc)
    assert out[0].shape == (2, 8, 5, 6) and out[0].is_contiguous()
    with pytest.raises(ValueError, match="not a permutation"):
        PermuteDims([8], new_order=[0, 1, 1, 2])
    with pytest.raises(ValueError, match="dims"):
        PermuteDims([8], new_order=[0, 2, 1])(nhwc)


@pytest.mark.parametrize(("size", "grid"), [((64, 64), (8, 8)), ((64, 16), (8, 2)), ((24, 40), (3, 5))])
def test_reshape_tokens_uses_the_real_image_size(size: tuple[int, int], grid: tuple[int, int]) -> None:
    n = grid[0] * grid[1]
    tokens = torch.arange(2 * (n + 1) * 4, dtype=torch.float).reshape(2, n + 1, 4)
    out = check_neck(ReshapeTokensToImage([4]), [4], [tokens], image_size=size)
    assert out[0].shape == (2, 4, *grid)
    # token (row r, col c) lands at [:, :, r, c]; the cls token is dropped
    assert torch.equal(out[0][0, :, 0, 1], tokens[0, 2])


def test_reshape_tokens_square_perfect_square_trap() -> None:
    """64x16 with patch 8 has 16 tokens, a perfect square: the image size must win over sqrt."""
    out = ReshapeTokensToImage([4], remove_cls_token=False)([torch.randn(1, 16, 4)], image_size=(64, 16))
    assert out[0].shape == (1, 4, 8, 2)


def test_reshape_tokens_without_cls_and_with_time() -> None:
    t, grid = 3, (2, 4)
    x = torch.randn(2, t * 8, 5)
    neck = ReshapeTokensToImage([5], remove_cls_token=False, effective_time_dim=t)
    out = check_neck(neck, [5], [x], image_size=(16, 32))
    assert out[0].shape == (2, 15, *grid)
    assert torch.equal(out[0][:, 5:10, 0, 0], x[:, 8])  # frame 1, first token


def test_reshape_tokens_h_and_errors() -> None:
    assert ReshapeTokensToImage([4], h=2, remove_cls_token=False)([torch.randn(1, 6, 4)])[0].shape == (1, 4, 2, 3)
    with pytest.raises(ValueError, match="remove_cls_token=False"):
        ReshapeTokensToImage([4])([torch.randn(1, 16, 4)], image_size=(32, 32))  # no cls token present
    with pytest.raises(ValueError, match="effective_time_dim"):
        ReshapeTokensToImage([4], remove_cls_token=False, effective_time_dim=3)([torch.randn(1, 16, 4)])
    with pytest.raises(ValueError, match=r"\(B, N, D\)"):
        ReshapeTokensToImage([4])(maps([4]))
    with pytest.raises(ValueError, match=">= 1"):
        ReshapeTokensToImage([4], effective_time_dim=0)
    assert grid_shape(12, None) is None and grid_shape(16, None) == (4, 4)


@pytest.mark.parametrize("pooling", ["mean", "max", "min", "CLS", 2])
def test_aggregate_tokens(pooling: str | int) -> None:
    x = torch.randn(2, 5, 6)
    out = check_neck(AggregateTokens([3, 6], pooling=pooling), [3, 6], [torch.randn(2, 5, 3), x])
    expected = {"mean": x.mean(1), "max": x.amax(1), "min": x.amin(1), "CLS": x[:, 0], 2: x[:, 2]}[pooling]
    assert torch.equal(out[0], expected)


def test_aggregate_tokens_maps_drop_cls_and_errors() -> None:
    m = torch.randn(2, 6, 3, 3)
    assert torch.allclose(AggregateTokens([6])([m])[0], m.mean((2, 3)))
    x = torch.randn(2, 5, 6)
    assert torch.equal(AggregateTokens([6], drop_cls=True)([x])[0], x[:, 1:].mean(1))
    with pytest.raises(ValueError, match="pooling"):
        AggregateTokens([6], pooling="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out of range"):
        AggregateTokens([6], index=3)


def test_interpolate_to_pyramidal() -> None:
    out = check_neck(InterpolateToPyramidal([4, 4, 4, 4]), [4] * 4, maps([4] * 4, size=4))
    assert [o.shape[-1] for o in out] == [16, 8, 4, 2]
    with pytest.raises(ValueError, match="ReshapeTokensToImage"):
        InterpolateToPyramidal([4])([torch.randn(1, 5, 4)])


def test_learned_interpolate_to_pyramidal() -> None:
    neck = LearnedInterpolateToPyramidal([16, 16, 16, 16])
    out = check_neck(neck, [16] * 4, maps([16] * 4, size=4))
    assert [tuple(o.shape[1:]) for o in out] == [(4, 16, 16), (8, 8, 8), (16, 4, 4), (16, 2, 2)]
    out = neck(maps([16] * 4, size=3))  # odd grid: the max-pool rounds up
    assert out[3].shape[-1] == 2
    with pytest.raises(ValueError, match="exactly 4"):
        LearnedInterpolateToPyramidal([16, 16])


def test_maxpool_to_pyramidal() -> None:
    out = check_neck(MaxpoolToPyramidal([4, 4, 4], kernel_size=2), [4] * 3, maps([4] * 3, size=8))
    assert [o.shape[-1] for o in out] == [8, 4, 2]


def test_fpn_neck() -> None:
    feats = [torch.randn(2, c, s, s) for c, s in [(4, 16), (8, 8), (16, 4)]]
    out = check_neck(FeaturePyramidNetworkNeck([4, 8, 16], out_channel=6), [4, 8, 16], feats)
    assert [tuple(o.shape[1:]) for o in out] == [(6, 16, 16), (6, 8, 8), (6, 4, 4)]
    with pytest.raises(ValueError, match="expected 3"):
        FeaturePyramidNetworkNeck([4, 8, 16])(feats[:2])


def test_add_bottleneck_layer() -> None:
    out = check_neck(AddBottleneckLayer([4, 8]), [4, 8], maps([4, 8]))
    assert len(out) == 3 and out[2].shape[1] == 4


def test_build_necks_from_config_and_errors() -> None:
    chain, channels = build_necks(
        [{"name": "SelectIndices", "indices": [1, 3]}, {"name": "core:ReshapeTokensToImage"}], [8, 8, 8, 8]
    )
    assert channels == [8, 8] and len(chain) == 2
    out = chain([torch.randn(1, 17, 8)] * 4, image_size=(32, 32))
    assert [o.shape for o in out] == [torch.Size((1, 8, 4, 4))] * 2
    with pytest.raises(ValueError, match="'name'"):
        build_necks([{"indices": [0]}], [8])
    with pytest.raises(TypeError, match="necks\\[0\\]"):
        build_necks([{"name": "SelectIndices", "indice": [0]}], [8])
    with pytest.raises(geo_core.UnknownComponentError, match="SelectIndices"):
        build_necks([{"name": "SelectIndice", "indices": [0]}], [8])
