"""Finetuning API laid out as ``zoobot.pytorch.training.finetune``.

Port a Zoobot script by changing its import::

    # from zoobot.pytorch.training import finetune
    from geo_plugin_zoobot import finetune

    model = finetune.FinetuneableZoobotClassifier(name="convnext_nano", weights="encoder.safetensors",
                                                  num_classes=2, training_mode="full", layer_decay=0.75)
    trainer = finetune.get_trainer(save_dir, max_epochs=20)
    trainer.fit(model, datamodule)
"""

from __future__ import annotations

from geo_plugin_zoobot._base import FinetuneableZoobotAbstract
from geo_plugin_zoobot._classifier import FinetuneableZoobotClassifier
from geo_plugin_zoobot._encoder import load_pretrained_zoobot
from geo_plugin_zoobot._heads import DirichletHead, LinearHead
from geo_plugin_zoobot._losses import cross_entropy_loss, l1_loss, mse_loss
from geo_plugin_zoobot._regressor import FinetuneableZoobotRegressor
from geo_plugin_zoobot._trainer import get_trainer
from geo_plugin_zoobot._tree import FinetuneableZoobotTree

__all__ = [
    "FinetuneableZoobotAbstract",
    "FinetuneableZoobotClassifier",
    "FinetuneableZoobotRegressor",
    "FinetuneableZoobotTree",
    "get_trainer",
    "load_pretrained_zoobot",
    "LinearHead",
    "DirichletHead",
    "cross_entropy_loss",
    "mse_loss",
    "l1_loss",
]
