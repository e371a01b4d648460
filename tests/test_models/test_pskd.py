# Copyright (c) skd_det contributors.
"""PS-KD: the soft-target losses against hand-computed values and the task losses they
replace, the targets PSKDDetTeacher / PSKDSegTeacher build (labels in the first epoch, the
snapshot's mixture afterwards; ignore_index, images without objects), the snapshot kept out of
parameters, state dict and gradients, and the errors on bad input."""
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from skd_det import testing
from skd_det.models.distillers.base import StudentOutputs
from skd_det.models.losses import SoftTargetCrossEntropyLoss, SoftTargetFocalLoss
from skd_det.testing import REPO, build_model, get_config

pytestmark = pytest.mark.usefixtures('one_thread')

DET_CFG = osp.join(REPO, 'configs/pskd/pskd_retinanet_r18_fpn_cpu_voc0712.py')
SEG_CFG = osp.join(REPO, 'configs/pskd/pskd_fcn_r18-d8_cpu_cityscapes.py')

# ------------------------------------------------------------------------------- losses


def test_soft_focal_loss_hand_computed():
    # p = sigmoid(0) = 0.5, t = 0.8: balance 0.25*0.8 + 0.75*0.2 = 0.35, |t - p|^2 = 0.09,
    # BCE = -(0.8 log 0.5 + 0.2 log 0.5) = log 2
    loss = SoftTargetFocalLoss(reduction='sum')(torch.zeros(1, 1), torch.full((1, 1), 0.8))
    assert loss.item() == pytest.approx(0.35 * 0.09 * math.log(2), rel=1e-6)
    # gamma 0, alpha 0.5: half the soft BCE
    z, t = torch.tensor([[1.5, -2.0]]), torch.tensor([[0.3, 0.9]])
    loss = SoftTargetFocalLoss(gamma=0, alpha=0.5, reduction='sum')(z, t)
    bce = F.binary_cross_entropy_with_logits(z, t, reduction='sum')
    assert loss.item() == pytest.approx(0.5 * bce.item(), rel=1e-6)


def test_soft_focal_loss_is_retinanets_focal_loss_on_hard_targets():
    from mmdet.models.losses import FocalLoss
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(50, 6, generator=g) * 3
    labels = torch.randint(0, 7, (50, ), generator=g)  # 6 = background
    weights = (torch.rand(50, generator=g) > 0.1).float()
    ours = SoftTargetFocalLoss()(pred, F.one_hot(labels, 7)[:, :6].float(), weights, avg_factor=7.0)
    mmdet = FocalLoss(
        use_sigmoid=True, gamma=2.0, alpha=0.25)(
            pred, labels, weights, avg_factor=7.0)
    torch.testing.assert_close(ours, mmdet, rtol=1e-5, atol=1e-7)


def test_soft_focal_loss_minimum_at_the_target():
    t = torch.tensor([[0.05, 0.4, 0.93]])
    z = torch.logit(t).requires_grad_()
    loss = SoftTargetFocalLoss(reduction='sum')(z, t)
    loss.backward()
    assert loss.item() == pytest.approx(0, abs=1e-7)
    assert z.grad.abs().max().item() < 1e-6
    # away from the target the loss is positive and the gradient points to it
    z2 = (torch.logit(t) + 0.5).requires_grad_()
    SoftTargetFocalLoss(reduction='sum')(z2, t).backward()
    assert (z2.grad > 0).all()


def test_soft_ce_hand_computed_and_authors_reduction():
    # softmax([0, log 3]) = [1/4, 3/4]; t = [1/2, 1/2]: -(log(1/4) + log(3/4)) / 2
    z = torch.tensor([[0.0, math.log(3)]])
    loss = SoftTargetCrossEntropyLoss()(z, torch.tensor([[0.5, 0.5]]))
    assert loss.item() == pytest.approx(-(math.log(0.25) + math.log(0.75)) / 2, rel=1e-6)
    # the authors' Custom_CrossEntropy_PSKD: (-t * log_softmax(z)).mean(0).sum()
    g = torch.Generator().manual_seed(1)
    z, t = torch.randn(8, 5, generator=g), torch.rand(8, 5, generator=g)
    t = t / t.sum(1, keepdim=True)
    authors = (-t * F.log_softmax(z, dim=1)).mean(0).sum()
    torch.testing.assert_close(SoftTargetCrossEntropyLoss()(z, t), authors)


