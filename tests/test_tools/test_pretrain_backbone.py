# Copyright (c) skd_det contributors.
"""tools/misc/pretrain_backbone.py on a tiny budget: deterministic, cached, and loaded by
mmdet's ``Pretrained`` init without missing or unexpected backbone keys; the ``*_pretrained``
configs and studies of the pretrained-backbone proxy."""
import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RETINANET = osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py')
FCN = osp.join(REPO, 'configs/fcn/fcn_r18-d8_cpu_cityscapes.py')
PRETRAINED = osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_pretrained_voc0712.py')
EFFICIENTDET_PRETRAINED = osp.join(
    REPO, 'configs/efficientdet/efficientdet_d0_cpu_pretrained_voc0712.py')
TINY = [
    '--num-classes', '6', '--images', '4', '--epochs', '1', '--img-size', '64', '--batch-size', '2'
]
# study set-up through the tools, not a model build: `make test` only
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures('one_thread')]


@pytest.mark.slow
def test_pretrain_backbone_loads_as_pretrained(tmp_path, load_tool):
    import torch
    from mmdet.models.backbones import ResNet
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
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


@pytest.mark.slow
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


def assert_backbone_is_the_files(cfg, saved, frozen):
    """Build ``cfg.model`` (mmdet scope) and initialise it: every backbone weight and BN
    statistic is ``saved``'s (none missing, none unexpected); in training mode the
    parameters under the ``frozen`` prefixes, and only those, take no gradient, and BN
    statistics are kept (``norm_eval``)."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from torch.nn.modules.batchnorm import _BatchNorm
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = model.backbone.state_dict()
    assert state.keys() == saved.keys()
    assert all(torch.equal(state[k], saved[k]) for k in saved)
    model.train()
    params = dict(model.backbone.named_parameters())
    assert not any(p.requires_grad for k, p in params.items() if k.startswith(frozen))
    assert all(p.requires_grad for k, p in params.items() if not k.startswith(frozen))
    assert not any(m.training for m in model.backbone.modules() if isinstance(m, _BatchNorm))


@pytest.mark.slow
def test_pretrain_efficientnet_loads_into_the_pretrained_efficientdet(tmp_path, load_tool):
    import torch
    from mmengine.config import Config

    import skd_det.det  # noqa: F401  (registers EfficientDet)
    tool = load_tool('tools/misc/pretrain_backbone.py')
    args = TINY + ['--arch', 'efficientnet-b0']
    a = tool.main(args + ['--out', str(tmp_path / 'a.pth')])
    b = tool.main(args + ['--out', str(tmp_path / 'b.pth')])
    saved = torch.load(a, weights_only=True)['state_dict']
    other = torch.load(b, weights_only=True)['state_dict']
    assert saved.keys() == other.keys() and all(torch.equal(saved[k], other[k]) for k in saved)
    cfg = Config.fromfile(EFFICIENTDET_PRETRAINED)
    cfg.model.backbone.pretrained = a
    # stem and stride-2 block frozen (features.0, features.1)
    assert_backbone_is_the_files(cfg, saved, frozen=('features.0.', 'features.1.'))
    # the RetinaNet proxy's schedule
    schedule = Config.fromfile(osp.join(REPO, 'configs/_base_/schedules/cpu_det_pretrained_6e.py'))
    for key in ('train_cfg', 'optim_wrapper', 'param_scheduler'):
        assert cfg[key] == schedule[key], key


def test_pretrain_refuses_resnet_options_for_efficientnet(load_tool):
    tool = load_tool('tools/misc/pretrain_backbone.py')
    for option in (['--depth', '18'], ['--deep-stem']):
        with pytest.raises(SystemExit):
            tool.parse_args(['--arch', 'efficientnet-b0'] + option)


@pytest.mark.parametrize(
    'config,args',
    [(PRETRAINED, []),
     (osp.join(REPO, 'configs/fcn/fcn_r18-d8_cpu_pretrained_cityscapes.py'), ['--deep-stem']),
     (EFFICIENTDET_PRETRAINED, ['--arch', 'efficientnet-b0'])])
def test_pretrained_config_points_at_the_tools_default_weights(config, args, load_tool):
    from mmengine.config import Config
    tool = load_tool('tools/misc/pretrain_backbone.py')
    default = tool.cache_path(tool.parse_args(args))
    backbone = Config.fromfile(config).model.backbone
    # mmdet/mmseg's ResNets take init_cfg; TorchvisionEfficientNet its own `pretrained`
    checkpoint = backbone.init_cfg.checkpoint if 'init_cfg' in backbone else backbone.pretrained
    # the config spells out the default cache root (SKD_DET_CACHE unset)
    assert osp.relpath(default, tool.CACHE) == osp.relpath(
        osp.expanduser(checkpoint), osp.expanduser('~/.cache/skd_det'))


@pytest.mark.slow
def test_pretrained_config_loads_the_tools_weights(tmp_path, load_tool):
    import torch
    from mmengine.config import Config
    weights = load_tool('tools/misc/pretrain_backbone.py').main(
        TINY + ['--out', str(tmp_path / 'r18.pth')])
    saved = torch.load(weights, weights_only=True)['state_dict']
    cfg = Config.fromfile(PRETRAINED)
    cfg.model.backbone.init_cfg.checkpoint = weights
    # mmdet's R50 recipe: stem and first stage frozen
    assert_backbone_is_the_files(cfg, saved, frozen=('conv1.', 'bn1.', 'layer1.'))


def _plan_first_seed(path, runs_dir):
    """The study file at ``path`` and its runs planned for its first seed only: the seed sets
    ``randomness.seed`` and nothing else, and every seed writes (yapf-formats) its config."""
    from skd_det.analysis import study as studies
    spec = studies.load_study(path)
    spec.seeds = spec.seeds[:1]
    return spec, studies.plan_runs(spec, str(runs_dir))


@pytest.mark.parametrize('study', [
    'frskd/studies/frskd_retinanet_r18_pretrained_hard_voc.py',
    'lgd/studies/lgd_retinanet_r18_pretrained_hard_voc.py',
    'frskd/studies/frskd_retinanet_r18_pretrained_12e_hard_voc.py',
    'lgd/studies/lgd_retinanet_r18_pretrained_12e_hard_voc.py',
    'frskd/studies/frskd_efficientdet_d0_pretrained_12e_hard_voc.py',
    'byot/studies/byot_pskd_retinanet_r18_pretrained_12e_hard_voc.py',
    'frskd/studies/frskd_fcn_r18-d8_pretrained_hard_cityscapes.py'
])
def test_pretrained_study_gives_the_student_the_baselines_start(study, tmp_path):
    """The distillers' variants set up their student through cfg-options: its model and
    schedule are exactly the pretrained baseline's, so the seeds pair up."""
    from mmengine.config import Config
    spec, runs = _plan_first_seed(osp.join(REPO, 'configs', study), tmp_path)
    configs = {r.variant: Config.fromfile(r.config) for r in runs}
    base = configs.pop(spec.baseline)
    assert configs, f'{study} has no method variant'
    for variant, wrapper in configs.items():
        assert wrapper.model.student.to_dict() == base.model.to_dict(), variant
        for key in ('train_cfg', 'optim_wrapper', 'param_scheduler', 'randomness'):
            assert wrapper[key] == base[key], (variant, key)


