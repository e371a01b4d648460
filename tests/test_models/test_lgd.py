# Copyright (c) skd_det contributors.
"""LGD: label descriptors, per-image isolation of the relation adapter, masked pooling, the
knowledge mapper's scatter, per-level shapes on odd image sizes, gradient routing of the phases,
bad ground truth (empty images, hundreds of boxes, zero-area, outside and crowd boxes), the
feature loss, FCOS, and build-time errors."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import InstanceData

from skd_det.models.layers.lgd import (LGDAppearanceEncoder, LGDKnowledgeMapper,
                                       LGDLabelEncoder, LGDRelationAdapter,
                                       block_diagonal_mask, box_cell_masks)
from skd_det.models.losses import InstanceNormMSELoss
from test_distillers import build_det

pytestmark = pytest.mark.usefixtures('one_thread')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CPU_CFG = osp.join(REPO, 'configs/lgd/lgd_retinanet_r18_fpn_cpu_voc0712.py')


def lgd_cfg(**teacher):
    cfg = Config.fromfile(CPU_CFG)
    cfg.model.teacher.update(teacher)
    return cfg


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
        s = DetDataSample(metainfo=dict(img_shape=shape, pad_shape=shape, ori_shape=shape,
                                        scale_factor=(1., 1.), batch_input_shape=shape))
        s.gt_instances = InstanceData(bboxes=torch.as_tensor(b, dtype=torch.float32).view(-1, 4),
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


# ---------------------------------------------------------------------------- label encoder


def test_descriptors_for_known_boxes():
    enc = LGDLabelEncoder(num_classes=3, embed_dims=16, context=True)
    boxes = [
        torch.tensor([[20., 10., 120., 60.],    # inside: kept
                      [-10., 50., 250., 120.],  # crosses the border: clipped to the image
                      [30., 30., 30., 40.],     # zero width: dropped
                      [210., 0., 260., 50.]]),  # right of the image: no area left, dropped
        torch.zeros(0, 4)]                      # empty image
    labels = [torch.tensor([2, 0, 1, 1]), torch.zeros(0, dtype=torch.long)]
    desc, kept, counts = enc.build_objects(boxes, labels, [(100, 200), (50, 50)])
    context = [-1., -1., 1., 1., -1., -1., -1.]
    expected = torch.tensor([
        [2 * .1 - 1, 2 * .1 - 1, 2 * .6 - 1, 2 * .6 - 1, -1., -1., 1.],
        [-1., 0., 1., 1., 1., -1., -1.],
        context,   # image 0's context object
        context])  # image 1: only the context object
    torch.testing.assert_close(desc, expected)
    assert counts == [3, 1]
    torch.testing.assert_close(kept, torch.tensor([[20., 10., 120., 60.], [0., 50., 200., 100.],
                                                   [0., 0., 200., 100.], [0., 0., 50., 50.]]))

    # without context: only the empty image gets the (whole-image) dummy object
    enc.context = False
    desc, kept, counts = enc.build_objects(boxes, labels, [(100, 200), (50, 50)])
    assert counts == [2, 1]
    torch.testing.assert_close(desc, expected[[0, 1, 3]])
    emb = enc(desc, counts)
    assert emb.shape == (3, 16) and torch.isfinite(emb).all()
    # LayerNorm without affine: zero mean, unit variance (up to its epsilon) per object
    torch.testing.assert_close(emb.mean(1), torch.zeros(3), atol=1e-5, rtol=0)
    var = emb.var(1, unbiased=False)
    assert ((var > 0.95) & (var <= 1.0)).all(), var

    with pytest.raises(ValueError, match=r'labels must lie in \[0, 3\).*\[3\]'):
        enc.build_objects([torch.tensor([[0., 0., 5., 5.]])], [torch.tensor([3])], [(10, 10)])


def test_relation_adapter_never_attends_across_images():
    torch.manual_seed(0)
    enc = LGDLabelEncoder(num_classes=4, embed_dims=16, context=False)
    adapter = LGDRelationAdapter(embed_dims=16, num_heads=4)
    mask = block_diagonal_mask([2, 3])
    expected = torch.ones(5, 5, dtype=torch.bool)
    expected[:2, :2] = False
    expected[2:, 2:] = False
    assert torch.equal(mask, expected)

    def run(boxes_b, labels_b, appearance_b, with_mask=True):
        desc, _, counts = enc.build_objects(
            [torch.tensor([[0., 0., 8., 8.], [4., 2., 30., 20.]]), boxes_b],
            [torch.tensor([1, 3]), labels_b], [(32, 32), (32, 32)])
        assert counts == [2, len(boxes_b)]
        labels = enc(desc, counts)
        appearance = torch.cat([torch.linspace(-1, 1, 2 * 2 * 16).view(2, 2, 16), appearance_b],
                               dim=1)
        if not with_mask:  # a mutant without the mask must fail this test's assertion
            counts = [sum(counts)]
        return adapter(appearance, labels, counts)

    g = torch.Generator().manual_seed(1)
    out = run(torch.tensor([[1., 1., 9., 9.], [0., 0., 32., 32.]]), torch.tensor([0, 2]),
              torch.randn(2, 2, 16, generator=g))
    # image B: other boxes, other classes, other appearance and one object more
    out2 = run(torch.tensor([[5., 6., 20., 30.], [2., 2., 3., 3.], [0., 10., 12., 31.]]),
               torch.tensor([3, 3, 1]), 10 * torch.randn(2, 3, 16, generator=g))
    torch.testing.assert_close(out2[:, :2], out[:, :2], rtol=1e-6, atol=1e-6)
    assert not torch.allclose(out2[:, 2:4], out[:, 2:4])
    leak = run(torch.tensor([[5., 6., 20., 30.]]), torch.tensor([3]),
               10 * torch.randn(2, 1, 16, generator=g), with_mask=False)
    assert not torch.allclose(leak[:, :2], out[:, :2], rtol=1e-3, atol=1e-3)


def test_teacher_pyramid_of_one_image_ignores_the_others(model):
    """End to end through encoders, adapter and mapper: image A's teacher maps do not change
    when image B's features and objects do."""
    teacher = model.teacher
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(2, 64, s, s, generator=g) for s in (16, 8, 4, 2, 1)]
    metas = [dict(img_shape=(128, 128))] * 2
    gt_a = InstanceData(bboxes=torch.tensor([[10., 20., 60., 90.]]), labels=torch.tensor([4]))
    gt_b = InstanceData(bboxes=torch.tensor([[0., 0., 40., 40.], [30., 30., 128., 100.]]),
                        labels=torch.tensor([1, 7]))
    gt_b2 = InstanceData(bboxes=torch.tensor([[50., 5., 70., 25.]]), labels=torch.tensor([19]))
    with torch.no_grad():
        out = teacher.teacher_feats(feats, [gt_a, gt_b], metas)
        feats2 = [torch.cat([f[:1], 5 * f[1:] + 1]) for f in feats]
        out2 = teacher.teacher_feats(feats2, [gt_a, gt_b2], metas)
    for t, t2 in zip(out, out2):
        torch.testing.assert_close(t2[0], t[0], rtol=1e-5, atol=1e-5)
        assert not torch.allclose(t2[1], t[1])


