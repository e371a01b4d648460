# Copyright (c) skd_det contributors.
"""EfficientNet-Lite backbone (the lite family on torchvision's blocks), its ImageNet-weights
loading through ``init_cfg=dict(type='Pretrained')``, and EfficientDet-Lite's parts: BiFPN with
summed (unweighted) fusion and ReLU6, EfficientDetHead with ReLU6."""
import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from skd_det.models.backbones import EfficientNetLite

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.mark.parametrize(
    'arch, params, repeats',
    [
        # timm's tf_efficientnet_lite0..4 (classifier of 1000 included), to 0.01 M
        ('lite0', 4.65, (1, 2, 2, 3, 3, 4, 1)),
        ('lite1', 5.42, (1, 3, 3, 4, 4, 5, 1)),
        ('lite2', 6.09, (1, 3, 3, 4, 4, 5, 1)),
        ('lite3', 8.20, (1, 3, 3, 5, 5, 6, 1)),
        ('lite4', 13.01, (1, 4, 4, 6, 6, 8, 1)),
    ])
def test_lite_scaling_matches_the_published_networks(arch, params, repeats):
    net = EfficientNetLite.build_network(arch)
    assert round(sum(p.numel() for p in net.parameters()) / 1e6, 2) == params
    # first and last stage repeats fixed, stem 32 and head 1280 not scaled
    assert tuple(len(stage) for stage in net.features[1:8]) == repeats
    assert net.features[0][0].out_channels == 32 and net.features[8][0].out_channels == 1280
    kinds = {type(m) for m in net.modules()}
    assert nn.ReLU6 in kinds and nn.SiLU not in kinds and nn.Sigmoid not in kinds  # no SE


def test_lite0_levels_and_forward():
    backbone = EfficientNetLite(out_indices=(0, 1, 2, 3, 4)).eval()
    assert backbone.out_channels == [16, 24, 40, 112, 320]
    assert backbone.strides == [2, 4, 8, 16, 32]
    outs = backbone(torch.rand(1, 3, 64, 96))
    assert [tuple(o.shape[1:]) for o in outs] == [(16, 32, 48), (24, 16, 24), (40, 8, 12),
                                                  (112, 4, 6), (320, 2, 3)]


def test_tf_same_padding_of_the_strided_convs():
    from mmcv.cnn.bricks.conv2d_adaptive_padding import Conv2dAdaptivePadding
    tf, torchvision_padding = EfficientNetLite(), EfficientNetLite(tf_padding=False)
    strided = [m for m in tf.modules() if isinstance(m, nn.Conv2d) and max(m.stride) > 1]
    assert len(strided) == 5 and all(isinstance(m, Conv2dAdaptivePadding) for m in strided)
    assert not any(isinstance(m, Conv2dAdaptivePadding) for m in torchvision_padding.modules())
    torchvision_padding.load_state_dict(tf.state_dict())  # the same keys and shapes
    tf.eval(), torchvision_padding.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():  # the stem: shifted by a pixel
        a, b = tf.features[0](x), torchvision_padding.features[0](x)
        assert a.shape == b.shape == (1, 32, 32, 32) and not torch.allclose(a, b)
        assert tf(x)[-1].shape == torchvision_padding(x)[-1].shape


def test_pretrained_init_cfg_loads_exactly_the_backbone(tmp_path):
    torch.manual_seed(0)
    source = EfficientNetLite.build_network('lite0').state_dict()
    backbone_keys = EfficientNetLite('lite0').state_dict().keys()
    path = tmp_path / 'lite0.pth'
    torch.save(dict(state_dict={k: source[k] for k in backbone_keys}, meta=dict(x=1)), path)
    backbone = EfficientNetLite(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    backbone.init_weights()
    state = backbone.state_dict()
    assert state.keys() == backbone_keys and all(
        torch.equal(v, source[k]) for k, v in state.items())


@pytest.mark.parametrize('arch, match', [
    ('lite0', r'no such file \(write it with `python tools/misc/imagenet_weights.py --lite 0`\)'),
    ('lite3', 'no ImageNet weights of EfficientNet-Lite3 are available'),
])
def test_missing_weights_name_the_file_and_the_tool(arch, match):
    backbone = EfficientNetLite(
        arch, init_cfg=dict(type='Pretrained', checkpoint='no/such/lite.pth'))  # builds
    with pytest.raises(FileNotFoundError, match=match) as info:
        backbone.init_weights()
    assert 'no/such/lite.pth' in str(info.value) and '\n' not in str(info.value)


def test_weights_of_another_network_are_one_line(tmp_path):
    path = tmp_path / 'b0.pth'
    torch.save(EfficientNetLite('lite2').state_dict(), path)  # wider: same keys, other shapes
    backbone = EfficientNetLite(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(ValueError, match='entries of another shape, e.g. features.') as info:
        backbone.init_weights()
    assert 'imagenet_weights.py' in str(info.value) and '\n' not in str(info.value)


@pytest.mark.parametrize('kwargs', [
    dict(arch='b0'),
    dict(pretrained='x.pth'),
    dict(init_cfg=dict(type='Kaiming')),
    dict(init_cfg=dict(type='Pretrained', checkpoint='x.pth', prefix='backbone')),
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        EfficientNetLite(**kwargs)


def test_registered_in_mmdet_and_mmseg_scopes():
    from mmdet.registry import MODELS as DET_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    for scope, registry in (('mmdet', DET_MODELS), ('mmseg', SEG_MODELS)):
        init_default_scope(scope)
        backbone = registry.build(dict(type='EfficientNetLite', arch='lite1'))
        assert isinstance(backbone, EfficientNetLite) and backbone.arch == 'lite1'


def test_bifpn_sum_fusion_and_relu6():
    from skd_det.models.necks import BiFPN
    kwargs = dict(in_channels=[8, 16], out_channels=8, num_outs=3, act_cfg='relu6')
    summed = BiFPN(**kwargs, weighted_fusion=False)
    weighted = BiFPN(**kwargs)
    assert not any('fusion' in k for k, _ in summed.named_parameters())
    assert any('fusion' in k for k, _ in weighted.named_parameters())
    assert any(isinstance(m, nn.ReLU6) for m in summed.modules())
    fusion = summed.layers[0].td_fusions[0]
    a, b = torch.rand(2, 1, 8, 4, 4)
    assert torch.equal(fusion([a, b]), torch.relu(a) + torch.relu(b))  # FRSKD's input ReLU on
    outs = summed([torch.rand(1, 8, 8, 8), torch.rand(1, 16, 4, 4)])
    assert [tuple(o.shape) for o in outs] == [(1, 8, 8, 8), (1, 8, 4, 4), (1, 8, 2, 2)]


def test_efficientdet_lite0_config_builds_the_published_network():
    from mmengine.config import Config

    from skd_det.testing import REPO, build_det
    cfg = Config.fromfile(f'{REPO}/configs/efficientdet/efficientdet_lite0_voc0712.py')
    model = build_det(cfg.model)
    assert isinstance(model.backbone, EfficientNetLite) and model.input_size == 320
    assert model.bbox_head.prior_generator.octave_base_scale == 3
    acts = {type(m) for m in model.modules() if isinstance(m, (nn.ReLU6, nn.SiLU, nn.ReLU))}
    assert acts == {nn.ReLU6}
    assert not any('fusion' in k for k, _ in model.neck.named_parameters())
    model.eval()
    with torch.no_grad():  # 320: P7 3x3 from a 5x5 P6
        feats = model.extract_feat(torch.rand(1, 3, 320, 320))
    assert [f.shape[-1] for f in feats] == [40, 20, 10, 5, 3]
