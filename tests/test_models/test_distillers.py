# Copyright (c) skd_det contributors.
"""SelfDistillDetector / SelfDistillSegmentor: loss keys, state-dict prefixes,
predictions equal to the plain student's, gradient routing, build-time
errors, and the mmdet/mmseg import split of the plugin entry modules."""
import functools
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from skd_det.models.distillers.base import student_state_dict
from skd_det.testing import (REPO, build_det, build_seg, det_batch, get_config, plain_student,
                             seg_batch)

DET_CFG = 'configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py'
SEG_CFG = 'configs/frskd/frskd_fcn_r18-d8_cpu_cityscapes.py'

pytestmark = pytest.mark.usefixtures('one_thread')


def det_cfg(**teacher):
    cfg = get_config(DET_CFG, **teacher)  # custom_imports loads skd_det.det
    # random weights score ~0.01 everywhere: keep every box so predictions are compared
    cfg.model.student.test_cfg.score_thr = 0.0
    return cfg


def seg_cfg(**teacher):
    return get_config(SEG_CFG, **teacher)


@pytest.fixture(scope='module')
def det():
    cfg = det_cfg()
    model = build_det(cfg.model, init=True)
    return model, plain_student(model, cfg.model.student)


@pytest.fixture(scope='module')
def seg():
    cfg = seg_cfg()
    model = build_seg(cfg.model, init=True)
    return model, plain_student(model, cfg.model.student, build_seg)


def _total(value):
    return value.sum() if isinstance(value, torch.Tensor) else sum(v.sum() for v in value)


def _assert_loss_keys(losses, student_losses, teacher_keys):
    student_keys = set(student_losses)
    assert student_keys <= set(losses)
    teacher = {k for k in losses if k.startswith('teacher.')}
    distill = {k for k in losses if k.startswith('distill.')}
    assert teacher == {'teacher.' + k for k in teacher_keys}
    assert distill == {'distill.loss_feat', 'distill.loss_kd'}
    assert set(losses) == student_keys | teacher | distill
    for key in teacher | distill:
        if not key.endswith('acc_seg'):
            assert 'loss' in key, key


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_loss_keys_and_student_losses_unchanged(task, det, seg):
    model, student = det if task == 'det' else seg
    inputs, samples = (det_batch if task == 'det' else seg_batch)(model)
    model.train()
    student.train()
    torch.manual_seed(1)  # same dropout draws (FCN heads) in both
    losses = model.loss(inputs, samples)
    torch.manual_seed(1)
    student_losses = student.loss(inputs, samples)
    # the wrapper reports the student's own losses under its own keys and values
    for key, value in student_losses.items():
        torch.testing.assert_close(losses[key], value, rtol=0, atol=0)
    teacher_keys = ({'loss_cls', 'loss_bbox'}
                    if task == 'det' else {'decode.loss_ce', 'decode.acc_seg'})
    _assert_loss_keys(losses, student_losses, teacher_keys)
    # parse_losses optimises everything named '*loss*': student + teacher + distill
    total, log_vars = model.parse_losses(losses)
    expected = sum(_total(v) for k, v in losses.items() if 'loss' in k)
    torch.testing.assert_close(total, expected)
    assert log_vars['distill.loss_feat'] > 0 and log_vars['teacher.' + sorted(teacher_keys)[0]] > 0


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_state_dict_has_two_prefixes(task, det, seg):
    model, student = det if task == 'det' else seg
    keys = list(model.state_dict())
    assert {k.split('.')[0] for k in keys} == {'student', 'teacher'}
    assert {k[len('student.'):]
            for k in keys if k.startswith('student.')} == set(student.state_dict())


def test_student_state_dict_strips_the_prefix_and_drops_the_rest():
    state = {'student.backbone.w': 1, 'teacher.neck.w': 2, 'student.head.b': 3, 'studentx.w': 4}
    assert list(student_state_dict(state).items()) == [('backbone.w', 1), ('head.b', 3)]
    assert student_state_dict({'backbone.w': 1}) == {}


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_predict_and_tensor_equal_the_plain_student(task, det, seg):
    model, student = det if task == 'det' else seg
    inputs, samples = (det_batch if task == 'det' else seg_batch)(model, training=False)
    model.eval()
    student.eval()
    with torch.no_grad():
        ours = model(inputs, [s.clone() for s in samples], mode='predict')
        theirs = student(inputs, [s.clone() for s in samples], mode='predict')
        raw_ours = model(inputs, samples, mode='tensor')
        raw_theirs = student(inputs, samples, mode='tensor')
    for a, b in zip(ours, theirs):
        if task == 'det':
            assert len(a.pred_instances) > 0
            for field in ('bboxes', 'scores', 'labels'):
                assert torch.equal(a.pred_instances[field], b.pred_instances[field])
        else:
            assert torch.equal(a.seg_logits.data, b.seg_logits.data)
            assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
    flat = lambda out: [t for level in out for t in level] if task == 'det' else [out]  # noqa
    for a, b in zip(flat(raw_ours), flat(raw_theirs)):
        assert torch.equal(a, b)


def _grads(loss, params):
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


