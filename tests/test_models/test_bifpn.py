# Copyright (c) skd_det contributors.
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from skd_det.models.necks import BiFPN
from skd_det.models.necks.bifpn import FastNormalizedFusion, MaxPool2dSame

IN_CHANNELS = [4, 8, 16, 32]
ODD_SIZES = [(33, 47), (17, 24), (9, 12), (5, 6)]

# EfficientDet neck arguments (widths/repeats shrunk for speed)
EFFDET_KWARGS = dict(
    num_outs=5,
    num_repeats=3,
    act_cfg=dict(type='Swish'),
    norm_cfg=dict(type='BN', momentum=0.01, eps=1e-3),
    fusion_eps=1e-4,
    relu_before_fusion=False,
    act_before_node=True,
    node_num_convs=1,
    lateral_act=False,
    resample_conv=False,
    relu_before_lateral=False,
    relu_before_resample=False,
    out_activation=False)


def _bifpnc(in_channels, width_mult=2, **kwargs):
    """The authors' BiFPNc: widths grow with depth, d_i = width_mult * c_i."""
    return BiFPN(in_channels, out_channels=None, width_mult=width_mult, **kwargs)


def _inputs(channels=IN_CHANNELS, sizes=ODD_SIZES, n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, c, h, w, generator=g) for c, (h, w) in zip(channels, sizes)]


def _fusions(model):
    return [m for m in model.modules() if isinstance(m, FastNormalizedFusion)]


def test_fusion_weights_normalised_and_non_negative():
    fusion = FastNormalizedFusion(3, eps=1e-6)
    w = fusion.normalized_weights()
    assert torch.allclose(w, torch.full((3, ), 1 / (3 + 1e-6)))
    with torch.no_grad():
        fusion.weight.copy_(torch.tensor([-2.0, 3.0, 1.0]))
    w = fusion.normalized_weights()
    assert (w >= 0).all()
    assert w[0] == 0
    assert torch.allclose(w, torch.tensor([0.0, 3 / (4 + 1e-6), 1 / (4 + 1e-6)]))
    assert abs(w.sum().item() - 1) < 1e-5
    # fused output: ReLU on every input, then the weighted sum
    xs = [torch.randn(1, 2, 3, 3) for _ in range(3)]
    expected = sum(wj * torch.relu(x) for wj, x in zip(w, xs))
    assert torch.allclose(fusion(xs), expected)


def test_fusion_weights_in_model_after_negative_assignment():
    model = BiFPN(IN_CHANNELS, out_channels=8)
    fusions = _fusions(model)
    # n-1 top-down (2 inputs) + n-2 three-input + 1 two-input bottom-up
    assert sorted(f.num_inputs for f in fusions) == [2] * 4 + [3] * 2
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for f in fusions:
            f.weight.copy_(torch.randn(f.num_inputs, generator=g))
            f.weight[0] = -1.0  # one negative ...
            f.weight[-1] = 0.5  # ... and at least one positive
    for f in fusions:
        w = f.normalized_weights()
        assert (w >= 0).all()
        assert abs(w.sum().item() - 1) < 1e-5
    model.init_weights()
    assert all(torch.equal(f.weight, torch.ones(f.num_inputs)) for f in fusions)


@pytest.mark.parametrize('cls, kwargs, widths', [
    (BiFPN, dict(out_channels=8), [8, 8, 8, 8]),
    (BiFPN, dict(out_channels=[6, 8, 10, 12]), [6, 8, 10, 12]),
    (BiFPN, dict(out_channels=None, width_mult=2), [8, 16, 32, 64]),
])
def test_output_shapes_odd_sizes(cls, kwargs, widths):
    model = cls(IN_CHANNELS, **kwargs)
    outs = model(_inputs())
    assert isinstance(outs, tuple) and len(outs) == 4
    assert [tuple(o.shape) for o in outs] == [(2, c, h, w) for c, (h, w) in zip(widths, ODD_SIZES)]
    assert all((o >= 0).all() for o in outs)  # FRSKD: ReLU'd outputs


@pytest.mark.parametrize(
    'sizes',
    [
        [(33, 47), (16, 23), (8, 11)],  # floor-halved: pooled maps get cropped
        [(32, 32), (17, 17), (9, 9)],  # pooled maps get padded
    ])
def test_sizes_not_from_same_padding(sizes):
    model = BiFPN(IN_CHANNELS[:3], out_channels=4)
    outs = model(_inputs(IN_CHANNELS[:3], sizes))
    assert [tuple(o.shape[-2:]) for o in outs] == sizes


