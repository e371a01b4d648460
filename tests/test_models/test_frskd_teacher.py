# Copyright (c) skd_det contributors.
"""FRSKDDetTeacher / FRSKDSegTeacher: shapes read from the student at build,
taps, head copies, KD normalisation, build-time side effects and errors."""
import pytest
import torch

from skd_det.models.distillers.base import StudentOutputs
from skd_det.testing import (build_det, build_seg, det_batch, det_student_outputs, get_config,
                             seg_batch)

pytestmark = pytest.mark.usefixtures('one_thread')


def det_cfg(**teacher):
    return get_config('configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py', **teacher)


def seg_cfg(**teacher):
    return get_config('configs/frskd/frskd_fcn_r18-d8_cpu_cityscapes.py', **teacher)


def det_outputs(model):
    inputs, samples = det_batch(model)
    return inputs, samples, det_student_outputs(model, inputs, samples)


def test_backbone_tap_builds_five_levels_from_three_stages():
    model = build_det(det_cfg(tap='backbone', in_indices=(1, 2, 3)).model)
    teacher = model.teacher
    assert teacher.neck.in_channels == [128, 256, 512]  # R18 C3..C5
    assert teacher.neck.num_outs == 5  # the head's levels, P3..P7
    model.train()
    inputs, samples, outs = det_outputs(model)
    losses, pairs = teacher.loss_and_targets(model.student, inputs, samples, outs)
    assert {'loss_cls', 'loss_bbox'} <= set(losses)
    feat = pairs['loss_feat']
    # L_F pairs the three tapped stages with the first three teacher levels
    assert len(feat['pred']) == len(feat['target']) == 3
    for s, t, c in zip(feat['pred'], feat['target'], (128, 256, 512)):
        assert s.shape[1] == c and t.shape[1] == 64 and s.shape[2:] == t.shape[2:]
        assert s.requires_grad and not t.requires_grad


def test_own_head_takes_the_teacher_width():
    model = build_det(det_cfg(shared_head=False, neck=dict(type='BiFPN', out_channels=32)).model)
    head = model.teacher.head
    assert head.in_channels == 32 and model.student.bbox_head.in_channels == 64
    assert head.cls_convs[0].conv.in_channels == 32
    assert head.num_classes == model.student.bbox_head.num_classes


def test_shared_head_needs_the_student_width():
    with pytest.raises(ValueError, match='BiFPN width 32 must equal.*in_channels=64'):
        build_det(det_cfg(shared_head=True, neck=dict(type='BiFPN', out_channels=32)).model)


def test_kd_normalised_by_positive_anchors_or_anchors():
    model = build_det(det_cfg(kd_avg_factor='num_pos').model)
    model.train()
    inputs, samples, outs = det_outputs(model)
    _, pairs = model.teacher.loss_and_targets(model.student, inputs, samples, outs)
    kd = pairs['loss_kd']
    num_anchors, num_classes = kd['pred'].shape
    assert num_classes == 20 and kd['target'].shape == kd['pred'].shape
    assert not kd['target'].requires_grad
    # the focal loss' avg_factor: >= 1 positive per image, far fewer than anchors
    num_pos = kd['avg_factor']
    assert len(samples) <= num_pos < num_anchors / 10 and num_pos == int(num_pos)
    model.teacher.kd_avg_factor = 'mean'
    _, pairs_mean = model.teacher.loss_and_targets(model.student, inputs, samples, outs)
    assert pairs_mean['loss_kd']['avg_factor'] is None
    loss_fn = model.distill_losses['loss_kd']
    with torch.no_grad():
        by_pos = loss_fn(**pairs['loss_kd'])
        by_mean = loss_fn(**pairs_mean['loss_kd'])
    torch.testing.assert_close(by_pos * num_pos, by_mean * num_anchors, rtol=1e-4, atol=0)


def test_num_pos_needs_an_anchor_head():
    cfg = det_cfg(kd_avg_factor='num_pos')
    cfg.model.student.bbox_head = dict(
        type='FCOSHead',
        num_classes=20,
        in_channels=64,
        feat_channels=64,
        stacked_convs=1,
        strides=[8, 16, 32, 64, 128])
    with pytest.raises(ValueError, match="FCOSHead has none: use 'mean'"):
        build_det(cfg.model)
    cfg.model.teacher.kd_avg_factor = 'mean'
    assert build_det(cfg.model).teacher.kd_avg_factor == 'mean'


@pytest.mark.slow
def test_head_input_and_loss_weight():
    """By default (the authors' classifier, bifpnc.py:32) the head reads the
    ReLU'd BiFPN outputs; head_input='pre_activation' feeds it the BN
    outputs; L_F's targets are the pre-activation outputs either way (the
    loss ReLUs them); loss_weight scales the teacher losses."""
    model = build_det(det_cfg().model)
    model.train()
    inputs, samples, outs = det_outputs(model)
    teacher = model.teacher
    head = model.student.bbox_head if teacher.head is None else teacher.head
    seen = []
    hook = head.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    torch.manual_seed(0)
    losses, pairs = teacher.loss_and_targets(model.student, inputs, samples, outs)
    assert teacher.head_input == 'activated' and teacher.loss_weight == 1.0
    for f, t in zip(seen[-1], pairs['loss_feat']['target']):
        torch.testing.assert_close(f, t.relu())
    assert min(float(t.min()) for t in pairs['loss_feat']['target']) < 0
    teacher.head_input, teacher.loss_weight = 'pre_activation', 0.5
    torch.manual_seed(0)
    _, pairs_p = teacher.loss_and_targets(model.student, inputs, samples, outs)
    assert min(float(f.min()) for f in seen[-1]) < 0  # BN outputs
    for f, t in zip(seen[-1], pairs_p['loss_feat']['target']):
        torch.testing.assert_close(f, t)
    teacher.head_input = 'activated'
    torch.manual_seed(0)
    losses_h, _ = teacher.loss_and_targets(model.student, inputs, samples, outs)
    hook.remove()
    for key in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(sum(losses_h[key]), 0.5 * sum(losses[key]))
    with pytest.raises(ValueError, match='head_input'):
        build_det(det_cfg(head_input='relu').model)
    with pytest.raises(ValueError, match='loss_weight'):
        build_det(det_cfg(loss_weight=-1.0).model)
    with pytest.raises(ValueError, match='return_pre_activation=True'):
        build_det(
            det_cfg(neck=dict(type='BiFPN', out_channels=64, return_pre_activation=False)).model)
    build_det(
        det_cfg(
            head_input='pre_activation',
            neck=dict(type='BiFPN', out_channels=64, return_pre_activation=False)).model)


