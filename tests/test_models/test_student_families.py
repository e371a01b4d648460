# Copyright (c) skd_det contributors.
"""Every method's CPU config with its student swapped for a current model of mmdet's/mmseg's own
shipped configs (issue 28): one loss step on a tiny random batch gives finite student, teacher
and distillation terms and gradients into the student, or building stops with one clear error
of skd_det naming the student's component and what the method needs. A raw exception from
inside mmdet/mmseg or a method fails.

The students are the shipped configs' models with the data's classes, no pretrained weights,
BN for SyncBN (one CPU process), and the smallest depth the config's family
allows (ResNet-18 instead of -50, with the neck's widths to match)."""
import math

import pytest
import torch

from skd_det.testing import build_model, det_batch, get_config, seg_batch

pytestmark = pytest.mark.usefixtures('one_thread')

DET_METHODS = {
    'frskd': 'configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py',
    'lgd': 'configs/lgd/lgd_retinanet_r18_fpn_cpu_voc0712.py',
    'byot': 'configs/byot/byot_retinanet_r18_fpn_cpu_voc0712.py',
    'pskd': 'configs/pskd/pskd_retinanet_r18_fpn_cpu_voc0712.py',
}
SEG_METHODS = {
    'frskd': 'configs/frskd/frskd_fcn_r18-d8_cpu_cityscapes.py',
    'byot': 'configs/byot/byot_fcn_r18-d8_cpu_cityscapes.py',
    'pskd': 'configs/pskd/pskd_fcn_r18-d8_cpu_cityscapes.py',
}
DET_STUDENTS = {
    'rtmdet-tiny': 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    'yolox-tiny': 'mmdet::yolox/yolox_tiny_8xb8-300e_coco.py',
    'atss': 'mmdet::atss/atss_r50_fpn_1x_coco.py',
    'gfl': 'mmdet::gfl/gfl_r50_fpn_1x_coco.py',
    'fcos': 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
}
SEG_STUDENTS = {
    'deeplabv3plus-r18':
    'mmseg::deeplabv3plus/deeplabv3plus_r18-d8_4xb2-80k_cityscapes-512x1024.py',
    'upernet-r18': 'mmseg::upernet/upernet_r18_4xb2-40k_cityscapes-512x1024.py',
    'segformer-b0': 'mmseg::segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py',
    'pspnet-r18': 'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
    'bisenetv2': 'mmseg::bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py',
}

# (task, method, student) -> the start of the one-line error building raises; the others train
EXPECTED_ERRORS = {
    ('det', 'byot', 'rtmdet-tiny'):
    "BYOTDetTeacher cuts the student's neck at an exit's backbone stage and lets extra "
    "stride-2 convs make the missing levels (an FPN-like neck with end_level: FPN, PAFPN, "
    "...); the student's neck CSPNeXtPAFPN has no end_level",
    ('det', 'byot', 'yolox-tiny'):
    "BYOTDetTeacher cuts the student's neck at an exit's backbone stage and lets extra "
    "stride-2 convs make the missing levels (an FPN-like neck with end_level: FPN, PAFPN, "
    "...); the student's neck YOLOXPAFPN has no end_level",
    ('det', 'pskd', 'rtmdet-tiny'):
    'PSKDDetTeacher replaces a classification loss that is a sigmoid FocalLoss on one-hot '
    "labels (RetinaNet, ATSS); the student's bbox_head RTMDetSepBNHead has loss_cls "
    'QualityFocalLoss',
    ('det', 'pskd', 'gfl'):
    'PSKDDetTeacher replaces a classification loss that is a sigmoid FocalLoss on one-hot '
    "labels (RetinaNet, ATSS); the student's bbox_head GFLHead has loss_cls QualityFocalLoss",
    ('det', 'pskd', 'yolox-tiny'):
    'PSKDDetTeacher mixes the targets of an anchor-based dense head with a sigmoid classifier '
    "(RetinaNet, ATSS); the student's bbox_head YOLOXHead is not one",
    ('det', 'pskd', 'fcos'):
    'PSKDDetTeacher mixes the targets of an anchor-based dense head with a sigmoid classifier '
    "(RetinaNet, ATSS); the student's bbox_head FCOSHead is not one",
    ('seg', 'frskd', 'upernet-r18'):
    'teacher: a BiFPN needs each level at half the resolution of the previous one, but the '
    "student's ResNetV1c outputs at in_indices=[0, 3] have sizes [(32, 32), (4, 4)] on a "
    '128x128 image: choose in_indices of halving resolutions, e.g. '
    'teacher.in_indices=(0, 1, 2, 3)',
    ('seg', 'frskd', 'segformer-b0'):
    'teacher: a BiFPN needs each level at half the resolution of the previous one, but the '
    "student's MixVisionTransformer outputs at in_indices=[0, 3] have sizes [(32, 32), (4, 4)] "
    'on a 128x128 image: choose in_indices of halving resolutions, e.g. '
    'teacher.in_indices=(0, 1, 2, 3)',
    ('seg', 'byot', 'upernet-r18'):
    'BYOTSegTeacher needs a student without a neck whose decode head reads one level (an int '
    "in_index), got the student's UPerHead with in_index=[0, 1, 2, 3]",
    ('seg', 'byot', 'segformer-b0'):
    'BYOTSegTeacher needs a student without a neck whose decode head reads one level (an int '
    "in_index), got the student's SegformerHead with in_index=[0, 1, 2, 3]",
    ('seg', 'byot', 'bisenetv2'):
    "BYOT needs a stage shallower than the deepest classifier's input for an exit; the "
    "student's FCNHead reads level 0 of the 5 BiSeNetV2 outputs, so there is none",
}