@pytest.mark.parametrize('task', ['det', 'det_own_head', 'seg'])
def test_teacher_loss_reaches_backbone_and_distill_targets_are_detached(task, det, seg):
    if task == 'det_own_head':
        model = build_det(det_cfg(shared_head=False).model)
    else:
        model = (det if task == 'det' else seg)[0]
    inputs, samples = (seg_batch if task == 'seg' else det_batch)(model)
    model.train()
    losses = model.loss(inputs, samples)
    teacher_params = [p for n, p in model.named_parameters() if n.startswith('teacher.')]
    backbone = model.student.backbone.conv1.weight if task != 'seg' else \
        model.student.backbone.stem[0].weight
    teacher_loss = sum(
        _total(v) for k, v in losses.items() if k.startswith('teacher.') and 'loss' in k)
    distill_loss = sum(_total(v) for k, v in losses.items() if k.startswith('distill.'))

    # the teacher's own task loss trains the teacher and reaches the student's backbone
    grads = _grads(teacher_loss, teacher_params + [backbone])
    assert grads[-1].abs().sum() > 0
    assert sum(g.abs().sum() for g in grads[:-1]) > 0
    # distillation targets are detached: nothing flows into the teacher part ...
    grads = _grads(distill_loss, teacher_params + [backbone])
    assert all(g.abs().sum() == 0 for g in grads[:-1])
    # ... while the student side learns from them
    assert grads[-1].abs().sum() > 0


def test_distill_weight_scale_multiplies_distill_losses_only(det):
    model, _ = det
    inputs, samples = det_batch(model)
    model.train()
    full = model.loss(inputs, samples)
    try:
        model.distill_weight_scale = 0.25
        scaled = model.loss(inputs, samples)
    finally:
        model.distill_weight_scale = 1.0
    for key, value in full.items():
        factor = 0.25 if key.startswith('distill.') else 1.0
        torch.testing.assert_close(_total(scaled[key]), factor * _total(value))


def test_own_head_is_a_separate_copy():
    cfg = det_cfg(shared_head=False)
    model = build_det(cfg.model)
    head = model.teacher.head
    assert type(head) is type(model.student.bbox_head) and head is not model.student.bbox_head
    assert any(k.startswith('teacher.head.') for k in model.state_dict())
    shared = build_det(det_cfg(shared_head=True).model)
    assert shared.teacher.head is None
    assert not any(k.startswith('teacher.head.') for k in shared.state_dict())


