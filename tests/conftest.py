import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


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
