"""torchvision detectors (Faster R-CNN, RetinaNet, FCOS, Mask R-CNN) on any geo backbone via an FPN neck."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from geo_core import ConfigError
from torch import Tensor, nn

__all__ = [
    "Framework",
    "FRAMEWORKS",
    "DetectionBackbone",
    "DetectionModel",
    "build_detector",
    "ObjectDetectionModelFactory",
]

Framework = Literal["faster-rcnn", "retinanet", "fcos", "mask-rcnn"]
FRAMEWORKS = ("faster-rcnn", "retinanet", "fcos", "mask-rcnn")


class DetectionBackbone(nn.Module):
    """A geo backbone + optional necks + FeaturePyramidNetworkNeck, returning torchvision's ``OrderedDict``."""

    def __init__(
        self, backbone: nn.Module, necks: Sequence[Mapping[str, Any] | nn.Module] | None, fpn_channels: int = 256
    ) -> None:
        super().__init__()
        from geo_core.models.necks import FeaturePyramidNetworkNeck, build_necks

        channels = list(getattr(backbone, "out_channels", []) or [])
        if not channels:
            raise ConfigError("the detection backbone needs an 'out_channels' list", key="backbone")
        self.body = backbone
        self.necks, channels = build_necks(necks, channels)
        self.fpn = FeaturePyramidNetworkNeck(channels, out_channel=fpn_channels)
        self.out_channels = fpn_channels
        self.num_levels = len(channels)

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        """Feature pyramid keyed ``"0"``, ``"1"``, ... (finest first)."""
        feats = self.body(x)
        feats = self.necks(list(feats), image_size=(int(x.shape[-2]), int(x.shape[-1])))
        if any(f.dim() != 4 for f in feats):
            raise ConfigError(
                "detection needs (B, C, H, W) feature maps; add necks such as "
                "SelectIndices + ReshapeTokensToImage + LearnedInterpolateToPyramidal for a ViT",
                key="necks",
            )
        return OrderedDict((str(i), f) for i, f in enumerate(self.fpn(feats)))


class DetectionModel(nn.Module):
    """A torchvision detector whose ``encoder`` is the geo backbone.

    ``forward(images, targets)`` follows torchvision: a loss dict in training mode,
    a list of ``{boxes, labels, scores[, masks]}`` in eval mode. Frozen parts stay in
    eval mode when ``train()`` is called.
    """

    def __init__(self, detector: nn.Module, framework: str) -> None:
        super().__init__()
        self.detector = detector
        self.framework = framework
        self._frozen: list[nn.Module] = []

    @property
    def encoder(self) -> nn.Module:
        """The geo backbone inside the detector."""
        body = getattr(self.detector.backbone, "body", None)
        assert isinstance(body, nn.Module)
        return body

    def freeze_encoder(self) -> None:
        """No gradients for the backbone, kept in eval mode."""
        from geo_core import freeze_module

        freeze_module(self.encoder)
        self._frozen.append(self.encoder)

    def train(self, mode: bool = True) -> DetectionModel:
        """Set training mode, keeping frozen parts in eval mode."""
        super().train(mode)
        for m in self._frozen:
            m.eval()
        return self

    def forward(self, images: list[Tensor], targets: list[dict[str, Tensor]] | None = None) -> Any:
        """Torchvision's detector call."""
        return self.detector(images, targets)


