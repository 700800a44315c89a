"""Fixtures of geo-plugin-detection's tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def trainer() -> Callable[..., Any]:
    """A CPU Lightning Trainer factory without logging, checkpoints or progress bars."""

    def make(**kw: Any) -> Any:
        import lightning.pytorch as pl

        base: dict[str, Any] = dict(
            max_epochs=1,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        return pl.Trainer(**{**base, **kw})

    return make
