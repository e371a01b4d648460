"""Session fixtures: synthetic datasets, the tools, export parity and one thread per module.
The builders themselves live in skd_det.testing (import them from there, never from another
test module)."""
import gc
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from skd_det import testing


def pytest_collection_finish(session):
    """The objects of the imports and the collection live for the whole session: frozen, the
    garbage collector no longer walks them (every mmengine dataset build calls
    ``gc.collect()``: 0.2 s in a worker's heap), nor do the tool runs forked from it."""
    gc.freeze()


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
def short_tmp_dir():
    """A folder with a short path (``/tmp/skd-XXXXXXXX``) for the session's generated data,
    removed at the session's end. A data root becomes ``data_root`` deep inside the configs the
    tools print and save, and mmengine's ``Config.pretty_text`` (yapf, about six calls a
    tools/train.py run) slows with the length of such nested strings: 0.15 s a call for a
    30-character root, 0.7 s for pytest-xdist's 63-character ``tmp_path_factory`` one, 1.9 s
    for 90 characters."""
    root = tempfile.mkdtemp(prefix='skd-')
    yield Path(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope='session')
def synthetic_voc(short_tmp_dir):
    """A tiny synthetic VOCdevkit (VOC2007 + VOC2012), shared by the whole session."""
    from skd_det.datasets.synthetic import generate_voc
    out = short_tmp_dir / 'voc'
    generate_voc(str(out), num_train=6, num_val=2, seed=0, difficulty='easy')
    return str(out / 'VOCdevkit')


@pytest.fixture(scope='session')
def synthetic_cityscapes(short_tmp_dir):
    from skd_det.datasets.synthetic import generate_cityscapes
    out = short_tmp_dir / 'cityscapes'
    generate_cityscapes(str(out), num_train=4, num_val=2, seed=0, difficulty='easy')
    return str(out)


@pytest.fixture(scope='session')
def synthetic_coco(short_tmp_dir):
    from skd_det.datasets.synthetic import generate_coco
    out = short_tmp_dir / 'coco'
    generate_coco(str(out), num_train=8, num_val=4, seed=0, difficulty='easy')
    return str(out)


@pytest.fixture(scope='session')
def run_tool():
    """Run a repo script with this interpreter: ``run_tool(['tools/train.py', ...])``
    (skd_det.testing.run_tool)."""
    return testing.run_tool


@pytest.fixture(scope='session')
def load_tool():
    """Import a repo script as a module: ``load_tool('tools/analysis/test_robustness.py')``."""
    return testing.load_tool


@pytest.fixture(scope='session')
def export_parity():
    """skd_det.testing's export-parity helpers under short names: ``export``,
    ``exported_paths``, ``student_weights``, ``plain_predictions``, ``model_predictions``,
    ``assert_same``."""
    return SimpleNamespace(
        export=testing.export_student,
        exported_paths=testing.exported_paths,
        student_weights=testing.student_weights,
        plain_predictions=testing.plain_predictions,
        model_predictions=testing.model_predictions,
        assert_same=testing.assert_same_predictions)
