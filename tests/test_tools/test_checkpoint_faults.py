# Copyright (c) skd_det contributors.
"""Every tool that reads a checkpoint stops with one line on a truncated, empty or foreign
one (tools/test.py, tools/train.py --resume, export_student.py, the analysis tools); a
non-finite loss stops tools/train.py with one line; a misspelt nested key is named."""
import os.path as osp
import re
import shutil

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_CFG = 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py'
FRSKD_CFG = 'configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py'
ENV = dict(OMP_NUM_THREADS='1')
SHORT = [
    'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'val_dataloader.num_workers=0', 'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
    'default_hooks.logger.interval=1'
]
MESSAGES = dict(
    truncated='is truncated',
    empty='is empty (0 bytes)',
    foreign="is not a checkpoint of this config's model (RetinaNet): ")

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """A complete checkpoint of DET_CFG's model (random init) and its damaged variants;
    'foreign' is the same weights under a wrapper's ``student.`` prefix."""
    from skd_det.analysis.runtime import build_model, load_config
    out = tmp_path_factory.mktemp('ckpts')
    state = build_model(load_config(osp.join(REPO, DET_CFG)), torch.device('cpu')).state_dict()
    paths = {name: str(out / f'{name}.pth') for name in ('good', 'truncated', 'empty', 'foreign')}
    torch.save(dict(state_dict=state, meta={}), paths['good'])
    data = open(paths['good'], 'rb').read()
    with open(paths['truncated'], 'wb') as f:
        f.write(data[:len(data) // 2])
    open(paths['empty'], 'wb').close()
    torch.save(dict(state_dict={f'student.{k}': v for k, v in state.items()}), paths['foreign'])
    return paths


def _one_line_error(r, message):
    assert r.returncode != 0
    assert 'Traceback' not in r.stderr, r.stderr[-3000:]
    errors = [line for line in r.stderr.splitlines() if line.startswith('error: ')]
    assert len(errors) == 1 and message in errors[0], r.stderr[-3000:]
    return errors[0]


@pytest.mark.slow
@pytest.mark.parametrize('fault', ['truncated', 'empty', 'foreign'])
def test_test_tool(checkpoints, synthetic_voc, tmp_path, run_tool, fault):
    r = run_tool([
        'tools/test.py', DET_CFG, checkpoints[fault], '--data-root', synthetic_voc, '--work-dir',
        str(tmp_path)
    ],
                 env=ENV)
    line = _one_line_error(r, MESSAGES[fault])
    assert checkpoints[fault] in line
    if fault == 'foreign':  # every weight under another name
        assert "weights missing (first: backbone.conv1.weight)" in line
        assert 'unexpected (first: student.backbone.conv1.weight)' in line


@pytest.mark.slow
@pytest.mark.parametrize('fault', ['truncated', 'empty', 'foreign'])
def test_train_resume_path(checkpoints, synthetic_voc, tmp_path, run_tool, fault):
    r = run_tool([
        'tools/train.py', DET_CFG, '--resume', checkpoints[fault], '--data-root', synthetic_voc,
        '--work-dir',
        str(tmp_path), '--cfg-options', *SHORT
    ],
                 env=ENV)
    assert _one_line_error(r, MESSAGES[fault]).startswith('error: --resume: checkpoint')


@pytest.mark.slow
def test_train_resume_auto_names_the_previous_complete(checkpoints, synthetic_voc, tmp_path,
                                                       run_tool):
    import os
    first, second = str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'epoch_2.pth')
    shutil.copy(checkpoints['good'], first)
    shutil.copy(checkpoints['truncated'], second)
    os.utime(first, (1, 1))
    (tmp_path / 'last_checkpoint').write_text(second)
    r = run_tool([
        'tools/train.py', DET_CFG, '--resume', '--data-root', synthetic_voc, '--work-dir',
        str(tmp_path), '--cfg-options', *SHORT
    ],
                 env=ENV)
    line = _one_line_error(
        r, f'--resume: the latest checkpoint is unusable (checkpoint '
        f'{second} is truncated')
    assert line.endswith(f'resume from it with --resume {first}')


NAN_HOOK = '''
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class NaNAtIterHook(Hook):
    """Makes the weights NaN before iteration ``at_iter`` (a diverged update)."""

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at_iter:
            for p in runner.model.bbox_head.parameters():
                p.data.fill_(float('nan'))
'''


@pytest.mark.slow
def test_train_stops_on_nan_loss(synthetic_voc, tmp_path, run_tool):
    """NaN from the first iteration of epoch 2: training stops there with the loss keys,
    epoch_1.pth is the last checkpoint and no NaN checkpoint is written."""
    splits = ['VOC2007/ImageSets/Main/val.txt', 'VOC2012/ImageSets/Main/val.txt']
    images = sum(len(open(osp.join(synthetic_voc, s)).read().split()) for s in splits)
    nan_iter = (images + 1) // 2 + 1  # batch 2
    (tmp_path / 'nan_hook.py').write_text(NAN_HOOK)
    cfg = tmp_path / 'nan_cfg.py'
    cfg.write_text(f"_base_ = '{osp.join(REPO, DET_CFG)}'\n"
                   "custom_imports = dict(imports=['nan_hook'], allow_failed_imports=False)\n"
                   f"custom_hooks = [dict(type='NaNAtIterHook', at_iter={nan_iter})]\n")
    work_dir = tmp_path / 'work'
    opts = [o for o in SHORT if not o.startswith('train_cfg.max_epochs')]
    r = run_tool([
        'tools/train.py',
        str(cfg), '--data-root', synthetic_voc, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=2',
        f'train_dataloader.dataset.datasets.0.ann_file={splits[0]}',
        f'train_dataloader.dataset.datasets.1.ann_file={splits[1]}', *opts
    ],
                 env=dict(ENV, PYTHONPATH=str(tmp_path)))
    line = _one_line_error(
        r, f'error: training stopped: non-finite loss at iteration {nan_iter}: loss=nan')
    assert 'loss_cls=nan' in line
    assert line.endswith(f'the last complete checkpoint is {work_dir / "epoch_1.pth"}')
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['epoch_1.pth']


def test_export_student(checkpoints, tmp_path, load_tool):
    export = load_tool('tools/model_converters/export_student.py')
    for fault in ('truncated', 'empty'):
        with pytest.raises(SystemExit, match=re.escape(MESSAGES[fault])):
            export.main([FRSKD_CFG, checkpoints[fault], str(tmp_path / fault)])
    # student.* holds only the backbone: the student's other weights are missing
    partial = str(tmp_path / 'partial.pth')
    state = torch.load(checkpoints['foreign'], weights_only=True)['state_dict']
    torch.save(dict(state_dict={k: v for k, v in state.items() if '.backbone.' in k}), partial)
    with pytest.raises(
            SystemExit,
            match=r"its student\.\* part\) is not a checkpoint of this "
            r"config's model \(RetinaNet\): \d+ of the model's \d+ weights missing "
            r'\(first: neck\.'):
        export.main([FRSKD_CFG, partial, str(tmp_path / 'partial')])
    assert not (tmp_path / 'partial').exists(), 'nothing is written for a refused export'


def test_analysis_tools(checkpoints, tmp_path, load_tool):
    """benchmark_inference/benchmark.py load weights through runtime.load_weights;
    test_robustness checks the file before its first run."""
    from skd_det.analysis.runtime import build_model, load_config, load_weights
    from skd_det.utils import InputError
    model = build_model(load_config(osp.join(REPO, DET_CFG)), torch.device('cpu'))
    for fault in ('truncated', 'empty', 'foreign'):
        with pytest.raises(InputError, match=re.escape(MESSAGES[fault])):
            load_weights(model, checkpoints[fault])
    load_weights(model, checkpoints['good'])
    robustness = load_tool('tools/analysis/test_robustness.py')
    with pytest.raises(SystemExit, match=re.escape(MESSAGES['truncated'])):
        robustness.main([DET_CFG, checkpoints['truncated'], '--out', str(tmp_path / 'rob')])


def test_train_tool_turns_the_guards_on(load_tool):
    """tools/train.py: atomic checkpoint writes and CheckFiniteHook unless the config chose
    otherwise; --check-finite-interval 0 turns the hook off."""
    from mmengine.config import Config

    from skd_det.utils import InputError
    train = load_tool('tools/train.py')
    cfg = Config(dict(default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1))))
    train._safe_checkpoints(cfg, 3)
    assert cfg.default_hooks.checkpoint.backend_args == dict(backend='local_atomic')
    assert cfg.custom_hooks == [dict(type='CheckFiniteHook', interval=3)]
    own = Config(
        dict(
            default_hooks=dict(checkpoint=dict(type='CheckpointHook', out_dir='s3://bucket/run')),
            custom_hooks=[dict(type='CheckFiniteHook', interval=50)]))
    train._safe_checkpoints(own, 1)
    assert 'backend_args' not in own.default_hooks.checkpoint
    assert own.custom_hooks == [dict(type='CheckFiniteHook', interval=50)]
    off = Config(dict(default_hooks=dict()))
    train._safe_checkpoints(off, 0)
    assert not off.get('custom_hooks')
    with pytest.raises(InputError, match='--check-finite-interval -1: must be >= 0'):
        train._safe_checkpoints(off, -1)