def test_probe_leaves_the_student_untouched():
    """Reading shapes at build runs the student once: no BN statistics may
    change and train mode must come back."""
    model = build_det(det_cfg().model)
    bn = model.student.backbone.bn1
    assert model.student.training and bn.training
    assert torch.equal(bn.running_mean, torch.zeros_like(bn.running_mean))
    assert int(bn.num_batches_tracked) == 0


def test_seg_head_copy_reads_the_teacher_levels():
    model = build_seg(seg_cfg().model)
    head, student_head = model.teacher.head, model.student.decode_head
    assert type(head) is type(student_head) and head is not student_head
    assert model.teacher.in_indices == [0, 3]
    assert model.teacher.neck.in_channels == [64, 512]  # R18 C1 and C4
    # FCN reads level 3 of the backbone; the copy reads position 1 of [C1, C4]
    assert student_head.in_index == 3 and head.in_index == 1
    assert head.in_channels == 128 and head.num_classes == student_head.num_classes
    model.train()
    inputs, samples = seg_batch(model)
    student = model.student
    feats = student.extract_feat(inputs)
    outs = StudentOutputs(feats, feats, student.decode_head(feats), (samples, ))
    seen = []
    hook = head.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    losses, pairs = model.teacher.loss_and_targets(student, inputs, samples, outs)
    hook.remove()
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}
    # the authors' classifier reads ReLU'd BiFPN outputs (BiFPNSeg nodes end with a ReLU)
    assert model.teacher.head_input == 'activated'
    for f, t in zip(seen[-1], pairs['loss_feat']['target']):
        torch.testing.assert_close(f, t.relu())
    assert min(float(t.min()) for t in pairs['loss_feat']['target']) < 0
    kd = pairs['loss_kd']
    # logits at the label size (the preprocessor pads 64x128 images to the 128x256 crop)
    assert kd['pred'].shape == kd['target'].shape == (2, 19, 128, 256)
    assert kd['label'].shape == (2, 1, 128, 256) and kd['ignore_index'] == 255
    assert not kd['target'].requires_grad


def test_seg_levels_must_include_the_head_input():
    with pytest.raises(ValueError, match=r'in_indices=\[0, 1\] must include the levels \[3\]'):
        build_seg(seg_cfg(in_indices=(0, 1)).model)


def test_seg_given_widths_are_checked():
    cfg = seg_cfg(neck=dict(type='BiFPN', out_channels=128, in_channels=[256, 2048]))
    with pytest.raises(
            ValueError,
            match=r"in_channels=\[256, 2048\] \(2 levels\) does not match "
            r"the student's ResNetV1c outputs at in_indices=\[0, 3\]: "
            r'2 levels of \[64, 512\] channels'):
        build_seg(cfg.model)


def test_box_kd_is_teacher_confidence_weighted_l1():
    cfg = det_cfg(shared_head=False)
    cfg.model.distill_losses['loss_kd_bbox'] = dict(type='L1Loss', loss_weight=1.0)
    model = build_det(cfg.model)
    model.train()
    inputs, samples, outs = det_outputs(model)
    _, pairs = model.teacher.loss_and_targets(model.student, inputs, samples, outs)
    # by hand from the raw per-level outputs: anchor a at (n, y, x) of level l has box
    # channels 4a..4a+3 and class channels 20a..20a+19
    feats = [f.relu() for f in model.teacher.neck(list(outs.feats))]  # head_input='activated'
    cls_t, box_t = model.teacher.head(feats)
    box_s = outs.head_outs[1]
    num, den = 0., 0.
    for ct, bt, bs in zip(cls_t, box_t, box_s):
        n, _, h, w = ct.shape
        conf = ct.detach().sigmoid().view(n, 9, 20, h, w).max(dim=2).values  # (n, 9, h, w)
        diff = (bs - bt.detach()).abs().view(n, 9, 4, h, w).sum(dim=2)
        num = num + (conf * diff).sum()
        den = den + conf.sum()
    loss = model.distill_losses['loss_kd_bbox'](**pairs['loss_kd_bbox'])
    torch.testing.assert_close(loss, num / den, rtol=1e-4, atol=1e-6)
    # gradient reaches the student's box branch only
    loss.backward()
    student_head = model.student.bbox_head
    assert student_head.retina_reg.weight.grad.abs().sum() > 0
    assert student_head.retina_cls.weight.grad is None
    assert model.teacher.head.retina_reg.weight.grad is None
    # and the wrapper reports it under its own key
    model.zero_grad()
    losses = model.loss(inputs, samples)
    assert 'distill.loss_kd_bbox' in losses
