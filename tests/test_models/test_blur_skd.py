# Copyright (c) skd_det contributors.
"""Blur-robust S-KD parts: DeblurNeck, NormalizedL1Loss, BlurSKDTeacher (sharp teacher view,
blurred student view) and FrozenTeacher (a hidden, frozen external teacher)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS

from skd_det.models.data_preprocessors import SHARP_KEY
from skd_det.testing import REPO, build_det, det_batch, det_student_outputs

SKD_CFG = osp.join(REPO, 'configs/blur_skd/blur_skd_retinanet_r18_fpn_cpu_voc0712.py')
KD_CFG = osp.join(REPO, 'configs/blur_skd/blur_kd_retinanet_r18_fpn_cpu_voc0712.py')

pytestmark = pytest.mark.usefixtures('one_thread')


def skd_cfg(**teacher):
    """The S-KD config with the soft-label pair on (off by default), so that both pairs are
    tested."""
    cfg = Config.fromfile(SKD_CFG)
    cfg.model.teacher.update(teacher)
    cfg.model.distill_losses.loss_kd = dict(type='SigmoidKDLoss', temperature=1.0, loss_weight=0.3)
    return cfg


def batch(model, training=True, seed=0):
    """A preprocessed batch of two 64x80 images with boxes (blurred + sharp views in
    training)."""
    return det_batch(model, training, image_shapes=[(3, 64, 80), (3, 64, 80)], seed=seed)


# ---------------------------------------------------------------- DeblurNeck


def test_deblur_neck_starts_as_identity_and_counts_its_parameters():
    neck = ROOT_MODELS.build(dict(type='DeblurNeck', in_channels=8, num_blocks=2, mid_channels=4))
    neck.init_weights()
    feats = [torch.randn(2, 8, 16, 16), torch.randn(2, 8, 8, 8)]
    out = neck(feats)
    assert isinstance(out, tuple) and len(out) == 2
    for x, y in zip(feats, out):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    # 2 blocks x (8->4 conv3x3 + bias, 4->8 conv3x3 + bias)
    assert sum(p.numel() for p in neck.parameters()) == 2 * ((8 * 4 * 9 + 4) + (4 * 8 * 9 + 8))
    # shared across levels: one set of weights, and a perturbed one changes every level
    with torch.no_grad():
        for p in neck.parameters():
            p.add_(0.1)
    assert all(not torch.allclose(x, y) for x, y in zip(feats, neck(feats)))
    with pytest.raises(ValueError, match=r'in_channels=8\) got a level of shape \(2, 6, 4, 4\)'):
        neck([torch.randn(2, 6, 4, 4)])
    with pytest.raises(ValueError, match='num_blocks'):
        ROOT_MODELS.build(dict(type='DeblurNeck', in_channels=8, num_blocks=0))


def test_neck_list_builds_a_sequential_fpn_then_deblur():
    from mmengine.model import Sequential

    from skd_det.models.necks import DeblurNeck
    student = build_det(skd_cfg().model.student)
    assert isinstance(student.neck, Sequential)
    assert type(student.neck[0]).__name__ == 'FPN' and isinstance(student.neck[1], DeblurNeck)
    feats = student.extract_feat(torch.randn(1, 3, 64, 64))
    assert len(feats) == 5 and all(f.shape[1] == 64 for f in feats)


# ------------------------------------------------------------ NormalizedL1Loss


def test_normalized_l1_loss_hand_computed():
    loss = ROOT_MODELS.build(dict(type='NormalizedL1Loss', loss_weight=2.0, eps=0.0))
    s = torch.tensor([1., 3.]).view(1, 2, 1, 1).requires_grad_()
    t = torch.tensor([-2., 2.]).view(1, 2, 1, 1).requires_grad_()
    # n(s) = (0.25, 0.75), n(t) = (-0.5, 0.5): |0.75| + |0.25| = 1, times 2
    value = loss([s], [t])
    assert value.item() == pytest.approx(2.0)
    value.backward()
    assert s.grad is not None and t.grad is None  # the teacher is detached
    # scale invariance per position; raw L1 without normalisation; two levels sum
    assert loss(s * 5, t * 0.1).item() == pytest.approx(2.0)
    raw = ROOT_MODELS.build(dict(type='NormalizedL1Loss', normalize=False))
    assert raw(s, t).item() == pytest.approx(3 + 1)
    assert raw([s, s], [t, t]).item() == pytest.approx(8)
    with pytest.raises(ValueError, match='level 0 student shape'):
        raw([s], [torch.zeros(1, 3, 1, 1)])


# -------------------------------------------------------------- BlurSKDTeacher


@pytest.fixture(scope='module')
def skd():
    model = build_det(skd_cfg().model)
    model.init_weights()
    return model


def test_views_share_boxes_and_the_student_sees_the_blurred_one(skd):
    skd.train()
    inputs, samples = batch(skd)
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    raw = demo_mm_inputs(
        batch_size=2, image_shapes=[(3, 64, 80), (3, 64, 80)], num_items=[2, 3], num_classes=20)
    plain = skd.data_preprocessor(raw, False)  # no batch augmentation outside training
    sharp = torch.stack([s.get(SHARP_KEY) for s in samples])
    torch.testing.assert_close(sharp, plain['inputs'])
    assert not torch.allclose(inputs, sharp)
    for s, p in zip(samples, plain['data_samples']):
        torch.testing.assert_close(s.gt_instances.bboxes, p.gt_instances.bboxes)


def test_teacher_runs_the_fpn_on_the_sharp_view(skd):
    skd.train()
    inputs, samples = batch(skd)
    teacher = skd.teacher
    assert teacher.num_teacher_stages == 1 and teacher.head is None
    assert not [k for k in skd.state_dict() if k.startswith('teacher.')]  # nothing of its own
    outs = det_student_outputs(skd, inputs, samples)
    losses, pairs = teacher.loss_and_targets(skd.student, inputs, samples, outs)
    assert set(losses) == {'loss_cls', 'loss_bbox'}
    sharp = torch.stack([s.get(SHARP_KEY) for s in samples])
    skd.eval()  # same BN statistics for the comparison below: recompute both in eval mode
    with torch.no_grad():
        _, pairs_eval = teacher.loss_and_targets(skd.student, inputs, samples,
                                                 det_student_outputs(skd, inputs, samples))
        fpn = skd.student.neck[0](skd.student.backbone(sharp))
    for t, f in zip(pairs_eval['loss_feat']['target'], fpn):
        torch.testing.assert_close(t, f)
    feat, kd = pairs['loss_feat'], pairs['loss_kd']
    assert len(feat['pred']) == len(feat['target']) == 5
    assert all(p.requires_grad and not t.requires_grad
               for p, t in zip(feat['pred'], feat['target']))
    assert kd['pred'].shape == kd['target'].shape and kd['pred'].shape[1] == 20
    assert kd['avg_factor'] > 0  # num_pos: the positives of the student head's assignment


def test_distillation_gives_no_gradient_to_the_teacher_pass(skd):
    skd.train()
    inputs, samples = batch(skd)
    blurred = inputs.clone().requires_grad_()
    sharp = torch.stack([s.get(SHARP_KEY) for s in samples]).clone().requires_grad_()
    for i, s in enumerate(samples):
        s.set_field(sharp[i], SHARP_KEY)
    outs = det_student_outputs(skd, blurred, samples)
    losses, pairs = skd.teacher.loss_and_targets(skd.student, blurred, samples, outs)
    distill = sum(skd.distill_losses[k](**pairs[k]) for k in ('loss_feat', 'loss_kd'))
    g_blurred, g_sharp = torch.autograd.grad(distill, [blurred, sharp], allow_unused=True)
    assert g_sharp is None and g_blurred.abs().sum() > 0
    # the sharp view's own detection loss does train through the sharp pass
    (g_sharp, ) = torch.autograd.grad(
        losses['loss_cls'][0] if isinstance(losses['loss_cls'], list) else losses['loss_cls'],
        [sharp])
    assert g_sharp.abs().sum() > 0


def test_loss_weight_zero_runs_the_sharp_pass_without_grad():
    model = build_det(skd_cfg(loss_weight=0.0).model)
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert not [k for k in losses if k.startswith('teacher.')]
    assert {'distill.loss_feat', 'distill.loss_kd', 'loss_cls', 'loss_bbox'} <= set(losses)


def test_sharing_options():
    model = build_det(skd_cfg(shared_head=False, teacher_deblur=True, kd_avg_factor='mean').model)
    assert model.teacher.num_teacher_stages == 2
    assert model.teacher.head is not model.student.bbox_head
    assert {k.split('.')[1] for k in model.state_dict() if k.startswith('teacher.')} == {'head'}
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert {'teacher.loss_cls', 'teacher.loss_bbox'} <= set(losses)
    # without a DeblurNeck the sharp view goes through the whole (FPN) neck
    cfg = skd_cfg()
    cfg.model.student.neck = cfg.model.student.neck[0]
    assert build_det(cfg.model).teacher.num_teacher_stages == 1


def test_bad_configs_raise():
    cfg = skd_cfg()
    neck = cfg.model.student.neck
    cfg.model.student.neck = [neck[1], neck[0]]
    cfg.model.student.neck[0]['in_channels'] = 256
    with pytest.raises(ValueError, match='DeblurNeck stages must come last'):
        build_det(cfg.model)
    with pytest.raises(ValueError, match="kd_avg_factor must be 'mean' or 'num_pos'"):
        build_det(skd_cfg(kd_avg_factor='all').model)
    # an own head trained by nothing: DDP would reject its unused parameters
    with pytest.raises(ValueError, match='shared_head=False .* loss_weight=0'):
        build_det(skd_cfg(shared_head=False, loss_weight=0.0).model)
    cfg = skd_cfg()
    cfg.model.data_preprocessor.batch_augments = None
    model = build_det(cfg.model)
    model.train()
    inputs, samples = batch(model)
    with pytest.raises(KeyError, match="BlurSKDTeacher needs each data sample's sharp view"):
        model.loss(inputs, samples)


# --------------------------------------------------------------- FrozenTeacher


def kd_cfg(**teacher):
    cfg = Config.fromfile(KD_CFG)
    cfg.model.teacher.update(teacher)
    return cfg


def test_frozen_teacher_is_hidden_frozen_and_stays_in_eval_mode():
    model = build_det(kd_cfg().model)
    teacher = model.teacher.model
    assert not [k for k in model.state_dict() if k.startswith('teacher.')]
    ids = {id(p) for p in model.parameters()}
    assert all(id(p) not in ids for p in teacher.parameters())
    assert all(not p.requires_grad for p in teacher.parameters())
    model.train()
    assert model.training and not teacher.training
    assert all(not m.training for m in teacher.modules())
    model.to(torch.float64)  # moves with the wrapper (to(), cuda(), casts go through _apply)
    assert all(p.dtype == torch.float64 for p in teacher.parameters())
    model.to(torch.float32)
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert not [k for k in losses if k.startswith('teacher.')]
    distill = losses['distill.loss_feat'] + losses['distill.loss_kd']
    distill.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.student.parameters())


def test_frozen_teacher_sees_the_chosen_view_and_loads_checkpoints(tmp_path):
    model = build_det(kd_cfg().model)
    teacher = model.teacher.model
    # a plain detector checkpoint and a wrapper one ('student.*' weights) load alike
    torch.manual_seed(3)
    reference = build_det(kd_cfg().model.teacher.config)
    plain = tmp_path / 'plain.pth'
    torch.save({'state_dict': reference.state_dict(), 'meta': {}}, plain)
    wrapped = tmp_path / 'wrapped.pth'
    torch.save(
        {
            'state_dict': {
                **{
                    'student.' + k: v
                    for k, v in reference.state_dict().items()
                }, 'teacher.x': torch.zeros(1)
            }
        }, wrapped)
    for path in (plain, wrapped):
        loaded = build_det(kd_cfg(checkpoint=str(path)).model).teacher.model
        for (k, a), b in zip(loaded.state_dict().items(), reference.state_dict().values()):
            torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)
    model.train()
    inputs, samples = batch(model)
    outs = det_student_outputs(model, inputs, samples)
    _, pairs = model.teacher.loss_and_targets(model.student, inputs, samples, outs)
    sharp = torch.stack([s.get(SHARP_KEY) for s in samples])
    with torch.no_grad():
        expected = teacher.extract_feat(sharp)
    for t, e in zip(pairs['loss_feat']['target'], expected):
        torch.testing.assert_close(t, e)
    model = build_det(kd_cfg(view='inputs').model)
    _, pairs = model.teacher.loss_and_targets(model.student, inputs, samples, outs)
    with torch.no_grad():
        expected = model.teacher.model.extract_feat(inputs)
    torch.testing.assert_close(pairs['loss_feat']['target'][0], expected[0])


def test_frozen_teacher_from_a_config_file():
    model = build_det(
        kd_cfg(
            config=osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py'),
            view='inputs').model)
    teacher = model.teacher.model
    assert type(teacher).__name__ == 'RetinaNet'
    assert type(teacher.neck).__name__ == 'FPN'  # the file's model, not the student's
    assert type(model.student.neck).__name__ == 'Sequential'
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['distill.loss_kd'])


def test_frozen_teacher_rejects_another_normalisation():
    cfg = kd_cfg()
    cfg.model.teacher.config.data_preprocessor.mean = [0.0, 0.0, 0.0]
    with pytest.raises(
            ValueError,
            match=r"normalise as the student's does; student \{'mean': "
            r"\[123\.675.*teacher \{'mean': \[0\.0, 0\.0, 0\.0\]"):
        build_det(cfg.model)
    cfg = kd_cfg()
    cfg.model.teacher.config.data_preprocessor.bgr_to_rgb = False
    with pytest.raises(ValueError, match=r"'bgr_to_rgb': True.*'bgr_to_rgb': False"):
        build_det(cfg.model)


def test_num_pos_avg_factor_is_at_least_one():
    from skd_det.models.teachers.utils import num_pos_avg_factor

    class Head:

        def __init__(self, num_pos):
            self.num_pos = num_pos

        def get_anchors(self, sizes, metas, device):
            return [[torch.zeros(1, 4)]], [[torch.ones(1, dtype=torch.bool)]]

        def get_targets(self, *args):
            return (None, self.num_pos)

    scores = [torch.zeros(1, 2, 4, 4)]
    inputs = ([], [{}], [None])
    assert num_pos_avg_factor('mean', Head(0), scores, inputs) is None
    assert num_pos_avg_factor('num_pos', Head(0), scores, inputs) == 1.0
    assert num_pos_avg_factor('num_pos', Head(7), scores, inputs) == 7.0


def test_frozen_teacher_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match='teacher.checkpoint: no file'):
        build_det(kd_cfg(checkpoint=str(tmp_path / 'missing.pth')).model)
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}}, bad)
    with pytest.raises(ValueError, match='does not match the teacher model'):
        build_det(kd_cfg(checkpoint=str(bad)).model)
    cfg = kd_cfg()
    cfg.model.teacher.config.bbox_head.num_classes = 3
    with pytest.raises(ValueError, match='the teacher predicts 3 classes, the student 20'):
        build_det(cfg.model)
    cfg = kd_cfg()  # the same classes, other feature widths
    cfg.model.teacher.config.neck.out_channels = 32
    cfg.model.teacher.config.bbox_head.in_channels = 32
    cfg.model.teacher.config.bbox_head.feat_channels = 32
    with pytest.raises(ValueError, match='same feature and class-score shapes'):
        build_det(cfg.model)
    with pytest.raises(ValueError, match="teacher.view must be 'sharp' or 'inputs'"):
        build_det(kd_cfg(view='blurred').model)
    with pytest.raises(FileNotFoundError, match='no config file'):
        build_det(kd_cfg(config='nowhere.py').model)