# ------------------------------------------------------------------- pooling and the scatter


def test_box_cells_and_masked_pooling_by_hand():
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 5, 4, 6, generator=g)  # stride 8: a 32x48 input
    boxes = torch.tensor([[3., 9., 20., 17.],     # image 0: columns 0..2, rows 1..2
                          [0., 0., 48., 32.],     # image 0: the whole map
                          [40., 25., 41., 26.]])  # image 1: inside cell (row 3, col 5)
    masks = box_cell_masks(boxes, (4, 6), (8., 8.))
    assert masks.shape == (3, 24)
    assert masks.sum(1).tolist() == [6., 24., 1.]
    pooled = LGDAppearanceEncoder.masked_average(feat, masks, [2, 1])
    torch.testing.assert_close(pooled[0], feat[0, :, 1:3, 0:3].mean((1, 2)))
    torch.testing.assert_close(pooled[1], feat[0].mean((1, 2)))
    torch.testing.assert_close(pooled[2], feat[1, :, 3, 5])
    # non-square strides: x by 16, y by 8
    masks = box_cell_masks(torch.tensor([[17., 0., 33., 7.]]), (4, 3), (16., 8.))
    assert masks.view(4, 3).nonzero().tolist() == [[0, 1], [0, 2]]

    enc = LGDAppearanceEncoder(in_channels=5, embed_dims=7)
    out = enc([feat, feat[:, :, ::2, ::2]],
              [box_cell_masks(boxes, (4, 6), (8., 8.)), box_cell_masks(boxes, (2, 3), (16., 16.))],
              [2, 1])
    assert out.shape == (2, 3, 7)
    act = F.relu(enc.norm(enc.conv(feat)))
    torch.testing.assert_close(out[0, 0], act[0, :, 1:3, 0:3].mean((1, 2)))


