# Copyright (c) skd_det contributors.
"""FGFI (Wang et al., CVPR 2019): the imitation mask and the masked L2 loss against hand
computations, the teacher part (frozen hidden teacher, trained adapters, RetinaNet and Faster
R-CNN students), bad input, and the CPU config through the tools (teacher checkpoint from a
short baseline run, train, test, export parity)."""
import os.path as osp
from glob import glob

import pytest
import torch
from mmengine.config import Config

from skd_det.models.losses import FGFILoss
from skd_det.models.teachers.fgfi_teacher import imitation_masks
from skd_det.testing import (LOG_EVERY_ITER, NO_VAL, REPO, VOC_VAL_AS_TRAIN, build_det, det_batch,
                             scalars, train)
from skd_det.utils import load_checkpoint

RETINA_CFG = osp.join(REPO, 'configs/fgfi/fgfi_retinanet_r34-r18_fpn_cpu_voc0712.py')
FASTER_CFG = osp.join(REPO, 'configs/fgfi/fgfi_faster-rcnn_r34-r18_fpn_cpu_voc0712.py')

# the tool tests share one training run (one xdist worker)
pytestmark = [pytest.mark.xdist_group('fgfi'), pytest.mark.usefixtures('one_thread')]


def build(model_cfg):
    import skd_det.det  # noqa: F401
    return build_det(model_cfg)


def fgfi_cfg(path=RETINA_CFG, **teacher):
    cfg = Config.fromfile(path)
    # the leaf names the teacher config relative to the repository root
    cfg.model.teacher.config = osp.join(REPO, cfg.model.teacher.config)
    cfg.model.teacher.update(teacher)
    return cfg


def batch(model, seed=0):
    return det_batch(model, image_shapes=[(3, 96, 128), (3, 96, 128)], seed=seed)


# ------------------------------------------------------------------------- mask


def test_imitation_masks_hand_computed():
    box = torch.tensor([[0., 0., 10., 10.]])
    # level 0: 2x2 locations, 2 anchors each (row-major locations, anchors innermost)
    level0 = torch.tensor(
        [
            [0, 0, 10, 10],
            [0, 0, 5, 10],  # (0, 0): IoU 1 and 0.5
            [0, 0, 10, 5],
            [0, 0, 6, 10],  # (0, 1): IoU 0.5 and 0.6
            [20, 20, 30, 30],
            [20, 20, 30, 30],  # (1, 0): 0
            [5, 0, 15, 10],
            [30, 30, 40, 40],  # (1, 1): 1/3 and 0
        ],
        dtype=torch.float)
    # level 1: one location, two anchors: IoU 0.45 with the box, 0.25 with the second box
    level1 = torch.tensor([[0, 0, 10, 4.5], [40, 40, 60, 60]], dtype=torch.float)
    sizes = [(2, 2), (1, 1)]
    # psi = 0.5, max IoU 1: strictly above 0.5 -> (0, 0) and (0, 1) only (0.5 itself is out);
    # the level-1 anchor's 0.45 is below half of the box's best IoU over *all* levels
    m0, m1 = imitation_masks([level0, level1], sizes, box, 0.5)
    assert m0.tolist() == [[True, True], [False, False]]
    assert m1.tolist() == [[False]]
    # psi = 0.3: 1/3 passes at (1, 1), 0.45 on level 1 too
    m0, m1 = imitation_masks([level0, level1], sizes, box, 0.3)
    assert m0.tolist() == [[True, True], [False, True]]
    assert m1.tolist() == [[True]]
    # a second box whose best anchor (IoU 0.25) is on level 1: its own maximum sets its
    # threshold, and the masks are the union over boxes
    boxes = torch.cat([box, torch.tensor([[40., 40., 50., 50.]])])
    m0, m1 = imitation_masks([level0, level1], sizes, boxes, 0.5)
    assert m0.tolist() == [[True, True], [False, False]]
    assert m1.tolist() == [[True]]
    # no ground truth: nothing imitated
    m0, m1 = imitation_masks([level0, level1], sizes, torch.zeros(0, 4), 0.5)
    assert not m0.any() and not m1.any() and m0.shape == (2, 2) and m1.shape == (1, 1)


# ------------------------------------------------------------------------- loss


