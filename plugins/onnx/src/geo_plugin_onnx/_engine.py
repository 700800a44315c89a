"""The ``onnxruntime`` prediction engine: the task exported by ``geo export``'s exporter, run by ONNX Runtime.

Registered by geo-plugin-onnx under the entry-point group ``geo.engines`` (core's engine seam,
``geo predict --engine onnxruntime``). The task is exported once per run at the
fixed window batch shape ``(batch_size, C, crop, crop)`` (a fixed-shape export is several times
quicker than a dynamic one and lets ONNX Runtime plan for the shape; a short last batch is padded),
or ``predict.onnx_model`` names a file written by ``geo export``. The session is kept for every
scene of the run. Windows go in as float32 NCHW; the
model's main output comes back and goes through ``task.convert`` exactly as on the torch path,
so blending and writing are shared.
"""

from __future__ import annotations

import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import torch
from geo_core.inference import default_batch_size
from torch import Tensor

__all__ = ["OnnxRuntimeEngine", "onnx_session"]

_SESSIONS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


def onnx_session(task: Any, sample_shape: tuple[int, ...], onnx_model: str | None = None) -> Any:
    """An ``onnxruntime.InferenceSession`` of ``task`` (exported once, cached per task and input shape).

    ``sample_shape`` is the full batch shape ``(B, C, H, W)`` the session is exported for.
    """
    from geo_plugin_onnx._onnx import export_onnx, require_onnx

    require_onnx()
    import onnxruntime as ort

    threads = torch.get_num_threads()
    key = (tuple(sample_shape), onnx_model, threads)
    cache = _SESSIONS.setdefault(task, {})
    if key in cache:
        return cache[key]
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    if onnx_model is not None:
        sess = ort.InferenceSession(str(onnx_model), so, providers=["CPUExecutionProvider"])
    else:
        with tempfile.TemporaryDirectory(prefix="geo-onnx-") as tmp:
            path = Path(tmp) / "model.onnx"
            export_onnx(task, path, tuple(sample_shape), dynamic=False, check=False)
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    # a few sessions per task: scenes of different widths share their windows out into different
    # batch sizes (geo_core.inference._stream.even_batch); the oldest goes when a fifth arrives
    while len(cache) >= 4:
        cache.pop(next(iter(cache)))
    cache[key] = sess
    return sess


class OnnxRuntimeEngine:
    """Runner ``batch -> task.convert(onnx output, kind)`` for one scene (a context manager).

    Args:
        task: The task (exported on first use; its ``convert`` turns logits into the output kind).
        kind: ``probabilities``, ``logits`` or ``prediction``.
        options: The run's :class:`~geo_core.inference.PredictOptions` (``onnx_model``).
        sample_shape: ``(C, crop, crop)`` of one window.
    """

    def __init__(self, task: Any, kind: str, options: Any, sample_shape: tuple[int, ...]) -> None:
        self.task = task
        self.kind = kind
        device = next(iter(task.parameters())).device
        self.batch = int(options.batch_size or default_batch_size(task, device.type))
        onnx_model = getattr(options, "onnx_model", None)
        self.session = onnx_session(task, (self.batch, *sample_shape), onnx_model)
        inp = self.session.get_inputs()[0]
        self.input = inp.name
        first = inp.shape[0] if inp.shape else None
        self.fixed = isinstance(first, int)  # a fixed batch size: pad short batches to it
        if isinstance(first, int):
            self.batch = first

    def __enter__(self) -> OnnxRuntimeEngine:
        # ONNX Runtime's pool does the heavy work; torch's ops around it (convert, blending) run on
        # one thread meanwhile. Otherwise torch's OpenMP workers keep spinning after each op and
        # take cores from ONNX Runtime's pool: a 2048² demo-CNN scene on 2 CPUs took 1.45 s instead
        # of 1.19 s (best of 6), with 2.84 s of CPU instead of 2.33 s.
        self._torch_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        return self

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self._torch_threads)

    def __call__(self, batch: Tensor) -> Tensor:
        x = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.float32)
        n = x.shape[0]
        if self.fixed and n != self.batch:
            if n > self.batch:
                return torch.cat([self(batch[i : i + self.batch]) for i in range(0, n, self.batch)])
            x = np.concatenate([x, np.zeros((self.batch - n, *x.shape[1:]), np.float32)])
        out = torch.from_numpy(self.session.run(None, {self.input: x})[0][:n])
        converted: Tensor = self.task.convert(out, self.kind)
        return converted.float().to(batch.device)
