# Copyright (c) skd_det contributors.
"""Distillation losses against values computed here with explicit loops."""
import math

import pytest
import torch
import torch.nn.functional as F

from skd_det.models.losses import AttentionTransferLoss, PixelKLLoss, SigmoidKDLoss, SoftmaxKDLoss


def _rand(*shape, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


def _softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]


def _kl(p, q):
    """KL(p || q) of two probability lists."""
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


# ---------------------------------------------------------------- attention
def _at_reference(s, t, relu=True):
    """mean over (n, position) of (phi_s - phi_t)^2, phi = normalised
    channel-mean of squares (of the ReLU'd values with ``relu``), with
    loops."""
    n, _, h, w = s.shape
    act = (lambda v: max(v, 0.0)) if relu else (lambda v: v)
    total = 0.0
    for i in range(n):
        maps = []
        for f in (s[i], t[i]):
            a = [
                sum(act(f[c, y, x].item())**2 for c in range(f.shape[0])) / f.shape[0]
                for y in range(h) for x in range(w)
            ]
            norm = math.sqrt(sum(v * v for v in a))
            maps.append([v / norm for v in a])
        total += sum((u - v)**2 for u, v in zip(*maps))
    return total / (n * h * w)


def test_attention_transfer_hand_computed():
    s1, t1 = _rand(2, 3, 2, 3, seed=1), _rand(2, 5, 2, 3, seed=2)
    s2, t2 = _rand(2, 4, 1, 2, seed=3), _rand(2, 2, 1, 2, seed=4)
    loss = AttentionTransferLoss(loss_weight=1.0)
    assert loss(s1, t1).item() == pytest.approx(_at_reference(s1, t1), rel=1e-5)
    expected = _at_reference(s1, t1) + _at_reference(s2, t2)
    assert loss([s1, s2], [t1, t2]).item() == pytest.approx(expected, rel=1e-5)
    weighted = AttentionTransferLoss(loss_weight=50.0)
    assert weighted((s1, s2), (t1, t2)).item() == pytest.approx(50 * expected, rel=1e-5)


def test_attention_transfer_compares_activated_maps():
    """The authors' L_F reads ReLU'd features on both sides (their models
    return F.relu'd maps unless preact); relu_inputs=False keeps the raw
    maps. Signed inputs tell the two apart."""
    s, t = _rand(2, 3, 2, 3, seed=1), _rand(2, 5, 2, 3, seed=2)
    raw = _at_reference(s, t, relu=False)
    activated = _at_reference(s, t, relu=True)
    assert abs(raw - activated) > 1e-3
    assert AttentionTransferLoss()(s, t).item() == pytest.approx(activated, rel=1e-5)
    assert AttentionTransferLoss(relu_inputs=False)(s, t).item() == \
        pytest.approx(raw, rel=1e-5)
    # only the teacher's positive part matters; negative student values
    # get no gradient
    assert AttentionTransferLoss()(s, t.clamp(min=0)).item() == \
        pytest.approx(activated, rel=1e-5)
    s = s.clone().requires_grad_()
    AttentionTransferLoss()(s, t).backward()
    assert (s.grad[s.detach() < 0] == 0).all()
    assert s.grad[s.detach() > 0].abs().sum() > 0


def test_attention_transfer_zero_and_gradients():
    s = _rand(2, 3, 4, 4, seed=5).float().requires_grad_()
    assert AttentionTransferLoss()(s, s.detach().clone()).item() == 0
    # same attention from a different channel count: still zero
    t = torch.cat([s.detach(), s.detach()], dim=1)
    assert AttentionTransferLoss()(s, t).item() == pytest.approx(0, abs=1e-12)
    t = _rand(2, 6, 4, 4, seed=6).float().requires_grad_()
    AttentionTransferLoss()([s], [t]).backward()
    assert t.grad is None
    assert s.grad is not None and s.grad.abs().sum() > 0


@pytest.mark.parametrize('s_shape, t_shape', [
    ((2, 3, 4, 4), (2, 3, 4, 5)),
    ((2, 3, 4, 4), (1, 3, 4, 4)),
    ((2, 3, 4), (2, 3, 4)),
])
def test_attention_transfer_bad_shapes(s_shape, t_shape):
    with pytest.raises(ValueError) as err:
        AttentionTransferLoss()(torch.zeros(s_shape), torch.zeros(t_shape))
    assert str(s_shape) in str(err.value) and str(t_shape) in str(err.value)
    with pytest.raises(ValueError):  # level counts differ
        AttentionTransferLoss()([torch.zeros(1, 1, 2, 2)] * 2, [torch.zeros(1, 1, 2, 2)])


