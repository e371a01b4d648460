"""End to end through tools/train.py and tools/test.py on synthetic data (CPU, seconds)."""
import glob
import json
import os
import os.path as osp
import pickle

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_CFG = osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py')
SEG_CFG = osp.join(REPO, 'configs/fcn/fcn_r18-d8_cpu_cityscapes.py')
# 2 epochs of 4 iterations: a run long enough to checkpoint, crash and resume, short for CI
DET_OPTS = [
    'train_cfg.max_epochs=2', 'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
    'train_dataloader.batch_size=4', 'train_dataloader.num_workers=1',
    'val_dataloader.num_workers=0'
]

# every test runs the tools in fresh processes, most of them training
pytestmark = pytest.mark.slow

CRASH_HOOK = '''
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class CrashAtIterHook(Hook):
    """Simulates a crash (lost node, OOM) in the middle of training."""

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            raise RuntimeError('simulated crash')
'''


def _losses(work_dir):
    """Per-iteration training losses from the JSON scalars the LoggerHook writes."""
    runs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    losses, epochs = {}, {}
    for path in runs:  # timestamped folders: the resumed run comes last
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'loss' in rec:
                    losses[rec['iter']] = rec['loss']
                    epochs[rec['iter']] = rec['epoch']
    return losses, epochs


def test_detector_train_crash_resume_test(synthetic_voc, tmp_path, run_tool):
    straight, crashed = str(tmp_path / 'straight'), str(tmp_path / 'crashed')
    common = ['--data-root', synthetic_voc, '--cfg-options'] + DET_OPTS

    r = run_tool(['tools/train.py', DET_CFG, '--work-dir', straight] + common)
    assert r.returncode == 0, r.stderr[-3000:]
    a, epochs = _losses(straight)
    iters_per_epoch = max(it for it, ep in epochs.items() if ep == 1)
    assert sorted(a) == list(range(1, 2 * iters_per_epoch + 1))

    # the same run crashing in the middle of epoch 2, after epoch 1's checkpoint
    (tmp_path / 'crash_hook.py').write_text(CRASH_HOOK)
    crash_cfg = tmp_path / 'crash_cfg.py'
    crash_cfg.write_text(
        f"_base_ = '{DET_CFG}'\n"
        "custom_imports = dict(imports=['crash_hook'], allow_failed_imports=False)\n"
        f"custom_hooks = [dict(type='CrashAtIterHook', at_iter={iters_per_epoch + 2})]\n")
    env = {'PYTHONPATH': str(tmp_path)}
    r = run_tool(['tools/train.py', str(crash_cfg), '--work-dir', crashed] + common, env=env)
    assert r.returncode != 0 and 'simulated crash' in r.stderr
    with open(osp.join(crashed, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('epoch_1.pth')

    r = run_tool(['tools/train.py', DET_CFG, '--work-dir', crashed, '--resume'] + common)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed epoch: 1' in r.stdout + r.stderr

    b, _ = _losses(crashed)
    assert sorted(b) == sorted(a)
    for it in a:  # the resumed run continues the uninterrupted loss curve
        assert b[it] == pytest.approx(a[it], rel=1e-4, abs=1e-5), (it, a, b)

    out = tmp_path / 'results.pkl'
    r = run_tool([
        'tools/test.py', DET_CFG,
        osp.join(crashed, 'epoch_2.pth'), '--data-root', synthetic_voc, '--work-dir',
        str(tmp_path / 'test'), '--out',
        str(out)
    ])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'pascal_voc/mAP' in r.stdout
    with open(out, 'rb') as f:
        results = pickle.load(f)
    with open(osp.join(synthetic_voc, 'VOC2007/ImageSets/Main/test.txt')) as f:
        assert len(results) == len(f.read().split())
    assert {'pred_instances', 'img_id'} <= set(results[0])
    logs = glob.glob(str(tmp_path / 'test' / '*' / '*.json'))
    assert any('pascal_voc/mAP' in open(p).read() for p in logs)


def test_segmentor_train_resume_test(synthetic_cityscapes, tmp_path, run_tool):
    work_dir = str(tmp_path / 'seg')
    opts = [
        'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0'
    ]
    base = ['tools/train.py', SEG_CFG, '--data-root', synthetic_cityscapes, '--work-dir', work_dir]
    r = run_tool(base + ['--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2'] +
                 opts)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_tool(
        base + ['--resume', '--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=4'] +
        opts)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 2' in r.stdout + r.stderr
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))

    r = run_tool([
        'tools/test.py', SEG_CFG,
        osp.join(work_dir, 'iter_4.pth'), '--data-root', synthetic_cityscapes, '--work-dir',
        str(tmp_path / 'test'), '--cfg-options',
        f'test_evaluator.1.output_dir={tmp_path / "cs_eval"}', 'test_dataloader.num_workers=0'
    ])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'mIoU' in r.stdout
    # cityscapesscripts' own evaluation of the labelIds PNGs
    assert 'averageScoreCategories' in r.stdout


