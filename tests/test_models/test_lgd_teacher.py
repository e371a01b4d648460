# Copyright (c) skd_det contributors.
"""LGDTeacher inside SelfDistillDetector: the training-only parameter count of the authors'
RetinaNet R50 teacher, per-level shapes on odd image sizes, per-image isolation end to end,
gradient routing (the teacher reads the student's FPN undetached; the adapter warm-up; the
frozen backbone with LGDPhaseHook), bad ground truth (empty images, hundreds of boxes,
zero-area, outside and crowd boxes), FCOS, AMP, and build-time errors."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData

from skd_det.engine.hooks import LGDPhaseHook
from skd_det.testing import REPO, build_det, get_config

pytestmark = pytest.mark.usefixtures('one_thread')

CPU_CFG = 'configs/lgd/lgd_retinanet_r18_fpn_cpu_voc0712.py'


def lgd_cfg(path=CPU_CFG, **teacher):
    return get_config(path, **teacher)


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    m = build_det(lgd_cfg().model)
    m.init_weights()
    m.train()
    return m


def make_samples(img_shapes, boxes, labels, ignored=None):
    """DetDataSamples with the given (H, W), boxes, labels and optional crowd boxes."""
    from mmdet.structures import DetDataSample
    samples = []
    for i, (shape, b, l) in enumerate(zip(img_shapes, boxes, labels)):
        s = DetDataSample(
            metainfo=dict(
                img_shape=shape,
                pad_shape=shape,
                ori_shape=shape,
                scale_factor=(1., 1.),
                batch_input_shape=shape))
        s.gt_instances = InstanceData(
            bboxes=torch.as_tensor(b, dtype=torch.float32).view(-1, 4),
            labels=torch.as_tensor(l, dtype=torch.long).view(-1))
        if ignored is not None:
            s.ignored_instances = InstanceData(
                bboxes=torch.as_tensor(ignored[i], dtype=torch.float32).view(-1, 4),
                labels=torch.zeros(len(ignored[i]), dtype=torch.long))
        samples.append(s)
    return samples


def batch_of(img_shapes, boxes, labels, ignored=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = max(s[0] for s in img_shapes)
    w = max(s[1] for s in img_shapes)
    inputs = torch.randn(len(img_shapes), 3, h, w, generator=g)
    samples = make_samples(img_shapes, boxes, labels, ignored)
    for s in samples:
        s.set_metainfo(dict(batch_input_shape=(h, w)))
    return inputs, samples


def flat(losses):
    return {k: sum(v) if isinstance(v, list) else v for k, v in losses.items()}


def metas(n, size=(128, 128)):
    return [dict(img_shape=size, batch_input_shape=size)] * n


# ------------------------------------------------------------------------------- structure


@pytest.mark.parametrize('config,context', [('lgd_retinanet_r50_fpn_1x_coco.py', True),
                                            ('lgd_fcos_r50_fpn_1x_coco.py', False)])
def test_training_only_parameters_of_the_authors_r50_teacher(config, context):
    """The authors' DynamicTeacher + SequentialConvs adapter with 80 classes: label encoder
    4,893,392 + canonical projection 65,792, appearance conv 590,080, attention 263,168,
    knowledge mapper (instance linear 65,792 + conv 590,080 + context linear 65,792 +
    refinement 1,770,240), adapter 1,770,240: 10,074,576. Their FCOS R50 config has no context
    object; the context linear, which they build unused, is not built here."""
    m = build_det(lgd_cfg(osp.join(REPO, 'configs/lgd', config)).model)
    assert m.teacher.label_encoder.context is context
    parts = {
        name: sum(p.numel() for p in child.parameters())
        for name, child in m.teacher.named_children()
    }
    assert parts == dict(
        label_encoder=4959184,
        appearance_encoder=590080,
        relation_adapter=263168,
        knowledge_mapper=2491904 - (0 if context else 65792),
        student_adapter=1770240)
    assert sum(parts.values()) == 10074576 - (0 if context else 65792)


def test_student_is_not_kept_and_teacher_adds_no_student_keys(model):
    keys = model.state_dict().keys()
    assert not [k for k in keys if k.startswith('teacher.student.')]
    assert {k.split('.')[1]
            for k in keys if k.startswith('teacher.')} == {
                'label_encoder', 'appearance_encoder', 'relation_adapter', 'knowledge_mapper',
                'student_adapter'
            }


def test_seed_gives_the_student_the_baselines_weights():
    base_cfg = Config.fromfile(osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py'))

    def init(cfg):
        torch.manual_seed(3)
        m = build_det(cfg)
        m.init_weights()
        return m

    baseline, wrapper = init(base_cfg.model), init(lgd_cfg().model)
    student = wrapper.student.state_dict()
    for k, v in baseline.state_dict().items():
        assert torch.equal(student[k], v), k


# ------------------------------------------------------------------------ through the teacher


def test_teacher_pyramid_of_one_image_ignores_the_others(model):
    """End to end through encoders, adapter and mapper: image A's teacher maps do not change
    when image B's features and objects do."""
    teacher = model.teacher
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(2, 64, s, s, generator=g) for s in (16, 8, 4, 2, 1)]
    gt_a = InstanceData(bboxes=torch.tensor([[10., 20., 60., 90.]]), labels=torch.tensor([4]))
    gt_b = InstanceData(
        bboxes=torch.tensor([[0., 0., 40., 40.], [30., 30., 128., 100.]]),
        labels=torch.tensor([1, 7]))
    gt_b2 = InstanceData(bboxes=torch.tensor([[50., 5., 70., 25.]]), labels=torch.tensor([19]))
    with torch.no_grad():
        out = teacher.teacher_feats(feats, [gt_a, gt_b], metas(2))
        feats2 = [torch.cat([f[:1], 5 * f[1:] + 1]) for f in feats]
        out2 = teacher.teacher_feats(feats2, [gt_a, gt_b2], metas(2))
    for t, t2 in zip(out, out2):
        torch.testing.assert_close(t2[0], t[0], rtol=1e-5, atol=1e-5)
        assert not torch.allclose(t2[1], t[1])


