# Copyright (c) skd_det contributors.
"""TimeBudgetHook on the toy runner with a mocked clock (each training step takes 10 s): the
epoch it stops at, only at an epoch that has a checkpoint, the last checkpoint being that
epoch's, a budget that fits the whole schedule, and bad arguments."""
import os.path as osp
from unittest import mock

import pytest
import torch.nn as nn
from mmengine.model import BaseModel

from skd_det.engine.hooks import TimeBudgetHook
from skd_det.testing import toy_runner

STEP_S = 10


class Clock:
    now = 0.0

    def monotonic(self):
        return self.now


class ToyModel(BaseModel):
    """Each training step advances ``clock`` by STEP_S seconds."""

    def __init__(self, clock):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.clock = clock

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            self.clock.now += STEP_S
            return dict(loss=self.linear(inputs).pow(2).mean())
        return self.linear(inputs)


def _train(work_dir, budget_min, checkpoint_interval=1, max_epochs=5):
    """2 steps (20 s) per epoch; the run and its log text."""
    clock = Clock()
    runner = toy_runner(
        work_dir,
        ToyModel(clock),
        dict(type='TimeBudgetHook', budget_min=budget_min),
        iters=2,
        checkpoint_interval=checkpoint_interval,
        by_epoch=True,
        max_epochs=max_epochs)
    with mock.patch('skd_det.engine.hooks.time_budget_hook.time', clock):
        runner.train()
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        return runner, f.read()


def _last_checkpoint(runner):
    with open(osp.join(runner.work_dir, 'last_checkpoint')) as f:
        return osp.basename(f.read().strip())


def test_stops_before_the_epoch_that_would_overrun(tmp_path):
    # 60 s: epoch 3 ends at 60 s, epoch 4 would end at 80 s
    runner, log = _train(tmp_path, budget_min=1)
    assert runner.epoch == 3 and runner.iter == 6
    assert _last_checkpoint(runner) == 'epoch_3.pth'
    assert not osp.exists(osp.join(runner.work_dir, 'epoch_4.pth'))
    assert ('stopped after 3 of 5 epochs: time budget 1 min reached (1.0 min so far, 0.33 min '
            'per epoch; the full schedule needs about 1.7 min)') in log
    assert 'learning-rate schedule was not shortened' in log


def test_stops_only_at_an_epoch_with_a_checkpoint(tmp_path):
    # checkpoints at epochs 2 and 4: after epoch 2 (40 s), the next one would end at 80 s
    runner, log = _train(tmp_path, budget_min=1, checkpoint_interval=2)
    assert runner.epoch == 2
    assert _last_checkpoint(runner) == 'epoch_2.pth'
    assert 'stopped after 2 of 5 epochs' in log


def test_a_budget_that_fits_runs_the_whole_schedule(tmp_path):
    runner, log = _train(tmp_path, budget_min=100 / 60)  # the 5 epochs take exactly 100 s
    assert runner.epoch == 5
    assert _last_checkpoint(runner) == 'epoch_5.pth'
    assert 'stopped after' not in log


@pytest.mark.parametrize('budget', [0, -1, True, '12'])
def test_bad_budget(budget):
    with pytest.raises(ValueError, match=f'budget_min must be a number > 0, got {budget!r}'):
        TimeBudgetHook(budget_min=budget)


def test_rejects_an_iteration_based_loop(tmp_path):
    runner = toy_runner(
        tmp_path,
        ToyModel(Clock()),
        dict(type='TimeBudgetHook', budget_min=1),
        iters=2,
        checkpoint_interval=1)
    with pytest.raises(ValueError, match='epoch-based training .* IterBasedTrainLoop'):
        runner.train()
