# Copyright (c) skd_det contributors.
"""EfficientDet: the torchvision EfficientNet backbone, the head, the detector's
build-time checks, the D0-D2 configs against the official sizes, and the
EfficientDet segmentation model."""
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
import torchvision
from mmengine.config import Config
from mmengine.registry import init_default_scope

import skd_det.det  # noqa: F401  (registers EfficientDet, its head, BiFPN)
import skd_det.seg  # noqa: F401  (and the mmseg wrapper)
from skd_det.analysis.complexity import count_flops
from skd_det.models.backbones import TorchvisionEfficientNet
from skd_det.models.detectors.efficientdet import EFFICIENTDET_SCALING, efficientdet_scaling
from skd_det.testing import REPO, build_det

# official EfficientDet (Tan et al. 2020, Table 2): parameters and FLOPs at the input size
OFFICIAL = {0: (3.9e6, 2.5e9), 1: (6.6e6, 6.1e9), 2: (8.1e6, 11e9)}
CFG_DIR = osp.join(REPO, 'configs', 'efficientdet')

pytestmark = pytest.mark.usefixtures('one_thread')


def _cfg(name):
    return Config.fromfile(osp.join(CFG_DIR, name))


# ---------------------------------------------------------------- backbone


def test_backbone_levels_strides_and_widths_odd_input():
    model = TorchvisionEfficientNet('b0', out_indices=(0, 1, 2, 3, 4)).eval()
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 100, 70))
    sizes = [(100, 70)]
    for _ in range(5):
        sizes.append((math.ceil(sizes[-1][0] / 2), math.ceil(sizes[-1][1] / 2)))
    assert [tuple(o.shape[1:])
            for o in outs] == [(c, ) + s for c, s in zip([16, 24, 40, 112, 320], sizes[1:])]
    assert model.out_channels == [16, 24, 40, 112, 320]
    assert model.strides == [2, 4, 8, 16, 32]
    b2 = TorchvisionEfficientNet('b2')
    assert b2.out_channels == [48, 120, 352] and b2.strides == [8, 16, 32]
    # the unused last 1x1 conv (1280 channels) and the classifier are not built
    assert len(b2.features) == 8


@pytest.mark.parametrize('arch', [f'b{i}' for i in range(8)])
def test_backbone_every_arch_is_torchvisions_with_our_norm(arch):
    import torchvision
    model = TorchvisionEfficientNet(arch, out_indices=(0, 1, 2, 3, 4))
    reference = getattr(torchvision.models, f'efficientnet_{arch}')(weights=None).features
    ours = {k[len('features.'):]: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {
        k: tuple(v.shape)
        for k, v in reference.state_dict().items() if not k.startswith('8.')
    }  # the final 1x1 conv, not used
    assert ours == theirs
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all((m.eps, m.momentum) == (1e-3, 0.01) for m in norms)
    with torch.no_grad():
        outs = model.eval()(torch.zeros(1, 3, 32, 32))
    assert [o.shape[1] for o in outs] == model.out_channels
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2, 1]