def test_teacher_takes_mmdet_box_types_as_tensors(model):
    """gt boxes as mmdet's HorizontalBoxes (what mmdet's pipelines give) or as plain (K, 4)
    tensors: the same teacher maps (mmdet's get_box_tensor)."""
    from mmdet.structures.bbox import HorizontalBoxes
    boxes = torch.tensor([[10., 20., 60., 90.], [0., 0., 40., 30.]])
    feats = [torch.randn(1, 64, s, s, generator=torch.Generator().manual_seed(0)) for s in (8, 4)]
    plain = InstanceData(bboxes=boxes, labels=torch.tensor([4, 1]))
    typed = InstanceData(bboxes=HorizontalBoxes(boxes), labels=torch.tensor([4, 1]))
    with torch.no_grad():
        out = model.teacher.teacher_feats(feats, [plain], metas(1))
        out_typed = model.teacher.teacher_feats(feats, [typed], metas(1))
    for t, t_typed in zip(out, out_typed):
        assert torch.equal(t, t_typed)


@pytest.mark.parametrize('size', [(97, 131), (75, 50)])
def test_teacher_levels_match_the_student_on_odd_sizes(model, size):
    h, w = size
    inputs, samples = batch_of([(h, w), (h - 10, w - 7)],
                               [[[0., 0., w, h], [w - 3., h - 3., w, h]], [[5., 5., 20., 30.]]],
                               [[1, 2], [3]])
    student = model.student
    feats = student.extract_feat(inputs)
    teacher_feats = model.teacher.teacher_feats(feats, [s.gt_instances for s in samples],
                                                [s.metainfo for s in samples])
    assert [t.shape for t in teacher_feats] == [f.shape for f in feats]
    # odd sizes round up at every stride (ResNet/FPN maps)
    assert [tuple(f.shape[-2:]) for f in feats] == [(-(-h // s), -(-w // s))
                                                    for s in (8, 16, 32, 64, 128)]
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(v).all() for v in flat(losses).values())


def test_masks_follow_the_padded_batch_shape(model, monkeypatch):
    """r = feature size / padded input size: the same box owns other cells in a larger pad."""
    seen = []
    original = model.teacher.cell_masks
    monkeypatch.setattr(model.teacher, 'cell_masks', lambda *a: seen.append(a[2]) or original(*a))
    feats = [torch.zeros(1, 64, 8, 8)]
    gt = [InstanceData(bboxes=torch.tensor([[0., 0., 16., 16.]]), labels=torch.tensor([1]))]
    with torch.no_grad():
        model.teacher.teacher_feats(feats, gt,
                                    [dict(img_shape=(60, 60), batch_input_shape=(64, 64))])
    assert seen == [(64, 64)]
    with pytest.raises(KeyError, match=r"lacks \['batch_input_shape'\]"):
        model.teacher.teacher_feats(feats, gt, [dict(img_shape=(60, 60))])


def _grad_norm(loss, params):
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return sum(float(g.abs().sum()) for g in grads if g is not None)


def test_teacher_reads_the_fpn_undetached_and_the_adapter_warmup(model):
    """dynamic_teacher.py:220-221 (DETACH_APPEARANCE_EMBED: False for RetinaNet and FCOS):
    the teacher's detection loss reaches the FPN and backbone; base_distillator.py:52-53: in
    the warm-up only the adapter learns from the feature loss."""
    inputs, samples = batch_of([(96, 128), (96, 128)],
                               [[[10., 10., 60., 80.]], [[0., 0., 50., 50.]]], [[1], [5]])
    student = list(model.student.backbone.parameters()) + list(model.student.neck.parameters())
    head = list(model.student.bbox_head.parameters())
    adapter = list(model.teacher.student_adapter.parameters())
    for detach_student in (False, True):
        model.teacher.detach_distill_student = detach_student
        losses = model.loss(inputs, samples)
        t_loss = sum(v for k, v in flat(losses).items() if k.startswith('teacher.'))
        d_loss = losses['distill.loss_feat']
        assert _grad_norm(t_loss, student) > 0 and _grad_norm(t_loss, head) > 0
        assert (_grad_norm(d_loss, student) == 0) == detach_student
        assert _grad_norm(d_loss, adapter) > 0
    model.teacher.detach_distill_student = False


def test_frozen_backbone_phase_with_an_optimizer_step():
    """train.py:66-68: in the first phase every backbone (ResNet) gradient is dropped, for all
    losses, so SGD with momentum and weight decay leaves the backbone unchanged; the FPN keeps
    learning, from the teacher's loss too. ``frozen_stages`` stay frozen after the phase."""
    torch.manual_seed(0)
    cfg = lgd_cfg()
    cfg.model.student.backbone.frozen_stages = 1  # stem and first stage never train
    m = build_det(cfg.model)
    m.train()
    runner = SimpleNamespace(
        model=m, iter=0, max_iters=9, message_hub=MessageHub.get_instance('lgd_freeze_test'))
    hook = LGDPhaseHook(adapter_warmup=1 / 9, freeze_backbone=1 / 9)
    backbone = m.student.backbone
    frozen_at_start = {n for n, p in backbone.named_parameters() if not p.requires_grad}
    assert 'conv1.weight' in frozen_at_start and 'layer2.0.conv1.weight' not in frozen_at_start
    hook.before_train(runner)
    hook.before_train_iter(runner, batch_idx=0)
    inputs, samples = batch_of([(96, 128)], [[[10., 10., 60., 80.]]], [[1]])
    optim = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    losses = m.loss(inputs, samples)
    t_loss = sum(v for k, v in flat(losses).items() if k.startswith('teacher.'))
    assert _grad_norm(t_loss, list(m.student.neck.parameters())) > 0
    m.parse_losses(losses)[0].backward()
    assert all(p.grad is None for p in backbone.parameters())
    optim.step()
    after = m.state_dict()
    assert all(
        torch.equal(after[k], v) for k, v in before.items()
        if k.startswith('student.backbone.') and 'running' not in k and 'num_batches' not in k)
    assert not torch.equal(after['student.neck.fpn_convs.0.conv.weight'],
                           before['student.neck.fpn_convs.0.conv.weight'])
    # after the phase the backbone trains again; the frozen stages do not
    runner.iter = 1
    hook.before_train_iter(runner, batch_idx=1)
    optim.zero_grad()
    m.parse_losses(m.loss(inputs, samples))[0].backward()
    assert {n for n, p in backbone.named_parameters() if p.grad is None} == frozen_at_start
    hook.after_train(runner)
    assert {n for n, p in backbone.named_parameters() if not p.requires_grad} == frozen_at_start


# ------------------------------------------------------------------------- bad ground truth


def test_bad_ground_truth_trains_without_nan(model):
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(300, 2, generator=g) * torch.tensor([100., 70.])
    many = torch.cat([xy, xy + 1 + torch.rand(300, 2, generator=g) * 20], 1)  # in the image
    img_shapes = [(96, 128), (96, 128), (80, 100)]
    boxes = [
        many.tolist(),  # 300 boxes, mostly overlapping
        [
            [200., 0., 260., 50.],
            [-50., -50., -1., -1.],  # wholly outside
            [-20., 30., 40., 130.]
        ],  # partly outside
        []
    ]  # no box
    labels = [(torch.arange(300) % 20).tolist(), [1, 2, 3], []]
    ignored = [[], [[0., 0., 60., 60.]], [[10., 10., 90., 70.]]]  # crowd regions
    inputs, samples = batch_of(img_shapes, boxes, labels, ignored)
    built = []
    teacher = model.teacher
    original = teacher.label_encoder.build_objects

    def spy(*args):
        out = original(*args)
        built.append(out)
        return out

    teacher.label_encoder.build_objects = spy
    try:
        losses = model.loss(inputs, samples)
    finally:
        del teacher.label_encoder.build_objects
    # 300 + context | the partly-outside box + context | no box: the dummy; crowd: no object
    _, kept, counts = built[0]
    assert counts == [301, 2, 1]
    # clipped to the image (y2 = 96), then to the padded batch's last pixel row (95)
    torch.testing.assert_close(kept[301], torch.tensor([0., 30., 40., 95.]))
    assert kept[:300].equal(many)
    values = flat(losses)
    assert {'teacher.loss_cls', 'teacher.loss_bbox', 'distill.loss_feat'} <= set(values)
    assert all(torch.isfinite(v).all() for v in values.values()), values
    total, _ = model.parse_losses(losses)
    model.zero_grad()
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.teacher.relation_adapter.attn.in_proj_weight.grad.abs().sum() > 0
    model.zero_grad()


def test_zero_area_boxes_are_no_objects(model):
    """Degenerate boxes do not change the teacher pyramid. (They are the data pipeline's to
    filter, as for the baseline: the student's own box regression of a zero-width target is
    infinite; mmdet's FilterAnnotations drops them.)"""
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(1, 64, s, s, generator=g) for s in (16, 8, 4, 2, 1)]
    good = InstanceData(bboxes=torch.tensor([[10., 20., 60., 90.]]), labels=torch.tensor([4]))
    bad = InstanceData(
        bboxes=torch.tensor([[10., 20., 60., 90.], [30., 30., 30., 80.], [5., 7., 40., 7.],
                             [3., 3., 3., 3.]]),
        labels=torch.tensor([4, 1, 2, 3]))
    with torch.no_grad():
        for a, b in zip(
                model.teacher.teacher_feats(feats, [good], metas(1)),
                model.teacher.teacher_feats(feats, [bad], metas(1))):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize('context', [True, False])