# ------------------------------------------------------------- softmax KD
def test_softmax_kd_hand_computed():
    T = 2.0
    s, t = _rand(3, 4, seed=7), _rand(3, 4, seed=8, scale=2)
    per_sample = [
        T * T *
        _kl(_softmax([v / T for v in t[i].tolist()]), _softmax([v / T for v in s[i].tolist()]))
        for i in range(3)
    ]
    loss = SoftmaxKDLoss(temperature=T, loss_weight=2.0)
    assert loss(s, t).item() == pytest.approx(2 * sum(per_sample) / 3, rel=1e-5)
    none = loss(s, t, reduction_override='none')
    assert none.shape == (3, )
    assert none.tolist() == pytest.approx([2 * v for v in per_sample], rel=1e-5)
    w = torch.tensor([1.0, 0.0, 0.5])
    expected = 2 * (per_sample[0] + 0.5 * per_sample[2]) / 1.5
    assert loss(s, t, weight=w, avg_factor=1.5).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError):
        loss(s, t, avg_factor=2.0, reduction_override='sum')


def test_softmax_kd_zero_and_gradients():
    s = _rand(4, 5, seed=9).float().requires_grad_()
    assert SoftmaxKDLoss()(s, s.detach().clone()).item() == pytest.approx(0, abs=1e-6)
    t = _rand(4, 5, seed=10).float().requires_grad_()
    SoftmaxKDLoss()(s, t).backward()
    assert t.grad is None
    assert s.grad is not None and s.grad.abs().sum() > 0


# ------------------------------------------------------------- sigmoid KD
def _binary_kl_ref(s, t, T):
    """(N, C) nested lists of per-element T^2 * binary KL."""
    out = []
    for si, ti in zip(s.tolist(), t.tolist()):
        row = []
        for a, b in zip(si, ti):
            p, q = _sigmoid(a / T), _sigmoid(b / T)
            row.append(T * T * (q * math.log(q / p) + (1 - q) * math.log((1 - q) / (1 - p))))
        out.append(row)
    return out


def test_sigmoid_kd_hand_computed_and_normalisation():
    T = 2.0
    s, t = _rand(5, 3, seed=11, scale=2), _rand(5, 3, seed=12, scale=2)
    ref = _binary_kl_ref(s, t, T)
    total = sum(sum(row) for row in ref)
    loss = SigmoidKDLoss(temperature=T)
    # default: summed over classes, averaged over anchors
    assert loss(s, t).item() == pytest.approx(total / 5, rel=1e-5)
    # avg_factor (e.g. 2 positive anchors): sum over everything / 2
    assert loss(s, t, avg_factor=2).item() == pytest.approx(total / 2, rel=1e-5)
    # per-element weights mask entries, per-anchor weights scale rows
    w = torch.ones(5, 3)
    w[0, 1] = 0
    masked = total - ref[0][1]
    assert loss(s, t, weight=w, avg_factor=4).item() == pytest.approx(masked / 4, rel=1e-5)
    wa = torch.tensor([0.0, 1, 1, 1, 2])
    expected = sum(wi * sum(row) for wi, row in zip(wa.tolist(), ref)) / 5
    assert loss(s, t, weight=wa).item() == pytest.approx(expected, rel=1e-5)
    assert SigmoidKDLoss(
        temperature=T, loss_weight=3)(s, t).item() == pytest.approx(
            3 * total / 5, rel=1e-5)


def test_sigmoid_kd_zero_grad_equals_bce_grad():
    T = 2.0
    s = _rand(6, 4, seed=13, scale=3).requires_grad_()
    t = _rand(6, 4, seed=14, scale=3).requires_grad_()
    assert SigmoidKDLoss(temperature=T)(s, t.detach()).item() > 0
    assert SigmoidKDLoss(temperature=T)(s, s.detach()).item() == \
        pytest.approx(0, abs=1e-7)
    SigmoidKDLoss(temperature=T)(s, t, avg_factor=3).backward()
    assert t.grad is None
    grad = s.grad.clone()
    # binary KL and BCE against sigmoid(t/T) differ by a constant
    s.grad = None
    bce = F.binary_cross_entropy_with_logits(
        s / T, torch.sigmoid(t.detach() / T), reduction='sum') * T * T / 3
    bce.backward()
    assert torch.allclose(grad, s.grad)


@pytest.mark.parametrize('loss_cls', [SoftmaxKDLoss, SigmoidKDLoss])
def test_kd_bad_shapes(loss_cls):
    with pytest.raises(ValueError) as err:
        loss_cls()(torch.zeros(4, 3), torch.zeros(4, 5))
    assert '(4, 3)' in str(err.value) and '(4, 5)' in str(err.value)
    with pytest.raises(ValueError):
        loss_cls()(torch.zeros(4, 3, 2), torch.zeros(4, 3, 2))
    with pytest.raises(ValueError):
        loss_cls()(torch.zeros(4, 3), torch.zeros(4, 3), weight=torch.ones(3))


