# Copyright (c) skd_det contributors.
from .distill_warmup_hook import DistillWarmupHook
from .lgd_phase_hook import LGDPhaseHook

__all__ = ['DistillWarmupHook', 'LGDPhaseHook']
