# Copyright (c) skd_det contributors.
"""Checkpoint faults: damaged/foreign files are named in one error, --resume finds the last
complete checkpoint, an interrupted save keeps the previous checkpoint and last_checkpoint,
and a non-finite loss/gradient stops training without writing a NaN checkpoint."""
import errno
import os
import os.path as osp
import stat
from unittest import mock

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import CheckpointHook
from mmengine.model import BaseModel

from skd_det.engine.hooks import CheckFiniteHook
from skd_det.testing import toy_runner
from skd_det.utils import InputError
from skd_det.utils.checkpoint import (TrainingFault, check_checkpoint, check_model_keys,
                                      last_complete_checkpoint, load_checkpoint_file,
                                      resolve_resume)

pytestmark = pytest.mark.usefixtures('one_thread')


def _save(path, state=None, **extra):
    torch.save(dict(state_dict=state or nn.Linear(2, 1).state_dict(), meta={}, **extra), str(path))
    return str(path)


def _truncate(src, dst, fraction=0.5):
    data = open(src, 'rb').read()
    with open(dst, 'wb') as f:
        f.write(data[:int(len(data) * fraction)])
    return str(dst)


def test_good_checkpoint_loads_with_ddp_prefix_stripped(tmp_path):
    linear = nn.Linear(2, 1)
    path = _save(tmp_path / 'a.pth', {f'module.{k}': v for k, v in linear.state_dict().items()})
    ckpt, state = load_checkpoint_file(path)
    assert set(state) == {'weight', 'bias'} and 'meta' in ckpt
    assert torch.equal(state['weight'], linear.weight)
    check_checkpoint(path, linear)  # fits: no error


@pytest.mark.parametrize('fault,message', [
    ('missing', 'does not exist'),
    ('empty', 'is empty (0 bytes): its save was interrupted'),
    ('truncated', 'is truncated'),
    ('text', 'is not a PyTorch checkpoint'),
    ('list', 'is not a checkpoint: it holds a list'),
    ('no_state', 'is not a model checkpoint: it has no state_dict of tensors'),
])
def test_damaged_or_wrong_files_one_error(tmp_path, fault, message):
    good = _save(tmp_path / 'good.pth')
    path = str(tmp_path / f'{fault}.pth')
    if fault == 'empty':
        open(path, 'wb').close()
    elif fault == 'truncated':
        _truncate(good, path)
    elif fault == 'text':
        with open(path, 'w') as f:
            f.write('model:\n  weights: none\n')
    elif fault == 'list':
        torch.save([1, 2], path)
    elif fault == 'no_state':
        torch.save(dict(optimizer=dict(lr=0.1)), path)
    with pytest.raises(InputError) as e:
        load_checkpoint_file(path)
    assert path in str(e.value) and message in str(e.value)
    assert '\n' not in str(e.value)


def test_truncated_anywhere_is_caught(tmp_path):
    good = _save(tmp_path / 'good.pth')
    for fraction in (0.05, 0.5, 0.99):
        with pytest.raises(InputError, match='truncated'):
            load_checkpoint_file(_truncate(good, tmp_path / f'{fraction}.pth', fraction))


def test_foreign_keys_and_shapes(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    path = _save(tmp_path / 'other.pth', {'0.weight': torch.zeros(3, 2), 'head.w': torch.ones(1)})
    _, state = load_checkpoint_file(path)
    with pytest.raises(InputError) as e:
        check_model_keys(model, state, path)
    msg = str(e.value)
    assert "not a checkpoint of this config's model (Sequential)" in msg
    assert "3 of the model's 4 weights missing (first: 0.bias)" in msg
    assert '1 unexpected (first: head.w)' in msg
    wrong_shape = {k: v for k, v in model.state_dict().items()}
    wrong_shape['1.weight'] = torch.zeros(2, 3)
    with pytest.raises(
            InputError,
            match=r'1.weight has shape \(2, 3\) in the checkpoint, '
            r'\(1, 3\) in the model'):
        check_model_keys(model, wrong_shape, path)


def _work_dir(tmp_path, latest_ok=True, last_file=True):
    """epoch_1.pth complete and older, epoch_2.pth newer (truncated unless ``latest_ok``)."""
    first = _save(tmp_path / 'epoch_1.pth')
    second = _save(tmp_path / 'epoch_2.pth')
    if not latest_ok:
        _truncate(second, second + '.tmp')
        os.replace(second + '.tmp', second)
    os.utime(first, (1, 1))
    if last_file:
        (tmp_path / 'last_checkpoint').write_text(second)
    return first, second


def test_resume_finds_the_latest(tmp_path):
    assert resolve_resume(str(tmp_path)) is None  # empty work dir: a new run
    first, second = _work_dir(tmp_path)
    assert resolve_resume(str(tmp_path)) == second
    assert last_complete_checkpoint(str(tmp_path)) == second


def test_resume_with_damaged_latest_names_the_previous(tmp_path):
    first, second = _work_dir(tmp_path, latest_ok=False)
    with pytest.raises(InputError) as e:
        resolve_resume(str(tmp_path))
    msg = str(e.value)
    assert f'(checkpoint {second} is truncated' in msg
    assert f'resume from it with --resume {first}' in msg
    assert last_complete_checkpoint(str(tmp_path)) == first


def test_resume_without_last_checkpoint_does_not_start_over(tmp_path):
    first, second = _work_dir(tmp_path, last_file=False)
    with pytest.raises(InputError, match=f'no last_checkpoint file.*--resume {second}'):
        resolve_resume(str(tmp_path))


def test_resume_with_nothing_complete(tmp_path):
    open(tmp_path / 'epoch_1.pth', 'wb').close()
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    with pytest.raises(InputError, match='no complete checkpoint is left'):
        resolve_resume(str(tmp_path))


class ToyModel(BaseModel):
    """``loss_toy = mean((w * x)^2)``; from call ``fault_at`` on, a NaN loss (``'nan'``) or
    a finite loss with an infinite gradient (``'inf_grad'``: sqrt at 0)."""

    def __init__(self, fault=None, fault_at=0):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))
        self.fault, self.fault_at, self.calls = fault, fault_at, 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.calls += 1
        loss = (self.w * inputs).pow(2).mean()
        if self.fault and self.calls >= self.fault_at:
            if self.fault == 'nan':
                loss = loss * float('nan')
            else:
                loss = loss + (self.w - self.w.detach()).abs().sum().sqrt()
        return dict(loss_toy=loss)


