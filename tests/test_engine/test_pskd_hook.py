# Copyright (c) skd_det contributors.
"""PSKDHook on the toy runner: alpha_t and the snapshot at every iteration of epoch- and
iteration-based runs (the authors' indexing: labels in the first epoch, the previous epoch's
model afterwards), the snapshot in checkpoints and restored exactly by --resume (also inside
a refresh interval), the errors on a checkpoint without or with a foreign snapshot, and the
snapshots of two DDP (gloo) processes after a refresh."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import EpochBasedTrainLoop

from skd_det.engine.hooks import PSKDHook
from skd_det.models.teachers import PSKDTeacher
from skd_det.testing import toy_runner
from skd_det.utils import load_checkpoint


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class ToyPSKD(BaseModel):
    """Records, at every training step, the mixing weight and alpha_t the hook set, the
    refresh count, the snapshot's and the student's weights and buffers (before the step)."""

    def __init__(self):
        super().__init__()
        self.student = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
        self.teacher = PSKDTeacher(self.student, {}, alpha_T=0.8)
        self.seen = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            self.seen.append(
                dict(
                    alpha=self.teacher.alpha,
                    alpha_t=self.teacher.alpha_t,
                    refreshes=self.teacher.refreshes,
                    snapshot=_state(self.teacher.snapshot),
                    student=_state(self.student)))
        out = self.student(inputs)
        return dict(loss=(out - 1).pow(2).mean()) if mode == 'loss' else out


def make_runner(work_dir, model, by_epoch, interval=None, **kwargs):
    """Epoch-based: 3 epochs of 3 iterations, a checkpoint per epoch; iteration-based: 8
    iterations, a refresh every ``interval`` and a checkpoint every 2."""
    hook = dict(type='PSKDHook', interval=interval)
    if by_epoch:
        return toy_runner(
            work_dir,
            model,
            hook,
            iters=3,
            checkpoint_interval=1,
            by_epoch=True,
            max_epochs=3,
            **kwargs)
    return toy_runner(work_dir, model, hook, iters=8, checkpoint_interval=2, **kwargs)


def test_alpha_and_snapshot_per_epoch(tmp_path):
    model = ToyPSKD()
    make_runner(tmp_path, model, by_epoch=True).train()
    seen = model.seen
    assert len(seen) == 9
    # alpha_t = 0.8 * (epoch + 1) / 3; the first epoch trains on the labels
    assert [s['alpha_t'] for s in seen] == pytest.approx([0.8 / 3] * 3 + [1.6 / 3] * 3 + [0.8] * 3)
    assert [s['alpha'] for s in seen] == pytest.approx([0] * 3 + [1.6 / 3] * 3 + [0.8] * 3)
    assert [s['refreshes'] for s in seen] == [0] * 3 + [1] * 3 + [2] * 3
    for epoch in (1, 2):
        first = seen[3 * epoch]
        # the snapshot is the student as the previous epoch left it, for the whole epoch
        for s in seen[3 * epoch:3 * epoch + 3]:
            assert _equal(s['snapshot'], first['student'])
        assert not _equal(first['snapshot'], seen[3 * epoch + 1]['student'])
    assert model.teacher.refreshes == 3


def test_alpha_and_snapshot_per_interval(tmp_path):
    model = ToyPSKD()
    runner = make_runner(tmp_path, model, by_epoch=False, interval=3)
    runner.train()
    seen = model.seen
    # t = iter // 3 of T = ceil(8 / 3) = 3
    assert [s['alpha'] for s in seen] == pytest.approx([0] * 3 + [1.6 / 3] * 3 + [0.8] * 2)
    for i in range(3, 8):
        assert _equal(seen[i]['snapshot'], seen[3 * (i // 3)]['student'])
    assert runner.message_hub.get_scalar('train/pskd_alpha').current() == pytest.approx(0.8)


def test_interval_in_an_epoch_based_run(tmp_path):
    """3 epochs of 3 iterations refreshed every 2 iterations: t = iter // 2 of 5."""
    model = ToyPSKD()
    make_runner(tmp_path, model, by_epoch=True, interval=2).train()
    assert [s['alpha'] for s in model.seen
            ] == pytest.approx([0, 0] + [0.8 * k / 5 for k in (2, 2, 3, 3, 4, 4, 5)])
    for i in range(2, 9):
        assert _equal(model.seen[i]['snapshot'], model.seen[2 * (i // 2)]['student'])


def test_default_interval_is_one_pass_over_the_data():
    model = ToyPSKD()
    runner = SimpleNamespace(
        model=model, train_loop=object(), train_dataloader=[0] * 5, iter=0, max_iters=12)
    hook = PSKDHook()
    hook.before_train(runner)
    assert model.teacher.scheduled
    runner.iter = 7
    assert hook.stage(runner) == (1, 3)  # 7 // 5, ceil(12 / 5)


def test_interval_errors():
    for value in (0, 2.5, True):
        with pytest.raises(
                ValueError, match=f'interval must be None or an integer >= 1, '
                f'got {value!r}'):
            PSKDHook(interval=value)
    runner = SimpleNamespace(
        model=SimpleNamespace(teacher=nn.Module()),
        iter=0,
        train_loop=object.__new__(EpochBasedTrainLoop))
    with pytest.raises(TypeError, match='PSKDHook schedules a PSKDDetTeacher/PSKDSegTeacher'):
        PSKDHook().before_train(runner)


@pytest.mark.parametrize('by_epoch,checkpoint,first', [(False, 'iter_4.pth', 4),
                                                       (True, 'epoch_1.pth', 3)])
def test_resume_restores_snapshot_and_alpha(tmp_path, by_epoch, checkpoint, first):
    """iter_4 lies inside the second refresh interval (iterations 3-5)."""
    full = ToyPSKD()
    make_runner(tmp_path / 'full', full, by_epoch, interval=None if by_epoch else 3).train()
    ckpt = load_checkpoint(str(tmp_path / 'full' / checkpoint))
    saved = ckpt['pskd_snapshot']
    assert saved['refreshes'] == 1
    assert _equal(saved['state_dict'], full.seen[first]['snapshot'])
    assert not any(k.startswith('teacher.') for k in ckpt['state_dict'])

    resumed = ToyPSKD()  # another initialisation: its own snapshot is wrong
    make_runner(
        tmp_path / 'resumed',
        resumed,
        by_epoch,
        interval=None if by_epoch else 3,
        resume=True,
        load_from=str(tmp_path / 'full' / checkpoint)).train()
    assert len(resumed.seen) == len(full.seen) - first
    for ours, theirs in zip(resumed.seen, full.seen[first:]):
        assert ours['alpha'] == theirs['alpha'] and ours['refreshes'] == theirs['refreshes']
        assert _equal(ours['snapshot'], theirs['snapshot'])
        assert _equal(ours['student'], theirs['student'])


def test_resume_rejects_missing_stale_or_foreign_snapshots(tmp_path):
    make_runner(tmp_path / 'full', ToyPSKD(), by_epoch=False, interval=3).train()
    ckpt = load_checkpoint(str(tmp_path / 'full' / 'iter_4.pth'))

    def resume(name, checkpoint):
        path = str(tmp_path / name)
        torch.save(checkpoint, path)
        make_runner(
            tmp_path / f'run_{name}',
            ToyPSKD(),
            by_epoch=False,
            interval=3,
            resume=True,
            load_from=path).train()

    missing = {k: v for k, v in ckpt.items() if k != 'pskd_snapshot'}
    with pytest.raises(
            ValueError,
            match=r"resuming at iteration 4 \(refresh interval 3\) "
            r"needs the snapshot of 1 refreshes, but the "
            r"checkpoint's pskd_snapshot has 0 \(the checkpoint "
            r'has none'):
        resume('missing.pth', missing)
    stale = dict(ckpt, pskd_snapshot=dict(ckpt['pskd_snapshot'], refreshes=2))
    with pytest.raises(
            ValueError,
            match="needs the snapshot of 1 refreshes, but the "
            "checkpoint's pskd_snapshot has 2$"):
        resume('stale.pth', stale)
    foreign = dict(ckpt['pskd_snapshot'])
    foreign['state_dict'] = dict(foreign['state_dict'], **{'0.weight': torch.zeros(3, 2)})
    with pytest.raises(
            ValueError,
            match=r"checkpoint\['pskd_snapshot'\] is not a snapshot of "
            r'this student: 0.weight has shape \(3, 2\)'):
        resume('foreign.pth', dict(ckpt, pskd_snapshot=foreign))


def test_load_from_starts_without_a_snapshot(tmp_path):
    """load_from (not resume) starts at iteration 0: the first interval trains on labels."""
    make_runner(tmp_path / 'full', ToyPSKD(), by_epoch=False, interval=3).train()
    model = ToyPSKD()
    make_runner(
        tmp_path / 'ft',
        model,
        by_epoch=False,
        interval=3,
        load_from=str(tmp_path / 'full' / 'iter_8.pth')).train()
    assert [s['alpha'] for s in model.seen[:3]] == [0, 0, 0]
    assert [s['refreshes'] for s in model.seen] == [0] * 3 + [1] * 3 + [2] * 2


def _ddp_worker(rank, world_size, init_file, out_dir):
    import torch.distributed as dist
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=world_size)
    torch.manual_seed(0)  # the same weights on every rank, as DDP's initial broadcast gives
    student = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4))
    teacher = PSKDTeacher(student, {})
    student.train()
    student(torch.randn(8, 2) * (rank + 1) + rank)  # BN statistics of this rank's batch
    teacher.refresh(student)
    torch.save(
        dict(student=_state(student), snapshot=_state(teacher.snapshot)),
        f'{out_dir}/rank{rank}.pt')
    dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_snapshots_identical_across_ranks(tmp_path):
    import torch.multiprocessing as mp
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(str(tmp_path / f'rank{r}.pt')) for r in range(2)]
    key = '1.running_mean'
    assert not torch.equal(ranks[0]['student'][key], ranks[1]['student'][key])
    assert _equal(ranks[0]['snapshot'], ranks[1]['snapshot'])
    assert _equal(ranks[1]['snapshot'], ranks[0]['student'])