def test_backbone_gradient_frozen_stages_and_norm_eval():
    model = TorchvisionEfficientNet('b0', out_indices=(1, 2), frozen_stages=1)
    assert len(model.features) == 4  # nothing past level 2 (features[3])
    model.train()
    sum(o.mean() for o in model(torch.rand(2, 3, 64, 64))).backward()
    for index, block in enumerate(model.features):
        frozen = index <= 2  # stem, level 0 (features[1]) and level 1 (features[2])
        for p in block.parameters():
            assert p.requires_grad is not frozen
            assert (p.grad is None) is frozen
        bns = [m for m in block.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert bns and all(bn.training is not frozen for bn in bns)
    eval_bn = TorchvisionEfficientNet('b0', norm_eval=True).train()
    assert not any(m.training for m in eval_bn.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert eval_bn.features[4].training  # only the BNs


def test_backbone_loads_a_local_torchvision_checkpoint(tmp_path):
    source = torchvision.models.efficientnet_b0()
    path = tmp_path / 'efficientnet_b0.pth'
    torch.save(dict(state_dict=source.state_dict()), path)
    model = TorchvisionEfficientNet('b0', pretrained=str(path))
    assert not torch.equal(model.features[0][0].weight, source.features[0][0].weight)
    model.init_weights()
    own = model.state_dict()
    assert own and all(torch.equal(v, source.state_dict()[k]) for k, v in own.items())

    partial = {k: v for k, v in source.state_dict().items() if not k.startswith('features.0.')}
    torch.save(partial, tmp_path / 'partial.pth')
    small = TorchvisionEfficientNet(
        'b0', out_indices=(0, ), pretrained=str(tmp_path / 'partial.pth'))
    stem = [k for k in small.state_dict() if k.startswith('features.0.')]
    with pytest.raises(
            KeyError,
            match=f'lacks {len(stem)} of its {len(small.state_dict())} '
            r"entries, e.g. \['features.0.0.weight'"):
        small.init_weights()


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(arch='b8'), ValueError, 'arch must be one of'),
    (dict(out_indices=(3, 2)), ValueError, 'out_indices'),
    (dict(out_indices=(5, )), ValueError, 'out_indices'),
    (dict(frozen_stages=5), ValueError, 'frozen_stages'),
    (dict(norm_cfg=dict(type='GN')), ValueError, 'norm_cfg'),
])
def test_backbone_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        TorchvisionEfficientNet(**kwargs)


def test_missing_pretrained_file_fails_at_weight_initialisation():
    # builds without the file (as mmengine's Pretrained init), fails before any training step
    backbone = TorchvisionEfficientNet(out_indices=(0, ), pretrained='no/such/efficientnet_b0.pth')
    with pytest.raises(FileNotFoundError, match='no/such/efficientnet_b0.pth'):
        backbone.init_weights()


def test_backbone_registered_in_mmdet_and_mmseg_scopes():
    from mmdet.registry import MODELS as DET_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    for scope, registry in (('mmdet', DET_MODELS), ('mmseg', SEG_MODELS)):
        init_default_scope(scope)
        backbone = registry.build(dict(type='TorchvisionEfficientNet', arch='b1'))
        assert isinstance(backbone, TorchvisionEfficientNet) and backbone.arch == 'b1'


# ------------------------------------------------- scaling table and configs


def test_scaling_table_rows_and_unknown_coefficient():
    # the design notes' D0..D2 rows
    assert [(r['input_size'], r['arch'], r['width'], r['repeats'], r['head_convs'])
            for r in map(efficientdet_scaling, (0, 1, 2))] == [(512, 'b0', 64, 3, 3),
                                                               (640, 'b1', 88, 4, 3),
                                                               (768, 'b2', 112, 5, 3)]
    assert all(r['input_size'] % 128 == 0 for r in EFFICIENTDET_SCALING.values())
    with pytest.raises(ValueError, match='compound_coef=8 is unknown'):
        efficientdet_scaling(8)


def test_scaling_table_d0_d7_follows_the_compound_rules():
    for phi, row in EFFICIENTDET_SCALING.items():
        # Tan et al. 2020, Table 1: R = 512 + 128 phi up to D4 (then 1280, 1280, 1536),
        # D_class = 3 + floor(phi / 3), B_phi backbone up to D6 (D7 keeps B6),
        # D_bifpn = 3 + phi capped (D5 7, D6/D7 8)
        assert row['input_size'] == [512, 640, 768, 896, 1024, 1280, 1280, 1536][phi]
        assert phi > 4 or row['input_size'] == 512 + 128 * phi
        assert row['head_convs'] == 3 + phi // 3
        assert row['arch'] == f'b{min(phi, 6)}'
        assert row['repeats'] == min(3 + phi, 7 if phi == 5 else 8)
        assert TorchvisionEfficientNet(row['arch']).out_channels  # every arch builds
    widths = [EFFICIENTDET_SCALING[phi]['width'] for phi in range(8)]
    assert widths == sorted(widths) and widths[:7] == [64, 88, 112, 160, 224, 288, 384]


