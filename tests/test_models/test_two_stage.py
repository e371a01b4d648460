# Copyright (c) skd_det contributors.
"""SelfDistillDetector around two-stage students (Faster R-CNN, Mask R-CNN) with the LGD,
FRSKD and blur S-KD teacher parts: the student's RPN/RoI losses are bit-for-bit its own
``loss()``'s, the teacher part gets the sampled RoIs, gradients go where each method sends
them, bad configurations fail at build naming the field."""
import functools
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from skd_det.testing import REPO, build_det, det_batch, get_config, plain_student

LGD = 'configs/lgd/lgd_faster-rcnn_r18_fpn_cpu_voc0712.py'
FRSKD = 'configs/frskd/frskd_faster-rcnn_r18_fpn_cpu_voc0712.py'
BLUR = 'configs/blur_skd/blur_skd_faster-rcnn_r18_fpn_cpu_voc0712.py'
STUDENT_KEYS = {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'acc', 'loss_bbox'}

pytestmark = pytest.mark.usefixtures('one_thread')


def config(path, **teacher):
    return get_config(path, **teacher)  # custom_imports loads skd_det.det


def build(model_cfg):
    return build_det(model_cfg, seed=0, init=True)


def mask_rcnn_student():
    import mmdet
    student = Config.fromfile(
        osp.join(osp.dirname(mmdet.__file__),
                 '.mim/configs/_base_/models/mask-rcnn_r50_fpn.py')).model
    student.backbone.init_cfg = None
    return student


def batch(model, with_mask=False):
    return det_batch(model, with_mask=with_mask)


def _total(value):
    return value.sum() if isinstance(value, torch.Tensor) else sum(v.sum() for v in value)


def _equal(a, b):
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


@functools.lru_cache()
def _model(path):
    return build(config(path).model)


CASES = {
    'lgd': (LGD, {'loss_feat'}),
    'frskd': (FRSKD, {'loss_feat', 'loss_kd'}),
    'blur_skd': (BLUR, {'loss_feat'}),
    'lgd_mask_rcnn': (LGD, {'loss_feat'}),
    'frskd_mask_rcnn': (FRSKD, {'loss_feat', 'loss_kd'}),
}


# Mask R-CNN students: Faster R-CNN's wrapper code with a mask head (`make test` only)
@pytest.mark.parametrize(
    'case', [c if 'mask' not in c else pytest.param(c, marks=pytest.mark.slow) for c in CASES])
def test_student_losses_are_the_base_models_own(case):
    path, distill = CASES[case]
    cfg = config(path)
    mask = case.endswith('mask_rcnn')
    if mask:
        cfg.model.student = mask_rcnn_student()
        cfg.model.data_preprocessor = cfg.model.student.data_preprocessor
    model = build(cfg.model)
    student = plain_student(model, cfg.model.student)
    inputs, samples = batch(model, with_mask=mask)
    model.train()
    student.train()
    # same seed: the RoI sampler draws the same RoIs in both
    torch.manual_seed(1)
    losses = model.loss(inputs, samples)
    torch.manual_seed(1)
    own = student.loss(inputs, samples)
    assert set(own) == STUDENT_KEYS | ({'loss_mask'} if mask else set())
    for key, value in own.items():
        assert _equal(losses[key], value), key
    teacher = {k for k in losses if k.startswith('teacher.')}
    assert teacher == {'teacher.' + k for k in own}
    assert {k for k in losses if k.startswith('distill.')} == {'distill.' + k for k in distill}
    assert set(losses) == set(own) | teacher | {'distill.' + k for k in distill}
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)


def test_student_outputs_hold_the_sampled_rois():
    model = _model(FRSKD)
    inputs, samples = batch(model)
    model.train()
    seen = {}
    forward = model.teacher.loss_and_targets

    def spy(student, inputs, samples, outs):
        seen['outs'] = outs
        return forward(student, inputs, samples, outs)

    model.teacher.loss_and_targets = spy
    try:
        model.loss(inputs, samples)
    finally:
        del model.teacher.loss_and_targets
    outs = seen['outs']
    rois = outs.rois
    num_classes = model.student.roi_head.bbox_head.num_classes
    sampled = [len(r.priors) for r in rois.sampling_results]
    assert rois.rois.shape == (sum(sampled), 5)
    assert rois.cls_score.shape == (sum(sampled), num_classes + 1)
    assert rois.bbox_pred.shape == (sum(sampled), 4 * num_classes)
    # bbox2roi order: image index, then the sampled priors of that image
    index = torch.cat([torch.full((n, ), float(i)) for i, n in enumerate(sampled)])
    assert torch.equal(rois.rois[:, 0], index)
    assert torch.equal(rois.rois[:, 1:], torch.cat([r.priors for r in rois.sampling_results]))
    assert all(not p.priors.requires_grad for p in rois.proposals)
    # the RPN's outputs over its 5 levels, the student's FPN levels
    assert len(outs.head_outs) == 2 and len(outs.head_outs[0]) == len(outs.feats) == 5


def _grads(loss, params):
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return [0.0 if g is None else float(g.abs().sum()) for g in grads]