# ---------------------------------------------------------------- pixel KL
def test_pixel_kl_hand_computed_all_pixels():
    """The authors' reduction: KL * T^2 summed over every pixel, ignored
    ones included, divided by B * H * W (segmentation/utils/distill.py)."""
    T = 2.0
    s, t = _rand(2, 3, 2, 2, seed=15), _rand(2, 3, 2, 2, seed=16, scale=2)
    label = torch.tensor([[[0, 255], [1, 2]], [[255, 255], [2, 0]]])
    total = 0.0
    for n in range(2):
        for y in range(2):
            for x in range(2):
                ps = _softmax([v / T for v in s[n, :, y, x].tolist()])
                pt = _softmax([v / T for v in t[n, :, y, x].tolist()])
                total += T * T * _kl(pt, ps)
    loss = PixelKLLoss(temperature=T, loss_weight=0.5)
    expected = 0.5 * total / (2 * 2 * 2)
    assert loss(s, t).item() == pytest.approx(expected, rel=1e-5)
    assert loss(s, t, label).item() == pytest.approx(expected, rel=1e-5)


def test_pixel_kl_hand_computed_with_ignore():
    T = 2.0
    s, t = _rand(2, 3, 2, 2, seed=15), _rand(2, 3, 2, 2, seed=16, scale=2)
    label = torch.tensor([[[0, 255], [1, 2]], [[255, 255], [2, 0]]])
    total, count = 0.0, 0
    for n in range(2):
        for y in range(2):
            for x in range(2):
                if label[n, y, x] == 255:
                    continue
                ps = _softmax([v / T for v in s[n, :, y, x].tolist()])
                pt = _softmax([v / T for v in t[n, :, y, x].tolist()])
                total += T * T * _kl(pt, ps)
                count += 1
    loss = PixelKLLoss(temperature=T, avg_non_ignore=True, loss_weight=0.5)
    assert count == 5
    assert loss(s, t, label).item() == pytest.approx(0.5 * total / count, rel=1e-5)
    # (N, 1, H, W) labels are accepted too
    assert loss(s, t, label[:, None]).item() == pytest.approx(0.5 * total / count, rel=1e-5)


def test_pixel_kl_ignored_pixels_do_not_matter():
    s = _rand(2, 4, 3, 5, seed=17).float().requires_grad_()
    t = _rand(2, 4, 3, 5, seed=18).float().requires_grad_()
    label = torch.randint(0, 4, (2, 3, 5), generator=torch.Generator().manual_seed(0))
    label[0, 1, :] = 255
    label[1, :, 4] = 7  # custom ignore index below
    loss = PixelKLLoss(avg_non_ignore=True)
    ref = loss(s, t, label)
    ref.backward()
    assert t.grad is None
    assert (s.grad[0, :, 1, :] == 0).all()
    assert s.grad.abs().sum() > 0
    ignored = (label == 255)[:, None].expand_as(s)
    s2 = s.detach().clone()
    t2 = t.detach().clone()
    s2[ignored] = 100.0
    t2[ignored] = -50.0
    assert loss(s2, t2, label).item() == pytest.approx(ref.item(), rel=1e-6)
    # changing them without the label does change the loss
    assert loss(s2, t2).item() != pytest.approx(loss(s.detach(), t).item())
    # ignore_index override
    both = label.clone()
    both[both == 255] = 7
    assert loss(s, t, both, ignore_index=7).item() != pytest.approx(ref.item())
    assert loss(
        s, t, both, ignore_index=7).item() == pytest.approx(
            PixelKLLoss(avg_non_ignore=True, ignore_index=7)(s, t, both).item())
    assert loss(s, t, label, ignore_index=7).item() != pytest.approx(ref.item())
    # the authors' default counts the ignored pixels too
    assert PixelKLLoss()(s2, t2, label).item() != pytest.approx(PixelKLLoss()(s.detach(), t,
                                                                              label).item())


def test_pixel_kl_zero_no_label_and_all_ignored():
    s = _rand(1, 3, 2, 2, seed=19).float().requires_grad_()
    assert PixelKLLoss()(s, s.detach().clone()).item() == pytest.approx(0, abs=1e-7)
    t = _rand(1, 3, 2, 2, seed=20).float()
    every = PixelKLLoss()(s, t)
    per_pixel = PixelKLLoss()(s, t, torch.zeros(1, 2, 2, dtype=torch.long))
    assert every.item() == pytest.approx(per_pixel.item(), rel=1e-6)
    none_valid = PixelKLLoss(avg_non_ignore=True)(s, t, torch.full((1, 2, 2), 255))
    assert none_valid.item() == 0
    none_valid.backward()  # still differentiable


