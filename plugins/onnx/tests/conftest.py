"""Shared pieces of the export tests: tiny models and an ONNX runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")  # a dependency of geo-plugin-onnx; the missing-extra path is tested with stubs


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    """Run the exported graph on ``x`` with onnxruntime (CPU)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": x})[0]  # type: ignore[no-any-return]


def build(factory: str, **kwargs: object):
    """A random-init model from a registered factory, in eval mode."""
    import geo_core
    import torch

    torch.manual_seed(0)
    task = kwargs.pop("task", "segmentation")
    return geo_core.MODEL_FACTORIES.build(factory).build_model(task, **kwargs).eval()
