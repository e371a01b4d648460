# Copyright (c) skd_det contributors.
"""DistillWarmupHook: the schedule's values, and the scale a model sees in
iteration- and epoch-based runs, after --resume and inside a DDP wrapper."""
import math
import uuid
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseModel, MMDistributedDataParallel

from skd_det.engine.hooks import DistillWarmupHook
from skd_det.testing import toy_runner


class ToyDistiller(BaseModel):
    """Records the distillation scale it is trained with at every step."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.distill_weight_scale = 1.0
        self.seen = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            self.seen.append(self.distill_weight_scale)
            return dict(loss=self.linear(inputs).pow(2).mean())
        return self.linear(inputs)


def make_runner(work_dir, model, by_epoch=False, **kwargs):
    return toy_runner(
        work_dir,
        model,
        dict(type='DistillWarmupHook', begin=0.5),
        iters=6,
        checkpoint_interval=3,
        by_epoch=by_epoch,
        **kwargs)


def test_schedule_values():
    hook = DistillWarmupHook()  # authors': off for 2/3 of the run, then the ramp
    T = 300
    scales = [hook.scale_at(i, T) for i in range(T + 1)]
    assert scales[0] == 0 and scales[199] == 0
    assert scales[200] == 0  # exactly 2/3 of the run: still off
    assert 0 < scales[201] < 0.01
    assert scales[250] == pytest.approx(math.exp(-5 * 0.5**2))  # half-way up the ramp
    assert scales[T - 1] > 0.999 and scales[T] == 1.0
    assert all(a <= b for a, b in zip(scales, scales[1:]))
    assert DistillWarmupHook(begin=0.2, end=0.5).scale_at(60, 100) == 1.0


@pytest.mark.parametrize('begin,end', [(0.5, 0.5), (-0.1, 1.0), (0.5, 1.5)])
def test_bad_fractions(begin, end):
    with pytest.raises(ValueError, match='0 <= begin < end <= 1'):
        DistillWarmupHook(begin=begin, end=end)


@pytest.mark.parametrize('by_epoch', [False, True])
def test_model_sees_the_scale_of_each_iteration(tmp_path, by_epoch):
    model = ToyDistiller()
    runner = make_runner(tmp_path, model, by_epoch=by_epoch)
    runner.train()
    hook = DistillWarmupHook(begin=0.5)
    assert runner.max_iters == 6
    assert model.seen == [hook.scale_at(i, 6) for i in range(6)]
    assert model.seen[:4] == [0, 0, 0, 0] and 0 < model.seen[4] < model.seen[5] < 1
    logged = runner.message_hub.get_scalar('train/distill_weight_scale')
    assert logged.current() == model.seen[-1]


def test_resume_recomputes_the_scale(tmp_path):
    full = ToyDistiller()
    make_runner(tmp_path / 'full', full).train()
    resumed = ToyDistiller()  # fresh model: scale 1.0 until the hook sets it
    make_runner(
        tmp_path / 'resumed', resumed, resume=True,
        load_from=str(tmp_path / 'full' / 'iter_3.pth')).train()
    assert resumed.seen == full.seen[3:]
    assert resumed.seen[0] == 0 and resumed.seen[-1] > 0


def test_ddp_wrapped_model_is_unwrapped():
    model = ToyDistiller()
    ddp = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(ddp)  # no process group needed to hold a module
    ddp.module = model
    runner = SimpleNamespace(
        model=ddp,
        iter=5,
        max_iters=6,
        message_hub=MessageHub.get_instance(f'warmup_{uuid.uuid4().hex}'))
    DistillWarmupHook(begin=0.5).before_train_iter(runner, batch_idx=5)
    assert model.distill_weight_scale == DistillWarmupHook(begin=0.5).scale_at(5, 6) > 0


def test_model_without_scale_is_rejected(tmp_path):

    class Plain(ToyDistiller):

        def __init__(self):
            super().__init__()
            del self.distill_weight_scale

    runner = make_runner(tmp_path, Plain())
    with pytest.raises(TypeError, match='SelfDistillDetector/SelfDistillSegmentor.*Plain'):
        runner.train()
