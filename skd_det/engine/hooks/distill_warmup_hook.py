# Copyright (c) skd_det contributors.
import math
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DistillWarmupHook(Hook):
    """FRSKD's distillation schedule: off, then a sigmoid ramp to full weight.

    "Refine Myself by Teaching Myself" (Ji et al., CVPR 2021) trains its
    segmentation models with distillation off for the first 40 of 60 epochs
    and ramps it up with a sigmoid schedule afterwards; the teacher part's
    own task loss trains from the start. Expressed as fractions of the run,
    with ``t = (iter / max_iters - begin) / (end - begin)``::

        scale = 0                        iter / max_iters <= begin
        scale = exp(-5 * (1 - t)^2)      begin < ... < end   (sigmoid ramp-up
                                          of Laine & Aila, ICLR 2017)
        scale = 1                        iter / max_iters >= end

    Before every training iteration the hook sets the wrapper's
    ``distill_weight_scale`` (a ``SelfDistillDetector`` or
    ``SelfDistillSegmentor``, also inside DDP) and logs it as
    ``distill_weight_scale``. The scale is recomputed from ``runner.iter``
    and ``runner.max_iters`` each time, so it is right after ``--resume`` and
    for epoch- and iteration-based loops.

    Args:
        begin (float): Fraction of the run after which distillation starts.
            Defaults to 2/3.
        end (float): Fraction at which the full weight is reached.
            Defaults to 1.0.
    """

    priority = 'NORMAL'

    def __init__(self, begin: float = 2 / 3, end: float = 1.0) -> None:
        if not 0 <= begin < end <= 1:
            raise ValueError(f'DistillWarmupHook needs 0 <= begin < end <= 1,'
                             f' got begin={begin}, end={end}')
        self.begin = begin
        self.end = end

    def scale_at(self, iteration: int, max_iters: int) -> float:
        """Weight scale of the distillation losses at 0-based
        ``iteration`` of a run of ``max_iters`` iterations."""
        progress = iteration / max_iters
        if progress <= self.begin:
            return 0.0
        if progress >= self.end:
            return 1.0
        t = (progress - self.begin) / (self.end - self.begin)
        return math.exp(-5.0 * (1.0 - t)**2)

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'distill_weight_scale'):
            raise TypeError(f'DistillWarmupHook schedules the distillation losses of a '
                            f'SelfDistillDetector/SelfDistillSegmentor; the model is a '
                            f'{type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        self._model(runner)  # fail before the first iteration, not during

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[Sequence[dict]] = None) -> None:
        scale = self.scale_at(runner.iter, runner.max_iters)
        self._model(runner).distill_weight_scale = scale
        runner.message_hub.update_scalar('train/distill_weight_scale', scale)
