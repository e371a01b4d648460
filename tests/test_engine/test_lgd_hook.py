# Copyright (c) skd_det contributors.
"""LGDPhaseHook: the phase boundaries as fractions of the run, what the teacher and the
student's backbone see at every iteration of iteration- and epoch-based runs (the frozen
backbone is not updated by the optimizer), after --resume and inside a DDP wrapper."""
import uuid
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseModel, MMDistributedDataParallel

from skd_det.engine.hooks import LGDPhaseHook
from skd_det.testing import toy_runner


class ToyTeacher(nn.Module):

    def __init__(self):
        super().__init__()
        # the opposite of the first phase: the hook must set it before the first step
        self.detach_distill_student = False


class ToyStudent(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 2)
        self.backbone.bias.requires_grad_(False)  # like a frozen stage: must stay frozen
        self.neck = nn.Linear(2, 1)


class ToyLGD(BaseModel):
    """Records the phase at every training step: the teacher's flag, whether the backbone's
    weight trains, and whether the previous step changed it."""

    def __init__(self):
        super().__init__()
        self.student = ToyStudent()
        self.teacher = ToyTeacher()
        self.seen = []
        self._last = None

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.student.neck(self.student.backbone(inputs))
        if mode == 'loss':
            weight = self.student.backbone.weight.detach().clone()
            changed = None if self._last is None else not torch.equal(weight, self._last)
            self._last = weight
            self.seen.append((self.teacher.detach_distill_student,
                              not self.student.backbone.weight.requires_grad, changed))
            assert not self.student.backbone.bias.requires_grad
            return dict(loss=(out - 1).pow(2).mean())
        return out


def make_runner(work_dir, model, by_epoch=False, **kwargs):
    return toy_runner(
        work_dir,
        model,
        dict(type='LGDPhaseHook', adapter_warmup=1 / 3, freeze_backbone=2 / 9),
        iters=9,
        checkpoint_interval=2,
        by_epoch=by_epoch,
        **kwargs)


# 9 iterations: adapter warm-up for iterations 0..2 (1/3), frozen backbone for 0..1 (2/9): the
# step of iteration 1 leaves the backbone as it was, those of iterations 2.. change it
EXPECTED = ([(True, True, None), (True, True, False),
             (True, False, False)] + [(False, False, True)] * 6)


def test_authors_schedule():
    hook = LGDPhaseHook()  # defaults: 30k and 20k of the authors' 180k iterations
    at = lambda i: hook.phase_at(i, 180000)  # noqa: E731
    assert at(0) == dict(detach_distill_student=True, freeze_backbone=True)
    assert at(19999) == dict(detach_distill_student=True, freeze_backbone=True)
    assert at(20000) == dict(detach_distill_student=True, freeze_backbone=False)
    assert at(29999) == dict(detach_distill_student=True, freeze_backbone=False)
    assert at(30000) == dict(detach_distill_student=False, freeze_backbone=False)
    # a 1x COCO run (90k iterations) keeps the proportions: 15k and 10k
    assert hook.phase_at(14999, 90000)['detach_distill_student']
    assert not hook.phase_at(15000, 90000)['detach_distill_student']
    assert hook.phase_at(9999, 90000)['freeze_backbone']
    assert not hook.phase_at(10000, 90000)['freeze_backbone']
    assert LGDPhaseHook(0, 0).phase_at(0, 10) == dict(
        detach_distill_student=False, freeze_backbone=False)


@pytest.mark.parametrize('value', [-0.1, 1.5, '1/6'])
def test_bad_fractions(value):
    with pytest.raises(ValueError, match=r'adapter_warmup must be a fraction of the run'):
        LGDPhaseHook(adapter_warmup=value)
    with pytest.raises(ValueError, match=r'freeze_backbone must be a fraction of the run'):
        LGDPhaseHook(freeze_backbone=value)


@pytest.mark.parametrize('by_epoch', [False, True])
def test_teacher_sees_the_phase_of_each_iteration(tmp_path, by_epoch):
    model = ToyLGD()
    runner = make_runner(tmp_path, model, by_epoch=by_epoch)
    runner.train()
    assert runner.max_iters == 9
    assert model.seen == EXPECTED
    hub = runner.message_hub
    assert hub.get_scalar('train/lgd_detach_distill_student').current() == 0
    assert hub.get_scalar('train/lgd_freeze_backbone').current() == 0
    # after training the backbone is as built: its weight trains, its frozen bias does not
    assert model.student.backbone.weight.requires_grad
    assert not model.student.backbone.bias.requires_grad


def test_resume_recomputes_the_phase(tmp_path):
    full = ToyLGD()
    make_runner(tmp_path / 'full', full).train()
    for start, flags in ((2, False), (4, True)):  # inside the warm-up, and after it
        resumed = ToyLGD()  # fresh teacher flags, wrong for the resumed iteration
        resumed.teacher.detach_distill_student = flags
        make_runner(
            tmp_path / f'resumed_{start}',
            resumed,
            resume=True,
            load_from=str(tmp_path / 'full' / f'iter_{start}.pth')).train()
        # the first resumed step has no previous weight to compare with
        assert [s[:2] for s in resumed.seen] == [s[:2] for s in EXPECTED[start:]]
        assert resumed.seen[1:] == EXPECTED[start + 1:] == full.seen[start + 1:]


def test_ddp_wrapped_model_is_unwrapped():
    model = ToyLGD()
    ddp = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(ddp)  # no process group needed to hold a module
    ddp.module = model
    runner = SimpleNamespace(
        model=ddp,
        iter=1,
        max_iters=9,
        message_hub=MessageHub.get_instance(f'lgd_{uuid.uuid4().hex}'))
    ddp.find_unused_parameters = True
    hook = LGDPhaseHook(1 / 3, 1 / 9)
    hook.before_train(runner)
    hook.before_train_iter(runner, batch_idx=1)
    assert model.teacher.detach_distill_student
    assert model.student.backbone.weight.requires_grad  # iteration 1 >= 9 / 9
    # a frozen backbone has no gradient: DDP must look for unused parameters
    ddp.find_unused_parameters = False
    with pytest.raises(ValueError, match='find_unused_parameters=True'):
        hook.before_train(runner)
    LGDPhaseHook(1 / 3, 0).before_train(runner)  # no frozen phase: fine


def test_model_without_lgd_teacher_is_rejected(tmp_path):

    class Plain(ToyLGD):

        def __init__(self):
            super().__init__()
            del self.teacher

    runner = make_runner(tmp_path, Plain())
    with pytest.raises(
            TypeError,
            match='LGDTeacher and a student with a backbone; the model '
            'is a Plain with teacher NoneType'):
        runner.train()