# D1, D2: D0's modules at other widths and depths (`make test` only)
@pytest.mark.parametrize(
    'phi', [0, pytest.param(1, marks=pytest.mark.slow),
            pytest.param(2, marks=pytest.mark.slow)])
def test_d0_d2_levels_params_and_flops_match_the_official_models(phi):
    cfg = _cfg(f'efficientdet_d{phi}_coco.py')
    row = efficientdet_scaling(phi)
    assert cfg.model.compound_coef == phi and cfg.image_size == row['input_size']
    model = build_det(cfg.model).eval()
    size, width = row['input_size'], row['width']
    x = torch.zeros(1, 3, size, size)
    with torch.no_grad():
        feats = model.backbone(x)
        pyramid = model.neck(feats)
        cls_scores, bbox_preds = model.bbox_head(pyramid)
    assert [tuple(f.shape[1:]) for f in feats] == [
        (c, size // s, size // s) for c, s in zip(model.backbone.out_channels, (8, 16, 32))
    ]
    levels = [(size // 2**lvl, size // 2**lvl) for lvl in range(3, 8)]
    assert [tuple(p.shape[1:]) for p in pyramid] == [(width, ) + s for s in levels]
    assert [tuple(c.shape[1:]) for c in cls_scores] == [(9 * 80, ) + s for s in levels]
    assert [tuple(b.shape[1:]) for b in bbox_preds] == [(9 * 4, ) + s for s in levels]

    params, flops = OFFICIAL[phi]
    n = sum(p.numel() for p in model.parameters())
    assert abs(n / params - 1) < 0.05, n
    measured = count_flops(model, lambda m, img: m._forward(img), [x])
    assert abs(measured / flops - 1) < 0.05, measured


def test_voc_configs_follow_the_table():
    for phi in (0, 1, 2):
        cfg = _cfg(f'efficientdet_d{phi}_voc0712.py')
        row = efficientdet_scaling(phi)
        model = cfg.model
        assert (model.compound_coef, model.input_size, model.backbone.arch, model.neck.out_channels,
                model.neck.num_repeats, model.bbox_head.stacked_convs,
                model.bbox_head.num_classes) == (phi, row['input_size'], row['arch'], row['width'],
                                                 row['repeats'], row['head_convs'], 20)
        crop = cfg.train_dataloader.dataset.dataset.datasets[0].pipeline[3]
        assert crop.type == 'RandomCrop' and crop.crop_size == (row['input_size'], ) * 2


def _d0(**changes):
    cfg = _cfg('efficientdet_d0_cpu_voc0712.py').model
    for key, value in changes.items():
        node = cfg
        *path, last = key.split('.')
        for part in path:
            node = node[part]
        node[last] = value
    return cfg


@pytest.mark.parametrize('changes, match', [
    (dict(compound_coef=9), 'compound_coef=9 is unknown'),
    (dict(input_size=500), 'input_size=500 must be a positive multiple of 128'),
    (dict(compound_coef=None, input_size=None), 'needs input_size'),
    ({
        'backbone.out_indices': (1, 2, 3, 4)
    }, r'in_channels=\[40, 112, 320\] \(3 levels\) does not match the backbone .* 4 levels '
     r'of \[24, 40, 112, 320\]'),
    ({
        'neck.num_outs': 4
    }, r'neck gives 4 levels .* head takes 5 levels'),
    (dict(compound_coef=1, input_size=640), r"config gives \{'arch': 'b0', 'width': 64"),
])
def test_detector_rejects_bad_configs_at_build(changes, match):
    with pytest.raises(ValueError, match=match):
        build_det(_d0(**changes))


def test_detector_needs_a_bifpn_neck():
    fpn = dict(type='FPN', in_channels=[40, 112, 320], out_channels=64, num_outs=5)
    with pytest.raises(TypeError, match='needs a BiFPN neck, got FPN'):
        build_det(_d0(neck=fpn))


# ------------------------------------------------------------------- head


def _small_head(**kwargs):
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    head_cfg = _cfg('efficientdet_d0_voc0712.py').model.bbox_head
    head_cfg.update(
        num_classes=3,
        in_channels=16,
        feat_channels=16,
        stacked_convs=2,
        train_cfg=_cfg('efficientdet_d0_voc0712.py').model.train_cfg,
        **kwargs)
    head = MODELS.build(head_cfg)
    head.init_weights()
    return head


def test_head_init_normal_convs_zero_biases_and_the_class_prior():
    head = _small_head()
    convs = [m for m in head.modules() if isinstance(m, torch.nn.Conv2d)]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert 0.009 < float(weights.std()) < 0.011 and abs(float(weights.mean())) < 1e-3
    assert torch.equal(head.reg_pred[-1].bias, torch.zeros_like(head.reg_pred[-1].bias))
    # -log((1 - 0.01) / 0.01) = -log(99)
    torch.testing.assert_close(
        head.cls_pred[-1].bias,
        torch.full_like(head.cls_pred[-1].bias, -4.59512),
        atol=1e-5,
        rtol=0)
    # an init_cfg replaces the default; the class prior still follows it
    head = _small_head(init_cfg=dict(type='Constant', layer='Conv2d', val=0.5, bias=0.25))
    assert all(
        bool((m.weight == 0.5).all()) for m in head.modules() if isinstance(m, torch.nn.Conv2d))
    assert bool((head.reg_pred[-1].bias == 0.25).all())
    assert bool((head.cls_pred[-1].bias - -4.59512).abs().max() < 1e-5)


def _pyramid(size=128, channels=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(2, channels, size // s, size // s, generator=g) for s in (8, 16, 32, 64, 128)
    ]


def test_head_anchors_outputs_and_per_level_norms():
    head = _small_head().eval()
    # 9 anchors per location: sizes 4 * stride * 2**(k/3), ratios 0.5, 1, 2
    assert head.prior_generator.num_base_priors == [9] * 5
    anchors = head.prior_generator.grid_priors([(1, 1)] * 5, device='cpu')[0]  # P3, (9, 4)
    square = anchors[(anchors[:, 2] - anchors[:, 0] - anchors[:, 3] + anchors[:, 1]).abs() < 1e-3]
    assert sorted((square[:, 2] - square[:, 0]).tolist()) == pytest.approx(
        [4 * 8 * 2**(k / 3) for k in range(3)])
    assert square[:, :2].add(square[:, 2:]).div(2).tolist()[0] == pytest.approx([4.0, 4.0])

    feats = _pyramid()
    with torch.no_grad():
        cls_scores, bbox_preds = head(feats)
        assert [tuple(c.shape) for c in cls_scores] == [(2, 27, f.shape[2], f.shape[3])
                                                        for f in feats]
        assert [tuple(b.shape) for b in bbox_preds] == [(2, 36, f.shape[2], f.shape[3])
                                                        for f in feats]
        # the class prior (0.01) at initialisation
        assert torch.sigmoid(cls_scores[0]).mean().item() == pytest.approx(0.01, rel=0.05)
        # convs shared, BNs per level: changing level 1's BNs changes level 1 only
        head.cls_norms[1][0].bias.add_(1.0)
        again, _ = head(feats)
    changed = [not torch.equal(a, b) for a, b in zip(cls_scores, again)]
    assert changed == [False, True, False, False, False]
    assert len(head.cls_convs) == 2 and len(head.cls_norms) == 5


def test_head_loss_on_a_synthetic_batch_trains_both_nets():
    from mmengine.structures import InstanceData
    head = _small_head().train()
    assert head.loss_cls.gamma == 1.5 and head.loss_cls.alpha == 0.25
    gts = [
        InstanceData(bboxes=torch.tensor([[10., 20., 60., 90.]]), labels=torch.tensor([1])),
        InstanceData(
            bboxes=torch.tensor([[30., 30., 100., 70.], [0., 0., 20., 20.]]),
            labels=torch.tensor([0, 2]))
    ]
    metas = [dict(img_shape=(128, 128), pad_shape=(128, 128), batch_input_shape=(128, 128))] * 2
    losses = head.loss_by_feat(*head(_pyramid()), gts, metas)
    assert set(losses) == {'loss_cls', 'loss_bbox'}
    total = sum(sum(v) for v in losses.values())
    assert torch.isfinite(total) and total.item() > 0
    assert all(sum(v).item() > 0 for v in losses.values())
    total.backward()
    for net in ('cls_convs', 'reg_convs', 'cls_pred', 'reg_pred'):
        assert all(p.grad is not None and p.grad.abs().sum() > 0
                   for p in getattr(head, net).parameters()), net
    with pytest.raises(ValueError, match='expects 5 levels'):
        head(_pyramid()[:4])


def test_box_loss_is_the_official_huber_weighting():
    """50 * sum Huber_0.1 / (4 * num_pos), the official box loss, from the config's
    SmoothL1Loss with mmdet's avg_factor = num_pos."""
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    loss = MODELS.build(_cfg('efficientdet_d0_coco.py').model.bbox_head.loss_bbox)
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(7, 4, generator=g) * 0.2, torch.randn(7, 4, generator=g) * 0.2
    num_pos = 5
    official = 50 * F.huber_loss(pred, target, delta=0.1, reduction='sum') / (4 * num_pos)
    assert loss(pred, target, avg_factor=num_pos).item() == pytest.approx(official.item(), rel=1e-5)


# ---------------------------------------------------------- segmentation


@pytest.mark.parametrize('name, width', [('efficientdet_d0_seg_voc12aug.py', 64),
                                         ('efficientdet_d1_seg_voc12aug.py', 88)])
def test_segmentation_model_levels_logits_and_loss(name, width):
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    cfg = _cfg(name)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model).train()
    x = torch.rand(2, 3, 128, 128)
    feats = model.extract_feat(x)
    assert [tuple(f.shape[1:]) for f in feats] == [(width, 128 // 2**lvl, 128 // 2**lvl)
                                                   for lvl in range(3, 8)]
    logits = model.decode_head(feats)
    assert tuple(logits.shape) == (2, 21, 32, 32)  # stride 4
    # odd sizes: each upsampled map is cut to the level it joins (100 -> 13 at P3 -> 26)
    with torch.no_grad():
        odd = model.eval().decode_head(model.extract_feat(torch.rand(1, 3, 100, 70)))
        model.train()
    assert tuple(odd.shape) == (1, 21, 26, 18)
    samples = []
    for i in range(2):
        label = torch.randint(0, 21, (1, 128, 128), generator=torch.Generator().manual_seed(i))
        label[:, :8] = 255
        samples.append(
            SegDataSample(gt_sem_seg=PixelData(data=label), metainfo=dict(img_shape=(128, 128))))
    losses = model.loss(x, samples)
    loss = losses['decode.loss_ce']
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    assert model.backbone.features[0][0].weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.neck.parameters())
    assert all(p.grad is not None for p in model.decode_head.parameters())


def test_segmentation_head_rejects_a_transform():
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    with pytest.raises(ValueError, match="input_transform must be 'multiple_select'"):
        MODELS.build(
            dict(
                type='EfficientDetSegHead',
                in_channels=[8, 8],
                in_index=[0, 1],
                channels=8,
                num_classes=3,
                input_transform='resize_concat'))