@functools.lru_cache()
def _config(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


@pytest.mark.parametrize('frskd,baseline', [
    ('frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py', 'retinanet/retinanet_r18_fpn_cpu_voc0712.py'),
    ('frskd/frskd_retinanet_r50_fpn_1x_voc0712.py', 'retinanet/retinanet_r50_fpn_1x_voc0712.py'),
    ('frskd_retinanet_voc.py', 'retinanet/retinanet_r50_fpn_1x_voc0712.py'),
    ('frskd/frskd_retinanet_r50_fpn_1x_coco.py', 'retinanet/retinanet_r50_fpn_1x_coco.py'),
    ('frskd/frskd_fcn_r18-d8_cpu_cityscapes.py', 'fcn/fcn_r18-d8_cpu_cityscapes.py'),
    ('frskd/frskd_fcn_r50-d8_512x1024_cityscapes.py', 'fcn/fcn_r50-d8_512x1024_cityscapes.py'),
    ('frskd/frskd_fcn_r50-d8_512x512_voc12aug.py', 'fcn/fcn_r50-d8_512x512_voc12aug.py'),
] + [(f'frskd/frskd_efficientdet_{name}.py', f'efficientdet/efficientdet_{name}.py') for name in [
    'd0_cpu_voc0712', 'd0_voc0712', 'd1_voc0712', 'd0_coco', 'd1_coco', 'd0_seg_voc12aug',
    'd1_seg_voc12aug'
]])
def test_config_student_is_exactly_the_baseline(frskd, baseline):
    ours = Config.fromfile(osp.join(REPO, 'configs', frskd))
    base = _config(baseline)
    assert ours.model.student.to_dict() == base.model.to_dict()
    # None: the wrapper takes the student's (tests/test_configs/test_fragments.py builds it)
    assert ours.model.data_preprocessor is None
    # and everything but the model (data, schedule, runtime) is the baseline's; the
    # fragment's own top-level variables (the method's wrapper and hooks) are not settings
    fragment_vars = {k for k in set(ours) - set(base) if k.startswith('frskd')}
    for key in (set(base) | set(ours)) - fragment_vars:
        if key not in ('model', 'custom_imports', 'custom_hooks'):
            assert ours.get(key) == base.get(key), key


@pytest.mark.parametrize('task', ['det', 'seg'])
@pytest.mark.parametrize('shared_head', [False, True])
def test_seed_gives_the_student_the_baselines_weights(task, shared_head):
    """Same seed, same student weights and the same random stream afterwards, with or
    without the teacher part: baseline vs method comparisons need no init control."""
    if task == 'det':
        ours = det_cfg(shared_head=shared_head).model
        base, build = _config('retinanet/retinanet_r18_fpn_cpu_voc0712.py').model, build_det
    else:
        if shared_head:
            pytest.skip('the segmentation teacher has no shared-head option')
        ours, build = seg_cfg().model, build_seg
        base = _config('fcn/fcn_r18-d8_cpu_cityscapes.py').model

    def init(cfg):
        torch.manual_seed(3)
        model = build(cfg)
        model.init_weights()
        return model, torch.rand(4)

    baseline, base_draw = init(base)
    wrapper, our_draw = init(ours)
    student = wrapper.student.state_dict()
    assert student.keys() == baseline.state_dict().keys()
    for k, v in baseline.state_dict().items():
        assert torch.equal(student[k], v), k
    assert torch.equal(our_draw, base_draw)
    # the teacher part is initialised (not left at construction values) and differs per seed
    torch.manual_seed(4)
    other = build(ours)
    other.init_weights()
    assert any(not torch.equal(a, b)
               for a, b in zip(wrapper.teacher.parameters(), other.teacher.parameters()))


# ----------------------------------------------------------------------- build errors


def test_teacher_width_mismatch_names_both_sides():
    cfg = det_cfg(neck=dict(type='BiFPN', out_channels=64, in_channels=[256] * 4))
    with pytest.raises(ValueError) as e:
        build_det(cfg.model)
    msg = str(e.value)
    assert 'teacher.neck.in_channels=[256, 256, 256, 256] (4 levels)' in msg
    assert "the student's FPN outputs" in msg and '5 levels of 64 channels' in msg


def _mmdet_model(name):
    import mmdet
    model = Config.fromfile(osp.join(osp.dirname(mmdet.__file__), '.mim/configs', name)).model
    model.backbone.init_cfg = None
    return model


@pytest.mark.parametrize('name, error', [
    ('detr/detr_r50_8xb2-150e_coco.py', 'DETR is neither.*DETR-like'),
    ('_base_/models/cascade-rcnn_r50_fpn.py',
     'student.roi_head must be a StandardRoIHead.*CascadeRoIHead'),
    ('_base_/models/rpn_r50_fpn.py', 'RPN is neither'),
])
def test_unsupported_detector_is_rejected(name, error):
    cfg = det_cfg()
    cfg.model.student = _mmdet_model(name)
    with pytest.raises(TypeError, match=error):
        build_det(cfg.model)


def test_two_stage_student_without_bbox_head_names_the_field():
    cfg = det_cfg()
    cfg.model.student = _mmdet_model('_base_/models/mask-rcnn_r50_fpn.py')
    cfg.model.student.roi_head.bbox_roi_extractor = None
    cfg.model.student.roi_head.bbox_head = None
    with pytest.raises(TypeError, match=r'student\.roi_head\.bbox_head is missing'):
        build_det(cfg.model)


def test_unsupported_segmentor_is_rejected():
    from mmseg.models.segmentors import EncoderDecoder

    class LossOverridingSegmentor(EncoderDecoder):

        def loss(self, inputs, data_samples):
            return super().loss(inputs, data_samples)

    cfg = seg_cfg()
    cfg.model.student.type = LossOverridingSegmentor
    with pytest.raises(TypeError, match='EncoderDecoder.*LossOverridingSegmentor is not one'):
        build_seg(cfg.model)


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_negative_loss_weight_is_rejected(task):
    cfg = det_cfg() if task == 'det' else seg_cfg()
    cfg.model.distill_losses.loss_kd.loss_weight = -1.0
    with pytest.raises(ValueError, match=r'distill_losses\.loss_kd\.loss_weight.*-1'):
        (build_det if task == 'det' else build_seg)(cfg.model)


def test_unknown_distill_pair_is_rejected():
    cfg = det_cfg()
    cfg.model.distill_losses.loss_hint = dict(type='AttentionTransferLoss')
    with pytest.raises(
            ValueError,
            match=r"distill_losses\.loss_hint.*\['loss_feat', 'loss_kd', 'loss_kd_bbox'\]"):
        build_det(cfg.model)


def test_dilated_levels_are_rejected_with_strides():
    cfg = seg_cfg(in_indices=None)  # C1..C4 of a D8 ResNet: 32, 16, 16, 16 px
    with pytest.raises(
            ValueError, match=r'half the resolution.*\(32, 32\), \(16, 16\), \(16, 16\)'):
        build_seg(cfg.model)


# ------------------------------------------------------------------------ import split


@pytest.mark.slow
@pytest.mark.parametrize('entry,blocked', [('skd_det.det', 'mmseg'), ('skd_det.seg', 'mmdet')])
def test_plugin_entry_works_without_the_other_task(entry, blocked):
    code = (f'import sys; sys.modules[{blocked!r}] = None\n'
            'import skd_det.models, skd_det.engine\n'
            "assert not [m for m, mod in sys.modules.items()\n"
            "            if mod is not None and m.split('.')[0] in ('mmdet', 'mmseg')]\n"
            f'import {entry}\n')
    result = subprocess.run([sys.executable, '-c', code],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            timeout=300,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-2000:]
