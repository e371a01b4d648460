"""QualityFocalKDLoss: hand-computed values, positives normalisation, background suppression
against the binary KL, zero gradient where student and teacher agree."""
import math

import pytest
import torch
from mmengine.registry import MODELS

from skd_det.models.losses import QualityFocalKDLoss, SigmoidKDLoss


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def _reference(s, t, beta, T):
    """Per-element T^2 * BCE(s/T, q) * |q - p|^beta in plain python."""
    out = []
    for s_row, t_row in zip(s.tolist(), t.tolist()):
        row = []
        for zs, zt in zip(s_row, t_row):
            p, q = _sigmoid(zs / T), _sigmoid(zt / T)
            bce = -(q * math.log(p) + (1 - q) * math.log(1 - p))
            row.append(T * T * bce * abs(q - p)**beta)
        out.append(row)
    return out


def test_hand_computed_and_normalised_by_positives():
    g = torch.Generator().manual_seed(0)
    s, t = 2 * torch.randn(6, 3, generator=g), 2 * torch.randn(6, 3, generator=g)
    for beta, T in ((2.0, 1.0), (1.5, 2.0)):
        ref = _reference(s, t, beta, T)
        total = sum(map(sum, ref))
        loss = QualityFocalKDLoss(beta=beta, temperature=T)
        assert loss(s, t).item() == pytest.approx(total / 6, rel=1e-5)  # mean over anchors
        # avg_factor = 2 positive anchors: the sum over all anchors and classes / 2
        assert loss(s, t, avg_factor=2).item() == pytest.approx(total / 2, rel=1e-5)
        weight = torch.tensor([0.0, 1, 1, 1, 1, 2])
        expected = sum(w * sum(row) for w, row in zip(weight.tolist(), ref)) / 4
        assert loss(s, t, weight=weight, avg_factor=4).item() == pytest.approx(expected, rel=1e-5)
    weighted = QualityFocalKDLoss(loss_weight=3)(s, t, avg_factor=2)
    assert weighted.item() == pytest.approx(3 * QualityFocalKDLoss()(s, t, avg_factor=2).item())


def test_zero_loss_and_gradient_where_student_equals_teacher():
    z = torch.tensor([[-3.0, 0.5], [2.0, -0.2]], requires_grad=True)
    loss = QualityFocalKDLoss()(z, z.detach().clone(), avg_factor=1)
    loss.backward()
    assert loss.item() == 0 and torch.equal(z.grad, torch.zeros_like(z))
    # the teacher gets no gradient; a disagreeing student does
    s = torch.tensor([[0.0, 1.0]], requires_grad=True)
    t = torch.tensor([[2.0, -1.0]], requires_grad=True)
    QualityFocalKDLoss()(s, t).backward()
    assert t.grad is None and (s.grad.abs() > 0).all()
    # the gradient pulls p towards q: up where the teacher is more confident, down elsewhere
    assert s.grad[0, 0] < 0 < s.grad[0, 1]


def test_background_suppressed_where_the_binary_kl_is_not():
    """A background anchor both call background (p 0.02 vs q 0.01) against one positive they
    disagree on (p 0.3 vs q 0.9): the focal factor puts almost all the gradient on the
    positive, the binary KL spreads it over the many background anchors."""
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    n_bg = 1000
    s = torch.tensor([[logit(0.3)]] + [[logit(0.02)]] * n_bg, requires_grad=True)
    t = torch.tensor([[logit(0.9)]] + [[logit(0.01)]] * n_bg)
    shares = {}
    for name, loss in (('qfl', QualityFocalKDLoss()), ('kl', SigmoidKDLoss())):
        s.grad = None
        loss(s, t, avg_factor=1).backward()
        g = s.grad.abs().squeeze(1)
        shares[name] = (g[1:].sum() / g.sum()).item()
    assert shares['kl'] > 0.9  # the KL: background gets most of the gradient
    assert shares['qfl'] < 0.05


def test_builds_from_the_registry_and_rejects_bad_input():
    loss = MODELS.build(dict(type='QualityFocalKDLoss', beta=1.0, loss_weight=0.5))
    assert isinstance(loss, QualityFocalKDLoss) and loss.beta == 1.0
    with pytest.raises(ValueError, match=r'\(4, 3\).*\(4, 5\)'):
        loss(torch.zeros(4, 3), torch.zeros(4, 5))
    with pytest.raises(ValueError, match='weight shape'):
        loss(torch.zeros(4, 3), torch.zeros(4, 3), weight=torch.ones(3))
    with pytest.raises(ValueError, match='beta'):
        QualityFocalKDLoss(beta=-1)
    with pytest.raises(ValueError, match='temperature'):
        QualityFocalKDLoss(temperature=0)