def _runner(tmp_path, model, interval, iters=5, atomic=False):
    runner = toy_runner(
        tmp_path,
        model,
        dict(type='CheckFiniteHook', interval=interval),
        iters=iters,
        checkpoint_interval=1)
    if atomic:
        hook = next(h for h in runner.hooks if isinstance(h, CheckpointHook))
        hook.backend_args = dict(backend='local_atomic')
    return runner


def _saved(tmp_path):
    return sorted(p for p in os.listdir(tmp_path) if p.endswith('.pth'))


def _last(tmp_path):
    return osp.basename((tmp_path / 'last_checkpoint').read_text().strip())


@pytest.mark.parametrize('fault,message', [
    ('nan', 'non-finite loss at iteration 3: loss=nan, loss_toy=nan'),
    ('inf_grad', 'non-finite weight w after the optimizer step at iteration 3'),
])
def test_non_finite_stops_at_its_iteration(tmp_path, fault, message):
    import warnings
    runner = _runner(tmp_path, ToyModel(fault, fault_at=3), interval=1)
    with pytest.raises(TrainingFault, match=message), warnings.catch_warnings():
        warnings.filterwarnings('error', message='Converting a tensor with requires_grad')
        runner.train()
    assert _saved(tmp_path) == ['iter_1.pth', 'iter_2.pth']
    assert _last(tmp_path) == 'iter_2.pth'
    _, state = load_checkpoint_file(str(tmp_path / 'iter_2.pth'))
    assert torch.isfinite(state['w']).all()


def test_checkpoint_between_checks_is_never_nan(tmp_path):
    """Checks every 4 iterations, NaN from iteration 3: the checkpoint due after iteration 3
    is refused, so training stops there, not at the next check."""
    runner = _runner(tmp_path, ToyModel('nan', fault_at=3), interval=4)
    with pytest.raises(
            TrainingFault,
            match=r'checkpoint due after iteration 3 holds a '
            r'non-finite weight \(w\); it was not written'):
        runner.train()
    assert _saved(tmp_path) == ['iter_1.pth', 'iter_2.pth']
    assert _last(tmp_path) == 'iter_2.pth'


def test_finite_run_is_untouched(tmp_path):
    runner = _runner(tmp_path, ToyModel(), interval=1, iters=3, atomic=True)
    runner.train()
    assert _saved(tmp_path) == ['iter_1.pth', 'iter_2.pth', 'iter_3.pth']
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]
    # the permissions a plain open() gives, not mkstemp's owner-only 0600
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / 'iter_1.pth').st_mode) == 0o666 & ~umask
    with pytest.raises(ValueError, match='interval must be an int >= 1'):
        CheckFiniteHook(interval=0)


@pytest.mark.parametrize('max_keep_ckpts', [-1, 1])
def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, max_keep_ckpts):
    """The disk fills while iter_2.pth is written (the writer raises ENOSPC): no iter_2.pth,
    no temporary file, iter_1.pth and last_checkpoint as they were, one clear error; also
    when the hook keeps one checkpoint (it asks to remove iter_1.pth before writing)."""
    runner = _runner(tmp_path, ToyModel(), interval=1, atomic=True)
    next(h for h in runner.hooks if isinstance(h, CheckpointHook)).max_keep_ckpts = max_keep_ckpts
    real_fsync, files_synced = os.fsync, []

    def fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            files_synced.append(fd)
            if len(files_synced) == 2:
                raise OSError(errno.ENOSPC, 'No space left on device')
        real_fsync(fd)

    with mock.patch('os.fsync', fsync):
        with pytest.raises(TrainingFault) as e:
            runner.train()
    assert 'could not write checkpoint' in str(e.value) and 'iter_2.pth' in str(e.value)
    assert 'ENOSPC, No space left on device' in str(e.value)
    assert _saved(tmp_path) == ['iter_1.pth']
    assert not [p for p in os.listdir(tmp_path) if '.tmp' in p]
    assert _last(tmp_path) == 'iter_1.pth'
    _, state = load_checkpoint_file(str(tmp_path / 'iter_1.pth'))
    assert torch.isfinite(state['w']).all()


def test_kept_checkpoints_are_removed_after_the_next_write(tmp_path):
    runner = _runner(tmp_path, ToyModel(), interval=1, iters=3, atomic=True)
    next(h for h in runner.hooks if isinstance(h, CheckpointHook)).max_keep_ckpts = 1
    runner.train()
    assert _saved(tmp_path) == ['iter_3.pth']
    assert _last(tmp_path) == 'iter_3.pth'