def test_two_levels():
    model = BiFPN([3, 5], out_channels=4)
    outs = model(_inputs([3, 5], [(7, 7), (4, 4)]))
    assert [tuple(o.shape) for o in outs] == [(2, 4, 7, 7), (2, 4, 4, 4)]


def _assert_all_params_get_grad(model, inputs):
    outs = model(inputs)
    g = torch.Generator().manual_seed(3)
    # a random projection: BN makes plain sums insensitive to some weights
    loss = sum((o * torch.randn(o.shape, generator=g)).sum() for o in outs)
    loss.backward()
    missing = [
        name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert not missing, f'no gradient for {missing}'


def test_gradient_reaches_every_parameter_frskd():
    model = _bifpnc(IN_CHANNELS)
    _assert_all_params_get_grad(model, _inputs())


def test_gradient_reaches_every_parameter_efficientdet():
    model = BiFPN(IN_CHANNELS[1:], out_channels=8, **EFFDET_KWARGS)
    _assert_all_params_get_grad(model, _inputs(IN_CHANNELS[1:], ODD_SIZES[:3]))


def test_efficientdet_configuration():
    model = BiFPN(IN_CHANNELS[1:], out_channels=8, **EFFDET_KWARGS)
    assert len(model.layers) == 3
    # P6 from C5: 1x1 conv + BN (widths differ) then pool; P7: pool only
    assert isinstance(model.extra_convs[0][0], nn.Sequential)
    assert isinstance(model.extra_convs[1][0], nn.Identity)
    first, later = model.layers[0], model.layers[1:]
    # laterals only in the first layer and only for the input levels
    assert [isinstance(m, nn.Identity) for m in first.td_laterals] == [False] * 3 + [True] * 2
    assert [isinstance(m, nn.Identity) for m in first.bu_laterals] == [False] * 2 + [True] * 2
    for layer in later:
        assert all(isinstance(m, nn.Identity) for m in [*layer.td_laterals, *layer.bu_laterals])
    # equal widths: no resample convs
    for layer in model.layers:
        assert all(isinstance(m, nn.Identity) for m in [*layer.up_convs, *layer.down_convs])
        assert all(f.eps == 1e-4 and not f.relu_inputs for f in layer.td_fusions)
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    assert any(isinstance(m, nn.SiLU) for m in model.modules())

    outs = model(_inputs(IN_CHANNELS[1:], ODD_SIZES[:3]))
    p6 = (math.ceil(9 / 2), math.ceil(12 / 2))  # from C5's 9x12
    p7 = (math.ceil(p6[0] / 2), math.ceil(p6[1] / 2))
    assert [tuple(o.shape) for o in outs] == [(2, 8, *s) for s in ODD_SIZES[:3] + [p6, p7]]
    assert any((o < 0).any() for o in outs)  # pre-activation (BN) outputs


def test_width_mult_extra_levels_keep_last_width():
    model = _bifpnc([4, 8], num_outs=4)
    outs = model(_inputs([4, 8], [(8, 8), (4, 4)]))
    assert [o.shape[1] for o in outs] == [8, 16, 16, 16]
    assert [tuple(o.shape[-2:]) for o in outs] == [(8, 8), (4, 4), (2, 2), (1, 1)]


def test_return_pre_activation():
    torch.manual_seed(0)
    post = BiFPN(IN_CHANNELS, out_channels=8)
    pre = BiFPN(IN_CHANNELS, out_channels=8, return_pre_activation=True)
    pre.load_state_dict(post.state_dict())
    inputs = _inputs()
    outs_post, outs_pre = post(inputs), pre(inputs)
    assert any((o < 0).any() for o in outs_pre)
    for a, b in zip(outs_post, outs_pre):
        assert torch.allclose(a, torch.relu(b))


def test_init_weights():
    model = BiFPN(IN_CHANNELS, out_channels=8)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.weight.fill_(3.0)
            m.bias.fill_(2.0)
    model.init_weights()
    assert all((m.weight == 1).all() and (m.bias == 0).all() for m in bns)


def test_maxpool_same():
    pool = MaxPool2dSame(3, 2)
    x = -torch.rand(1, 1, 5, 6) - 1  # all negative: padding must not win
    y = pool(x)
    assert y.shape[-2:] == (3, 3)
    assert (y < -1 + 1e-6).all()
    # TF "SAME": H=5 -> pad 1/1, W=6 -> pad 0/1
    assert y[0, 0, 0, 0] == x[0, 0, :2, :3].max()
    assert y[0, 0, 2, 2] == x[0, 0, 3:, 4:].max()


@pytest.mark.parametrize(
    'inputs',
    [
        _inputs(IN_CHANNELS[:3], ODD_SIZES[:3]),  # one level missing
        _inputs([4, 8, 16, 31], ODD_SIZES),  # wrong width
    ])
def test_input_mismatch_error(inputs):
    model = BiFPN(IN_CHANNELS, out_channels=4)
    with pytest.raises(ValueError) as err:
        model(inputs)
    msg = str(err.value)
    assert str(IN_CHANNELS) in msg
    assert str(tuple(inputs[-1].shape)) in msg


@pytest.mark.parametrize('kwargs', [
    dict(out_channels=[4, 4]),
    dict(out_channels=None),
    dict(out_channels=8, width_mult=2),
    dict(out_channels=8, num_outs=3),
    dict(out_channels=8, act_cfg='gelu'),
    dict(out_channels=8, norm_cfg=dict(type='NoSuchNorm')),
    dict(out_channels=8, norm_cfg=dict(momentum=0.01)),
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        BiFPN(IN_CHANNELS, **kwargs)


def test_registered_in_mmdet_and_mmseg_scopes():
    pytest.importorskip('mmengine')
    from mmengine.registry import MODELS as ROOT_MODELS
    from mmengine.registry import DefaultScope
    assert ROOT_MODELS.get('BiFPN') is BiFPN
    cfg = dict(type='BiFPN', in_channels=[4, 8], out_channels=None, width_mult=2)
    for scope in ('mmdet', 'mmseg'):
        registry = pytest.importorskip(f'{scope}.registry')
        with DefaultScope.overwrite_default_scope(scope):
            model = registry.MODELS.build(cfg)
        assert type(model) is BiFPN, scope


# ------------------------------------------------ the authors' BiFPN (FRSKD)
def _authors_pool(x):
    """The authors' MaxPool2dStaticSamePadding(3, 2): zero padding."""
    pads = []
    for size in reversed(x.shape[-2:]):
        extra = (math.ceil(size / 2) - 1) * 2 - size + 3
        pads += [extra // 2, extra - extra // 2]
    return F.max_pool2d(F.pad(x, pads), 3, 2)


def _authors_forward(model, inputs):
    """BiFPN_layer.forward of MingiJi/FRSKD classification/models/bifpnc.py
    (85-122; bifpn.py 83-118 is the same without resample convs), written
    out with this module's weights: ReLU on the inputs before both lateral
    sets, on a map before it is resized for the next level, and on the
    lateral / top-down inputs of each fusion; ReLU'd outputs."""
    layer, relu, n = model.layers[0], F.relu, len(inputs)

    def fuse(fusion, xs):
        return sum(w * x for w, x in zip(fusion.normalized_weights(), xs))

    trans = [layer.bu_laterals[i - 1](relu(inputs[i])) for i in range(1, n)]
    lat = [layer.td_laterals[i](relu(x)) for i, x in enumerate(inputs)]
    up = [lat[-1]]
    for i in range(n - 2, -1, -1):
        resized = layer.up_convs[i](F.interpolate(relu(up[0]), scale_factor=2, mode='nearest'))
        up.insert(0, layer.td_nodes[i](fuse(layer.td_fusions[i], [relu(lat[i]), resized])))
    outs = [up[0]]
    for i in range(1, n):
        down = layer.down_convs[i - 1](_authors_pool(relu(outs[-1])))
        xs = [relu(trans[i - 1]), relu(up[i]), down] if i < n - 1 else [relu(trans[i - 1]), down]
        outs.append(layer.bu_nodes[i - 1](fuse(layer.bu_fusions[i - 1], xs)))
    return [relu(o) for o in outs]


POW2_SIZES = [(16, 16), (8, 8), (4, 4), (2, 2)]


def _randomise(model, seed=0):
    """Signed fusion weights and BN affines, so that a misplaced ReLU or a
    swapped fusion input shows in the outputs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, FastNormalizedFusion):
                m.weight.copy_(torch.rand(m.num_inputs, generator=g) * 2 - .5)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.num_features, generator=g) + .5)
                m.bias.copy_(torch.randn(m.num_features, generator=g))
    return model


@pytest.mark.parametrize('kwargs', [dict(out_channels=None, width_mult=2), dict(out_channels=8)])
def test_matches_the_authors_forward(kwargs):
    model = _randomise(BiFPN(IN_CHANNELS, **kwargs))
    inputs = _inputs(sizes=POW2_SIZES)  # signed, like FPN outputs
    outs = model(inputs)
    for ours, ref in zip(outs, _authors_forward(model, inputs)):
        torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize('flag',
                         ['relu_before_lateral', 'relu_before_resample', 'relu_before_fusion'])
def test_each_relu_is_needed(flag):
    """Without any one of the three ReLU placements the output leaves the
    authors' (so the test above fails if one is dropped)."""
    model = _randomise(_bifpnc(IN_CHANNELS, **{flag: False}))
    inputs = _inputs(sizes=POW2_SIZES)
    diffs = [(o - r).abs().max().item()
             for o, r in zip(model(inputs), _authors_forward(model, inputs))]
    assert max(diffs) > 1e-3


def test_resample_convs_only_where_widths_change():
    """The authors' single-width BiFPN resizes with max-pool / nearest only
    (bifpn.py:72,78); BiFPNc needs a 1x1 Conv-BN-ReLU to change the width
    (bifpnc.py:72-77)."""
    single, c = BiFPN(IN_CHANNELS, out_channels=8), _bifpnc(IN_CHANNELS)
    layer = single.layers[0]
    assert all(isinstance(m, nn.Identity) for m in [*layer.up_convs, *layer.down_convs])
    for m in [*c.layers[0].up_convs, *c.layers[0].down_convs]:
        assert [type(x) for x in m] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
        assert m[0].kernel_size == (1, 1)
    # resample_conv=True: the wiring of an earlier version of this module
    old = BiFPN(IN_CHANNELS, out_channels=8, resample_conv=True)
    n_resample = 2 * (len(IN_CHANNELS) - 1)
    assert _num_params(old) - _num_params(single) == n_resample * (8 * 8 + 2 * 8)


def _num_params(model):
    return sum(p.numel() for p in model.parameters())


def _authors_count(c, d, depth=2):
    """Parameters of the authors' BiFPN_layer (first layer, no fc) for input
    widths c and output widths d, from their code structure: 1x1
    Conv(no bias)-BN laterals on every level (lat_conv) and on levels 1..
    (lat_conv2), depth x (dw 3x3 + pw 1x1 + BN) nodes, fusion weights, and
    1x1 Conv-BN resample convs where widths differ (BiFPNc)."""
    n = len(c)

    def conv_bn(i, o):
        return i * o + 2 * o

    def node(w):
        return depth * (9 * w + w * w + 2 * w)

    count = sum(conv_bn(c[i], d[i]) for i in range(n))
    count += sum(conv_bn(c[i], d[i]) + node(d[i]) for i in range(1, n))
    count += sum(node(d[i]) for i in range(n - 1))
    count += 2 * (n - 1) + 3 * (n - 2) + 2
    count += sum(
        conv_bn(d[i - 1], d[i]) + conv_bn(d[i], d[i - 1]) for i in range(1, n) if d[i] != d[i - 1])
    return count


WRN16_2 = [32, 64, 128]  # network_channels of WRN-16-2 (wrn.py:72)
WRN16_2_PARAMS = 703060


@pytest.mark.parametrize('model, widths, params, ratio', [
    (lambda: _bifpnc(WRN16_2, width_mult=2), [64, 128, 256], 386185, 0.586),
    (lambda: _bifpnc(WRN16_2, width_mult=1), [32, 64, 128], 121417, 0.191),
    (lambda: BiFPN(WRN16_2, out_channels=256), [256] * 3, 655881, 0.969),
    (lambda: BiFPN(WRN16_2, out_channels=128), [128] * 3, 196873, 0.298),
])
def test_parameter_counts_of_the_authors_table6(model, widths, params, ratio):
    """FRSKD Table 6 against WRN-16-2 on CIFAR-100: the BiFPN plus the
    authors' classifier (a Linear from the last width to 100 classes)."""
    model = model()
    assert _num_params(model) == _authors_count(WRN16_2, widths) == params
    fc = widths[-1] * 100 + 100
    assert round((params + fc) / WRN16_2_PARAMS, 3) == ratio


def test_parameter_count_cifar_resnet18_bifpnc():
    """BiFPNc width 2, depth 2 on CIFAR ResNet-18 stages (resnet.py:151):
    6,273,294 parameters without the fc."""
    widths = [64, 128, 256, 512]
    model = _bifpnc(widths, width_mult=2, node_num_convs=2)
    assert _num_params(model) == 6273294
    assert _authors_count(widths, [2 * c for c in widths]) == 6273294
