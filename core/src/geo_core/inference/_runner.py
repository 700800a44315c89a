"""Run window batches through a task, in channels-last memory layout when the model takes it.

On CPU, oneDNN convolutions run about twice as fast on channels-last (NHWC) tensors; the
results are the same up to float summation order. Models whose code assumes contiguous
NCHW (a ``.view`` on a feature map, say) fail on the first batch; the runner then puts the
model back and goes on in the default layout; so does a model holding 5-D weights (a Conv3d
patch embedding), which cannot be converted.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import Tensor

__all__ = ["WindowRunner"]

log = logging.getLogger("geo_core.inference")


class WindowRunner:
    """Callable ``batch -> converted output`` for one prediction run; use as a context manager.

    Args:
        task: The task (its ``forward`` and ``convert`` are used).
        kind: What ``task.convert`` returns (``probabilities``, ``logits`` or ``prediction``).
        channels_last: Try the channels-last layout (kept only if the first batch runs).
    """

    def __init__(self, task: Any, kind: str, channels_last: bool = True) -> None:
        self.task = task
        self.kind = kind
        self.channels_last: bool | None = None if channels_last else False

    def __enter__(self) -> WindowRunner:
        # the layout to give back: a model the user already keeps channels-last stays so
        four_d = [p for p in self.task.parameters() if p.dim() == 4]
        self._was_channels_last = all(p.is_contiguous(memory_format=torch.channels_last) for p in four_d) and any(
            not p.is_contiguous() for p in four_d
        )  # 1x1 kernels are contiguous in both layouts
        return self

    def __exit__(self, *exc: object) -> None:
        if self.channels_last and not self._was_channels_last:
            self.task.to(memory_format=torch.contiguous_format)

    def _run(self, batch: Tensor) -> Tensor:
        out: Tensor = self.task.convert(self.task(batch).output, self.kind)
        return out.float()

    def __call__(self, batch: Tensor) -> Tensor:
        if self.channels_last is None:  # first batch: try channels-last, keep it if it works
            try:  # converting fails on 5-D weights (Conv3d patch embeddings), running on NCHW-only code
                self.task.to(memory_format=torch.channels_last)
                out = self._run(batch.contiguous(memory_format=torch.channels_last))
            except Exception as exc:  # any failure: fall back to the layout the model was built for
                self.task.to(memory_format=torch.contiguous_format)
                self._was_channels_last = False
                self.channels_last = False
                log.info(
                    "model does not run channels-last (%s: %s); using the default layout",
                    type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "",
                )
                return self._run(batch)
            self.channels_last = True
            return out
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return self._run(batch)