def test_batch_of_empty_images(context):
    torch.manual_seed(0)
    m = build_det(lgd_cfg(label_encoder=dict(context=context)).model)
    m.train()
    inputs, samples = batch_of([(64, 96), (64, 80)], [[], []], [[], []])
    losses = m.loss(inputs, samples)
    values = flat(losses)
    assert all(torch.isfinite(v).all() for v in values.values()), values
    assert float(values['teacher.loss_bbox']) == 0  # no positives
    assert float(values['distill.loss_feat']) > 0
    m.parse_losses(losses)[0].backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


@pytest.mark.parametrize('cell_rule,cells', [('inside', [1, 1, 1, 0, 0]),
                                             ('overlap', [4, 4, 4, 1, 1])])
def test_small_boxes_on_coarse_levels(cell_rule, cells, monkeypatch):
    """A 9-pixel box (30..39) in a 128x128 batch: under the authors' rule it owns one cell of
    the stride 8, 16 and 32 levels and none of the coarser ones (its appearance there is zero,
    it paints nothing); the option gives it every overlapped cell, at least one."""
    torch.manual_seed(0)
    m = build_det(lgd_cfg(cell_rule=cell_rule, label_encoder=dict(context=False)).model)
    m.train()
    seen = []
    original = m.teacher.cell_masks
    monkeypatch.setattr(m.teacher, 'cell_masks', lambda *a: seen.append(original(*a)) or seen[-1])
    inputs, samples = batch_of([(128, 128)], [[[30., 30., 39., 39.]]], [[2]])
    losses = flat(m.loss(inputs, samples))
    assert [int(mask.sum()) for mask in seen] == cells
    assert all(torch.isfinite(v).all() for v in losses.values())


