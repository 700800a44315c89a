"""The batch default and its even split over a strip; outputs do not depend on the batch; the heap is given back."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import torch
from geo_core import Model, ModelOutput
from geo_core.inference import PredictOptions, default_batch_size, predict_scene
from geo_core.inference._heap import retained_heap
from geo_core.tasks import SemanticSegmentationTask
from geo_core.testing import write_geotiff
from torch import nn


class _CNN(Model):
    """Two convolutions; ``wide`` gives it more than a million parameters."""

    def __init__(self, wide: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        c = 1024 if wide else 8
        mid = nn.Conv2d(c, c, 1) if wide else nn.Identity()
        self.body = nn.Sequential(nn.Conv2d(6, c, 3, padding=1), nn.ReLU(), mid, nn.Conv2d(c, 2, 3, padding=1))
        self.num_classes = 2

    def forward(self, x: torch.Tensor, **kw: object) -> ModelOutput:
        return ModelOutput(self.body(x))


class _Recorder:
    """Wraps a model's forward to record the batch sizes it sees."""

    def __init__(self, task: SemanticSegmentationTask) -> None:
        self.sizes: list[int] = []
        inner = task.model.forward

        def forward(x: torch.Tensor, **kw: object) -> ModelOutput:
            self.sizes.append(x.shape[0])
            return inner(x, **kw)

        task.model.forward = forward  # type: ignore[method-assign]


def test_batch_default_is_sixteen_for_small_and_large_models_on_every_device():
    for model in (_CNN(), _CNN(wide=True)):
        assert default_batch_size(model, "cpu") == 16
        assert default_batch_size(model, "cuda") == 16


def test_predict_scene_uses_the_rule_when_no_batch_is_set(tmp_path, monkeypatch):
    src = write_geotiff(tmp_path / "s.tif", height=40, width=200)
    task = SemanticSegmentationTask(model=_CNN()).eval()
    monkeypatch.setattr("geo_core.inference._stream.default_batch_size", lambda t, d: 3)
    rec = _Recorder(task)
    predict_scene(task, src, tmp_path / "o.tif", options=PredictOptions(crop=32, stride=24, compress="none"))
    assert max(rec.sizes) == 3  # 8 windows in a row: batches of 3, 3, 2
    assert rec.sizes == [3, 3, 2, 3, 3, 2]


@pytest.mark.parametrize("kind", ["prediction", "probabilities"])
def test_output_does_not_depend_on_the_batch(tmp_path, kind):
    rng = np.random.default_rng(0)
    src = write_geotiff(tmp_path / "s.tif", rng.random((6, 70, 90), dtype=np.float32))
    task = SemanticSegmentationTask(model=_CNN()).eval()
    outs = []
    for batch in (1, 5, 16):
        opt = PredictOptions(crop=32, stride=24, batch_size=batch, output_kind=kind, compress="none")
        out = predict_scene(task, src, tmp_path / f"o{batch}.tif", options=opt)
        with rasterio.open(out) as r:
            outs.append(r.read())
    for other in outs[1:]:
        if kind == "prediction":
            assert np.array_equal(other, outs[0])
        else:
            np.testing.assert_allclose(other, outs[0], atol=1e-5)


def test_retained_heap_nests_and_gives_memory_back(monkeypatch):
    calls: list[tuple[str, int, int]] = []

    class FakeLibc:
        def mallopt(self, what: int, value: int) -> int:
            calls.append(("mallopt", what, value))
            return 1

        def malloc_trim(self, pad: int) -> int:
            calls.append(("trim", pad, 0))
            return 1

    monkeypatch.setattr("geo_core.inference._heap._libc", FakeLibc())
    with retained_heap():
        with retained_heap():
            pass
        assert [c[0] for c in calls] == ["mallopt", "mallopt"]  # the inner block changes nothing
    assert calls[-1] == ("trim", 0, 0)
    assert ("mallopt", -3, 1 << 30) in calls and ("mallopt", -1, 128 * 1024) in calls


def test_a_strips_windows_are_shared_out_evenly():
    from geo_core.inference._stream import even_batch

    assert [even_batch(n, 16) for n in (22, 11, 33, 17, 16, 3)] == [11, 11, 11, 9, 16, 3]
    assert even_batch(5, 1) == 1
