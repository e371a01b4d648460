# Copyright (c) skd_det contributors.
"""The repository's scripts run in a fresh process or imported as modules, and a short
tools/train.py run with its per-iteration logs."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from glob import glob

from ._models import REPO

# train on the val images of VOC2007 + VOC2012 of the synthetic VOCdevkit (a few images)
VOC_VAL_AS_TRAIN = [
    'train_dataloader.dataset.datasets.0.ann_file=VOC2007/ImageSets/Main/val.txt',
    'train_dataloader.dataset.datasets.1.ann_file=VOC2012/ImageSets/Main/val.txt'
]
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
LOG_EVERY_ITER = ['default_hooks.logger.interval=1', 'log_processor.window_size=1']
# two OpenMP threads on a shared 2-core machine can be 50x slower than one
ONE_THREAD = dict(OMP_NUM_THREADS='1')


def run_tool(args, env=None, timeout=900, cwd=REPO, unset=()):
    """``python *args`` (a repository script and its arguments) with this interpreter in
    ``cwd``, ``env`` added to the environment and the ``unset`` variables removed."""
    full_env = {k: v for k, v in os.environ.items() if k not in unset}
    full_env.update(PYTHONUNBUFFERED='1', **(env or {}))
    return subprocess.run(
        [sys.executable] + list(args),
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout)


def load_tool(path):
    """Import a repository script as a module: ``load_tool('tools/train.py').main(...)``."""
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0] + '_tool', osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(config, data_root, work_dir, opts, extra=()):
    """tools/train.py ``config`` on ``data_root`` into ``work_dir`` (CPU, one thread) with
    ``--cfg-options *opts``; asserts it succeeds and returns ``work_dir``."""
    result = run_tool([
        'tools/train.py',
        str(config), '--data-root',
        str(data_root), '--work-dir',
        str(work_dir), '--device', 'cpu', *extra, '--cfg-options', *opts
    ],
                      env=ONE_THREAD)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return work_dir


def scalars(work_dir):
    """The per-iteration training records (iteration -> record) the LoggerHook of the one
    run in ``work_dir`` wrote."""
    (path, ) = glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return {r['iter']: r for r in map(json.loads, f) if 'loss' in r}