def test_blur_study_compares_at_equal_images_seen(tmp_path):
    """S-KD (two views a step) against blur augmentation trained twice the epochs from the same
    pretrained start; the blurred study tests the same runs, the image blurred after loading."""
    from mmengine.config import Config
    folder = osp.join(REPO, 'configs/blur_skd/studies')
    spec, runs = _plan_first_seed(
        osp.join(folder, 'blur_skd_retinanet_r18_pretrained_12e_hard_voc.py'), tmp_path)
    configs = {r.variant: Config.fromfile(r.config) for r in runs}
    augmented, skd = configs[spec.baseline], configs['skd']
    for part in ('backbone', 'bbox_head', 'train_cfg', 'test_cfg'):
        assert skd.model.student[part] == augmented.model[part], part
    assert skd.model.student.neck[0] == augmented.model.neck  # + S-KD's deblurring block
    assert skd.optim_wrapper == augmented.optim_wrapper
    assert augmented.train_cfg.max_epochs == 2 * skd.train_cfg.max_epochs
    assert configs['blur_aug_12e'].train_cfg == skd.train_cfg  # as many steps
    for cfg in (augmented, skd, configs['blur_aug_12e']):  # the cosine ends with the training
        assert cfg.param_scheduler[1].end == cfg.train_cfg.max_epochs

    blurred_study = osp.join(folder, 'blur_skd_retinanet_r18_pretrained_12e_blurred_voc.py')
    _, blurred = _plan_first_seed(blurred_study, tmp_path)
    assert [r.work_dir for r in blurred] == [r.work_dir for r in runs]  # nothing trained again
    for run in blurred:
        pipeline = Config.fromfile(run.test_config).test_dataloader.dataset.pipeline
        sharp = Config.fromfile(run.config).test_dataloader.dataset.pipeline
        assert pipeline[0] == sharp[0] and pipeline[0].type == 'LoadImageFromFile'
        assert pipeline[1].type == 'MotionBlurCorruption' and pipeline[1].severity == 3
        assert pipeline[2:] == sharp[1:]