def test_masked_pooling_stays_finite_in_half_precision():
    # a 128x128 level whose values are near the float16 maximum: the sum over the cells
    # would overflow, their mean must not
    feat = torch.full((1, 2, 128, 128), 60000.0).half()
    feat[0, 1] = -30000.0
    masks = torch.ones(1, 128 * 128, dtype=torch.half)
    pooled = LGDAppearanceEncoder.masked_average(feat, masks, [1])
    assert pooled.dtype == torch.half
    torch.testing.assert_close(pooled.float(), torch.tensor([[60000.0, -30000.0]]),
                               rtol=1e-3, atol=0)


def test_knowledge_mapper_scatter_sums_overlaps():
    obj = torch.tensor([[1., 10.], [2., 20.], [4., 40.]])  # (M=3, C=2)
    boxes = torch.tensor([[0., 0., 16., 16.], [8., 8., 24., 24.], [0., 0., 8., 8.]])
    masks = box_cell_masks(boxes, (3, 4), (8., 8.))
    maps = LGDKnowledgeMapper.scatter(obj, masks, [2, 1], (3, 4))
    expected = torch.zeros(2, 2, 3, 4)
    expected[0, :, 0:2, 0:2] += obj[0, :, None, None]
    expected[0, :, 1:3, 1:3] += obj[1, :, None, None]
    expected[1, :, 0:1, 0:1] += obj[2, :, None, None]
    torch.testing.assert_close(maps, expected)
    assert maps[0, 0, 1, 1] == 3.  # the overlap cell: 1 + 2

    mapper = LGDKnowledgeMapper(embed_dims=2, out_channels=6)
    out = mapper(obj.expand(2, -1, -1), [masks, box_cell_masks(boxes, (2, 2), (16., 16.))],
                 [2, 1], [(3, 4), (2, 2)])
    assert [tuple(o.shape) for o in out] == [(2, 6, 3, 4), (2, 6, 2, 2)]


