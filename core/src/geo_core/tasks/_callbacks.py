"""Callbacks under TerraTorch's names."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint

__all__ = ["StateDictAwareModelCheckpoint"]


class StateDictAwareModelCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` that may run beside another one with ``save_weights_only=True``.

    TerraTorch configs pair two of them on the same metric: one keeps full Lightning
    checkpoints (resumable), the other a weights-only file (``{epoch}_state_dict``).
    Lightning refuses two checkpoint callbacks with the same state key; this one puts
    ``save_weights_only`` into the key, so both run and both files are kept.

    Args:
        save_best_only: TerraTorch's alias of ``save_top_k=1``.
        **kwargs: :class:`lightning.pytorch.callbacks.ModelCheckpoint` arguments.

    Example (YAML)::

        trainer:
          callbacks:
            - class_path: geo_core.tasks._callbacks.StateDictAwareModelCheckpoint
              init_args: {filename: "{epoch}", monitor: val/loss}
            - class_path: geo_core.tasks._callbacks.StateDictAwareModelCheckpoint
              init_args: {filename: "{epoch}_state_dict", monitor: val/loss, save_weights_only: true}
    """

    def __init__(self, *args: Any, save_best_only: bool = False, **kwargs: Any) -> None:
        if save_best_only:
            kwargs["save_top_k"] = 1
        super().__init__(*args, **kwargs)

    @property
    def state_key(self) -> str:
        """Lightning's key plus ``save_weights_only``."""
        return self._generate_state_key(
            monitor=self.monitor,
            mode=self.mode,
            every_n_train_steps=self._every_n_train_steps,
            every_n_epochs=self._every_n_epochs,
            train_time_interval=self._train_time_interval,
            save_weights_only=self.save_weights_only,
        )
