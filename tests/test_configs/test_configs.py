"""Every config under configs/ loads, builds its model, computes its losses on a batch of the
synthetic data through the config's own pipelines (its datasets load), and one config per model
family (the same module types: depth, width, classes and data aside) trains one step and
predicts."""
import glob
import hashlib
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from skd_det.testing import FAST_CONFIGS, REPO
from skd_det.utils import set_data_root, task_of
from skd_det.utils.config import iter_datasets

# studies/ holds seed-study files of tools/analysis/run_study.py, not model configs. The CPU
# configs come first: the first config of a family the session meets (on any worker) trains the
# step, and a CPU one (R18 instead of R101) trains it in a fraction of the time
CONFIGS = sorted((p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                  if '_base_' not in p and f'{osp.sep}studies{osp.sep}' not in p),
                 key=lambda p: ('_cpu' not in osp.basename(p), p))


def _registries(cfg):
    if task_of(cfg) == 'det':
        from mmdet.registry import DATASETS, MODELS
    else:
        from mmseg.registry import DATASETS, MODELS
    init_default_scope(cfg.default_scope)
    return DATASETS, MODELS


def _synthetic_root(cfg, request):
    """The synthetic dataset matching the config's (first) training dataset type."""
    _, ds = next(iter_datasets(cfg.train_dataloader, 'train_dataloader'))
    kind = ds['type']
    if kind == 'VOCDataset':
        return request.getfixturevalue('synthetic_voc')
    if kind == 'PascalVOCDataset':
        return osp.join(request.getfixturevalue('synthetic_voc'), 'VOC2012')
    if kind == 'CocoDataset':
        return request.getfixturevalue('synthetic_coco')
    if kind == 'CityscapesDataset':
        return request.getfixturevalue('synthetic_cityscapes')
    raise AssertionError(f'no synthetic data for {kind}')


def _shrink(cfg):
    """Real-dataset pipelines (1333x800 images, 512x1024 crops) make a CPU step slow: use
    small images and crops, leaving the model as configured."""
    small = (128, 128)
    for node in _dicts(cfg._cfg_dict):
        if node.get('type') in ('Resize', 'RandomResize') and 'scale' in node:
            node['scale'] = small
        if node.get('type') == 'RandomCrop':
            node['crop_size'] = small
        if node.get('type') == 'Pad' and 'size' in node:
            node['size'] = small
    # a wrapper's data_preprocessor is None when it takes the student's (configs/README.md)
    for node in (cfg.model, cfg.model.get('student') or {}):
        if (node.get('data_preprocessor') or {}).get('size'):
            node.data_preprocessor.size = small


def _dicts(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _dicts(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _dicts(v)


def _types(node):
    """The module types of a model config, depth first: its family."""
    if isinstance(node, dict):
        if 'type' in node:
            yield node['type'] if isinstance(node['type'], str) else node['type'].__name__
        for key, value in node.items():
            if key not in ('data_preprocessor', 'init_cfg'):  # both run for every config
                yield from _types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _types(value)


@pytest.fixture(scope='session')
def trained_families(tmp_path_factory):
    """A folder every pytest-xdist worker of this session shares: a file per model family
    whose step a worker has taken, so that each family trains once in the whole session."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base) / 'trained_families'
    root.mkdir(exist_ok=True)
    return root


def _claim(root, family):
    """True for the first test of the session to claim ``family`` (atomic across workers)."""
    try:
        os.close(
            os.open(root / hashlib.sha1(repr(family).encode()).hexdigest(), os.O_CREAT | os.O_EXCL))
        return True
    except FileExistsError:
        return False


# datasets by their config (data root and pipeline included) built in this process: most
# configs share a dataset block (voc0712, coco, cityscapes), built once
_DATASETS = {}


def _dataset(registry, ds_cfg):
    if repr(ds_cfg) not in _DATASETS:
        _DATASETS[repr(ds_cfg)] = registry.build(ds_cfg)
    return _DATASETS[repr(ds_cfg)]


def test_configs_found():
    names = {osp.relpath(p, REPO) for p in CONFIGS}
    assert {
        'configs/retinanet/retinanet_r50_fpn_1x_voc0712.py',
        'configs/retinanet/retinanet_r50_fpn_1x_coco.py',
        'configs/fcn/fcn_r50-d8_512x1024_cityscapes.py',
        'configs/fcn/fcn_r50-d8_512x512_voc12aug.py'
    } <= names


@pytest.mark.parametrize(
    'path',
    [p if p.endswith(FAST_CONFIGS) else pytest.param(p, marks=pytest.mark.slow) for p in CONFIGS],
    ids=lambda p: osp.relpath(p, REPO))
def test_config_trains_one_step_on_synthetic_data(path, request, trained_families):
    cfg = Config.fromfile(path)
    if 'custom_imports' in cfg:
        import importlib
        for name in cfg.custom_imports['imports']:
            importlib.import_module(name)
    DATASETS, MODELS = _registries(cfg)
    set_data_root(cfg, _synthetic_root(cfg, request))
    _shrink(cfg)

    from mmengine.dataset import pseudo_collate
    for key in ('train_dataloader', 'test_dataloader'):
        for _, ds_cfg in iter_datasets(cfg[key], key):
            assert len(_dataset(DATASETS, ds_cfg)) > 0
    train_set = _dataset(DATASETS, cfg.train_dataloader.dataset)
    batch = pseudo_collate([train_set[0], train_set[1]])
    test_set = _dataset(DATASETS, cfg.test_dataloader.dataset)

    torch.manual_seed(0)
    model = MODELS.build(cfg.model)  # no init_weights: the R50 configs point at URLs
    model.train()
    data = model.data_preprocessor(batch, True)
    if not _claim(trained_families, tuple(_types(cfg.model.to_dict()))):
        # the family's backward, step and predict ran: this config's shapes, classes and
        # assigners meet its data in the forward and the losses
        with torch.no_grad():
            loss, log_vars = model.parse_losses(model(**data, mode='loss'))
        assert torch.isfinite(loss) and loss.item() > 0, log_vars
        return
    optim = torch.optim.SGD(model.parameters(), lr=1e-4)
    losses = model(**data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    assert torch.isfinite(loss) and loss.item() > 0, log_vars
    loss.backward()
    optim.step()
    with torch.no_grad():
        model.eval()
        preds = model(
            **model.data_preprocessor(pseudo_collate([test_set[0]]), False), mode='predict')
    assert len(preds) == 1