def test_fcos_student():
    cfg = lgd_cfg()
    cfg.model.student.bbox_head = dict(
        type='FCOSHead',
        num_classes=20,
        in_channels=64,
        feat_channels=64,
        stacked_convs=1,
        strides=[8, 16, 32, 64, 128])
    torch.manual_seed(0)
    m = build_det(cfg.model)
    assert m.teacher.strides == [(8., 8.), (16., 16.), (32., 32.), (64., 64.), (128., 128.)]
    m.train()
    inputs, samples = batch_of([(96, 128), (96, 100)], [[[10., 10., 60., 80.]], []], [[1], []])
    losses = m.loss(inputs, samples)
    assert {'teacher.loss_cls', 'teacher.loss_bbox', 'teacher.loss_centerness'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in flat(losses).values())


def test_mixed_precision_step(model):
    """Under autocast the teacher runs in low precision and the feature loss stays float32."""
    inputs, samples = batch_of([(96, 128), (80, 96)], [[[10., 10., 60., 80.]], []], [[3], []])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    assert losses['distill.loss_feat'].dtype == torch.float32
    assert all(torch.isfinite(v).all() for v in flat(losses).values())


@pytest.mark.slow
def test_build_errors():
    with pytest.raises(
            ValueError,
            match=r'label_encoder.num_classes=80 does not match the '
            r"student's RetinaHead num_classes=20"):
        build_det(lgd_cfg(label_encoder=dict(num_classes=80)).model)
    with pytest.raises(
            ValueError, match=r'label_encoder.embed_dims=32 does not match '
            r'teacher.embed_dims=64'):
        build_det(lgd_cfg(label_encoder=dict(embed_dims=32)).model)
    assert build_det(
        lgd_cfg(label_encoder=dict(num_classes=20)).model).teacher.label_encoder.num_classes == 20
    with pytest.raises(ValueError, match='teacher.loss_weight'):
        build_det(lgd_cfg(loss_weight=-1).model)
    with pytest.raises(
            ValueError, match=r"cell_rule must be one of \['inside', 'overlap'\], "
            r"got 'floor'"):
        build_det(lgd_cfg(cell_rule='floor').model)
    cfg = lgd_cfg()
    cfg.model.student.neck.out_channels = 32
    with pytest.raises(ValueError, match=r"head takes 64 channels, its features have \[32\]"):
        build_det(cfg.model)
    cfg = lgd_cfg()
    cfg.model.student.neck.num_outs = 4
    with pytest.raises(
            ValueError,
            match=r"features have sizes \[\(16, 16\), \(8, 8\), "
            r"\(4, 4\), \(2, 2\)\] .* give \[\(16, 16\)"):
        build_det(cfg.model)
    cfg = lgd_cfg()
    cfg.model.distill_losses = dict(loss_kd=dict(type='SigmoidKDLoss'))
    with pytest.raises(ValueError, match=r"produces the distillation pairs \['loss_feat'\]"):
        build_det(cfg.model)