@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_soft_ce_is_mmseg_cross_entropy_on_one_hot_targets(avg_non_ignore):
    from mmseg.models.losses import CrossEntropyLoss
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 6, 5, generator=g)
    label = torch.randint(0, 4, (2, 6, 5), generator=g)
    label[0, :2] = 255
    valid = label != 255
    target = F.one_hot(torch.where(valid, label, 0), 4).permute(0, 3, 1, 2).float()
    target = target * valid[:, None]
    avg = valid.sum() if avg_non_ignore else label.numel()
    ours = SoftTargetCrossEntropyLoss()(logits, target, valid.float(), avg_factor=avg)
    theirs = CrossEntropyLoss(avg_non_ignore=avg_non_ignore)(logits, label, ignore_index=255)
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_soft_ce_all_pixels_ignored(avg_non_ignore):
    """An image whose pixels are all ignore_index: zero loss and gradient, no NaN (mmseg's
    divisor of no valid pixel is eps, as here)."""
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    valid = torch.zeros(1, 4, 4, dtype=torch.bool)
    avg = valid.sum() if avg_non_ignore else valid.numel()
    loss = SoftTargetCrossEntropyLoss()(
        logits, torch.zeros(1, 3, 4, 4), valid.float(), avg_factor=avg)
    loss.backward()
    assert loss.item() == 0 and torch.equal(logits.grad, torch.zeros_like(logits))


def test_loss_bad_input():
    with pytest.raises(ValueError, match='alpha must be in \\[0, 1\\], got 1.5'):
        SoftTargetFocalLoss(alpha=1.5)
    with pytest.raises(ValueError, match='gamma must be >= 0'):
        SoftTargetFocalLoss(gamma=-1)
    with pytest.raises(ValueError, match='reduction must be one of'):
        SoftTargetCrossEntropyLoss(reduction='avg')
    with pytest.raises(ValueError, match=r'pred shape \(2, 3\) and target shape \(2, 4\)'):
        SoftTargetCrossEntropyLoss()(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r'weight shape \(3,\)'):
        SoftTargetFocalLoss()(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(3))


# ----------------------------------------------------------------------- teacher parts


def _cfg(path, **teacher):
    return get_config(path, **teacher)


def _build(cfg):
    return build_model(cfg.model, cfg.default_scope, seed=0, init=True)


@pytest.fixture(scope='module')
def det():
    return _build(_cfg(DET_CFG))


@pytest.fixture(scope='module')
def seg():
    return _build(_cfg(SEG_CFG))


def det_batch(model, num_items=(2, 0)):
    """Two images, the second without objects by default."""
    return testing.det_batch(model, image_shapes=[(3, 96, 128), (3, 64, 96)], num_items=num_items)


def seg_batch(model):
    return testing.seg_batch(model, shape=(48, 64), ignored_rows=6)


def _snapshot_calls(teacher):
    """Count the snapshot's backbone forwards."""
    calls = []
    handle = teacher.snapshot.backbone.register_forward_hook(lambda *a: calls.append(1))
    return calls, handle


def _det_total(value):
    return sum(v for v in value) if isinstance(value, list) else value


@pytest.mark.parametrize('num_items', [(2, 0), (0, 0)])
def test_det_first_epoch_is_the_students_focal_loss(det, num_items):
    """alpha 0: distill.loss_cls replaces loss_cls with the same value (one image or both
    without objects); loss_bbox is the student's; the snapshot is not run."""
    det.train()
    det.teacher.set_progress(0, 12)
    inputs, samples = det_batch(det, num_items)
    calls, handle = _snapshot_calls(det.teacher)
    losses = det.loss(inputs, samples)
    handle.remove()
    plain = det.student.loss(inputs, samples)
    assert not calls
    assert 'loss_cls' not in losses and set(losses) == {'distill.loss_cls', 'loss_bbox'}
    torch.testing.assert_close(
        losses['distill.loss_cls'], _det_total(plain['loss_cls']), rtol=1e-5, atol=1e-7)
    for ours, theirs in zip(losses['loss_bbox'], plain['loss_bbox']):
        torch.testing.assert_close(ours, theirs)


