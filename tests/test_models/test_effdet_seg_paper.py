# Copyright (c) skd_det contributors.
"""FRSKD's own segmentation model (authors' segmentation/utils/efficientdet.py, BiFPN.py):
BlockTapEfficientNet, EffDetSegFPN, BiFPNSeg, BiFPNSegHead, SequentialNeck, the FRSKD teacher
over it, and the effdet-seg configs."""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from skd_det.models import BiFPNSeg, BlockTapEfficientNet, EffDetSegFPN
from skd_det.testing import REPO, build_seg, seg_batch

pytestmark = pytest.mark.usefixtures('one_thread')

D0 = osp.join(REPO, 'configs/efficientdet/effdet-seg_d0_voc12aug.py')
D1 = osp.join(REPO, 'configs/efficientdet/effdet-seg_d1_voc12aug.py')
FRSKD_D0 = osp.join(REPO, 'configs/frskd/frskd_effdet-seg_d0_voc12aug.py')
FRSKD_D1 = osp.join(REPO, 'configs/frskd/frskd_effdet-seg_d1_voc12aug.py')
FRSKD_CPU = osp.join(REPO, 'configs/frskd/frskd_effdet-seg_d0_cpu_voc12aug.py')
AUTHORS_BIFPN = '/work/ref/FRSKD/segmentation/utils/BiFPN.py'
C2_C5 = [24, 40, 80, 320]


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def identity_nodes(neck):
    """Every BiFPN-seg node conv+BN computes x exactly (BN in eval mode), so a node is a ReLU."""
    for m in neck.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            m.running_mean.zero_()
            m.running_var.fill_(1 - m.eps)  # sqrt(var + eps) = 1
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return neck.eval()


def constant_levels(values, width=2, size=64):
    return [torch.full((1, width, size >> i, size >> i), float(v)) for i, v in enumerate(values)]


# --- backbone ---------------------------------------------------------------------------------


