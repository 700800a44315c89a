"""The shared conformance check on timm's model factory (backbones: test_timm_backbones)."""

from __future__ import annotations

import pytest
from geo_core.testing import check_model_factory


@pytest.mark.parametrize("task", ["classification", "scalar_regression"])
def test_timm_model_factory_conforms(task: str) -> None:
    kwargs = {"backbone": "resnet10t", "in_chans": 6}
    if task == "scalar_regression":
        kwargs["num_classes"] = 1
    check_model_factory("timm:TimmModelFactory", task, kwargs)
