"""``get_trainer``: a Lightning Trainer with Zoobot's checkpointing and early stopping on ``finetuning/val_loss``."""

from __future__ import annotations

import os
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint

__all__ = ["get_trainer", "MONITOR"]

#: The key every Finetuneable Zoobot module logs and that checkpointing/early stopping watch.
MONITOR = "finetuning/val_loss"


def get_trainer(
    save_dir: str | os.PathLike[str],
    file_template: str = "{epoch}",
    save_top_k: int = 1,
    max_epochs: int = 100,
    patience: int = 10,
    devices: Any = "auto",
    accelerator: str = "auto",
    logger: Any = None,
    monitor: str = MONITOR,
    **trainer_kwargs: Any,
) -> L.Trainer:
    """Create the Trainer that finetunes: ``trainer.fit(model, datamodule)``.

    Keeps the ``save_top_k`` best checkpoints by ``monitor`` under ``save_dir/checkpoints``
    (full checkpoints, so they reload with ``load_from_checkpoint``), stops after ``patience``
    epochs without improvement, and records learning rates when a logger is set.

    Args:
        save_dir: Folder for checkpoints and logs.
        file_template: Checkpoint file name template (Lightning syntax).
        save_top_k: Number of best checkpoints kept.
        max_epochs: Upper bound on epochs.
        patience: Early-stopping patience in epochs.
        devices: Lightning ``devices``.
        accelerator: Lightning ``accelerator``.
        logger: A Lightning logger; ``None`` writes CSV logs under ``save_dir/logs``; ``False`` logs nowhere.
        monitor: Logged key to watch (lower is better).
        **trainer_kwargs: Passed to ``lightning.Trainer``.
    """
    callbacks: list[Any] = [
        ModelCheckpoint(
            monitor=monitor,
            mode="min",
            dirpath=os.path.join(os.fspath(save_dir), "checkpoints"),
            filename=file_template,
            save_top_k=save_top_k,
            auto_insert_metric_name=False,
            every_n_epochs=1,
        ),
        EarlyStopping(monitor=monitor, mode="min", patience=patience),
    ]
    if logger is None:
        from lightning.pytorch.loggers import CSVLogger

        logger = CSVLogger(os.fspath(save_dir), name="logs")
    if logger:
        callbacks.append(LearningRateMonitor(logging_interval="epoch"))
    callbacks += list(trainer_kwargs.pop("callbacks", []) or [])
    return L.Trainer(
        logger=logger,
        callbacks=callbacks,
        max_epochs=max_epochs,
        accelerator=accelerator,
        devices=devices,
        default_root_dir=os.fspath(save_dir),
        **trainer_kwargs,
    )
