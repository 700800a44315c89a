from __future__ import annotations

import pytest
import torch
from geo_core import ConfigError
from geo_core.losses import LossHandler, WeightedSumLoss, build_loss

SEG = ["ce", "focal", "dice", "jaccard", "lovasz"]


def _seg_batch(seed=0, c=3):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, c, 8, 8, generator=g, requires_grad=True)
    target = torch.randint(0, c, (2, 8, 8), generator=g)
    return logits, target


@pytest.mark.parametrize("name", SEG)
def test_segmentation_losses_ignore_index_and_gradients(name):
    logits, target = _seg_batch()
    loss_fn = build_loss(name, ignore_index=255)
    t2 = target.clone()
    t2[:, :4] = 255
    full = loss_fn(logits, target)
    masked = loss_fn(logits, t2)
    # ignored pixels do not count: changing their logits changes nothing
    logits2 = logits.detach().clone()
    logits2[:, :, :4] += 100 * torch.randn_like(logits2[:, :, :4])
    assert torch.allclose(loss_fn(logits2, t2), masked.detach(), atol=1e-5)
    assert not torch.allclose(full, masked)
    masked.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", ["ce", "focal", "dice", "jaccard", "lovasz"])
def test_class_weights_change_the_loss(name):
    logits, target = _seg_batch(1)
    a = build_loss(name, class_weights=[1.0, 1.0, 1.0])(logits, target)
    b = build_loss(name, class_weights=[5.0, 0.1, 1.0])(logits, target)
    assert not torch.allclose(a, b)


def test_perfect_prediction_scores_near_zero():
    target = torch.randint(0, 2, (2, 8, 8))
    logits = torch.nn.functional.one_hot(target, 2).movedim(-1, 1).float() * 50
    for name in ("dice", "jaccard", "lovasz", "ce", "focal"):
        assert build_loss(name)(logits, target) < 1e-3, name


@pytest.mark.parametrize("name", ["mse", "mae", "rmse", "huber"])
def test_regression_losses_mask_ignore_value_and_nan(name):
    pred = torch.zeros(2, 1, 4, 4, requires_grad=True)
    target = torch.ones(2, 4, 4)
    target[0] = -1  # no-data
    target[1, 0] = float("nan")
    loss = build_loss(name, ignore_index=-1)(pred, target)
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(1.0 if name != "huber" else 0.5)
    loss.backward()
    assert torch.isfinite(pred.grad).all()


def test_regression_loss_rejects_class_weights():
    with pytest.raises(ConfigError, match="class_weights"):
        build_loss("mse", class_weights=[1.0, 2.0])


def test_classification_and_multilabel_losses():
    logits = torch.randn(4, 3)
    labels = torch.tensor([0, 1, 2, 1])
    assert build_loss("ce")(logits, labels) > 0
    assert build_loss("focal")(logits, labels) > 0
    ml = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 0, 0]]).float()
    bce, bal = build_loss("bce")(logits, ml), build_loss("balanced_bce")(logits, ml)
    assert bce > 0 and bal > 0 and not torch.allclose(bce, bal)
    assert build_loss("focal")(logits, ml) > 0  # sigmoid focal for multi-label targets
    # a single logit binary classifier with (B,) targets
    assert build_loss("bce")(torch.randn(4, 1), torch.tensor([0, 1, 1, 0])) > 0


def test_weighted_dict_sums_components():
    logits, target = _seg_batch(2)
    combo = build_loss({"ce": 1.0, "dice": 0.5})
    assert isinstance(combo, WeightedSumLoss)
    expected = build_loss("ce")(logits, target) + 0.5 * build_loss("dice")(logits, target)
    assert torch.allclose(combo(logits, target), expected)
    assert set(combo.last_components) == {"ce", "dice"}


def test_unknown_loss_names_closest():
    with pytest.raises(ConfigError, match="dice"):
        build_loss("dicee")


def test_plugin_losses_come_from_the_registry():
    import geo_core

    @geo_core.LOSSES.register(name="always_one")
    def build(ignore_index=None):
        return torch.nn.L1Loss()

    try:
        assert isinstance(build_loss("always_one"), torch.nn.L1Loss)
    finally:
        geo_core.LOSSES.unregister("always_one")


def test_loss_handler_aux_heads():
    logits, target = _seg_batch(3)
    h = LossHandler(build_loss("ce"), {"aux": 0.4})
    aux = torch.randn(2, 3, 4, 4)  # smaller: resized to the target
    out = h.compute(logits, target, {"aux": aux})
    assert set(out) == {"loss", "main", "aux/aux"}
    assert torch.allclose(out["loss"], out["main"] + 0.4 * out["aux/aux"])
    with pytest.raises(ConfigError, match="did you mean 'aux'"):
        LossHandler(build_loss("ce"), {"auxx": 1.0}).check_heads(["aux"])
    with pytest.raises(ConfigError, match="without a weight"):
        LossHandler(build_loss("ce"), {}).compute(logits, target, {"aux": aux})
