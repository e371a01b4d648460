# Copyright (c) skd_det contributors.
"""tools/misc/pretrain_backbone.py on a tiny budget: deterministic, cached, and loaded by
mmdet's ``Pretrained`` init without missing or unexpected backbone keys."""
import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RETINANET = osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py')
FCN = osp.join(REPO, 'configs/fcn/fcn_r18-d8_cpu_cityscapes.py')
TINY = ['--num-classes', '6', '--images', '4', '--epochs', '1', '--img-size', '64',
        '--batch-size', '2']
pytestmark = pytest.mark.usefixtures('one_thread')


def test_pretrain_backbone_loads_as_pretrained(tmp_path, load_tool):
    import torch
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from mmdet.models.backbones import ResNet
    tool = load_tool('tools/misc/pretrain_backbone.py')
    a = tool.main(TINY + ['--out', str(tmp_path / 'a.pth')])
    b = tool.main(TINY + ['--out', str(tmp_path / 'b.pth')])
    sa = torch.load(a, weights_only=True)['state_dict']
    sb = torch.load(b, weights_only=True)['state_dict']
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    mtime = os.path.getmtime(a)
    assert tool.main(TINY + ['--out', a]) == a and os.path.getmtime(a) == mtime  # cached

    # the CPU RetinaNet's backbone, as its config builds it, with ImageNet-style init_cfg
    cfg = Config.fromfile(RETINANET).model.backbone.to_dict()
    assert cfg.pop('type') == 'ResNet'
    backbone = ResNet(**{**cfg, 'init_cfg': dict(type='Pretrained', checkpoint=a)})
    backbone.init_weights()
    assert all(torch.equal(v, sa[k]) for k, v in backbone.state_dict().items())
    # strict: the file holds exactly the backbone's keys (no classifier, nothing missing)
    load_checkpoint(ResNet(**cfg), a, strict=True)


def test_pretrain_deep_stem_loads_into_mmseg_resnetv1c(tmp_path, load_tool):
    import torch
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from mmseg.models.backbones import ResNetV1c
    path = load_tool('tools/misc/pretrain_backbone.py').main(
        TINY + ['--deep-stem', '--out', str(tmp_path / 'v1c.pth')])
    saved = torch.load(path, weights_only=True)['state_dict']
    assert 'stem.0.weight' in saved and 'conv1.weight' not in saved
    # FCN R18-D8's backbone (dilated, strided as configured): the same keys, strictly
    cfg = Config.fromfile(FCN).model.backbone.to_dict()
    assert cfg.pop('type') == 'ResNetV1c'
    load_checkpoint(ResNetV1c(**cfg), path, strict=True)
