"""Vote-count decision trees: Dirichlet head and Dirichlet-multinomial loss over a schema."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from geo_core import ConfigError
from torch import Tensor

from geo_plugin_zoobot._base import FinetuneableZoobotAbstract
from geo_plugin_zoobot._heads import DirichletHead
from geo_plugin_zoobot._losses import DirichletMultinomialLoss
from geo_plugin_zoobot.schemas import Schema, get_schema

__all__ = ["FinetuneableZoobotTree"]


class FinetuneableZoobotTree(FinetuneableZoobotAbstract):
    """Finetune (or train from scratch) on Galaxy-Zoo-style vote counts.

    The head predicts Dirichlet concentrations for every answer; the loss is the
    Dirichlet-multinomial negative log-likelihood of the votes, per question, summed over
    questions (unanswered questions contribute zero) and averaged over the batch. Labels are
    ``(B, n_answers)`` vote counts in ``schema.label_cols`` order. For training from scratch
    pass ``name=`` without weights and ``training_mode="full"``.

    Args:
        schema: A :class:`~geo_plugin_zoobot.schemas.Schema`, a published schema name
            (``"gz2_ortho_schema"``), or its ``to_dict()`` mapping.
        question_answer_pairs: Alternative to ``schema`` (with ``dependencies``), as Zoobot's ``ZoobotTree``.
        dependencies: See ``question_answer_pairs``.
        **super_kwargs: See :class:`FinetuneableZoobotAbstract`.
    """

    def __init__(
        self,
        schema: Schema | str | Mapping[str, Any] | None = None,
        question_answer_pairs: Mapping[str, Sequence[str]] | None = None,
        dependencies: Mapping[str, str | None] | None = None,
        **super_kwargs: Any,
    ) -> None:
        super().__init__(**super_kwargs)
        if schema is not None and (question_answer_pairs is not None or dependencies is not None):
            raise ConfigError("pass schema= or question_answer_pairs=/dependencies=, not both", key="schema")
        if schema is None:
            if question_answer_pairs is None or dependencies is None:
                raise ConfigError(
                    "FinetuneableZoobotTree needs schema= (or question_answer_pairs= and dependencies=)", key="schema"
                )
            schema = Schema(question_answer_pairs, dependencies)
        self.schema = get_schema(schema)
        self.output_dim = len(self.schema.label_cols)
        self.head = DirichletHead(self.encoder_dim, self.output_dim, dropout_prob=self.head_dropout_prob)
        self.loss_fn = DirichletMultinomialLoss(self.schema.question_index_groups)
        self._record_hparams(**self.schema.to_dict())

    def _update_metrics(self, stage: str, y_pred: Tensor, y: Tensor) -> None:
        """Validation also logs each question's mean loss as ``finetuning/val_loss/<question>``."""
        if stage != "val":
            return
        per_q = self.loss_fn.per_question(y_pred, y.to(y_pred.dtype)).mean(dim=0)
        for question, value in zip(self.schema.questions, per_q, strict=True):
            self.log(
                f"finetuning/val_loss/{question.text}", value, on_step=False, on_epoch=True, batch_size=y_pred.shape[0]
            )

    def loss(self, y_pred: Tensor, y: Tensor) -> Tensor:
        """``(B,)``: per-galaxy Dirichlet-multinomial NLL summed over questions."""
        return self.loss_fn.per_question(y_pred, y.to(y_pred.dtype)).sum(dim=1)
