# Copyright (c) skd_det contributors.
import time

from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop


@HOOKS.register_module()
class TimeBudgetHook(Hook):
    """Stop epoch-based training before it overruns a time budget, at an epoch end that has a
    checkpoint.

    After each epoch that the ``CheckpointHook`` saves (every epoch without one), the hook
    estimates when the next such epoch would end from the mean epoch time of this run so far;
    if that is past ``budget_min`` minutes after training started, it sets
    ``runner.train_loop.stop_training`` (honoured by mmengine's loops, as ``EarlyStoppingHook``
    uses it) and logs how many epochs ran. The checkpoint of that epoch is the run's last, so
    ``tools/test.py`` and ``export_student.py`` take it as usual.

    The parameter schedulers are not shortened: a run cut short stops at the learning rate its
    last epoch had, not at the end of a (cosine) decay. For a shorter complete schedule, set
    ``train_cfg.max_epochs`` and the schedulers' ``end`` instead.

    Args:
        budget_min (float): Minutes of training (from ``before_train``) that the last epoch
            must end within. Resumed runs count from their own start.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW): the stop is known when it saves

    def __init__(self, budget_min: float) -> None:
        number = isinstance(budget_min, (int, float)) and not isinstance(budget_min, bool)
        if not number or budget_min <= 0:
            raise ValueError(f'TimeBudgetHook: budget_min must be a number > 0, got {budget_min!r}')
        self.budget_min = budget_min

    def before_train(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise ValueError('TimeBudgetHook stops epoch-based training (train_cfg.by_epoch='
                             f'True); the train loop is {type(runner.train_loop).__name__}')
        self._start = time.monotonic()
        self._start_epoch = runner.epoch
        ckpt = [h for h in runner.hooks if isinstance(h, CheckpointHook) and h.by_epoch]
        self._ckpt = ckpt[0] if ckpt else None

    def _saves(self, runner) -> bool:
        """Whether the CheckpointHook saves at the end of the current epoch."""
        ckpt = self._ckpt
        return ckpt is None or ckpt.every_n_epochs(runner, ckpt.interval, ckpt.save_begin)

    def after_train_epoch(self, runner) -> None:
        done, total = runner.epoch + 1, runner.max_epochs
        if done >= total or not self._saves(runner):
            return
        elapsed = time.monotonic() - self._start
        per_epoch = elapsed / (done - self._start_epoch)
        step = self._ckpt.interval if self._ckpt is not None else 1
        if elapsed + per_epoch * step <= self.budget_min * 60:
            return
        runner.train_loop.stop_training = True
        full = per_epoch * (total - self._start_epoch) / 60
        runner.logger.warning(
            f'TimeBudgetHook: stopped after {done} of {total} epochs: time budget '
            f'{self.budget_min:g} min reached ({elapsed / 60:.1f} min so far, '
            f'{per_epoch / 60:.2f} min per epoch; the full schedule needs about {full:.1f} min). '
            'The learning-rate schedule was not shortened: this last checkpoint did not reach '
            'the end of its decay.')
