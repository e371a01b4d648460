# Copyright (c) skd_det contributors.
"""Deterministic image corruption for robustness test sets."""
import os.path as osp
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS

from .motion_blur import check_corruption, check_severity, corrupt, corruption_seed


@TRANSFORMS.register_module()
class MotionBlurCorruption(BaseTransform):
    """Corrupt ``results['img']`` with motion blur at a fixed severity, the
    same way every time for a given image (robustness test sets, as the
    corrupted benchmarks of "Benchmarking Robustness in Object Detection",
    Michaelis et al. 2019, do offline).

    The kernel is drawn from a generator seeded by the image key (``img_id``
    if the results have one, else the file name of ``img_path``), the
    corruption, the severity and ``seed``, so every run, worker and machine
    sees the same blurred test set. Put it right after ``LoadImageFromFile``:
    it blurs the original image before any resizing. The image keeps its
    shape and dtype (uint8 rounded and clipped); boxes and masks are
    untouched.

    Corruptions (``skd_det.datasets.transforms.motion_blur``): 'motion_blur'
    (random camera-shake trajectory kernel, Boracchi & Foi 2012),
    'linear_motion_blur' (random-direction linear kernel), both of extent
    ``MOTION_BLUR_EXTENTS[severity]`` = 5, 9, 15, 21, 31 px for severities
    1..5 and applied with the same kernel to every channel (so grayscale and
    4-channel images are blurred channel by channel alike); and
    'ic_motion_blur', imagecorruptions' ``motion_blur`` (needs that package
    and an (H, W) or (H, W, 3) image).

    Required keys: ``img``, ``img_id`` or ``img_path``. Modified: ``img``.
    Added: ``corruption`` (e.g. ``'motion_blur@3'``).

    Args:
        corruption (str): Corruption name. Defaults to 'motion_blur'.
        severity (int): 1..5.
        seed (int): Global seed mixed into every image's. Defaults to 0.

    Raises:
        ValueError: Unknown corruption, severity outside 1..5 (at build),
            a kernel larger than the image, an image that is not (H, W) or
            (H, W, C) (at call).
    """

    def __init__(self, severity: int, corruption: str = 'motion_blur', seed: int = 0) -> None:
        self.corruption = check_corruption(corruption)
        self.severity = check_severity(severity)
        self.seed = int(seed)

    @staticmethod
    def image_key(results: dict) -> str:
        if results.get('img_id') is not None:
            return str(results['img_id'])
        if results.get('img_path'):
            return osp.basename(results['img_path'])
        raise KeyError('MotionBlurCorruption seeds each image from its '
                       "'img_id' or 'img_path', and the results have neither")

    def transform(self, results: dict) -> Optional[dict]:
        seed = corruption_seed(self.image_key(results), self.corruption, self.severity, self.seed)
        results['img'] = corrupt(results['img'], self.corruption, self.severity,
                                 np.random.default_rng(seed))
        results['corruption'] = f'{self.corruption}@{self.severity}'
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(corruption={self.corruption!r}, '
                f'severity={self.severity}, seed={self.seed})')
