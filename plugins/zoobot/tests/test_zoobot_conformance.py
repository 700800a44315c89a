"""The shared conformance checks on every kind zoobot registers: tasks, the datamodule and the loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from geo_core.testing import check_datamodule, check_loss, check_task
from geo_plugin_zoobot import CatalogDataModule
from geo_plugin_zoobot.finetune import (
    FinetuneableZoobotClassifier,
    FinetuneableZoobotRegressor,
    FinetuneableZoobotTree,
)
from geo_plugin_zoobot.testing import THIRD_PARTY_WARNINGS, TREE_COLS, TREE_DEPS, TREE_PAIRS

pytestmark = [pytest.mark.filterwarnings(spec) for spec in THIRD_PARTY_WARNINGS]

_TASKS: dict[str, tuple[Any, dict[str, Any], list[str]]] = {
    "classifier": (FinetuneableZoobotClassifier, {"name": "test_resnet", "num_classes": 2}, ["bright"]),
    "regressor": (FinetuneableZoobotRegressor, {"name": "test_convnext", "unit_interval": True}, ["bright"]),
    "tree": (
        FinetuneableZoobotTree,
        {
            "name": "test_vit",
            "timm_kwargs": {"img_size": 32},
            "question_answer_pairs": TREE_PAIRS,
            "dependencies": TREE_DEPS,
            "training_mode": "full",
        },
        TREE_COLS,
    ),
}


@pytest.mark.parametrize("kind", sorted(_TASKS))
def test_zoobot_tasks_conform(kind: str, png_catalog: Path) -> None:
    cls, kwargs, cols = _TASKS[kind]
    check_task(cls(**kwargs), CatalogDataModule(label_cols=cols, catalog=png_catalog, batch_size=4))


def test_catalog_datamodule_conforms(png_catalog: Path) -> None:
    dm = CatalogDataModule(label_cols=["bright"], catalog=png_catalog, batch_size=3)
    check_datamodule(dm, stages=("fit", "test"), bands=3, target="label")


def test_dirichlet_multinomial_loss_conforms() -> None:
    counts = torch.tensor([[3.0, 1.0, 0.0, 2.0], [0.0, 4.0, 1.0, 1.0]])
    check_loss(
        "zoobot:dirichlet_multinomial",
        question_index_groups=[(0, 1), (2, 3)],
        prediction=torch.rand(2, 4) + 0.5,  # positive Dirichlet concentrations
        target=counts,
    )
