"""The Dirichlet-multinomial loss against independent computations, and masking of unanswered questions."""

from __future__ import annotations

import math
from itertools import product

import pytest
import torch
from geo_plugin_zoobot.losses import DirichletMultinomialLoss, calculate_multiquestion_loss, dirichlet_multinomial_nll


def rising(a: float, k: int) -> float:
    """Pochhammer rising factorial a (a+1) ... (a+k-1)."""
    out = 1.0
    for j in range(k):
        out *= a + j
    return out


def dm_pmf(counts: tuple[int, ...], alpha: tuple[float, ...]) -> float:
    """Closed form by rising factorials: n!/prod(k_i!) * prod (a_i)^(k_i) / (a_0)^(n)."""
    n = sum(counts)
    coef = math.factorial(n) / math.prod(math.factorial(k) for k in counts)
    return coef * math.prod(rising(a, k) for a, k in zip(alpha, counts, strict=True)) / rising(sum(alpha), n)


@pytest.mark.parametrize("alpha", [(1.0, 1.0), (2.0, 5.0), (0.5, 3.0, 1.5), (1.0, 1.0, 1.0)])
def test_matches_closed_form_on_small_counts(alpha: tuple[float, ...]) -> None:
    n = 4
    all_counts = [c for c in product(range(n + 1), repeat=len(alpha)) if sum(c) == n]
    counts = torch.tensor(all_counts, dtype=torch.float64)
    conc = torch.tensor([alpha] * len(all_counts), dtype=torch.float64)
    nll = dirichlet_multinomial_nll(counts, conc)
    expected = torch.tensor([-math.log(dm_pmf(c, alpha)) for c in all_counts], dtype=torch.float64)
    torch.testing.assert_close(nll, expected, rtol=1e-10, atol=1e-10)
    assert math.isclose(float(torch.exp(-nll).sum()), 1.0, rel_tol=1e-10)  # a distribution over outcomes


def test_uniform_concentrations_give_uniform_compositions() -> None:
    # alpha = 1: every composition of n into K parts is equally likely, 1 / C(n+K-1, K-1)
    counts = torch.tensor([[2.0, 0.0, 1.0]])
    nll = dirichlet_multinomial_nll(counts, torch.ones(1, 3))
    assert math.isclose(float(nll), math.log(math.comb(3 + 2, 2)), rel_tol=1e-6)


def test_matches_sampling() -> None:
    gen = torch.Generator().manual_seed(0)
    alpha = torch.tensor([2.0, 1.0, 3.0])
    n, draws = 3, 40000
    p = torch.distributions.Dirichlet(alpha).sample((draws,))
    samples = torch.stack([torch.multinomial(row, n, replacement=True, generator=gen) for row in p[:draws]])
    counts = torch.nn.functional.one_hot(samples, 3).sum(dim=1)
    target = torch.tensor([1, 0, 2])
    freq = float((counts == target).all(dim=1).float().mean())
    prob = float(torch.exp(-dirichlet_multinomial_nll(target[None].float(), alpha[None])))
    sigma = math.sqrt(prob * (1 - prob) / draws)
    assert abs(freq - prob) < 4 * sigma, (freq, prob)


def test_zero_votes_contribute_zero_and_no_gradient() -> None:
    conc = torch.tensor([[3.0, 7.0], [2.0, 2.0]], requires_grad=True)
    counts = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    nll = dirichlet_multinomial_nll(counts, conc)
    assert float(nll.detach()[0]) == 0.0 and float(nll.detach()[1]) > 0
    nll.sum().backward()
    assert conc.grad is not None
    assert torch.all(conc.grad[0] == 0) and torch.any(conc.grad[1] != 0)


def test_unanswered_question_is_masked_in_multiquestion_loss() -> None:
    groups = [(0, 1), (2, 4)]
    conc = torch.tensor([[2.0, 3.0, 1.0, 4.0, 5.0]])
    labels = torch.tensor([[4.0, 1.0, 0.0, 0.0, 0.0]])
    per_q = calculate_multiquestion_loss(labels, conc, groups)
    assert per_q.shape == (1, 2)
    assert float(per_q[0, 1]) == 0.0
    assert torch.allclose(per_q[0, 0], dirichlet_multinomial_nll(labels[:, :2], conc[:, :2])[0])
    loss = DirichletMultinomialLoss(groups)(conc, labels)
    assert torch.allclose(loss, per_q.sum())


def test_shape_mismatch_is_explained() -> None:
    with pytest.raises(ValueError, match="schema's number of answers"):
        calculate_multiquestion_loss(torch.zeros(2, 3), torch.ones(2, 4), [(0, 1), (2, 2)])
