# Copyright (c) skd_det contributors.
"""Data transforms (mmcv ``BaseTransform``), registered in mmengine's root
``TRANSFORMS`` so mmdet and mmseg pipelines both find them."""
from .corruption import MotionBlurCorruption
from .loading import CheckedLoadImageFromFile, jpeg_truncation, read_image
from .motion_blur import (CORRUPTIONS, MOTION_BLUR_EXTENTS, blur_image, blur_tensor, corrupt,
                          linear_kernel, random_kernel, trajectory_kernel)

__all__ = [
    'MotionBlurCorruption', 'CheckedLoadImageFromFile', 'jpeg_truncation', 'read_image',
    'CORRUPTIONS', 'MOTION_BLUR_EXTENTS', 'blur_image', 'blur_tensor', 'corrupt', 'linear_kernel',
    'random_kernel', 'trajectory_kernel'
]
