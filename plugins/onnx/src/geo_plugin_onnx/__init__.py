"""Export trained models for deployment (ONNX), checked against PyTorch.

Importing this package never imports torch or onnx; :func:`export_onnx` loads them.

Example:
    >>> from geo_plugin_onnx import export_onnx  # doctest: +SKIP
    >>> report = export_onnx(task, "model.onnx", (1, 6, 224, 224))  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
"""

from __future__ import annotations

from geo_plugin_onnx._api import export_from_config
from geo_plugin_onnx._onnx import export_onnx
from geo_plugin_onnx._report import ExportCheckError, ExportError, ExportReport

__all__ = [
    "ExportCheckError",
    "ExportError",
    "ExportReport",
    "export_from_config",
    "export_onnx",
]
