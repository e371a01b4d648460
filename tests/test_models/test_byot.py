# Copyright (c) skd_det contributors.
"""BYOT (BYOTDetTeacher, BYOTSegTeacher, ActiveMSELoss): every loss term of a
training step against a hand computation, where gradients flow and where they
must not, exit shapes on odd image sizes, and bad exits/alpha."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from skd_det.models.losses import ActiveMSELoss
from skd_det.testing import REPO, build_model, get_config

pytestmark = pytest.mark.usefixtures('one_thread')

DET_CFG = osp.join(REPO, 'configs/byot/byot_retinanet_r18_fpn_cpu_voc0712.py')
SEG_CFG = osp.join(REPO, 'configs/byot/byot_fcn_r18-d8_cpu_cityscapes.py')
ALPHA, T, LAMBDA = 0.1, 3.0, 1e-6
H, W = 97, 131  # odd: every stride rounds up


def build(path, init=True, **teacher):
    cfg = get_config(path, **teacher)
    # no init: the R50 configs would download ImageNet weights
    return build_model(cfg.model, cfg.default_scope, seed=0, init=init).train()


def det_batch():
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    samples = []
    for i in range(2):
        s = DetDataSample(
            metainfo=dict(
                img_shape=(H, W), pad_shape=(H, W), ori_shape=(H, W), scale_factor=(1., 1.)))
        s.gt_instances = InstanceData(
            bboxes=torch.tensor([[10., 12., 60. + i, 80.]]), labels=torch.tensor([3 + i]))
        samples.append(s)
    return torch.randn(2, 3, H, W, generator=torch.Generator().manual_seed(1)), samples


def seg_batch():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(1)
    samples = []
    for _ in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(H, W), pad_shape=(H, W), ori_shape=(H, W)))
        label = torch.randint(0, 19, (1, H, W), generator=g)
        label[:, :20] = 255  # ignored rows
        s.gt_sem_seg = PixelData(data=label)
        samples.append(s)
    return torch.randn(2, 3, H, W, generator=g), samples


@pytest.fixture(scope='module')
def det():
    return build(DET_CFG)


@pytest.fixture(scope='module')
def seg():
    model = build(SEG_CFG)
    for m in model.modules():  # the heads' dropout would differ between two forwards
        if isinstance(m, torch.nn.Dropout2d):
            m.p = 0.
    return model


def _sum(v):
    return sum(v) if isinstance(v, list) else v


def _sigmoid_kd(pred, target):
    """T^2 * binary KL(q_t || q_s) at temperature T, summed over classes, mean over rows."""
    q, p = torch.sigmoid(target / T), torch.sigmoid(pred / T)
    kl = q * torch.log(q / p) + (1 - q) * torch.log((1 - q) / (1 - p))
    return T**2 * kl.sum(1).mean()


def _active_mse(pred, target):
    active = (pred > 0) | (target > 0)
    return ((pred - target)**2 * active).sum()


def test_active_mse_loss_against_hand_computed_values():
    pred = torch.tensor([[1., -1.], [-2., 0.5]]).view(1, 1, 2, 2).requires_grad_()
    target = torch.tensor([[0., -3.], [1., -1.]]).view(1, 1, 2, 2).requires_grad_()
    # (1-0)^2 + [both inactive: 0] + (-2-1)^2 + (0.5+1)^2
    loss = ActiveMSELoss()(pred, target)
    assert loss.item() == pytest.approx(1 + 9 + 2.25)
    assert ActiveMSELoss(reduction='mean', loss_weight=2.)(pred, target).item() == \
        pytest.approx(2 * 12.25 / 4)
    loss.backward()
    assert pred.grad.view(-1).tolist() == [2., 0., -6., 3.]  # none where both are inactive
    assert target.grad is None
    two_levels = ActiveMSELoss()([pred, pred], [target, target])
    assert two_levels.item() == pytest.approx(2 * 12.25)


@pytest.mark.parametrize('kwargs, match', [
    (dict(reduction='none'), "reduction must be one of"),
    (dict(loss_weight=-1.), 'loss_weight must be a number >= 0, got -1.0'),
])
def test_active_mse_loss_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ActiveMSELoss(**kwargs)


def test_det_losses_are_the_byot_equation(det):
    from mmdet.models.utils import unpack_gt_instances
    inputs, samples = det_batch()
    teacher, student = det.teacher, det.student
    assert teacher.exit_stages == (1, 2)  # the stages RetinaNet's FPN reads, but the deepest
    losses = det.loss(inputs, samples)
    # by hand, from the same modules
    gt, gt_ignore, metas = unpack_gt_instances(samples)
    backbone_feats = student.backbone(inputs)
    feats = student.neck(backbone_feats)
    cls_c, box_c = student.bbox_head(feats)
    own = student.bbox_head.loss_by_feat(cls_c, box_c, gt, metas, gt_ignore)
    for key in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(_sum(losses[key]), (1 - ALPHA) * _sum(own[key]))
    flat = lambda scores: torch.cat([s.permute(0, 2, 3, 1).reshape(-1, 20) for s in scores])  # noqa
    kd, feat = 0, 0
    for k in (1, 2):
        exit_feats = teacher.necks[str(k)](backbone_feats[:k + 1])
        cls_k, box_k = teacher.heads[str(k)](exit_feats)
        exit_own = teacher.heads[str(k)].loss_by_feat(cls_k, box_k, gt, metas, gt_ignore)
        for key in ('loss_cls', 'loss_bbox'):
            torch.testing.assert_close(
                _sum(losses[f'teacher.exit{k}.{key}']), (1 - ALPHA) * _sum(exit_own[key]))
        kd = kd + _sigmoid_kd(flat(cls_k), flat(cls_c))
        feat = feat + sum(_active_mse(a, b) for a, b in zip(exit_feats, feats))
    torch.testing.assert_close(losses['distill.loss_kd'], ALPHA * kd)
    torch.testing.assert_close(losses['distill.loss_feat'], LAMBDA * feat)
    assert feat > 0 and kd > 0


def test_det_distillation_trains_the_exits_not_the_deepest_head(det):
    inputs, samples = det_batch()
    for key, exit_part, deepest in (('distill.loss_kd', 'heads', det.student.bbox_head),
                                    ('distill.loss_feat', 'necks', det.student.neck)):
        det.zero_grad()
        det.loss(inputs, samples)[key].backward()
        assert all(p.grad is None or not p.grad.any() for p in deepest.parameters()), key
        for k in ('1', '2'):
            grads = [p.grad for p in getattr(det.teacher, exit_part)[k].parameters()]
            assert any(g is not None and g.any() for g in grads), (key, k)
        # the shallow stages learn from the deepest classifier, the deepest stage does not
        # (a downsample conv: zero_init_residual gives the block convs no gradient at init)
        assert det.student.backbone.layer2[0].downsample[0].weight.grad.any()
        layer4 = det.student.backbone.layer4[0].downsample[0].weight.grad
        assert layer4 is None or not layer4.any()


def test_det_exit_pyramids_have_the_student_shapes_on_odd_sizes(det):
    inputs, _ = det_batch()
    with torch.no_grad():
        backbone_feats = det.student.backbone(inputs)
        feats = det.student.neck(backbone_feats)
        for k in (1, 2):
            exit_feats = det.teacher.necks[str(k)](backbone_feats[:k + 1])
            assert [f.shape for f in exit_feats] == [f.shape for f in feats]
    assert feats[0].shape[-2:] == (13, 17)  # ceil(97 / 8), ceil(131 / 8)


def test_seg_losses_are_the_byot_equation_with_ignored_pixels(seg):
    inputs, samples = seg_batch()
    teacher, student = seg.teacher, seg.student
    assert teacher.exit_stages == (0, 1, 2)
    losses = seg.loss(inputs, samples)
    feats = student.extract_feat(inputs)
    logits_c = student.decode_head(feats)
    own = student.decode_head.loss_by_feat(logits_c, samples)
    torch.testing.assert_close(losses['decode.loss_ce'], (1 - ALPHA) * own['loss_ce'])
    label = torch.stack([s.gt_sem_seg.data for s in samples])[:, 0]
    valid = label != 255
    up = lambda x: F.interpolate(x, size=(H, W), mode='bilinear', align_corners=False)  # noqa
    log_q = F.log_softmax(up(logits_c) / T, 1)
    kd, feat = 0, 0
    for k in (0, 1, 2):
        logits_k = teacher.heads[str(k)](feats)
        torch.testing.assert_close(losses[f'teacher.exit{k}.decode.loss_ce'], (1 - ALPHA) *
                                   teacher.heads[str(k)].loss_by_feat(logits_k, samples)['loss_ce'])
        kl = (log_q.exp() * (log_q - F.log_softmax(up(logits_k) / T, 1))).sum(1)
        kd = kd + T**2 * kl[valid].sum() / valid.sum()  # labelled pixels only
        adapted = teacher.bottlenecks[str(k)](feats[k])
        assert adapted.shape == feats[3].shape  # C4: (2, 512, 13, 17)
        feat = feat + _active_mse(adapted, feats[3])
    torch.testing.assert_close(losses['distill.loss_kd'], ALPHA * kd)
    torch.testing.assert_close(losses['distill.loss_feat'], LAMBDA * feat)
    assert feats[0].shape[-2:] == (25, 33) and feats[3].shape[-2:] == (13, 17)


def test_seg_distillation_trains_the_exits_not_the_deepest_head(seg):
    inputs, samples = seg_batch()
    for key, exit_part in (('distill.loss_kd', 'heads'), ('distill.loss_feat', 'bottlenecks')):
        seg.zero_grad()
        seg.loss(inputs, samples)[key].backward()
        head = seg.student.decode_head
        assert all(p.grad is None or not p.grad.any() for p in head.parameters()), key
        for k in ('0', '1', '2'):
            grads = [p.grad for p in getattr(seg.teacher, exit_part)[k].parameters()]
            assert any(g is not None and g.any() for g in grads), (key, k)
        layer4 = seg.student.backbone.layer4[0].downsample[0].weight.grad
        assert layer4 is None or not layer4.any()


@pytest.mark.parametrize('path, teacher, match', [
    (DET_CFG, dict(exit_stages=[0]), r'exit_stages=\[0\]: stage\(s\) \[0\] do not exist.*'
     r'reads backbone outputs 1..3.*exits can be \[1, 2\]'),
    (DET_CFG, dict(exit_stages=[3]), r'stage\(s\) \[3\] do not exist'),
    (DET_CFG, dict(exit_stages=[1, 1]), r'exit_stages=\[1, 1\] repeats the stage\(s\) \[1\]'),
    (DET_CFG, dict(exit_stages=[]), 'must be a non-empty list'),
    (DET_CFG, dict(alpha=1.5), r'teacher.alpha must be a number in \[0, 1\], got 1.5'),
    (SEG_CFG, dict(alpha=-0.1), r'teacher.alpha must be a number in \[0, 1\], got -0.1'),
    (SEG_CFG, dict(exit_stages=[2, 5]), r'stage\(s\) \[5\] do not exist.*exits can be '
     r'\[0, 1, 2\]'),
    (SEG_CFG, dict(exit_stages=(0, 0)), r'repeats the stage\(s\) \[0\]'),
    (DET_CFG, dict(head=dict(type='FCOSHead')), "type stays the student's"),
])
def test_bad_exits_and_alpha_are_named(path, teacher, match):
    with pytest.raises(ValueError, match=match):
        build(path, **teacher)


def test_alpha_weighs_the_student_and_one_exit_can_be_chosen():
    model = build(DET_CFG, alpha=0.25, exit_stages=[2])
    assert model.teacher.exit_stages == (2, ) and list(model.teacher.heads) == ['2']
    assert model.teacher.student_loss_weight == 0.75
    with pytest.raises(ValueError, match=r'exit 1 does not exist; the exits are \[2\]'):
        model.teacher.exit_model(1)


@pytest.mark.parametrize('path, exits', [
    ('configs/byot/byot_retinanet_r50_fpn_1x_voc0712.py', (1, 2)),
    ('configs/byot/byot_fcn_r50-d8_512x1024_cityscapes.py', (0, 1, 2)),
])
def test_exit_models_of_the_r50_configs_build_with_the_exits_weights(path, exits):
    model = build(osp.join(REPO, path), init=False)
    assert model.teacher.exit_stages == exits
    from mmengine.registry import MODELS
    for k in exits:
        plain = MODELS.build(model.teacher.exit_model(k))  # mmseg's pretrained= included
        assert plain.backbone.num_stages == k + 1
        state = model.state_dict()
        for key, value in plain.state_dict().items():
            prefix = next(p for p in model.teacher.exit_prefixes(k) if key.startswith(p))
            source = model.teacher.exit_prefixes(k)[prefix] + key[len(prefix):]
            assert state[source].shape == value.shape, key


def test_fcos_exits_extra_convs_on_output_and_centerness():
    cfg = Config.fromfile(osp.join(REPO, 'configs/fcos/fcos_r50_fpn_1x_coco.py'))
    init_default_scope('mmdet')
    from mmdet.registry import MODELS

    import skd_det.det  # noqa: F401  (the wrapper; the other tests' configs import it)
    model = MODELS.build(
        dict(
            type='SelfDistillDetector',
            student=cfg.model,
            teacher=dict(type='BYOTDetTeacher'),
            distill_losses=dict(loss_kd=dict(type='SigmoidKDLoss', temperature=T))))
    assert model.teacher.exit_stages == (1, 2)
    assert model.teacher.necks['1'].add_extra_convs == 'on_output'  # the student's FPN setting
    inputs, samples = det_batch()
    losses = model.train().loss(inputs, samples)
    for k in (1, 2):
        assert losses[f'teacher.exit{k}.loss_centerness'] > 0
    assert losses['distill.loss_kd'] > 0