# ---------------------------------------------------------------------- through the teacher


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
    assert [tuple(f.shape[-2:]) for f in feats] == [
        (-(-h // s), -(-w // s)) for s in (8, 16, 32, 64, 128)]
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(v).all() for v in flat(losses).values())


def _grad_norm(loss, params):
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return sum(float(g.abs().sum()) for g in grads if g is not None)


def test_phases_route_the_gradients(model):
    inputs, samples = batch_of([(96, 128), (96, 128)],
                               [[[10., 10., 60., 80.]], [[0., 0., 50., 50.]]], [[1], [5]])
    backbone = list(model.student.backbone.parameters()) + list(model.student.neck.parameters())
    head = list(model.student.bbox_head.parameters())
    adapter = list(model.teacher.student_adapter.parameters())
    teacher = model.teacher
    seen = {}
    for detach_input in (False, True):
        for detach_student in (False, True):
            teacher.detach_teacher_input = detach_input
            teacher.detach_distill_student = detach_student
            losses = model.loss(inputs, samples)
            t_loss = sum(v for k, v in flat(losses).items() if k.startswith('teacher.'))
            d_loss = losses['distill.loss_feat']
            seen[detach_input, detach_student] = (
                _grad_norm(t_loss, backbone), _grad_norm(t_loss, head),
                _grad_norm(d_loss, backbone), _grad_norm(d_loss, adapter))
    teacher.detach_teacher_input = teacher.detach_distill_student = False
    for (detach_input, detach_student), (t_bb, t_head, d_bb, d_adapter) in seen.items():
        assert (t_bb == 0) == detach_input  # teacher branch -> backbone and neck
        assert t_head > 0  # the shared head always learns from the teacher's loss
        assert (d_bb == 0) == detach_student  # feature loss -> student
        assert d_adapter > 0  # the adapter always learns


def test_bad_ground_truth_trains_without_nan(model):
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(300, 2, generator=g) * torch.tensor([100., 70.])
    many = torch.cat([xy, xy + 1 + torch.rand(300, 2, generator=g) * 20], 1)  # in the image
    img_shapes = [(96, 128), (96, 128), (80, 100)]
    boxes = [
        many.tolist(),                                    # 300 boxes, mostly overlapping
        [[200., 0., 260., 50.], [-50., -50., -1., -1.],   # wholly outside
         [-20., 30., 40., 130.]],                         # partly outside
        []]                                               # no box
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
    # 300 + context | the partly-outside box + context | no box: context only; crowd: no object
    _, kept, counts = built[0]
    assert counts == [301, 2, 1]
    torch.testing.assert_close(kept[301], torch.tensor([0., 30., 40., 96.]))
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
    metas = [dict(img_shape=(128, 128))]
    good = InstanceData(bboxes=torch.tensor([[10., 20., 60., 90.]]), labels=torch.tensor([4]))
    bad = InstanceData(bboxes=torch.tensor([[10., 20., 60., 90.], [30., 30., 30., 80.],
                                            [5., 7., 40., 7.], [3., 3., 3., 3.]]),
                       labels=torch.tensor([4, 1, 2, 3]))
    with torch.no_grad():
        for a, b in zip(model.teacher.teacher_feats(feats, [good], metas),
                        model.teacher.teacher_feats(feats, [bad], metas)):
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


def test_fcos_student():
    cfg = lgd_cfg()
    cfg.model.student.bbox_head = dict(
        type='FCOSHead', num_classes=20, in_channels=64, feat_channels=64, stacked_convs=1,
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


def test_build_errors():
    with pytest.raises(ValueError, match=r'label_encoder.num_classes=80 does not match the '
                                         r"student's RetinaHead num_classes=20"):
        build_det(lgd_cfg(label_encoder=dict(num_classes=80)).model)
    with pytest.raises(ValueError, match=r'label_encoder.embed_dims=32 does not match '
                                         r'teacher.embed_dims=64'):
        build_det(lgd_cfg(label_encoder=dict(embed_dims=32)).model)
    assert build_det(lgd_cfg(label_encoder=dict(num_classes=20)).model
                     ).teacher.label_encoder.num_classes == 20
    with pytest.raises(ValueError, match='teacher.loss_weight'):
        build_det(lgd_cfg(loss_weight=-1).model)
    cfg = lgd_cfg()
    cfg.model.distill_losses = dict(loss_kd=dict(type='SigmoidKDLoss'))
    with pytest.raises(ValueError, match=r"produces the distillation pairs \['loss_feat'\]"):
        build_det(cfg.model)


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


def test_student_is_not_kept_and_teacher_adds_no_student_keys(model):
    keys = model.state_dict().keys()
    assert not [k for k in keys if k.startswith('teacher.student.')]
    assert {k.split('.')[1] for k in keys if k.startswith('teacher.')} == {
        'label_encoder', 'appearance_encoder', 'relation_adapter', 'knowledge_mapper',
        'student_adapter'}


# ------------------------------------------------------------------------------------ loss


def test_instance_norm_mse_by_hand():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 4, 5, generator=g, requires_grad=True)
    t = torch.randn(2, 3, 4, 5, generator=g, requires_grad=True)
    s1 = torch.randn(2, 3, 1, 1, generator=g)  # a 1x1 level normalises to zero
    loss = InstanceNormMSELoss(loss_weight=2.0)([s, s1], [t, 3 * s1])

    def norm(x):
        x = x.double()
        return (x - x.mean((2, 3), keepdim=True)) / (x.var((2, 3), unbiased=False,
                                                            keepdim=True) + 1e-5).sqrt()

    expected = 2.0 * (norm(s) - norm(t)).pow(2).mean()
    torch.testing.assert_close(loss.double(), expected)
    loss.backward()
    assert s.grad is not None and t.grad is None  # the teacher side is a target
    # invariant to a per-channel affine change of either side
    torch.testing.assert_close(InstanceNormMSELoss()(s * 3 + 1, t), loss / 2, rtol=1e-4, atol=0)
    # float32 under autocast
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = InstanceNormMSELoss()(s.detach().bfloat16(), t.detach().bfloat16())
    assert low.dtype == torch.float32
    with pytest.raises(ValueError, match='level 0'):
        InstanceNormMSELoss()([s], [t[:, :2]])