def test_det_target_mixes_labels_and_the_snapshot(det):
    from mmdet.models.utils import unpack_gt_instances
    teacher, student = det.teacher, det.student
    det.train()
    teacher.set_progress(5, 12)
    alpha = 0.8 * 6 / 12
    assert teacher.alpha == pytest.approx(alpha)
    # a snapshot that differs from the student: perturb a copy of its weights
    teacher.refresh(student)
    with torch.no_grad():
        teacher.snapshot.bbox_head.retina_cls.bias.add_(0.7)
    inputs, samples = det_batch(det)
    feats = student.extract_feat(inputs)
    head_outs = student.bbox_head(feats)
    gt, gt_ignore, metas = unpack_gt_instances(samples)
    outs = StudentOutputs(None, feats, head_outs, (gt, metas, gt_ignore))
    calls, handle = _snapshot_calls(teacher)
    _, pairs = teacher.loss_and_targets(student, inputs, samples, outs)
    handle.remove()
    assert len(calls) == 1
    pair = pairs['loss_cls']
    target = pair['target']
    assert not target.requires_grad and pair['pred'].requires_grad
    with torch.no_grad():
        prev = teacher.snapshot.bbox_head(teacher.snapshot.extract_feat(inputs))[0]
        prob = torch.cat([p.permute(0, 2, 3, 1).reshape(-1, 20) for p in prev]).sigmoid()
    labels = pair['target'].new_zeros(target.shape)
    # positives: the rows where the target exceeds alpha * p_prev by 1 - alpha
    excess = target - alpha * prob
    pos = excess.max(1).values > (1 - alpha) / 2
    labels[pos] = F.one_hot(excess[pos].argmax(1), 20).float()
    torch.testing.assert_close(target, (1 - alpha) * labels + alpha * prob)
    # the head's own avg_factor: its positives, at least one per image (the second image has
    # no objects)
    assert int(pair['avg_factor']) == int(pos.sum()) + 1 > 1
    assert set(pair['weight'].unique().tolist()) <= {0.0, 1.0}


def test_det_no_gradient_into_the_snapshot_and_hidden(det):
    teacher = det.teacher
    det.train()
    teacher.set_progress(3, 12)
    teacher.refresh(det.student)
    inputs, samples = det_batch(det)
    total, _ = det.parse_losses(det.loss(inputs, samples))
    total.backward()
    snapshot_params = list(teacher.snapshot.parameters())
    assert all(p.grad is None and not p.requires_grad for p in snapshot_params)
    ids = {id(p) for p in det.parameters()}
    assert not ids & {id(p) for p in snapshot_params}
    assert not any(k.startswith('teacher.') for k in det.state_dict())
    assert any(p.grad is not None for p in det.student.bbox_head.retina_cls.parameters())
    assert not teacher.snapshot.training  # eval even when the wrapper trains
    det.zero_grad()


def test_refresh_copies_weights_and_buffers(det):
    teacher, student = det.teacher, det.student
    with torch.no_grad():
        student.backbone.bn1.running_mean.add_(1.0)
    teacher.refresh(student)
    own, snap = student.state_dict(), teacher.snapshot.state_dict()
    assert own.keys() == snap.keys()
    assert all(
        torch.equal(own[k], snap[k]) and own[k].data_ptr() != snap[k].data_ptr() for k in own)
    with torch.no_grad():
        student.backbone.bn1.running_mean.sub_(1.0)


def test_seg_first_epoch_is_the_students_cross_entropy(seg):
    seg.train()
    seg.teacher.set_progress(0, 10)
    inputs, samples = seg_batch(seg)
    calls, handle = _snapshot_calls(seg.teacher)
    torch.manual_seed(1)  # the same dropout draws in both forwards
    losses = seg.loss(inputs, samples)
    handle.remove()
    torch.manual_seed(1)
    plain = seg.student.loss(inputs, samples)
    assert not calls
    assert 'decode.loss_ce' not in losses and 'distill.loss_ce' in losses
    torch.testing.assert_close(losses['distill.loss_ce'], plain['decode.loss_ce'])
    # the auxiliary head keeps its hard-label loss
    torch.testing.assert_close(losses['aux.loss_ce'], plain['aux.loss_ce'])


