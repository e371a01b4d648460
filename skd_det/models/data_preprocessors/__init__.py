# Copyright (c) skd_det contributors.
from .motion_blur_augment import SHARP_KEY, MotionBlurBatchAugment, sharp_views

__all__ = ['SHARP_KEY', 'MotionBlurBatchAugment', 'sharp_views']