# cells whose error suggests a setting: with it they train
FOLLOWED = {
    ('seg', 'frskd', 'upernet-r18'): dict(in_indices=(0, 1, 2, 3)),
    ('seg', 'frskd', 'segformer-b0'): dict(in_indices=(0, 1, 2, 3)),
}

SEG_SHAPE = (64, 64)


def _walk(obj, fn):
    """Apply ``fn`` to every dict in a nested config, depth first."""
    if isinstance(obj, dict):
        fn(obj)
        for value in obj.values():
            _walk(value, fn)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _walk(value, fn)


def _plain(cfg):
    """SyncBN -> BN, no pretrained weights."""

    def fix(d):
        if d.get('type') in ('SyncBN', 'MMSyncBN'):
            d['type'] = 'BN'
        init = d.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            d['init_cfg'] = None
        if 'pretrained' in d:
            d['pretrained'] = None

    _walk(cfg, fix)
    return cfg


def det_student(name, num_classes=20):
    from mmengine.hub import get_config as hub_config
    model = hub_config(DET_STUDENTS[name]).model.to_dict()
    model['bbox_head']['num_classes'] = num_classes
    backbone = model['backbone']
    if backbone['type'] == 'ResNet' and backbone['depth'] == 50:
        backbone['depth'] = 18
        model['neck']['in_channels'] = [64, 128, 256, 512][-len(model['neck']['in_channels']):]
    return _plain(model)


def seg_student(name, num_classes=19):
    from mmengine.hub import get_config as hub_config
    model = hub_config(SEG_STUDENTS[name]).model.to_dict()
    heads = model.get('auxiliary_head') or []
    for head in [model['decode_head']] + (heads if isinstance(heads, list) else [heads]):
        head['num_classes'] = num_classes
    model['data_preprocessor']['size'] = SEG_SHAPE
    return _plain(model)


def _grad_norm(module):
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return sum(g.float().norm().item() for g in grads), len(grads)


def _one_step(task, method, student, **teacher):
    if task == 'det':
        cfg = get_config(DET_METHODS[method], **teacher)
        cfg.model.student = det_student(student)
        scope = 'mmdet'
    else:
        cfg = get_config(SEG_METHODS[method], **teacher)
        cfg.model.student = seg_student(student)
        scope = 'mmseg'
    model = build_model(cfg.model, scope, seed=0, init=True)
    model.train()
    return model, model.loss(*_batch(task, model))