def _losses(model, prefix, key=None):
    inputs, samples = batch(model)
    model.train()
    losses = model.loss(inputs, samples)
    return sum(
        _total(v) for k, v in losses.items()
        if k.startswith(prefix) and 'loss' in k and (key is None or k.endswith(key)))


@pytest.mark.parametrize('detach', [True, False])
def test_lgd_teacher_loss_reaches_the_backbone_only_without_detached_appearance(detach):
    model = build(config(LGD, detach_appearance=detach).model)
    teacher_loss = _losses(model, 'teacher.')
    backbone, rpn, roi, appearance, mapper = _grads(teacher_loss, [
        model.student.backbone.conv1.weight, model.student.rpn_head.rpn_conv.weight,
        model.student.roi_head.bbox_head.fc_cls.weight,
        next(model.teacher.appearance_encoder.parameters()),
        next(model.teacher.knowledge_mapper.parameters())
    ])
    # the teacher pyramid goes through the student's own RPN and RoI head
    assert rpn > 0 and roi > 0 and appearance > 0 and mapper > 0
    assert (backbone == 0) if detach else (backbone > 0)


def test_lgd_feature_loss_trains_the_adapter_and_student_not_the_teacher():
    model = _model(LGD)
    adapter, backbone, mapper = _grads(
        _losses(model, 'distill.'), [
            next(model.teacher.student_adapter.parameters()), model.student.backbone.conv1.weight,
            next(model.teacher.knowledge_mapper.parameters())
        ])
    assert adapter > 0 and backbone > 0 and mapper == 0


def test_frskd_gradients():
    model = _model(FRSKD)
    params = [
        model.student.backbone.conv1.weight, model.student.roi_head.bbox_head.fc_cls.weight,
        next(model.teacher.neck.parameters()), model.teacher.rpn_head.rpn_conv.weight,
        model.teacher.roi_head.bbox_head.fc_cls.weight
    ]
    # teacher losses: its BiFPN and own heads, and the student's backbone (not detached), not
    # the student's RoI head
    backbone, student_roi, neck, rpn, roi = _grads(_losses(model, 'teacher.'), params)
    assert backbone > 0 and neck > 0 and rpn > 0 and roi > 0 and student_roi == 0
    # RoI KD: the student's RoI head learns, the teacher's logits are detached targets
    backbone, student_roi, neck, rpn, roi = _grads(_losses(model, 'distill.', 'loss_kd'), params)
    assert student_roi > 0 and backbone > 0 and neck == rpn == roi == 0


def test_blur_skd_roi_kd_targets_are_the_sharp_pass_without_gradient():
    cfg = config(BLUR)
    cfg.model.distill_losses.loss_kd = dict(type='SoftmaxKDLoss', temperature=1.0)
    model = build(cfg.model)
    inputs, samples = batch(model)
    model.train()
    seen = {}
    forward = model.teacher.loss_and_targets

    def spy(student, inputs, samples, outs):
        seen['outs'] = outs
        result = forward(student, inputs, samples, outs)
        seen['pairs'] = result[1]
        return result

    model.teacher.loss_and_targets = spy
    try:
        losses = model.loss(inputs, samples)
    finally:
        del model.teacher.loss_and_targets
    kd, feat = seen['pairs']['loss_kd'], seen['pairs']['loss_feat']
    # the same RoIs: the blurred pass's logits against the sharp pass's, row by row
    assert kd['pred'] is seen['outs'].rois.cls_score
    assert kd['target'].shape == kd['pred'].shape and not kd['target'].requires_grad
    assert not torch.equal(kd['target'], kd['pred'])
    assert all(not t.requires_grad for t in feat['target'])
    fc_cls = model.student.roi_head.bbox_head.fc_cls.weight
    assert _grads(losses['distill.loss_kd'], [fc_cls])[0] > 0


def test_two_stage_build_errors_name_the_field():
    with pytest.raises(ValueError, match="shared_head=True and kd_avg_factor='mean'"):
        build(config(BLUR, kd_avg_factor='num_pos').model)
    with pytest.raises(ValueError, match='teacher.neck needs out_channels=64'):
        build(config(FRSKD, neck=dict(type='BiFPN', out_channels=32)).model)
    retina = config('configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py')
    retina.model.teacher = dict(type='FRSKDTwoStageTeacher')
    with pytest.raises(TypeError, match='needs a two-stage student.*RetinaNet'):
        build(retina.model)


@pytest.mark.parametrize(
    'method, baseline', [(f'{m}/{m}_faster-rcnn_{v}.py', f'faster_rcnn/faster-rcnn_{v}.py')
                         for m in ('lgd', 'frskd')
                         for v in ('r18_fpn_cpu_voc0712', 'r50_fpn_1x_voc0712', 'r50_fpn_1x_coco')])
def test_config_student_is_exactly_the_baseline(method, baseline):
    ours = Config.fromfile(osp.join(REPO, 'configs', method))
    base = Config.fromfile(osp.join(REPO, 'configs', baseline))
    assert ours.model.student.to_dict() == base.model.to_dict()
    # None: the wrapper takes the student's (tests/test_configs/test_fragments.py builds it)
    assert ours.model.data_preprocessor is None
