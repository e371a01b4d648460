# Copyright (c) skd_det contributors.
import math
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop

from skd_det.models.teachers.pskd_teacher import PSKDTeacher

#: The checkpoint entry holding the snapshot (beside ``state_dict``).
CHECKPOINT_KEY = 'pskd_snapshot'


@HOOKS.register_module()
class PSKDHook(Hook):
    """PS-KD's schedule, "Self-Knowledge Distillation with Progressive
    Refinement of Targets" (Kim et al., ICCV 2021): ``alpha_t`` and the
    previous epoch's snapshot of a :class:`~skd_det.models.teachers.
    PSKDTeacher` part.

    Epoch-based runs follow the authors' indexing (lgcnsai/PS-KD-Pytorch
    main.py:323, 0-based epoch ``t`` of ``T``); with ``interval``, and in
    iteration-based runs, refresh intervals of ``I`` iterations take the
    place of epochs (``I = interval``, by default one pass over the
    training data, ``len(train_dataloader)``)::

        t = runner.epoch,   T = max_epochs            (epoch-based, no interval)
        t = iter // I,      T = ceil(max_iters / I)   (otherwise)
        alpha_t = alpha_T * (t + 1) / T

    Before every iteration it calls the part's ``set_progress(t, T)`` and
    logs the mixing weight as ``pskd_alpha`` (0 while ``t = 0``: the
    target is the label). After every epoch (or ``I`` iterations) it
    refreshes the snapshot with the student's weights; its priority
    (NORMAL) runs it before ``CheckpointHook``, so a checkpoint saved at the
    boundary holds the new snapshot.

    Checkpoints get the snapshot (and its refresh count) under
    ``pskd_snapshot``; ``--resume`` restores it, and ``alpha_t`` is
    recomputed from the resumed epoch/iteration, so a run resumed mid-epoch
    trains with the same targets as an uninterrupted one. Resuming a
    checkpoint whose snapshot does not belong to the resumed epoch (none, or
    from another boundary) or to this student stops with a ValueError. A
    run that starts at iteration 0 (also with ``load_from``) starts without
    a snapshot, as the authors' first epoch.

    Args:
        interval (int, optional): Iterations between refreshes. Defaults to
            None: every epoch in an epoch-based run (as the authors), one
            pass over the training data in an iteration-based one. Set it
            where an mmengine epoch is not one pass over the data (mmdet's
            VOC07+12 recipe repeats the data 3 times per epoch).
    """

    priority = 'NORMAL'

    def __init__(self, interval: Optional[int] = None) -> None:
        if interval is not None and (isinstance(interval, bool) or not isinstance(interval, int)
                                     or interval < 1):
            raise ValueError(f'PSKDHook.interval must be None or an integer '
                             f'>= 1, got {interval!r}')
        self.interval = interval
        self._by_epoch = True
        self._iters = None
        self._loaded = False

    @staticmethod
    def _teacher(runner) -> PSKDTeacher:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        teacher = getattr(model, 'teacher', None)
        if not isinstance(teacher, PSKDTeacher):
            raise TypeError(f'PSKDHook schedules a PSKDDetTeacher/PSKDSegTeacher part; '
                            f'the model is a {type(model).__name__} with teacher '
                            f'{type(teacher).__name__}')
        return teacher

    def stage(self, runner) -> tuple:
        """``(t, T)`` at the runner's current epoch/iteration."""
        if self._by_epoch:
            return runner.epoch, runner.max_epochs
        return runner.iter // self._iters, math.ceil(runner.max_iters / self._iters)

    def before_train(self, runner) -> None:
        teacher = self._teacher(runner)
        self._by_epoch = self.interval is None and isinstance(runner.train_loop,
                                                              EpochBasedTrainLoop)
        self._iters = self.interval or len(runner.train_dataloader)
        teacher.scheduled = True
        if runner.iter == 0:
            # a fresh run, or load_from: no snapshot before the first refresh
            teacher.refreshes = 0
            return
        done = self.stage(runner)[0]
        if teacher.refreshes != done:
            where = (f'epoch {runner.epoch}'
                     if self._by_epoch else f'iteration {runner.iter} (refresh interval '
                     f'{self._iters})')
            raise ValueError(
                f'PSKDHook: resuming at {where} needs the snapshot of '
                f'{done} refreshes, but the checkpoint\'s {CHECKPOINT_KEY} '
                f'has {teacher.refreshes}' +
                ('' if self._loaded else ' (the checkpoint has none: not a PS-KD run\'s)'))

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[Sequence[dict]] = None) -> None:
        teacher = self._teacher(runner)
        teacher.set_progress(*self.stage(runner))
        runner.message_hub.update_scalar('train/pskd_alpha', teacher.alpha)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[Sequence[dict]] = None,
                         outputs: Optional[dict] = None) -> None:
        if not self._by_epoch and (runner.iter + 1) % self._iters == 0:
            self._refresh(runner)

    def after_train_epoch(self, runner) -> None:
        if self._by_epoch:
            self._refresh(runner)

    def _refresh(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._teacher(runner).refresh(model.student)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = self._teacher(runner).snapshot_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if CHECKPOINT_KEY in checkpoint:
            self._teacher(runner).load_snapshot_state(checkpoint[CHECKPOINT_KEY],
                                                      f'checkpoint[{CHECKPOINT_KEY!r}]')
            self._loaded = True