def _batch(task, model):
    if task == 'seg':
        return seg_batch(model, shape=SEG_SHAPE)
    # YOLOX's BatchSyncRandomResize reads the Runner's iteration from the message hub
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    missing = 'iter' not in hub.runtime_info
    hub.update_info('iter', 0)
    try:
        return det_batch(model, image_shapes=((3, 96, 128), (3, 64, 96)), num_items=(2, 3))
    finally:
        if missing:
            hub.runtime_info.pop('iter')


def _total(value):
    if isinstance(value, (list, tuple)):
        return sum(_total(v) for v in value)
    return value


CASES = [('det', m, s) for m in DET_METHODS for s in DET_STUDENTS] + \
        [('seg', m, s) for m in SEG_METHODS for s in SEG_STUDENTS]
CASES += [case + ('followed', ) for case in FOLLOWED]


# `make test-fast` builds and steps every student family under FRSKD (its followed suggestions
# included; the other methods' cells: `make test`)
@pytest.mark.parametrize(
    'case', [c if c[1] == 'frskd' else pytest.param(c, marks=pytest.mark.slow) for c in CASES],
    ids=['-'.join(c) for c in CASES])
def test_student_family(case):
    task, method, student = case[:3]
    teacher = FOLLOWED[case[:3]] if len(case) > 3 else {}
    expected = None if teacher else EXPECTED_ERRORS.get((task, method, student))
    if expected is not None:
        with pytest.raises((ValueError, TypeError)) as info:
            _one_step(task, method, student)
        assert str(info.value).startswith(expected), str(info.value)
        assert '\n' not in str(info.value)
        return
    model, losses = _one_step(task, method, student, **teacher)
    groups = {'student': [], 'teacher': [], 'distill': []}
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        group = key.split('.')[0] if key.split('.')[0] in ('teacher', 'distill') else 'student'
        total = _total(value)
        assert isinstance(total, torch.Tensor) and torch.isfinite(total).all(), f'{key} = {total}'
        groups[group].append(total)
    # PS-KD's distill.loss_* replace the student's only classification loss
    assert groups['distill'] and (groups['student'] or method == 'pskd'), sorted(losses)
    if method != 'pskd':
        assert groups['teacher'], sorted(losses)
    sum(sum(v) for v in groups.values()).backward()
    norm, count = _grad_norm(model.student)
    assert count and math.isfinite(norm) and norm > 0
    # the distillation terms alone reach the student
    model.zero_grad()
    losses = model.loss(*_batch(task, model))
    sum(_total(v) for k, v in losses.items() if k.startswith('distill.')).backward()
    norm, count = _grad_norm(model.student)
    assert count and math.isfinite(norm) and norm > 0


def test_pskd_atss_first_epoch_is_the_students_focal_loss():
    # alpha 0 (the first epoch): the mixed target is ATSS's own one-hot assignment, and the
    # replacing loss equals the student's loss_cls (summed over levels)
    cfg = get_config(DET_METHODS['pskd'])
    cfg.model.student = det_student('atss')
    model = build_model(cfg.model, 'mmdet', seed=0, init=True)
    model.teacher.set_progress(0, 4)
    inputs, samples = _batch('det', model)
    losses = model.loss(inputs, samples)
    own = model.student.loss(inputs, samples)['loss_cls']
    torch.testing.assert_close(losses['distill.loss_cls'], sum(own), rtol=1e-5, atol=1e-7)


if __name__ == '__main__':  # the matrix: python tests/test_models/test_student_families.py
    import sys
    import traceback
    torch.set_num_threads(1)
    wanted = sys.argv[1:]
    for case in CASES:
        if wanted and not any(w in '-'.join(case) for w in wanted):
            continue
        try:
            test_student_family(case)
            error = EXPECTED_ERRORS.get(case) if len(case) == 3 else None
            print('-'.join(case), f'clear error: {error}...' if error else 'ok', flush=True)
        except Exception as e:  # noqa: B902
            tb = traceback.extract_tb(e.__traceback__)[-1]
            print(
                '-'.join(case),
                f'{type(e).__name__}: {str(e)[:300]}',
                f'@ {tb.filename}:{tb.lineno}',
                flush=True)