def build_detector(
    framework: Framework,
    backbone: str | nn.Module,
    num_classes: int,
    backbone_args: Mapping[str, Any] | None = None,
    necks: Sequence[Mapping[str, Any] | nn.Module] | None = None,
    fpn_channels: int = 256,
    in_channels: int | None = None,
    min_size: int = 512,
    max_size: int = 1024,
    image_mean: Sequence[float] | None = None,
    image_std: Sequence[float] | None = None,
    anchor_sizes: Sequence[int] | None = None,
    score_thresh: float = 0.05,
    nms_thresh: float = 0.5,
    detections_per_img: int = 100,
) -> DetectionModel:
    """Build a torchvision detector over a registered backbone.

    Args:
        framework: ``faster-rcnn``, ``retinanet``, ``fcos`` or ``mask-rcnn``.
        backbone: ``BACKBONES`` name or module.
        num_classes: Classes including background 0 (labels in the data are ``1..num_classes-1``).
        backbone_args: Arguments of the backbone's builder.
        necks: Necks between backbone and FPN (ViT backbones need token->image necks).
        fpn_channels: Width of every pyramid level.
        in_channels: Image bands: passed to the backbone as ``in_channels`` (for backbones that name it
            otherwise, e.g. timm's ``in_chans``, set it in ``backbone_args``) and sizes the normalisation defaults.
        min_size: torchvision's resize target of the shorter side.
        max_size: Upper bound of the longer side.
        image_mean: Per-band mean used by torchvision's transform (default 0: data already normalised).
        image_std: Per-band std (default 1).
        anchor_sizes: Base anchor size per level (default 16, 32, 64, ...).
        score_thresh: Minimum score of returned detections.
        nms_thresh: Non-maximum-suppression IoU threshold.
        detections_per_img: Maximum detections per image.
    """
    from torchvision.models import detection as tvd
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.ops import MultiScaleRoIAlign

    if framework not in FRAMEWORKS:
        raise ConfigError(f"framework must be one of {', '.join(FRAMEWORKS)}, got {framework!r}", key="framework")
    if framework == "fcos" and fpn_channels % 32:
        raise ConfigError(
            f"fcos heads use GroupNorm(32): fpn_channels must be a multiple of 32, got {fpn_channels}",
            key="fpn_channels",
        )
    if num_classes < 2:
        raise ConfigError("num_classes counts the background class 0 too; use at least 2", key="num_classes")
    if isinstance(backbone, nn.Module):
        body = backbone
    else:
        from geo_core import BACKBONES

        args = dict(backbone_args or {})
        if in_channels is not None:
            args.setdefault("in_channels", in_channels)
        body = BACKBONES.build(backbone, **args)
    bb = DetectionBackbone(body, necks, fpn_channels)
    n = bb.num_levels
    given = dict(backbone_args or {})
    bands = in_channels or int(given.get("in_channels", given.get("in_chans", 3)))
    mean = list(image_mean) if image_mean is not None else [0.0] * bands
    std = list(image_std) if image_std is not None else [1.0] * bands
    base = list(anchor_sizes) if anchor_sizes is not None else [16 * 2**i for i in range(n)]
    if len(base) != n:
        raise ConfigError(f"anchor_sizes has {len(base)} entries for {n} pyramid levels", key="anchor_sizes")
    common: dict[str, Any] = {"min_size": min_size, "max_size": max_size, "image_mean": mean, "image_std": std}
    names = [str(i) for i in range(n)]
    if framework in ("faster-rcnn", "mask-rcnn"):
        anchors = AnchorGenerator(tuple((s,) for s in base), ((0.5, 1.0, 2.0),) * n)
        kw: dict[str, Any] = {
            "rpn_anchor_generator": anchors,
            "box_roi_pool": MultiScaleRoIAlign(names, output_size=7, sampling_ratio=2),
            "box_score_thresh": score_thresh,
            "box_nms_thresh": nms_thresh,
            "box_detections_per_img": detections_per_img,
            **common,
        }
        if framework == "mask-rcnn":
            det: nn.Module = tvd.MaskRCNN(
                bb,
                num_classes=num_classes,
                mask_roi_pool=MultiScaleRoIAlign(names, output_size=14, sampling_ratio=2),
                **kw,
            )
        else:
            det = tvd.FasterRCNN(bb, num_classes=num_classes, **kw)
    elif framework == "retinanet":
        anchors = AnchorGenerator(tuple((s, int(s * 1.26), int(s * 1.59)) for s in base), ((0.5, 1.0, 2.0),) * n)
        det = tvd.RetinaNet(
            bb,
            num_classes=num_classes,
            anchor_generator=anchors,
            score_thresh=score_thresh,
            nms_thresh=nms_thresh,
            detections_per_img=detections_per_img,
            **common,
        )
    else:
        anchors = AnchorGenerator(tuple((s,) for s in base), ((1.0,),) * n)
        det = tvd.FCOS(
            bb,
            num_classes=num_classes,
            anchor_generator=anchors,
            score_thresh=score_thresh,
            nms_thresh=nms_thresh,
            detections_per_img=detections_per_img,
            **common,
        )
    return DetectionModel(det, framework)


class ObjectDetectionModelFactory:
    """``MODEL_FACTORIES`` entry building :class:`DetectionModel` (TerraTorch's factory name)."""

    def build_model(self, task: str = "detection", **kwargs: Any) -> DetectionModel:
        """Build a detector; ``kwargs`` are :func:`build_detector`'s arguments."""
        if task not in ("detection", "object_detection"):
            raise ConfigError(f"ObjectDetectionModelFactory builds detection models, not {task!r}", key="task")
        from geo_core.models import check_arguments

        check_arguments(build_detector, kwargs, prefix="", where="ObjectDetectionModelFactory")
        return build_detector(**kwargs)