def test_fgfi_loss_hand_computed():
    pred = [torch.zeros(1, 2, 1, 2, requires_grad=True), torch.zeros(1, 2, 1, 1)]
    target = [torch.tensor([[[[1., 5.]], [[3., 7.]]]]), torch.tensor([[[[2.]], [[2.]]]])]
    # location counts (as the authors' masks before thresholding) count once
    mask = [torch.tensor([[[3, 0]]]), torch.tensor([[[1]]])]
    # channels summed at the 2 imitated locations: (1 + 9) + (4 + 4) = 18; / (2 * 2)
    loss = FGFILoss(loss_weight=1.0)(pred, target, mask)
    assert loss.item() == pytest.approx(4.5)
    assert FGFILoss()(pred, target, mask).item() == pytest.approx(0.045)  # default 0.01
    loss.backward()
    # d/dpred = 2 (pred - target) / 4 at imitated locations, 0 elsewhere
    torch.testing.assert_close(pred[0].grad, torch.tensor([[[[-0.5, 0.]], [[-1.5, 0.]]]]))
    # nothing imitated: zero, still differentiable
    empty = FGFILoss()(pred, target, [torch.zeros(1, 1, 2), torch.zeros(1, 1, 1)])
    assert empty.item() == 0 and empty.requires_grad
    with pytest.raises(ValueError, match=r'FGFILoss: level 0 mask shape \(1, 2\) must be'):
        FGFILoss()(pred, target, [torch.zeros(1, 2), torch.zeros(1, 1, 1)])
    with pytest.raises(ValueError, match='loss_weight must be a number >= 0'):
        FGFILoss(loss_weight=-1)


# ------------------------------------------------------------------ teacher part


@pytest.mark.parametrize('path', [RETINA_CFG, FASTER_CFG], ids=['retinanet', 'faster-rcnn'])
def test_fgfi_teacher_pairs_and_gradients(path):
    model = build(fgfi_cfg(path).model)
    model.init_weights()
    teacher = model.teacher.model
    assert type(teacher) is type(model.student)
    assert teacher.backbone.depth == 34 and model.student.backbone.depth == 18
    keys = list(model.state_dict())
    assert not [k for k in keys if k.startswith('teacher.') and 'adapters' not in k]
    assert 'teacher.adapters.0.0.weight' in keys
    model.train()
    assert not teacher.training
    inputs, samples = batch(model)
    feats = model.student.extract_feat(inputs)
    outs = type('Outs', (), {'feats': feats})
    _, pairs = model.teacher.loss_and_targets(model.student, inputs, samples, outs)
    pair = pairs['loss_feat']
    with torch.no_grad():
        expected = teacher.extract_feat(inputs)
    for t, e in zip(pair['target'], expected):
        torch.testing.assert_close(t, e, rtol=0, atol=0)
    # the mask of each image from the student's anchors (RPN's for Faster R-CNN)
    head = model.student.rpn_head if hasattr(model.student, 'rpn_head') else \
        model.student.bbox_head
    sizes = [tuple(f.shape[-2:]) for f in feats]
    anchors = head.prior_generator.grid_priors(sizes, device=inputs.device)
    for i, sample in enumerate(samples):
        for lvl, m in enumerate(imitation_masks(anchors, sizes, sample.gt_instances.bboxes, 0.5)):
            assert torch.equal(pair['mask'][lvl][i], m)
    assert sum(m.sum() for m in pair['mask']) > 0
    # one training step: gradients into the adapters and the student, none into the teacher
    losses = model.loss(inputs, samples)
    assert set(k for k in losses if k.startswith(('teacher.', 'distill.'))) == {'distill.loss_feat'}
    losses['distill.loss_feat'].backward()
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    for adapter in model.teacher.adapters:
        assert adapter[0].weight.grad is not None
    assert model.student.backbone.conv1.weight.grad.abs().sum() > 0


def test_fgfi_adapter_maps_widths_and_is_linear_on_request():
    cfg = fgfi_cfg(adapter_relu=False)
    cfg.model.teacher.config = Config.fromfile(cfg.model.teacher.config).model
    cfg.model.teacher.config.neck.out_channels = 32
    cfg.model.teacher.config.bbox_head.update(in_channels=32, feat_channels=32)
    model = build(cfg.model)
    for adapter in model.teacher.adapters:
        assert len(adapter) == 1
        assert (adapter[0].in_channels, adapter[0].out_channels) == (64, 32)


