# Copyright (c) skd_det contributors.
from .check_finite_hook import CheckFiniteHook
from .distill_warmup_hook import DistillWarmupHook
from .lgd_phase_hook import LGDPhaseHook

__all__ = ['CheckFiniteHook', 'DistillWarmupHook', 'LGDPhaseHook']