def test_seg_target_honours_ignore_index(seg):
    teacher, student = seg.teacher, seg.student
    seg.train()
    teacher.set_progress(9, 10)  # the last stage: alpha_T
    teacher.refresh(student)
    with torch.no_grad():
        teacher.snapshot.decode_head.conv_seg.bias.add_(torch.linspace(-1, 1, 19))
    inputs, samples = seg_batch(seg)
    feats = student.extract_feat(inputs)
    outs = StudentOutputs(None, feats, student.decode_head(feats), (samples, ))
    _, pairs = teacher.loss_and_targets(student, inputs, samples, outs)
    pair = pairs['loss_ce']
    label = torch.stack([s.gt_sem_seg.data for s in samples])[:, 0]
    # the preprocessor pads images to the crop size (128, 256), labels with 255
    assert pair['pred'].shape == pair['target'].shape == (2, 19, 128, 256)
    ignored = label == 255
    assert (pair['target'].permute(0, 2, 3, 1)[ignored] == 0).all()
    assert (pair['weight'][ignored] == 0).all() and (pair['weight'][~ignored] == 1).all()
    assert pair['avg_factor'] == label.numel()  # mmseg's default: all pixels
    # a valid pixel by hand: 0.2 * one-hot + 0.8 * softmax of the snapshot's logits there
    with torch.no_grad():
        prev = teacher.snapshot.decode_head(teacher.snapshot.extract_feat(inputs))
        prev = F.interpolate(prev, size=(128, 256), mode='bilinear', align_corners=False)
    n, y, x = 1, 20, 33
    expected = 0.8 * prev[n, :, y, x].softmax(0)
    expected[label[n, y, x]] += 0.2
    torch.testing.assert_close(pair['target'][n, :, y, x], expected)
    torch.testing.assert_close(pair['target'].sum(1)[~ignored], torch.ones(int((~ignored).sum())))


# -------------------------------------------------------------------------- bad input


@pytest.mark.parametrize('value', [-0.1, 1.5, True, '0.8'])
def test_alpha_T_outside_unit_interval(value):
    with pytest.raises(
            ValueError, match=f'teacher.alpha_T must be a number in \\[0, 1\\], '
            f'got {value!r}'):
        _build(_cfg(DET_CFG, alpha_T=value))


def test_pair_loss_must_be_configured():
    cfg = _cfg(DET_CFG)
    cfg.model.distill_losses = {}
    with pytest.raises(
            ValueError,
            match="replaces the student's loss_cls by distill.loss_cls; "
            'configure distill_losses.loss_cls'):
        _build(cfg)


def test_unsupported_students():
    cfg = _cfg(SEG_CFG)
    cfg.model.student.decode_head.loss_decode = dict(type='DiceLoss')
    with pytest.raises(ValueError, match='one softmax CrossEntropyLoss.*loss_decode DiceLoss'):
        _build(cfg)
    cfg = _cfg(DET_CFG)
    cfg.model.student.bbox_head = dict(
        type='FCOSHead', num_classes=20, in_channels=64, feat_channels=64, stacked_convs=1)
    with pytest.raises(ValueError, match='anchor-based dense head.*FCOSHead is not one'):
        _build(cfg)


def test_snapshot_of_another_model_is_rejected(det, seg):
    with pytest.raises(
            ValueError,
            match=r"ckpt\['pskd_snapshot'\] is not a snapshot of this "
            r'student: \d+ missing keys \(first: \[.backbone'):
        det.teacher.load_snapshot_state(seg.teacher.snapshot_state(), "ckpt['pskd_snapshot']")
    state = det.teacher.snapshot_state()
    state['state_dict']['bbox_head.retina_cls.bias'] = torch.zeros(3)
    with pytest.raises(
            ValueError, match=r'bbox_head.retina_cls.bias has shape \(3,\), the '
            r'student \(180,\)'):
        det.teacher.load_snapshot_state(state, 'x')
    with pytest.raises(ValueError, match='must be a dict with state_dict and refreshes'):
        det.teacher.load_snapshot_state({'state_dict': {}}, 'x')
