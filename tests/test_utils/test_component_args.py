# Copyright (c) skd_det contributors.
"""Misspelt keys inside typed components: the full key path and the closest argument names,
no false alarm on any shipped config."""
import glob
import os.path as osp

import pytest
import torch.nn as nn
from mmengine.config import Config

from skd_det.testing import FAST_CONFIGS
from skd_det.utils import InputError, load_config
from skd_det.utils.component_args import accepted_args, check_component_args

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_CFG = osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py')
FRSKD_CFG = osp.join(REPO, 'configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py')
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p and '/studies/' not in p)  # studies: run_study.py's


class Base(nn.Module):

    def __init__(self, a, b=1, *, c=2):
        super().__init__()


class HandsOn(Base):

    def __init__(self, d, **kwargs):
        super().__init__(**kwargs)


class Consumes(Base):

    def __init__(self, **kwargs):
        self.x = kwargs.pop('x', 0)  # a key the signature does not show
        super().__init__(**kwargs)


class Keeps(Base):

    def __init__(self, a, **kwargs):
        super().__init__(a)
        self.extra = kwargs


def build_fn(p, q=0):
    return p + q


def test_accepted_args_follow_only_handed_on_kwargs():
    assert accepted_args(Base) == {'a', 'b', 'c'}
    assert accepted_args(HandsOn) == {'a', 'b', 'c', 'd'}
    assert accepted_args(Consumes) is None  # unknown keys may be valid: never flagged
    assert accepted_args(Keeps) is None
    assert accepted_args(build_fn) == {'p', 'q'}
    assert accepted_args(lambda **kw: kw) is None


@pytest.mark.parametrize(
    'options,message',
    [
        ({
            'model.bbox_head.loss_cls.gama': 2.0
        },
         "model.bbox_head.loss_cls.gama: FocalLoss takes no argument 'gama'; did you mean gamma?"),
        ({
            'model.backbone.norm_evall': False
        },
         "model.backbone.norm_evall: ResNet takes no argument 'norm_evall'; did you mean norm_eval?"
         ),
        ({
            'train_dataloader.dataset.datasets.0.pipeline.2.scael': (128, 128)
        }, "train_dataloader.dataset.datasets[0].pipeline[2].scael: Resize takes no argument "
         "'scael'; did you mean scale"),
        ({
            'default_hooks.checkpoint.intervall': 2
        }, None),  # CheckpointHook keeps **kwargs for the saver: cannot be checked
    ])
def test_nested_misspelt_keys(options, message):
    if message is None:
        load_config(DET_CFG, cfg_options=options)
        return
    with pytest.raises(InputError) as e:
        load_config(DET_CFG, cfg_options=options)
    assert str(e.value).startswith(message)


def test_misspelt_key_in_the_self_teacher():
    """The issue's example: a typo in the FRSKD teacher's BiFPN."""
    with pytest.raises(
            InputError,
            match=r"model\.teacher\.neck\.out_chanels: BiFPN takes no "
            r"argument 'out_chanels'; did you mean out_channels"):
        load_config(FRSKD_CFG, cfg_options={'model.teacher.neck.out_chanels': 64})


def test_layer_cfgs_and_builder_keys_are_not_flagged():
    cfg = Config.fromfile(DET_CFG)
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=False)  # build_norm_layer's
    cfg.custom_hooks = [dict(type='CheckFiniteHook', interval=2, priority='HIGH')]
    check_component_args(cfg)


@pytest.mark.parametrize(
    'path',
    [p if p.endswith(FAST_CONFIGS) else pytest.param(p, marks=pytest.mark.slow) for p in CONFIGS],
    ids=lambda p: osp.relpath(p, REPO))
def test_no_false_alarm_on_shipped_configs(path):
    check_component_args(Config.fromfile(path))
