# Copyright (c) skd_det contributors.
from .check_finite_hook import CheckFiniteHook
from .distill_start_hook import DistillStartHook
from .distill_warmup_hook import DistillWarmupHook
from .lgd_phase_hook import LGDPhaseHook
from .pskd_hook import PSKDHook
from .time_budget_hook import TimeBudgetHook

__all__ = [
    'CheckFiniteHook', 'DistillStartHook', 'DistillWarmupHook', 'LGDPhaseHook', 'PSKDHook',
    'TimeBudgetHook'
]
