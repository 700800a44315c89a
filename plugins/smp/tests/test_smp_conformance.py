"""The shared conformance checks on every kind smp registers: model factory and losses (decoders: test_smp_decoders)."""

from __future__ import annotations

import pytest
from geo_core.testing import check_loss, check_model_factory


@pytest.mark.parametrize("task", ["segmentation", "regression"])
def test_smp_model_factory_conforms(task: str) -> None:
    check_model_factory(
        "smp:SMPModelFactory",
        task,
        {"arch": "Unet", "backbone": "tu-test_efficientnet", "in_channels": 6, "decoder_channels": (16, 8, 8, 8, 8)},
    )


@pytest.mark.parametrize("name", ["dice", "jaccard", "focal", "lovasz", "tversky"])
def test_smp_losses_conform(name: str) -> None:
    check_loss(f"smp:{name}", ignore_index=255)