def test_pixel_kl_bad_shapes():
    s, t = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    with pytest.raises(ValueError) as err:
        PixelKLLoss()(s, t, torch.zeros(1, 8, 8, dtype=torch.long))
    assert '(1, 8, 8)' in str(err.value) and '(1, 3, 4, 4)' in str(err.value)
    with pytest.raises(ValueError) as err:
        PixelKLLoss()(s, torch.zeros(1, 3, 4, 5))
    assert '(1, 3, 4, 5)' in str(err.value)


# ------------------------------------------------------------- construction
@pytest.mark.parametrize('loss_cls',
                         [AttentionTransferLoss, SoftmaxKDLoss, SigmoidKDLoss, PixelKLLoss])
def test_negative_loss_weight_rejected(loss_cls):
    with pytest.raises(ValueError):
        loss_cls(loss_weight=-1.0)
    assert loss_cls(loss_weight=0.0).loss_weight == 0.0


@pytest.mark.parametrize('loss_cls', [SoftmaxKDLoss, SigmoidKDLoss, PixelKLLoss])
def test_bad_temperature_rejected(loss_cls):
    with pytest.raises(ValueError):
        loss_cls(temperature=0)


def test_losses_registered_and_buildable_from_scopes():
    pytest.importorskip('mmengine')
    from mmengine.registry import MODELS as ROOT_MODELS
    from mmengine.registry import DefaultScope
    for cls in (AttentionTransferLoss, SoftmaxKDLoss, SigmoidKDLoss, PixelKLLoss):
        assert ROOT_MODELS.get(cls.__name__) is cls
    for scope in ('mmdet', 'mmseg'):
        registry = pytest.importorskip(f'{scope}.registry')
        with DefaultScope.overwrite_default_scope(scope):
            loss = registry.MODELS.build(
                dict(type='SoftmaxKDLoss', temperature=3.0, loss_weight=2.0))
        assert type(loss) is SoftmaxKDLoss and loss.temperature == 3.0


@pytest.mark.parametrize('name',
                         ['AttentionTransferLoss', 'InstanceNormMSELoss', 'NormalizedL1Loss'])
def test_feature_losses_check_their_levels_alike(name):
    from mmengine.registry import MODELS

    import skd_det.models.losses  # noqa: F401
    loss = MODELS.build(dict(type=name))
    a, b = torch.rand(2, 4, 8, 8), torch.rand(2, 4, 8, 8)
    # one map or one map per level give the same loss
    torch.testing.assert_close(loss(a, b), loss([a], [b]))
    # LGD's MSE is one mean over all levels' elements (the authors concatenate them); the
    # others sum one term per level
    per_level_sum = name != 'InstanceNormMSELoss'
    torch.testing.assert_close(loss([a, a], [b, b]), (2 if per_level_sum else 1) * loss(a, b))
    with pytest.raises(ValueError, match=f'{name}: pred and target must both be tensors'):
        loss(a, [b])
    with pytest.raises(ValueError, match=f'{name}: got 2 student and 1 teacher levels'):
        loss([a, a], [b])
    with pytest.raises(ValueError, match=f'{name}: got 0 student and 0 teacher levels'):
        loss([], [])
    with pytest.raises(
            ValueError,
            match=rf'{name}: level 1 student shape \(2, 4, 4, 4\) and '
            r'teacher shape \(2, 4, 8, 8\)'):
        loss([a, a[..., :4, :4]], [b, b])
    # only the attention maps allow other channel counts
    other = torch.rand(2, 6, 8, 8)
    if name == 'AttentionTransferLoss':
        assert torch.isfinite(loss(a, other))
    else:
        with pytest.raises(ValueError, match=r'level 0 student shape \(2, 4, 8, 8\)'):
            loss(a, other)


@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
@pytest.mark.parametrize('avg_factor', [None, 7.0, 0.0])
def test_reduce_loss_is_mmdets_weight_reduce_loss(reduction, avg_factor):
    """The losses keep their own reduction (skd_det.models imports without
    mmdet); it must be mmdet's rule, errors included."""
    weight_reduce_loss = pytest.importorskip('mmdet.models.losses.utils').weight_reduce_loss
    from skd_det.models.losses.utils import reduce_loss
    loss = _rand(5, 3).abs()
    if reduction == 'sum' and avg_factor is not None:
        for fn in (reduce_loss, lambda *a: weight_reduce_loss(a[0], None, a[1], a[2])):
            with pytest.raises(ValueError, match='avg_factor'):
                fn(loss, reduction, avg_factor)
        return
    torch.testing.assert_close(
        reduce_loss(loss, reduction, avg_factor),
        weight_reduce_loss(loss, None, reduction, avg_factor))
