# Copyright (c) skd_det contributors.
"""LGDPhaseHook: the phase boundaries as fractions of the run, what the teacher sees at every
iteration of iteration- and epoch-based runs, after --resume and inside a DDP wrapper."""
import uuid
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseModel, MMDistributedDataParallel
from conftest import toy_runner

from skd_det.engine.hooks import LGDPhaseHook


class ToyTeacher(nn.Module):

    def __init__(self):
        super().__init__()
        # the opposite of the first phase: the hook must set them before the first step
        self.detach_distill_student = False
        self.detach_teacher_input = False


class ToyLGD(BaseModel):
    """Records the teacher's phase flags at every training step."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.teacher = ToyTeacher()
        self.seen = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            self.seen.append((self.teacher.detach_distill_student,
                              self.teacher.detach_teacher_input))
            return dict(loss=self.linear(inputs).pow(2).mean())
        return self.linear(inputs)


def make_runner(work_dir, model, by_epoch=False, **kwargs):
    return toy_runner(
        work_dir, model,
        dict(type='LGDPhaseHook', adapter_warmup=1 / 3, teacher_isolation=2 / 9),
        iters=9, checkpoint_interval=2, by_epoch=by_epoch, **kwargs)


# 9 iterations: adapter warm-up for iterations 0..2 (1/3), teacher isolation for 0..1 (2/9)
EXPECTED = [(True, True)] * 2 + [(True, False)] + [(False, False)] * 6


def test_authors_schedule():
    hook = LGDPhaseHook()  # defaults: 30k and 20k of the authors' 180k iterations
    at = lambda i: hook.phase_at(i, 180000)  # noqa: E731
    assert at(0) == dict(detach_distill_student=True, detach_teacher_input=True)
    assert at(19999) == dict(detach_distill_student=True, detach_teacher_input=True)
    assert at(20000) == dict(detach_distill_student=True, detach_teacher_input=False)
    assert at(29999) == dict(detach_distill_student=True, detach_teacher_input=False)
    assert at(30000) == dict(detach_distill_student=False, detach_teacher_input=False)
    # a 1x COCO run (90k iterations) keeps the proportions: 15k and 10k
    assert hook.phase_at(14999, 90000)['detach_distill_student']
    assert not hook.phase_at(15000, 90000)['detach_distill_student']
    assert hook.phase_at(9999, 90000)['detach_teacher_input']
    assert not hook.phase_at(10000, 90000)['detach_teacher_input']
    assert LGDPhaseHook(0, 0).phase_at(0, 10) == dict(detach_distill_student=False,
                                                      detach_teacher_input=False)


@pytest.mark.parametrize('value', [-0.1, 1.5, '1/6'])
def test_bad_fractions(value):
    with pytest.raises(ValueError, match=r'adapter_warmup must be a fraction of the run'):
        LGDPhaseHook(adapter_warmup=value)


@pytest.mark.parametrize('by_epoch', [False, True])
def test_teacher_sees_the_phase_of_each_iteration(tmp_path, by_epoch):
    model = ToyLGD()
    runner = make_runner(tmp_path, model, by_epoch=by_epoch)
    runner.train()
    assert runner.max_iters == 9
    assert model.seen == EXPECTED
    hub = runner.message_hub
    assert hub.get_scalar('train/lgd_detach_distill_student').current() == 0
    assert hub.get_scalar('train/lgd_detach_teacher_input').current() == 0


def test_resume_recomputes_the_phase(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    full = ToyLGD()
    make_runner(tmp_path / 'full', full).train()
    for start, flags in ((2, False), (4, True)):  # inside the warm-up, and after it
        resumed = ToyLGD()  # fresh teacher flags, wrong for the resumed iteration
        resumed.teacher.detach_distill_student = resumed.teacher.detach_teacher_input = flags
        make_runner(tmp_path / f'resumed_{start}', resumed, resume=True,
                    load_from=str(tmp_path / 'full' / f'iter_{start}.pth')).train()
        assert resumed.seen == EXPECTED[start:] == full.seen[start:]


def test_ddp_wrapped_model_is_unwrapped():
    model = ToyLGD()
    ddp = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(ddp)  # no process group needed to hold a module
    ddp.module = model
    runner = SimpleNamespace(model=ddp, iter=1, max_iters=9,
                             message_hub=MessageHub.get_instance(f'lgd_{uuid.uuid4().hex}'))
    LGDPhaseHook(1 / 3, 1 / 9).before_train_iter(runner, batch_idx=1)
    assert model.teacher.detach_distill_student and not model.teacher.detach_teacher_input


def test_model_without_lgd_teacher_is_rejected(tmp_path):

    class Plain(ToyLGD):

        def __init__(self):
            super().__init__()
            del self.teacher

    runner = make_runner(tmp_path, Plain())
    with pytest.raises(TypeError, match='LGDTeacher; the model is a Plain with teacher NoneType'):
        runner.train()