@pytest.mark.parametrize('arch,blocks', [('b0', (1, 3, 5, 15)), ('b1', (2, 5, 8, 22))])
def test_backbone_taps_the_first_block_of_stages_2_to_4(arch, blocks):
    # efficientdet.py:14-27: C2..C4 end with the first (stride-2) block of the next stage
    net = BlockTapEfficientNet(arch=arch, out_blocks=blocks, stem_act=False)
    assert net.out_channels == C2_C5 and net.strides == [4, 8, 16, 32]
    outs = net(torch.rand(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(1, c, 64 // s, 96 // s)
                                              for c, s in zip(C2_C5, [4, 8, 16, 32])]


def test_backbone_stem_without_activation_and_blocks_cut_after_the_last_tap():
    torch.manual_seed(0)
    net = BlockTapEfficientNet(arch='b0', out_blocks=(0, 1), stem_act=False).eval()
    # only the stem and the first two blocks are kept (no parameters without gradients)
    assert len(net.features) == 3 and len(net.features[2]) == 1
    x = torch.randn(1, 3, 32, 32)
    stem = net.features[0]
    # efficientdet.py:13, 60: conv + BN, no swish, before block 0
    expected = net.features[1][0](stem[1](stem[0](x)))
    assert torch.equal(net(x)[0], expected)
    net.stem_act = True
    assert not torch.allclose(net(x)[0], expected)
    net.train()
    sum(o.sum() for o in net(x)).backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize('kwargs,match', [
    (dict(out_blocks=(3, 1)), 'increasing block indices in 0..15'),
    (dict(out_blocks=(16, )), 'EfficientNet-b0 has 16 blocks'),
    (dict(out_blocks=(1, ), out_indices=(2, )), 'takes out_blocks'),
])
def test_backbone_bad_taps(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BlockTapEfficientNet(**kwargs)


# --- FPN --------------------------------------------------------------------------------------


def test_fpn_levels_and_hand_counted_parameters():
    d = 8
    fpn = EffDetSegFPN(C2_C5, d)
    # laterals: 1x1 convs with bias + BN (464d + 4 * 3d); P6: 3x3 s2 from C5 (2880d + 3d);
    # P7: 3x3 s2 (9d^2 + 3d); no smooth convs (built but unused by the authors)
    assert num_params(fpn) == 9 * d * d + 3362 * d
    feats = [
        torch.rand(2, c, 128 // s, 128 // s, requires_grad=True)
        for c, s in zip(C2_C5, [4, 8, 16, 32])
    ]
    outs = fpn(feats)
    assert [tuple(o.shape) for o in outs] == [(2, d, 128 // s, 128 // s)
                                              for s in (4, 8, 16, 32, 64, 128)]
    # P6 comes from the backbone's C5, not from P5 (efficientdet.py:67)
    outs[4].sum().backward()
    assert fpn.p6_conv[0].weight.grad.abs().sum() > 0
    assert fpn.lateral_convs[3][0].weight.grad is None
    assert all(f.grad is None for f in feats[:3])


def test_fpn_top_down_is_bilinear_sum():
    fpn = EffDetSegFPN(C2_C5, 2).eval()
    feats = [torch.rand(1, c, 32 // s, 32 // s) for c, s in zip(C2_C5, [4, 8, 16, 32])]
    lat = [conv(x) for conv, x in zip(fpn.lateral_convs, feats)]
    p4 = F.interpolate(lat[3], size=lat[2].shape[-2:], mode='bilinear') + lat[2]
    torch.testing.assert_close(fpn(feats)[2], p4)


# --- BiFPN-seg --------------------------------------------------------------------------------


def test_bifpn_seg_is_unweighted_depthwise_1x1_with_hand_counted_parameters():
    d = 8
    student = BiFPNSeg([d] * 6, d, num_layers=3)
    teacher = BiFPNSeg([d] * 6, d, num_layers=2, last_top_down_only=True)
    convs = [m for m in student.modules() if isinstance(m, nn.Conv2d)]
    # 11 nodes per layer (6 top-down, 5 bottom-up), each a 1x1 depthwise conv with bias
    assert len(convs) == 33
    assert all(c.kernel_size == (1, 1) and c.groups == d == c.in_channels for c in convs)
    # no fusion weights: only conv and BN parameters (4d per node)
    assert num_params(student) == 3 * 11 * 4 * d
    assert num_params(teacher) == (11 + 6) * 4 * d
    assert {'.'.join(n.split('.')[-2:])
            for n, _ in student.named_parameters()} == {'0.weight', '0.bias', '1.weight', '1.bias'}


def test_bifpn_seg_sums_by_hand():
    # node(x) = relu(x); constant levels c = 1..6, P2 first
    full = identity_nodes(BiFPNSeg([2] * 6, 2, num_layers=1))
    top_down = identity_nodes(BiFPNSeg([2] * 6, 2, num_layers=1, last_top_down_only=True))
    levels = constant_levels([1, 2, 3, 4, 5, 6])
    # U_l = c_l + U_{l+1}: 21, 20, 18, 15, 11, 6 (is_last returns these, BiFPN.py:76)
    ups = [21, 20, 18, 15, 11, 6]
    assert [o.unique().item() for o in top_down(levels)] == pytest.approx(ups)
    # O_0 = U_0, O_l = c_l + U_l + O_{l-1}: 21, 43, 64, 83, 99, 111 (the P7 node sums three)
    assert [o.unique().item() for o in full(levels)] == pytest.approx([21, 43, 64, 83, 99, 111])


def test_bifpn_seg_resizes_bilinear_up_and_nearest_down():
    neck = identity_nodes(BiFPNSeg([1] * 6, 1, num_layers=1))
    levels = constant_levels([0] * 6, width=1)
    levels[0] = torch.rand(1, 1, 64, 64)
    # bottom-up: O_1 = down(O_0) = nearest (every other pixel), not an average
    torch.testing.assert_close(neck(levels)[1], levels[0][..., ::2, ::2])
    levels = constant_levels([0] * 6, width=1)
    levels[1] = torch.rand(1, 1, 32, 32)
    # top-down: U_0 = up(U_1), bilinear (align_corners=False)
    up = F.interpolate(levels[1], size=(64, 64), mode='bilinear', align_corners=False)
    torch.testing.assert_close(neck(levels)[0], up)


def test_bifpn_seg_pre_activation_outputs_and_out_act():
    torch.manual_seed(0)
    neck = BiFPNSeg([4] * 6, 4, num_layers=2, last_top_down_only=True).eval()
    levels = [torch.randn(1, 4, 64 >> i, 64 >> i) for i in range(6)]
    activated = neck(levels)
    neck.return_pre_activation = True
    pre = neck(levels)
    assert min(p.min() for p in pre) < 0
    for a, p in zip(activated, pre):
        torch.testing.assert_close(neck.out_act(p), a)


@pytest.mark.skipif(not osp.isfile(AUTHORS_BIFPN), reason="authors' code not on this machine")
@pytest.mark.parametrize('is_last', [False, True])
def test_bifpn_seg_layer_matches_the_authors_layer(is_last):
    spec = importlib.util.spec_from_file_location('authors_bifpn', AUTHORS_BIFPN)
    authors = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(authors)
    torch.manual_seed(0)
    theirs = authors.BiFPNSeg(4, is_last)
    ours = BiFPNSeg([4] * 6, 4, num_layers=1, last_top_down_only=is_last)
    layer = ours.layers[0]
    state = {}
    for level in range(6):
        for k, v in getattr(theirs, f'conv{level + 2}up').state_dict().items():
            state[f'up_nodes.{level}.{k}'] = v
        if not is_last and level:
            for k, v in getattr(theirs, f'conv{level + 2}dw').state_dict().items():
                state[f'down_nodes.{level - 1}.{k}'] = v
    layer.load_state_dict(state)
    levels = [torch.randn(2, 4, 64 >> i, 64 >> i) for i in range(6)]
    for train in (True, False):
        theirs.train(train)
        ours.train(train)
        for a, b in zip(theirs(levels), ours(levels)):
            torch.testing.assert_close(a, b)


def test_bifpn_seg_bad_widths():
    with pytest.raises(
            ValueError, match=r'in_channels=\[8, 16\] must be >= 2 levels of '
            r'out_channels=8'):
        BiFPNSeg([8, 16], 8)


# --- head and the whole model -----------------------------------------------------------------


def small_model_cfg(config=D0, d=8):
    """The config's model at width d, its inputs padded to 128x128 (not 512)."""
    cfg = Config.fromfile(config)
    model = cfg.model.get('student', cfg.model)  # a wrapper takes the student's preprocessor
    model.data_preprocessor.size = (128, 128)
    model.neck.necks[0].out_channels = d
    model.neck.necks[1].update(in_channels=[d] * 6, out_channels=d)
    model.decode_head.in_channels = d
    if 'teacher' in cfg.model:
        cfg.model.teacher.neck.out_channels = d
    return cfg


def test_head_is_a_3x3_classifier_with_hand_counted_parameters():
    d = 8
    model = build_seg(small_model_cfg(d=d).model)
    head = model.decode_head
    # conv3x3 d->256 (+bias) + BN, conv3x3 256->21 (+bias) (efficientdet.py:49-52)
    assert num_params(head) == 9 * d * 256 + 256 + 512 + 9 * 256 * 21 + 21
    assert head.conv_seg.kernel_size == (3, 3) and head.dropout is None
    model.train()
    inputs, samples = seg_batch(model)
    logits = model._forward(inputs)
    assert logits.shape == (2, 21, inputs.shape[2] // 4, inputs.shape[3] // 4)
    losses = model.loss(inputs, samples)
    losses['decode.loss_ce'].backward()
    # the classifier reads P2 only: the last layer's bottom-up nodes (P3..P7 outputs) get no
    # gradient from the student's loss; in FRSKD the teacher and L_F train them
    unused = {n for n, p in model.named_parameters() if p.grad is None}
    assert unused == {
        n
        for n, _ in model.neck.necks[1].layers[2].down_nodes.named_parameters(
            prefix='neck.necks.1.layers.2.down_nodes')
    }


def test_d1_widths():
    model = build_seg(Config.fromfile(D1).model)
    assert model.backbone.arch == 'b1' and model.backbone.out_blocks == (2, 5, 8, 22)
    fpn, bifpn = model.neck.necks
    assert fpn.in_channels == C2_C5 and fpn.out_channels == 88
    assert bifpn.in_channels == [88] * 6 and len(bifpn.layers) == 3
    assert model.decode_head.in_channels == 88


def test_paper_recipe_in_the_configs():
    cfg = Config.fromfile(D0)
    # main.py:36-48, 65, 95, 98-109, 142-149; README.md:4: batch 16
    assert cfg.train_cfg.max_epochs == 60
    assert cfg.param_scheduler[0].milestones == [40] and cfg.param_scheduler[0].gamma == 0.1
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
    assert cfg.optim_wrapper.accumulative_counts == 2 and cfg.train_dataloader.batch_size == 16
    assert cfg.optim_wrapper.clip_grad == dict(type='value', clip_value=2.0)
    for path in (FRSKD_D0, FRSKD_D1):
        frskd = Config.fromfile(path)
        assert frskd.model.distill_losses.loss_feat.loss_weight == 50.0
        assert frskd.model.distill_losses.loss_kd.temperature == 1.0
        assert frskd.custom_hooks[0].begin == pytest.approx(40 / 60)


# --- the FRSKD teacher over it ----------------------------------------------------------------


def frskd_model():
    torch.manual_seed(0)
    model = build_seg(small_model_cfg(FRSKD_CPU).model)
    model.train()
    return model


def test_teacher_is_two_bifpn_seg_layers_over_the_student_p2_p7():
    model = frskd_model()
    teacher = model.teacher
    assert teacher.in_indices == [0, 1, 2, 3, 4, 5]
    assert isinstance(teacher.neck, BiFPNSeg) and teacher.neck.in_channels == [8] * 6
    assert len(teacher.neck.layers) == 2
    assert teacher.neck.layers[0].down_nodes is not None
    assert teacher.neck.layers[1].down_nodes is None  # is_last: top-down only
    assert type(teacher.head).__name__ == 'BiFPNSegHead' and teacher.head.in_index == 0
    assert teacher.head.in_channels == 8


def _grads(model, loss):
    model.zero_grad()
    loss.backward(retain_graph=True)

    def touched(module):
        return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())

    return dict(
        backbone=touched(model.student.backbone),
        neck=touched(model.student.neck),
        head=touched(model.student.decode_head),
        teacher=touched(model.teacher))


def test_gradients_where_the_authors_let_them_flow():
    model = frskd_model()
    inputs, samples = seg_batch(model)
    losses = model.loss(inputs, samples)
    assert {'decode.loss_ce', 'teacher.decode.loss_ce', 'distill.loss_feat',
            'distill.loss_kd'} <= set(losses)
    # the teacher's CE reaches the student (sources1 is not detached, efficientdet.py:76-77)
    assert _grads(model, losses['teacher.decode.loss_ce']) == dict(
        backbone=True, neck=True, head=False, teacher=True)
    # attention transfer and KD: the teacher side is detached (distill.py:14, 24)
    assert _grads(model, losses['distill.loss_feat']) == dict(
        backbone=True, neck=True, head=False, teacher=False)
    assert _grads(model, losses['distill.loss_kd']) == dict(
        backbone=True, neck=True, head=True, teacher=False)
    model.zero_grad()
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_head_takes_one_level():
    with pytest.raises(ValueError, match=r'in_channels and in_index must be ints, got \[8, 8\]'):
        build_seg(
            dict(
                type='BiFPNSegHead',
                in_channels=[8, 8],
                in_index=[0, 1],
                channels=16,
                num_classes=21))


def test_sequential_neck_applies_its_necks_in_order():
    from skd_det.models import SequentialNeck
    with pytest.raises(ValueError, match='at least one neck'):
        SequentialNeck([])
    neck = SequentialNeck([
        dict(type='EffDetSegFPN', in_channels=C2_C5, out_channels=4),
        dict(type='BiFPNSeg', in_channels=[4] * 6, out_channels=4)
    ]).eval()
    feats = [torch.rand(1, c, 128 // s, 128 // s) for c, s in zip(C2_C5, [4, 8, 16, 32])]
    fpn, bifpn = neck.necks
    for a, b in zip(neck(feats), bifpn(fpn(feats))):
        assert torch.equal(a, b)
