"""Losses: Dirichlet-multinomial vote-count likelihood (per question) and thin regression/CE wrappers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

if TYPE_CHECKING:
    from geo_plugin_zoobot.schemas import Schema

__all__ = [
    "dirichlet_multinomial_nll",
    "calculate_multiquestion_loss",
    "DirichletMultinomialLoss",
    "build_dirichlet_multinomial_loss",
    "cross_entropy_loss",
    "mse_loss",
    "l1_loss",
]


def dirichlet_multinomial_nll(counts: Tensor, concentrations: Tensor) -> Tensor:
    r"""Negative log-likelihood of vote ``counts`` under a Dirichlet-multinomial.

    .. math::
        \log p(k \mid \alpha) = \log\Gamma(n+1) - \sum_i \log\Gamma(k_i+1)
            + \log\Gamma(\alpha_0) - \log\Gamma(n+\alpha_0) + \sum_i [\log\Gamma(k_i+\alpha_i) - \log\Gamma(\alpha_i)]

    with :math:`n = \sum_i k_i`, :math:`\alpha_0 = \sum_i \alpha_i`. Rows with no votes
    (:math:`n = 0`, the question was not asked) contribute exactly zero and no gradient.

    Args:
        counts: ``(B, A)`` non-negative vote counts for one question's ``A`` answers.
        concentrations: ``(B, A)`` positive Dirichlet concentrations.

    Returns:
        ``(B,)`` negative log-likelihoods.
    """
    counts = counts.to(concentrations.dtype)
    total = counts.sum(dim=-1)
    alpha0 = concentrations.sum(dim=-1)
    log_p = (
        torch.lgamma(total + 1)
        - torch.lgamma(counts + 1).sum(dim=-1)
        + torch.lgamma(alpha0)
        - torch.lgamma(total + alpha0)
        + (torch.lgamma(counts + concentrations) - torch.lgamma(concentrations)).sum(dim=-1)
    )
    return torch.where(total > 0, -log_p, torch.zeros_like(log_p))


def calculate_multiquestion_loss(
    labels: Tensor, predictions: Tensor, question_index_groups: Sequence[tuple[int, int]]
) -> Tensor:
    """Per-question Dirichlet-multinomial NLL.

    Args:
        labels: ``(B, n_answers)`` vote counts.
        predictions: ``(B, n_answers)`` Dirichlet concentrations.
        question_index_groups: ``(first, last)`` answer index of each question (inclusive).

    Returns:
        ``(B, n_questions)`` losses; unanswered questions are zero.
    """
    if labels.shape != predictions.shape:
        raise ValueError(
            f"labels {tuple(labels.shape)} and predictions {tuple(predictions.shape)} differ in shape; "
            "the head's output size must equal the schema's number of answers"
        )
    losses = [
        dirichlet_multinomial_nll(labels[:, start : end + 1], predictions[:, start : end + 1])
        for start, end in question_index_groups
    ]
    return torch.stack(losses, dim=1)


class DirichletMultinomialLoss(nn.Module):
    """Sum over questions, mean over the batch, of the Dirichlet-multinomial NLL.

    Args:
        question_index_groups: ``(first, last)`` answer index of each question.
    """

    def __init__(self, question_index_groups: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        self.question_index_groups = [(int(a), int(b)) for a, b in question_index_groups]

    def per_question(self, predictions: Tensor, labels: Tensor) -> Tensor:
        """``(B, n_questions)`` losses."""
        return calculate_multiquestion_loss(labels, predictions, self.question_index_groups)

    def forward(self, predictions: Tensor, labels: Tensor) -> Tensor:
        """Scalar loss: per-galaxy sum over questions, averaged over the batch."""
        return self.per_question(predictions, labels).sum(dim=1).mean()


def build_dirichlet_multinomial_loss(
    schema: Schema | str | None = None, question_index_groups: Sequence[tuple[int, int]] | None = None, **_: Any
) -> DirichletMultinomialLoss:
    """Registry builder (``geo.losses`` entry ``dirichlet_multinomial``): from a schema (or name) or index groups."""
    if (schema is None) == (question_index_groups is None):
        raise ValueError("pass exactly one of schema= or question_index_groups=")
    if schema is not None:
        from geo_plugin_zoobot.schemas import get_schema

        question_index_groups = get_schema(schema).question_index_groups
    assert question_index_groups is not None
    return DirichletMultinomialLoss(question_index_groups)


def cross_entropy_loss(y_pred: Tensor, y: Tensor, label_smoothing: float = 0.0, weight: Tensor | None = None) -> Tensor:
    """Unreduced cross-entropy of logits ``(B, C)`` against class indices ``(B,)``."""
    return F.cross_entropy(y_pred, y.long(), weight=weight, label_smoothing=label_smoothing, reduction="none")


def mse_loss(y_pred: Tensor, y: Tensor) -> Tensor:
    """Unreduced squared error."""
    return F.mse_loss(y_pred, y.to(y_pred.dtype), reduction="none")


def l1_loss(y_pred: Tensor, y: Tensor) -> Tensor:
    """Unreduced absolute error."""
    return F.l1_loss(y_pred, y.to(y_pred.dtype), reduction="none")
