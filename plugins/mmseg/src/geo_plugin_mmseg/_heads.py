"""The mmseg decode heads served as ``mmseg:<HeadName>`` decoders.

Each class names its mmseg head and the defaults of the head's reference config (mainly
``channels``, which mmseg requires). Everything else defaults as in mmseg. See
:class:`~geo_plugin_mmseg.MMSegDecoder` for the shared arguments.
"""

from __future__ import annotations

from typing import Any

from geo_core import ConfigError
from torch import Tensor, nn

from geo_plugin_mmseg._decoder import BN, MMSegDecoder, head_defaults, resize_to_coarsest

__all__ = [
    "FCNHead",
    "UPerHead",
    "ASPPHead",
    "DepthwiseSeparableASPPHead",
    "PSPHead",
    "SegformerHead",
    "FPNHead",
    "SegmenterMaskTransformerHead",
    "DAHead",
    "NLHead",
    "ISAHead",
    "EncHead",
    "SETRUPHead",
    "SETRMLAHead",
    "DPTHead",
    "CCHead",
    "PSAHead",
]


class FCNHead(MMSegDecoder):
    """Fully convolutional head (FCN, Long et al. 2015); mmseg's usual auxiliary head.

    As an auxiliary decoder use mmseg's ``auxiliary_head`` settings: ``in_index=-2,
    channels=256, num_convs=1, concat_input=False`` (``checkpoint_prefix="auxiliary_head."``).
    """

    head_type = "FCNHead"
    defaults = head_defaults(channels=512, norm_cfg=BN)


class UPerHead(MMSegDecoder):
    """UPerNet head: pyramid pooling on the last map plus FPN fusion of all maps (Xiao et al. 2018)."""

    head_type = "UPerHead"
    multi_level = True
    sets_input_transform = True
    defaults = head_defaults(channels=512, norm_cfg=BN)


class ASPPHead(MMSegDecoder):
    """DeepLabV3 atrous spatial pyramid pooling head (Chen et al. 2017)."""

    head_type = "ASPPHead"
    defaults = head_defaults(channels=512, norm_cfg=BN)


class DepthwiseSeparableASPPHead(MMSegDecoder):
    """DeepLabV3+ head: separable ASPP on the last map plus a low-level skip (Chen et al. 2018).

    The skip comes from feature map ``c1_index`` (default 0, the finest); ``c1_in_channels``
    is derived from ``channel_list`` and ``c1_channels`` defaults to 48.
    """

    head_type = "DepthwiseSeparableASPPHead"
    defaults = head_defaults(channels=512, c1_channels=48, norm_cfg=BN)

    def _configure(self, indices: list[int], cfg: dict[str, Any]) -> list[int]:
        if len(indices) != 1:
            raise ConfigError(
                "DepthwiseSeparableASPPHead takes one in_index (the low-level map is c1_index)", "in_index"
            )
        c1 = self._indices(cfg.pop("c1_index", 0))[0]
        self._multi_index = False
        given = cfg.pop("c1_in_channels", None)
        if given is not None and int(given) != self.channel_list[c1]:
            raise ConfigError(
                f"c1_in_channels={given} but feature map {c1} has {self.channel_list[c1]} channels; "
                "leave it out (geo derives it) or set c1_index",
                "c1_in_channels",
            )
        if cfg.get("input_transform") is not None:
            raise ConfigError("DepthwiseSeparableASPPHead takes no input_transform", "input_transform")
        cfg.pop("input_transform", None)
        # mmseg feeds the skip from inputs[0] and the ASPP from inputs[in_index]
        cfg["in_channels"], cfg["in_index"] = self.channel_list[indices[0]], 1
        cfg["c1_in_channels"] = self.channel_list[c1]
        return [c1, indices[0]]


class PSPHead(MMSegDecoder):
    """PSPNet pyramid pooling head (Zhao et al. 2017)."""

    head_type = "PSPHead"
    defaults = head_defaults(channels=512, norm_cfg=BN)


class SegformerHead(MMSegDecoder):
    """SegFormer all-MLP head (Xie et al. 2021)."""

    head_type = "SegformerHead"
    multi_level = True
    sets_input_transform = True
    defaults = head_defaults(channels=256, norm_cfg=BN)


class FPNHead(MMSegDecoder):
    """Semantic FPN head (Kirillov et al. 2019).

    ``feature_strides`` default to ``4, 8, 16, ...`` (a feature pyramid, as after a
    pyramidal neck); only their ratios matter.
    """

    head_type = "FPNHead"
    multi_level = True
    sets_input_transform = True
    defaults = head_defaults(channels=128, norm_cfg=BN)

    def _configure(self, indices: list[int], cfg: dict[str, Any]) -> list[int]:
        positions = super()._configure(indices, cfg)
        strides = cfg.setdefault("feature_strides", [4 * 2**i for i in range(len(indices))])
        if len(strides) != len(indices):
            raise ConfigError(
                f"feature_strides {strides} needs one entry per feature map ({len(indices)})", "feature_strides"
            )
        return positions


class SegmenterMaskTransformerHead(MMSegDecoder):
    """Segmenter mask transformer head (Strudel et al. 2021), for ViT feature maps.

    ``embed_dims`` and ``channels`` default to the input width, ``num_heads`` to the largest
    of 12, 8, 6, 4, 2, 1 dividing ``embed_dims``, ``num_layers`` to 2. It normalises masks
    across classes, so it needs ``num_classes >= 2`` (no regression).
    """

    head_type = "SegmenterMaskTransformerHead"
    defaults = head_defaults(num_layers=2)  # its norm_cfg is a LayerNorm of its own

    def _configure(self, indices: list[int], cfg: dict[str, Any]) -> list[int]:
        if self.num_classes < 2:
            raise ConfigError(
                "SegmenterMaskTransformerHead normalises its masks across classes (LayerNorm over "
                "num_classes), so with num_classes=1 its output is constant; use another head for "
                "regression",
                "num_classes",
            )
        positions = super()._configure(indices, cfg)
        embed = cfg.setdefault("embed_dims", cfg["in_channels"])
        cfg.setdefault("channels", embed)
        cfg.setdefault("num_heads", next(h for h in (12, 8, 6, 4, 2, 1) if embed % h == 0))
        return positions