@pytest.mark.slow
def test_fgfi_bad_input(tmp_path):
    for psi in (0, 1.5, -0.1, 'half', True):
        with pytest.raises(ValueError, match=r'teacher.psi must be a number in \(0, 1\], got'):
            build(fgfi_cfg(psi=psi).model)
    build(fgfi_cfg(psi=1).model)
    # a teacher of another class count
    cfg = fgfi_cfg()
    cfg.model.teacher.config = Config.fromfile(cfg.model.teacher.config).model
    cfg.model.teacher.config.bbox_head.num_classes = 80
    with pytest.raises(
            ValueError, match='teacher.config: the teacher detects 80 classes and '
            'the student 20'):
        build(cfg.model)
    # checkpoints of another architecture (R18) or class count (80) than the teacher config
    for change in (dict(backbone=dict(depth=18)), dict(bbox_head=dict(num_classes=80))):
        other = Config.fromfile(
            osp.join(REPO, 'configs/retinanet/retinanet_r34_fpn_cpu_voc0712.py'))
        other.merge_from_dict(dict(model=change))
        path = tmp_path / 'other.pth'
        torch.save({'state_dict': build(other.model).state_dict()}, path)
        with pytest.raises(
                ValueError, match=r'teacher.checkpoint .*other.pth does not match '
                'the teacher model'):
            build(fgfi_cfg(checkpoint=str(path)).model)
    # a teacher with other feature levels (Faster R-CNN: P2-P6 for RetinaNet's P3-P7)
    with pytest.raises(
            ValueError,
            match=r'FGFITeacher: student and teacher must give features '
            r'at the levels of the student\'s anchors \(5\)'):
        build(
            fgfi_cfg(
                config=osp.join(REPO,
                                'configs/faster_rcnn/faster-rcnn_r34_fpn_cpu_voc0712.py')).model)
    # an anchor-free student
    cfg = Config.fromfile(osp.join(REPO, 'configs/fcos/fcos_r50_fpn_1x_coco.py'))
    cfg.model.backbone.init_cfg = None
    wrapper = dict(
        type='SelfDistillDetector',
        student=cfg.model,
        teacher=dict(type='FGFITeacher', config=cfg.model))
    with pytest.raises(ValueError, match='FCOS has no anchor generator'):
        build(wrapper)


# ------------------------------------------------------------------ warm-up hook


def test_distill_start_hook():
    from types import SimpleNamespace

    from skd_det.engine.hooks import DistillStartHook
    hook = DistillStartHook(begin_iter=3)
    assert [hook.scale_at(i) for i in range(5)] == [0, 0, 0, 1, 1]
    assert DistillStartHook(begin_iter=0).scale_at(0) == 1
    model = build(fgfi_cfg().model)
    logged = {}
    hub = SimpleNamespace(update_scalar=lambda k, v: logged.update({k: v}))
    for it, scale in ((2, 0.0), (3, 1.0)):  # from runner.iter, as after --resume
        hook.before_train_iter(
            SimpleNamespace(model=model, iter=it, max_iters=10, message_hub=hub), 0)
        assert model.distill_weight_scale == scale == logged['train/distill_weight_scale']
    for bad in (-1, 2.5, True, None):
        with pytest.raises(ValueError, match='DistillStartHook needs begin_iter >= 0'):
            DistillStartHook(begin_iter=bad)


# ------------------------------------------------------------- through the tools

ENV = dict(OMP_NUM_THREADS='1')
# one epoch on the val images of VOC2007 + VOC2012, batch 2
OPTS = [
    'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0'
] + VOC_VAL_AS_TRAIN + NO_VAL + LOG_EVERY_ITER


def _tool(run_tool, args):
    result = run_tool(args, env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope='module')
