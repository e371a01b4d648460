import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def toy_runner(work_dir, model, hook, iters, checkpoint_interval, by_epoch=False, **kwargs):
    """An mmengine Runner training ``model`` (inputs: 2-vectors, batch 2) for ``iters``
    iterations in one pass over the data, as one epoch (``by_epoch``) or ``max_iters``
    (mmengine's iteration loop sleeps 2 s whenever it restarts the dataloader), with the
    custom ``hook`` and a checkpoint every ``checkpoint_interval`` iterations/epochs."""
    import uuid

    import torch
    from mmengine.runner import Runner
    train_cfg = dict(by_epoch=True, max_epochs=1) if by_epoch else dict(
        by_epoch=False, max_iters=iters)
    return Runner(
        model=model,
        work_dir=str(work_dir),
        experiment_name=f'{hook["type"]}_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=[dict(inputs=torch.full((2, ), float(i))) for i in range(2 * iters)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[hook],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=checkpoint_interval,
                            by_epoch=by_epoch)),
        **kwargs)


@pytest.fixture(scope='module')
def one_thread():
    """One torch thread for a module's tests: two OpenMP threads on a shared 2-core machine
    can be 50x slower than one (use with ``pytestmark = pytest.mark.usefixtures(...)``)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def synthetic_voc(tmp_path_factory):
    """A tiny synthetic VOCdevkit (VOC2007 + VOC2012), shared by the whole session."""
    from skd_det.datasets.synthetic import generate_voc
    out = tmp_path_factory.mktemp('synthetic') / 'voc'
    generate_voc(str(out), num_train=6, num_val=2, seed=0, difficulty='easy')
    return str(out / 'VOCdevkit')


@pytest.fixture(scope='session')
def synthetic_cityscapes(tmp_path_factory):
    from skd_det.datasets.synthetic import generate_cityscapes
    out = tmp_path_factory.mktemp('synthetic') / 'cityscapes'
    generate_cityscapes(str(out), num_train=4, num_val=2, seed=0, difficulty='easy')
    return str(out)


@pytest.fixture
def run_tool():
    """Run a repo script with this interpreter: ``run_tool(['tools/train.py', ...])``."""

    def run(args, env=None, timeout=900):
        full_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
        return subprocess.run([sys.executable] + args, cwd=REPO, env=full_env,
                              capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture(scope='session')
def synthetic_coco(tmp_path_factory):
    from skd_det.datasets.synthetic import generate_coco
    out = tmp_path_factory.mktemp('synthetic') / 'coco'
    generate_coco(str(out), num_train=8, num_val=4, seed=0, difficulty='easy')
    return str(out)