class DAHead(MMSegDecoder):
    """DANet dual attention head (Fu et al. 2019).

    geo uses its fused output; the position/channel-attention classifiers that mmseg
    supervises separately (``pam_conv_seg``, ``cam_conv_seg``) are built, so checkpoints
    load, but get no gradient (with DDP use a strategy that finds unused parameters).
    """

    head_type = "DAHead"
    defaults = head_defaults(channels=512, pam_channels=64, norm_cfg=BN)


class NLHead(MMSegDecoder):
    """Non-local block head (Wang et al. 2018)."""

    head_type = "NLHead"
    defaults = head_defaults(channels=512, norm_cfg=BN)


class ISAHead(MMSegDecoder):
    """Interlaced sparse self-attention head (Huang et al. 2019)."""

    head_type = "ISAHead"
    defaults = head_defaults(channels=512, isa_channels=256, norm_cfg=BN)


class EncHead(MMSegDecoder):
    """EncNet context encoding head (Zhang et al. 2018).

    ``use_se_loss`` defaults to False: geo trains the segmentation output only. With True the
    SE branch is built (so official weights load) but its output is not used.
    """

    head_type = "EncHead"
    multi_level = True
    sets_input_transform = True
    defaults = head_defaults(channels=512, num_codes=32, use_se_loss=False, norm_cfg=BN)


class SETRUPHead(MMSegDecoder):
    """SETR naive/progressive upsampling head (Zheng et al. 2021), for ViT feature maps."""

    head_type = "SETRUPHead"
    defaults = head_defaults(channels=256, norm_cfg=BN)


class SETRMLAHead(MMSegDecoder):
    """SETR multi-level aggregation head (Zheng et al. 2021), for ViT feature maps.

    The maps are resized to the coarsest one's size (the patch grid the head expects);
    ``mla_channels`` defaults to 128 and ``channels`` to ``len(in_index) * mla_channels``,
    as mmseg requires.
    """

    head_type = "SETRMLAHead"
    multi_level = True
    sets_input_transform = True
    defaults = head_defaults(mla_channels=128, norm_cfg=BN)

    def _configure(self, indices: list[int], cfg: dict[str, Any]) -> list[int]:
        positions = super()._configure(indices, cfg)
        want = len(indices) * int(cfg["mla_channels"])
        if int(cfg.setdefault("channels", want)) != want:
            raise ConfigError(
                f"SETRMLAHead needs channels = number of maps x mla_channels = {want}, got {cfg['channels']}",
                "channels",
            )
        return positions

    def _prepare(self, features: list[Tensor]) -> list[Any]:
        return resize_to_coarsest(features)


class DPTHead(MMSegDecoder):
    """DPT head (Ranftl et al. 2021), for ViT feature maps: reassembles and fuses four maps.

    Uses exactly four maps (default: the last four), resized to the coarsest one's size.
    ``embed_dims`` defaults to their common width; maps of other widths get a 1x1
    projection to it (not part of mmseg checkpoints). The readout token is the spatial mean
    of each map (only used by ``readout_type="add"``/``"project"``; the default is ``"ignore"``).
    """

    head_type = "DPTHead"
    multi_level = True
    defaults = head_defaults(channels=256)  # its norm_cfg defaults to BN already

    def _default_in_index(self, n: int) -> list[int]:
        return list(range(max(0, n - 4), n))

    def _configure(self, indices: list[int], cfg: dict[str, Any]) -> list[int]:
        if len(indices) != 4:
            raise ConfigError(
                f"DPTHead fuses exactly four feature maps, got in_index {indices} of channel_list {self.channel_list}",
                "in_index",
            )
        widths = [self.channel_list[i] for i in indices]
        embed = int(cfg.setdefault("embed_dims", max(widths)))
        self.input_proj = (
            None
            if all(w == embed for w in widths)
            else nn.ModuleList(nn.Conv2d(w, embed, kernel_size=1) for w in widths)
        )
        if cfg.pop("input_transform", "multiple_select") != "multiple_select":
            raise ConfigError("DPTHead uses input_transform='multiple_select'", "input_transform")
        cfg["in_channels"], cfg["in_index"], cfg["input_transform"] = [embed] * 4, [0, 1, 2, 3], "multiple_select"
        return indices

    def _prepare(self, features: list[Tensor]) -> list[Any]:
        maps = resize_to_coarsest(features)
        if self.input_proj is not None:
            maps = [proj(f) for proj, f in zip(self.input_proj, maps, strict=True)]
        return [[f, f.mean(dim=(2, 3))] for f in maps]


class CCHead(MMSegDecoder):
    """CCNet criss-cross attention head (Huang et al. 2019). Needs compiled mmcv."""

    head_type = "CCHead"
    defaults = head_defaults(channels=512, norm_cfg=BN)
    needs_compiled_mmcv = True


class PSAHead(MMSegDecoder):
    """PSANet point-wise spatial attention head (Zhao et al. 2018). Needs compiled mmcv."""

    head_type = "PSAHead"
    defaults = head_defaults(channels=512, mask_size=(97, 97), norm_cfg=BN)
    needs_compiled_mmcv = True