@pytest.mark.parametrize('extra,message', [
    (['--data-root', '/nonexistent/voc'], "data_root: '/nonexistent/voc/' does not exist"),
    (['--cfg-options', 'model.backbon.depth=18'], "key 'backbon' does not exist in model"),
    (['--launcher', 'pytorch'], '--launcher pytorch needs the variables torchrun sets'),
    (['--amp'], '--amp needs a CUDA GPU'),
    (['--resume', '/nonexistent.pth'], 'checkpoint /nonexistent.pth does not exist'),
])
def test_train_bad_input_one_clear_message(synthetic_voc, run_tool, extra, message, tmp_path):
    import torch
    if extra == ['--amp'] and torch.cuda.is_available():
        pytest.skip('a GPU is present')
    args = ['tools/train.py', DET_CFG, '--work-dir', str(tmp_path)]
    if '--data-root' not in extra:
        args += ['--data-root', synthetic_voc]
    r = run_tool(args + extra)
    assert r.returncode != 0
    assert message in r.stderr
    assert 'Traceback' not in r.stderr
    assert not list(tmp_path.iterdir()), 'nothing is written for a refused run'


def test_cuda_device_on_cpu_machine(run_tool, tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip('a GPU is present')
    r = run_tool(['tools/test.py', DET_CFG, __file__, '--device', 'cuda'])
    assert r.returncode != 0 and '--device cuda: no CUDA GPU is visible' in r.stderr
    assert 'Traceback' not in r.stderr
    r = run_tool(['tools/test.py', 'configs/nope.py', __file__])
    assert r.returncode != 0 and 'config file configs/nope.py does not exist' in r.stderr


def test_ddp_two_processes_gloo(synthetic_voc, tmp_path, run_tool):
    """torchrun with 2 CPU processes trains and evaluates through tools/dist_train.sh."""
    import random
    import subprocess
    import sys
    work_dir = str(tmp_path / 'ddp')
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(random.randint(20000, 40000)),
        OMP_NUM_THREADS='1')
    r = subprocess.run([
        'bash', 'tools/dist_train.sh', DET_CFG, '2', '--work-dir', work_dir, '--data-root',
        synthetic_voc, '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0'
    ],
                       cwd=REPO,
                       env=env,
                       capture_output=True,
                       text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert "backend='gloo'" in log
    assert 'pascal_voc/mAP' in log
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))


def test_coco_train_test_reports_pycocotools_ap(synthetic_coco, tmp_path, run_tool):
    cfg = osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_coco.py')
    work_dir = str(tmp_path / 'coco')
    r = run_tool([
        'tools/train.py', cfg, '--data-root', synthetic_coco, '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0'
    ])
    assert r.returncode == 0, r.stderr[-3000:]
    # one epoch leaves every score under the default threshold; mmdet then reports nothing
    r = run_tool([
        'tools/test.py', cfg,
        osp.join(work_dir, 'epoch_1.pth'), '--data-root', synthetic_coco, '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', 'model.test_cfg.score_thr=0.0'
    ])
    assert r.returncode == 0, r.stderr[-3000:]
    # pycocotools' summary and mmdet's keys for it
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all' in r.stdout + r.stderr
    for key in ('coco/bbox_mAP:', 'coco/bbox_mAP_50:', 'coco/bbox_mAP_s:'):
        assert key in r.stdout
