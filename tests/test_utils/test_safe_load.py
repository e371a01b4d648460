# Copyright (c) skd_det contributors.
"""Checkpoints load without running code (skd_det.utils.safe_load): a malicious pickle is
refused with its global named and nothing run, mmengine's own training checkpoints load with
the allow-list scoped to the load, mmengine's loaders (Runner, Pretrained) go the same way,
and a model-zoo URL is checked against the hash in its name."""
import hashlib
import pickle
import shutil

import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.model.weight_init import PretrainedInit
from mmengine.runner import CheckpointLoader
from mmengine.runner import load_checkpoint as mmengine_load_checkpoint

from skd_det.testing import malicious_checkpoint, malicious_results, serve_folder, toy_runner
from skd_det.utils import InputError, UnsafeCheckpointError, load_checkpoint
from skd_det.utils.checkpoint import load_checkpoint_file

REFUSED = r'refused: loading it would run code \(the global posix\.system.*--trust-checkpoint'


class Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(loss=self.fc(inputs).pow(2).mean())


@pytest.fixture(scope='module')
def training_checkpoint(tmp_path_factory):
    """A real mmengine training checkpoint: weights, optimizer, schedulers and the message
    hub (HistoryBuffer logs holding numpy arrays)."""
    work_dir = tmp_path_factory.mktemp('toy')
    toy_runner(work_dir, Toy(), dict(type='EmptyCacheHook'), iters=2, checkpoint_interval=2).train()
    return str(work_dir / 'iter_2.pth')


@pytest.fixture
def evil(tmp_path):
    """``(checkpoint, marker)``: the checkpoint's pickle creates ``marker`` when run."""
    marker = tmp_path / 'ran'
    return malicious_checkpoint(tmp_path / 'evil.pth', marker), marker


def test_malicious_checkpoint_is_refused_and_nothing_runs(evil):
    path, marker = evil
    with pytest.raises(UnsafeCheckpointError, match=REFUSED) as error:
        load_checkpoint(path)
    assert path in str(error.value)
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        load_checkpoint_file(path)  # the tools' check
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        CheckpointLoader.load_checkpoint(path)  # Runner resume / load_from, Pretrained
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        mmengine_load_checkpoint(nn.Linear(2, 1), path)  # mmdet's init_detector, LD teachers
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        PretrainedInit(checkpoint=path)(nn.Linear(2, 1))  # init_cfg=dict(type='Pretrained')
    assert not marker.exists()


def test_trusted_checkpoint_is_unpickled_in_full(evil):
    """The opt-in does run the payload: the refusal above is what keeps it from running."""
    path, marker = evil
    assert load_checkpoint(path, trust=True)['state_dict']['w'].shape == (2, )
    assert marker.exists()


def test_training_checkpoint_loads_weights_only_with_the_allow_list_scoped(training_checkpoint):
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer|numpy'):
        torch.load(training_checkpoint, weights_only=True)  # why the allow-list exists
    full = torch.load(training_checkpoint, weights_only=False)
    allowed = set(map(str, torch.serialization.get_safe_globals()))
    safe = load_checkpoint(training_checkpoint)
    # nothing left allowed after the load
    assert set(map(str, torch.serialization.get_safe_globals())) == allowed
    assert str(HistoryBuffer) not in allowed
    assert safe.keys() == full.keys() >= {'state_dict', 'optimizer', 'message_hub', 'meta'}
    for key, value in full['state_dict'].items():
        assert torch.equal(safe['state_dict'][key], value)
    logs, logs_full = safe['message_hub']['log_scalars'], full['message_hub']['log_scalars']
    assert logs.keys() == logs_full.keys() and 'train/loss' in logs
    for key, buffer in logs_full.items():
        assert (logs[key].data[0] == buffer.data[0]).all(), key
    assert safe['optimizer']['param_groups'] == full['optimizer']['param_groups']


def test_legacy_globals_are_named(tmp_path):
    """Anything outside the allow-list is named, even a harmless class."""
    import pathlib
    path = str(tmp_path / 'legacy.pth')
    torch.save(dict(state_dict={}, meta=dict(work_dir=pathlib.PurePosixPath('/x'))), path)
    with pytest.raises(UnsafeCheckpointError, match=r'the global pathlib\.PurePosixPath'):
        load_checkpoint(path)


