"""A stand-in for ``mmcv.ops``, so that mmsegmentation imports on mmcv-lite.

mmcv-lite ships the Python files of ``mmcv.ops`` but not the compiled ``mmcv._ext`` they
load, so ``import mmcv.ops`` fails, and with it ``import mmseg.models``, although none of
the heads this plugin serves on mmcv-lite calls a compiled op. At import, mmseg 1.2.2
takes from ``mmcv.ops`` only ``point_sample`` (pure PyTorch: reimplemented here) and
``sigmoid_focal_loss``, ``CrissCrossAttention``, ``PSAMask``, ``DeformConv2d``,
``ModulatedDeformConv2d`` (compiled).

:func:`install` registers this stand-in as ``sys.modules["mmcv.ops"]`` only when the
installed mmcv has no compiled extension and ``mmcv.ops`` is not imported yet: a real
compiled mmcv is never shadowed. On the stand-in, every other public name of mmcv
2.1.0's ``mmcv.ops`` is a placeholder (a class for class names, so ``isinstance`` checks
work) that raises :class:`CompiledOpsRequiredError`, saying how to get compiled mmcv, when
it is called or instantiated; unknown names raise :class:`AttributeError` as usual.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from typing import TYPE_CHECKING, Any

from geo_core import MissingDependencyError

from geo_plugin_mmseg._env import COMPILED_MMCV_INSTALL, compiled_mmcv_available

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["CompiledOpsRequiredError", "point_sample", "install", "is_stand_in", "MMCV_OPS_NAMES"]

#: The public names of mmcv 2.1.0's ``mmcv.ops`` (its ``__all__``; a test keeps them in sync).
MMCV_OPS_NAMES = frozenset(
    """
bbox_overlaps CARAFE CARAFENaive CARAFEPack carafe carafe_naive CornerPool DeformConv2d DeformConv2dPack
deform_conv2d DeformRoIPool DeformRoIPoolPack ModulatedDeformRoIPoolPack deform_roi_pool SigmoidFocalLoss
SoftmaxFocalLoss sigmoid_focal_loss softmax_focal_loss get_compiler_version get_compiling_cuda_version
MaskedConv2d masked_conv2d ModulatedDeformConv2d ModulatedDeformConv2dPack modulated_deform_conv2d
batched_nms nms soft_nms nms_match RoIAlign roi_align RoIPool roi_pool SyncBatchNorm Conv2d ConvTranspose2d
Linear MaxPool2d CrissCrossAttention PSAMask point_sample rel_roi_point_to_rel_img_point SimpleRoIAlign
SAConv2d TINShift tin_shift assign_score_withk box_iou_rotated box_iou_quadri RoIPointPool3d nms_rotated
knn ball_query upfirdn2d FusedBiasLeakyReLU fused_bias_leakyrelu rotated_feature_align RiRoIAlignRotated
riroi_align_rotated RoIAlignRotated roi_align_rotated pixel_group QueryAndGroup GroupAll grouping_operation
contour_expand three_nn three_interpolate MultiScaleDeformableAttention BorderAlign border_align
gather_points furthest_point_sample nms_quadri furthest_point_sample_with_dist PointsSampler Correlation
boxes_iou3d boxes_iou_bev boxes_overlap_bev nms_bev nms_normal_bev nms3d nms3d_normal Voxelization
voxelization dynamic_scatter DynamicScatter RoIAwarePool3d SparseConv2d SparseConv3d SparseConvTranspose2d
SparseConvTranspose3d SparseInverseConv2d SparseInverseConv3d SubMConv2d SubMConv3d SparseModule
SparseSequential SparseMaxPool2d SparseMaxPool3d SparseConvTensor scatter_nd points_in_boxes_part
points_in_boxes_cpu points_in_boxes_all points_in_polygons min_area_polygons active_rotated_filter
convex_iou convex_giou diff_iou_rotated_2d diff_iou_rotated_3d chamfer_distance PrRoIPool prroi_pool
bias_act filtered_lrelu conv2d conv_transpose2d filter2d upsample2d BezierAlign bezier_align
""".split()
)


class CompiledOpsRequiredError(MissingDependencyError):
    """An ``mmcv.ops`` kernel was used, but only mmcv-lite (no compiled ops) is installed."""

    def __init__(self, what: str) -> None:
        super().__init__("mmcv with compiled ops (mmcv._ext; mmcv-lite lacks them)", COMPILED_MMCV_INSTALL, what)


def point_sample(input: Tensor, points: Tensor, align_corners: bool = False, **kwargs: Any) -> Tensor:
    """Sample ``input`` at ``points`` (normalised to ``[0, 1]``), like ``mmcv.ops.point_sample``.

    Args:
        input: Features ``(N, C, H, W)``.
        points: Coordinates ``(N, P, 2)`` or ``(N, Hg, Wg, 2)`` in ``[0, 1] x [0, 1]``.
        align_corners: Passed to :func:`torch.nn.functional.grid_sample`.
        **kwargs: Further ``grid_sample`` arguments.

    Returns:
        ``(N, C, P)`` or ``(N, C, Hg, Wg)`` features.
    """
    from torch.nn import functional as F

    flat = points.dim() == 3
    grid = points.unsqueeze(2) if flat else points
    out = F.grid_sample(input, 2.0 * grid - 1.0, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if flat else out


class _CompiledOp:
    """Base of the placeholder classes: instantiating one raises."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise CompiledOpsRequiredError(f"mmcv.ops.{type(self).__name__}")


def _placeholder(name: str) -> Any:
    if name[0].isupper():
        return type(name, (_CompiledOp,), {"__module__": "mmcv.ops", "__doc__": f"Needs compiled mmcv: {name}."})

    def op(*args: Any, **kwargs: Any) -> Any:
        raise CompiledOpsRequiredError(f"mmcv.ops.{name}")

    op.__name__ = op.__qualname__ = name
    op.__module__ = "mmcv.ops"
    return op


def _make_module() -> types.ModuleType:
    module = types.ModuleType("mmcv.ops", "geo-plugin-mmseg stand-in for mmcv.ops (mmcv-lite has no compiled ops).")
    module.__spec__ = importlib.machinery.ModuleSpec("mmcv.ops", loader=None)
    module.__all__ = sorted(MMCV_OPS_NAMES)  # type: ignore[attr-defined]
    module.__geo_stand_in__ = True  # type: ignore[attr-defined]
    module.point_sample = point_sample  # type: ignore[attr-defined]

    def __getattr__(name: str) -> Any:
        if name not in MMCV_OPS_NAMES:
            raise AttributeError(f"module 'mmcv.ops' (geo-plugin-mmseg stand-in) has no attribute {name!r}")
        value = _placeholder(name)
        setattr(module, name, value)
        return value

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


def is_stand_in(module: object) -> bool:
    """Return whether ``module`` is this stand-in (as opposed to the real ``mmcv.ops``)."""
    return bool(getattr(module, "__geo_stand_in__", False))


def install() -> bool:
    """Register the stand-in as ``mmcv.ops`` unless compiled mmcv is installed.

    Idempotent; never replaces an ``mmcv.ops`` that is already imported.

    Returns:
        True when the stand-in serves ``mmcv.ops`` (now or from an earlier call).
    """
    current = sys.modules.get("mmcv.ops")
    if current is not None:
        return is_stand_in(current)
    if compiled_mmcv_available():
        return False
    import mmcv

    module = _make_module()
    sys.modules["mmcv.ops"] = module
    mmcv.ops = module
    return True
