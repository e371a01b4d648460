# Copyright (c) skd_det contributors.
from .distill_warmup_hook import DistillWarmupHook

__all__ = ['DistillWarmupHook']