class _GetattrWalk:
    """A pickle that uses getattr from an allowed class towards its functions' globals."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_getattr_reaches_only_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'walk.pth')
    torch.save(dict(state_dict={}, meta=_GetattrWalk()), path)
    with pytest.raises(UnsafeCheckpointError, match=r'the global builtins\.getattr'):
        load_checkpoint(path)


def test_damaged_file_is_not_called_unsafe(tmp_path):
    path = tmp_path / 'garbage.pth'
    path.write_bytes(b'\x80\x02garbage')
    with pytest.raises(
            InputError, match=r'is not a PyTorch checkpoint \(UnpicklingError: '
            r'Unsupported operand') as error:
        load_checkpoint_file(str(path))
    assert not isinstance(error.value, UnsafeCheckpointError)


def test_url_checked_against_the_hash_in_its_name(training_checkpoint, tmp_path, monkeypatch):
    """OpenMMLab's model-zoo names end in the file's SHA-256 prefix: a download that does
    not match is refused and not kept, a cached copy altered later is refused, a name
    without a hash is downloaded unchecked."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    served = tmp_path / 'served'
    served.mkdir()
    data = open(training_checkpoint, 'rb').read()
    digest = hashlib.sha256(data).hexdigest()
    wrong = ('0' if digest[0] != '0' else '1') + digest[1:8]
    for name in (f'model_20261207-{digest[:8]}.pth', f'model_20261207-{wrong}.pth',
                 'model-plain.pth'):
        shutil.copy(training_checkpoint, served / name)
    with serve_folder(served) as base:
        good = CheckpointLoader.load_checkpoint(f'{base}/model_20261207-{digest[:8]}.pth')
        assert good['meta'].keys() == load_checkpoint(training_checkpoint)['meta'].keys()
        with pytest.raises(InputError, match=f'-{wrong}.pth: the download does not match'):
            CheckpointLoader.load_checkpoint(f'{base}/model_20261207-{wrong}.pth')
        assert not (cache / f'model_20261207-{wrong}.pth').exists()
        CheckpointLoader.load_checkpoint(f'{base}/model-plain.pth')
        cached = cache / f'model_20261207-{digest[:8]}.pth'
        cached.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
        with pytest.raises(InputError, match='does not match the SHA-256 prefix'):
            CheckpointLoader.load_checkpoint(f'{base}/model_20261207-{digest[:8]}.pth')


def test_malicious_url_is_refused(evil, monkeypatch, tmp_path):
    path, marker = evil
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    with serve_folder(tmp_path) as base:
        with pytest.raises(UnsafeCheckpointError, match=REFUSED):
            CheckpointLoader.load_checkpoint(f'{base}/evil.pth')
    assert not marker.exists()


def test_results_pickle_loads_without_running_code(tmp_path):
    """tools/test.py --out dumps (read by the analysis tools) are plain pickles: their tensors
    and numpy arrays load, anything else is refused."""
    import mmengine
    import numpy as np

    from skd_det.analysis.results import load_results
    results = [
        dict(
            img_id=i,
            ori_shape=(10, 12),
            pred_instances=dict(bboxes=torch.rand(3, 4), labels=torch.tensor([1, 2, 3])),
            extra=np.arange(3, dtype=np.float32)) for i in range(2)
    ]
    mmengine.dump(results, str(tmp_path / 'results.pkl'))
    loaded = load_results(str(tmp_path / 'results.pkl'))
    for ours, theirs in zip(loaded, results):
        assert ours['ori_shape'] == theirs['ori_shape']
        assert torch.equal(ours['pred_instances']['bboxes'], theirs['pred_instances']['bboxes'])
        assert (ours['extra'] == theirs['extra']).all()
    marker = tmp_path / 'ran'
    with pytest.raises(UnsafeCheckpointError, match=r'evil\.pkl refused: .*posix\.system'):
        load_results(malicious_results(tmp_path / 'evil.pkl', marker))
    assert not marker.exists()