def run(synthetic_voc, short_tmp_dir):
    """The CPU FGFI config trained for an epoch with a teacher from a one-epoch R34 run (in
    conftest's short folder: the teacher's path goes into the config)."""
    root = short_tmp_dir / 'fgfi'
    train('configs/retinanet/retinanet_r34_fpn_cpu_voc0712.py', synthetic_voc, root / 'teacher',
          OPTS)
    teacher = str(root / 'teacher' / 'epoch_1.pth')
    # imitation from the second of the two iterations (DistillStartHook)
    train(
        osp.relpath(RETINA_CFG, REPO), synthetic_voc, root / 'fgfi', OPTS + [
            'model.student.test_cfg.score_thr=0.0', f'model.teacher.checkpoint={teacher}',
            'custom_hooks.0.begin_iter=1'
        ])
    return root / 'fgfi', teacher


@pytest.mark.slow
def test_train_logs_imitation_and_keeps_the_teacher_out_of_checkpoints(run):
    work_dir, teacher = run
    records = [r for _, r in sorted(scalars(work_dir).items())]
    assert len(records) == 2
    assert [r['distill_weight_scale'] for r in records] == [0.0, 1.0]
    assert records[0]['distill.loss_feat'] == 0 and records[1]['distill.loss_feat'] > 0
    assert all(r['loss_cls'] > 0 for r in records)
    state = load_checkpoint(str(work_dir / 'epoch_1.pth'))['state_dict']
    assert {k.split('.')[0] for k in state} == {'student', 'teacher'}
    assert all(k.startswith('teacher.adapters.') for k in state if k.startswith('teacher.'))


@pytest.mark.slow
def test_test_tool_and_export_parity(run, synthetic_voc, tmp_path, run_tool, export_parity):
    work_dir, _ = run
    (config, ) = glob(osp.join(str(work_dir), 'fgfi_*.py'))
    ckpt = str(work_dir / 'epoch_1.pth')
    result = _tool(run_tool, [
        'tools/test.py', config, ckpt, '--data-root', synthetic_voc, '--work-dir',
        str(tmp_path / 'test'), '--device', 'cpu', '--cfg-options', 'test_dataloader.num_workers=0'
    ])
    assert 'pascal_voc/mAP' in result.stdout.split('Final metrics:')[-1]
    exported_cfg, exported_ckpt = export_parity.export(config, ckpt, tmp_path)
    assert Config.fromfile(exported_cfg).model.type == 'RetinaNet'
    export_parity.student_weights(exported_ckpt, ckpt)
    images = sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]
    (plain, ) = export_parity.plain_predictions([('det', exported_cfg, exported_ckpt, images)],
                                                tmp_path)
    _, ours = export_parity.model_predictions(config, ckpt, images)
    export_parity.assert_same(ours, plain, images)


# ------------------------------------------------------------- cost accounting


def test_cost_accounting_counts_the_hidden_teacher(load_tool):
    from skd_det.analysis.timing import state_bytes
    model = build(fgfi_cfg().model)
    teacher = model.teacher.model
    student_n = sum(p.numel() for p in model.student.parameters())
    teacher_n = sum(p.numel() for p in teacher.parameters())
    # five 64 -> 64 3x3 adapters with bias
    assert load_tool('tools/analysis/benchmark_kd_cost.py').param_breakdown(model) == dict(
        student=student_n, training_only=5 * (64 * 64 * 9 + 64), frozen=teacher_n)
    teacher_bytes = sum(t.numel() * t.element_size()
                        for t in list(teacher.parameters()) + list(teacher.buffers()))
    plain = build(
        Config.fromfile(osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py')).model)
    assert state_bytes(model) >= state_bytes(plain) + teacher_bytes


def test_extra_cost_with_and_without_the_teachers_pretraining(load_tool):
    tool = load_tool('tools/analysis/benchmark_kd_cost.py')
    times = {'baseline': 1.0, 'LGD': 1.5, 'FGFI (R101 teacher)': 1.25, tool.TEACHER[0]: 1.5}
    out = tool.extra_cost(times)
    assert out['extra'] == {'LGD': 0.5, 'FGFI (R101 teacher)': 0.25}
    fgfi = out['FGFI (R101 teacher)']
    assert fgfi['extra_with_pretraining'] == 1.75
    assert fgfi['lgd_vs_extra'] == 2.0
    assert fgfi['lgd_vs_extra_with_pretraining'] == pytest.approx(0.5 / 1.75)
