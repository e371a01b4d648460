import json
import os.path as osp

import pytest
from mmengine.config import Config

from skd_det.utils import InputError, check_cfg_options, check_datasets, set_data_root, task_of

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VOC_CFG = osp.join(REPO, 'configs/retinanet/retinanet_r50_fpn_1x_voc0712.py')
COCO_CFG = osp.join(REPO, 'configs/retinanet/retinanet_r50_fpn_1x_coco.py')
CITY_CFG = osp.join(REPO, 'configs/fcn/fcn_r50-d8_512x1024_cityscapes.py')
VOCSEG_CFG = osp.join(REPO, 'configs/fcn/fcn_r50-d8_512x512_voc12aug.py')


def _all_strings(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from _all_strings(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _all_strings(v)
    elif isinstance(node, str):
        yield node


def test_task_of():
    assert task_of(Config.fromfile(VOC_CFG)) == 'det'
    assert task_of(Config.fromfile(CITY_CFG)) == 'seg'
    with pytest.raises(InputError, match='default_scope'):
        task_of(Config(dict(default_scope='mmpretrain')))


@pytest.mark.parametrize('path,old', [(VOC_CFG, 'data/VOCdevkit'), (COCO_CFG, 'data/coco'),
                                      (CITY_CFG, 'data/cityscapes'),
                                      (VOCSEG_CFG, 'data/VOCdevkit/VOC2012')])
def test_set_data_root_moves_every_path(path, old):
    cfg = Config.fromfile(path)
    replaced = set_data_root(cfg, '/tmp/elsewhere/')
    assert replaced == [old]
    moved = []
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                'test_evaluator'):
        strings = list(_all_strings(cfg.get(key)))
        assert not [s for s in strings if s.startswith('data/')], key
        moved += [s for s in strings if s.startswith('/tmp/elsewhere')]
    assert moved, 'no path was rewritten'
    # mmdet's bases join 'data_root + sub/path': the separator must survive
    assert all(s == '/tmp/elsewhere' or s.startswith('/tmp/elsewhere/') for s in moved)


def test_set_data_root_coco_evaluator_ann_file():
    cfg = Config.fromfile(COCO_CFG)
    set_data_root(cfg, 'syn/coco')
    assert cfg.val_evaluator.ann_file == 'syn/coco/annotations/instances_val2017.json'
    assert cfg.train_dataloader.dataset.data_root == 'syn/coco/'


def test_set_data_root_leaves_prefix_lookalikes():
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(type='X', data_root='data/coco', extra='data/coco2/file.json'))))
    set_data_root(cfg, 'new')
    assert cfg.train_dataloader.dataset.data_root == 'new'
    assert cfg.train_dataloader.dataset.extra == 'data/coco2/file.json'


def test_check_cfg_options():
    cfg = Config.fromfile(VOC_CFG)
    check_cfg_options(
        cfg, {
            'train_dataloader.batch_size': 1,
            'randomness.seed': 0,
            'default_hooks.checkpoint.max_keep_ckpts': 1,
            'param_scheduler.0.gamma': 0.5
        })
    with pytest.raises(InputError, match=r"'trian_dataloader'.*train_dataloader"):
        check_cfg_options(cfg, {'trian_dataloader.batch_size': 1})
    with pytest.raises(InputError, match=r"'backbon' does not exist in model.*backbone"):
        check_cfg_options(cfg, {'model.backbon.depth': 18})
    with pytest.raises(InputError, match='has only 1 items'):
        check_cfg_options(cfg, {'param_scheduler.3.gamma': 0.5})


def _voc_cfg(root):
    cfg = Config.fromfile(VOC_CFG)
    set_data_root(cfg, root)
    return cfg


def test_check_datasets_missing_root(tmp_path):
    with pytest.raises(
            InputError,
            match=r'train_dataloader\.dataset\.dataset\.datasets\[0\]'
            r'\.data_root.*does not exist.*make_synthetic_dataset'):
        check_datasets(_voc_cfg(str(tmp_path / 'nope')), ('train_dataloader', ))


def test_check_datasets_voc(synthetic_voc, tmp_path):
    import shutil
    cfg = _voc_cfg(synthetic_voc)
    check_datasets(cfg, ('train_dataloader', 'val_dataloader', 'test_dataloader'))

    cfg.val_dataloader.dataset.metainfo = dict(classes=('car', 'aeroplan'))
    with pytest.raises(InputError, match=r"'aeroplan' \(did you mean 'aeroplane'\?\) not found"):
        check_datasets(cfg, ('val_dataloader', ))

    broken = tmp_path / 'voc'
    shutil.copytree(synthetic_voc, broken)
    ids = (broken / 'VOC2007/ImageSets/Main/test.txt').read_text().split()
    xml = broken / 'VOC2007/Annotations' / f'{ids[0]}.xml'
    xml.write_text(xml.read_text()[:-30])
    with pytest.raises(InputError, match=f'malformed XML in .*{ids[0]}.xml'):
        check_datasets(_voc_cfg(str(broken)), ('val_dataloader', ))


def test_check_datasets_coco_json(tmp_path):
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    (root / 'val2017').mkdir()
    (root / 'train2017').mkdir()
    ann = root / 'annotations/instances_val2017.json'
    ann.write_text('{"images": [}')
    cfg = Config.fromfile(COCO_CFG)
    set_data_root(cfg, str(root))
    with pytest.raises(InputError, match='malformed JSON in .*instances_val2017.json'):
        check_datasets(cfg, ('val_dataloader', ))
    ann.write_text(json.dumps(dict(images=[], annotations=[], categories=[dict(id=1, name='cat')])))
    cfg.val_dataloader.dataset.metainfo = dict(classes=('cat', 'dgo'))
    with pytest.raises(InputError, match="'dgo' not found in .*instances_val2017.json"):
        check_datasets(cfg, ('val_dataloader', ))


def test_setup_device_cpu_distributed_config():
    import torch

    from skd_det.utils import setup_device
    if torch.cuda.is_available():
        pytest.skip('a GPU is present')
    cfg = Config.fromfile(VOC_CFG)
    cfg.launcher = 'slurm'  # 'pytorch' would also start a process group
    setup_device(cfg, None, amp=False)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    # DDP refuses device_ids for CPU modules; mmengine's default is [LOCAL_RANK]
    assert 'device_ids' in cfg.model_wrapper_cfg and cfg.model_wrapper_cfg.device_ids is None
    single = Config.fromfile(VOC_CFG)
    single.launcher = 'none'
    setup_device(single, None, amp=False)
    assert single.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in single
