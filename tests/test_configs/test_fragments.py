"""Method leaves built from fragments (``_base_ = [student config, fragment]``): the wrapped
student is exactly the student config's model, and the wrapper keeps the student's
preprocessor when the Runner fills in a top-level ``data_preprocessor``."""
import ast
import glob
import importlib
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from skd_det.utils import task_of

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _bases(path):
    """The leaf's ``_base_`` list as written (paths relative to the leaf)."""
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == '_base_':
            value = ast.literal_eval(node.value)
            return value if isinstance(value, list) else [value]
    return []


def _fragment_leaves():
    """CPU-sized leaves whose second base is a method fragment; the blur_skd leaves extend the
    student with the deblurring subnet on purpose (configs/blur_skd/README.md) and the blur
    augmentation leaves are no wrappers: both are left out, and so are model fragments
    (``_base_/models/``: EfficientDet-Lite0's changes to a D0 config)."""
    leaves = []
    for p in sorted(glob.glob(osp.join(REPO, 'configs', '*', '*_cpu_*.py'))):
        bases = _bases(p)
        skipped = ('/_base_/blur', '/_base_/models/')
        if len(bases) == 2 and '/_base_/' in bases[1] and not any(s in bases[1] for s in skipped):
            leaves.append((p, osp.normpath(osp.join(osp.dirname(p), bases[0]))))
    return leaves


def _load(path):
    cfg = Config.fromfile(path)
    for name in cfg.get('custom_imports', {}).get('imports', []):
        importlib.import_module(name)
    init_default_scope(cfg.default_scope)
    return cfg


def _build(cfg):
    if task_of(cfg) == 'det':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    init_default_scope(cfg.default_scope)
    return MODELS.build(cfg.model)


def _shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


LEAVES = _fragment_leaves()
# `make test-fast` checks one detection and one segmentation leaf (the same fragment code)
FAST_LEAVES = ('configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py',
               'configs/frskd/frskd_fcn_r18-d8_cpu_cityscapes.py')


def test_fragment_leaves_found():
    names = {osp.basename(p) for p, _ in LEAVES}
    assert {
        'frskd_retinanet_r18_fpn_cpu_voc0712.py', 'lgd_retinanet_r18_fpn_cpu_voc0712.py',
        'frskd_fcn_r18-d8_cpu_cityscapes.py', 'byot_fcn_r18-d8_cpu_cityscapes.py'
    } <= names


@pytest.mark.parametrize(
    'leaf,student', [
        pytest.param(*pair, marks=() if pair[0].endswith(FAST_LEAVES) else pytest.mark.slow)
        for pair in LEAVES
    ],
    ids=[osp.relpath(p, REPO) for p, _ in LEAVES])
def test_leaf_wraps_exactly_its_student_config(leaf, student):
    wrapper = _build(_load(leaf))
    plain = _build(_load(student))
    assert _shapes(wrapper.student) == _shapes(plain)
    assert sum(p.numel() for p in wrapper.student.parameters()) == \
        sum(p.numel() for p in plain.parameters())
    assert type(wrapper.data_preprocessor) is type(plain.data_preprocessor)
    for k, v in plain.data_preprocessor.state_dict().items():
        assert torch.equal(wrapper.data_preprocessor.state_dict()[k], v), k


@pytest.mark.slow
@pytest.mark.parametrize('leaf,top_level', [
    ('configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py',
     dict(type='DetDataPreprocessor', mean=[0., 0., 0.], std=[1., 1., 1.], pad_size_divisor=7)),
    ('configs/frskd/frskd_fcn_r18-d8_cpu_cityscapes.py',
     dict(type='SegDataPreProcessor', mean=[0., 0., 0.], std=[1., 1., 1.], size=(7, 7))),
])
def test_runner_top_level_data_preprocessor_does_not_replace_the_students(
        leaf, top_level, tmp_path):
    """mmengine's Runner does ``model.setdefault('data_preprocessor', cfg.data_preprocessor)``
    when a config has a top-level ``data_preprocessor`` (mmseg's model bases define one, and a
    leaf that changes ``model.data_preprocessor.size`` leaves it behind). The fragments set the
    wrapper's key to None, so the wrapper takes the student's preprocessor."""
    from mmengine.runner import Runner
    cfg = _load(osp.join(REPO, leaf))
    cfg.data_preprocessor = top_level
    cfg.work_dir = str(tmp_path)
    student_dp = cfg.model.student.data_preprocessor
    assert 'data_preprocessor' in cfg.model and cfg.model.data_preprocessor is None
    runner = Runner.from_cfg(cfg)
    dp = runner.model.data_preprocessor
    assert torch.equal(dp.mean.flatten(), torch.tensor(student_dp.mean, dtype=dp.mean.dtype))
    assert torch.equal(dp.std.flatten(), torch.tensor(student_dp.std, dtype=dp.std.dtype))
    if 'size' in top_level:
        assert tuple(dp.size) == tuple(student_dp.size) != (7, 7)
    else:
        assert dp.pad_size_divisor == student_dp.get('pad_size_divisor', 1) != 7

    # the case the None guards against: without the key, the top-level preprocessor wins
    cfg.model.pop('data_preprocessor')
    cfg.work_dir = str(tmp_path / 'without')
    runner = Runner.from_cfg(cfg)
    assert torch.equal(runner.model.data_preprocessor.std.flatten(), torch.ones(3))
