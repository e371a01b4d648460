# Copyright (c) skd_det contributors.
from typing import Optional

from mmengine.registry import HOOKS

from .distill_warmup_hook import DistillWarmupHook


@HOOKS.register_module()
class DistillStartHook(DistillWarmupHook):
    """Distillation off for the first ``begin_iter`` iterations, then at full
    weight: the imitation warm-up of the FGFI authors' code ("Distilling
    Object Detectors with Fine-grained Feature Imitation", Wang et al., CVPR
    2019; ``trainval_net_sup.py``, ``--ws 400`` iterations of one image)::

        scale = 0    runner.iter <  begin_iter
        scale = 1    runner.iter >= begin_iter

    Like :class:`DistillWarmupHook` it sets the wrapper's
    ``distill_weight_scale`` before every training iteration from
    ``runner.iter`` (right after ``--resume``) and logs it.

    Args:
        begin_iter (int): Iterations without distillation, >= 0.
    """

    def __init__(self, begin_iter: int) -> None:
        if isinstance(begin_iter, bool) or not isinstance(begin_iter, int) or begin_iter < 0:
            raise ValueError(f'DistillStartHook needs begin_iter >= 0 (an int), got '
                             f'{begin_iter!r}')
        self.begin_iter = begin_iter

    def scale_at(self, iteration: int, max_iters: Optional[int] = None) -> float:
        """Weight scale of the distillation losses at 0-based ``iteration``."""
        return 0.0 if iteration < self.begin_iter else 1.0
