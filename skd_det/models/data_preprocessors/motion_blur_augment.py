# Copyright (c) skd_det contributors.
"""Motion blur as a batch augmentation of mmdet's ``DetDataPreprocessor``."""
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.dist import get_rank
from mmengine.registry import MODELS
from torch import Tensor

from ...datasets.transforms.motion_blur import (KERNEL_TYPES, blur_tensor, check_severity,
                                                random_kernel)

#: Data-sample field holding the un-blurred (sharp) view of an image.
SHARP_KEY = 'sharp_inputs'


def sharp_views(data_samples: Sequence, part: str) -> Tensor:
    """Stack the sharp views ``MotionBlurBatchAugment(keep_sharp=True)``
    stored on ``data_samples`` into an (N, C, H, W) batch; ``part`` names
    the caller in the error raised when they are missing."""
    missing = [i for i, s in enumerate(data_samples) if SHARP_KEY not in s]
    if missing:
        raise KeyError(f"{part} needs each data sample's sharp view '{SHARP_KEY}' "
                       f'(missing in samples {missing}): add dict(type='
                       "'MotionBlurBatchAugment', keep_sharp=True) to the model's "
                       'data_preprocessor.batch_augments')
    return torch.stack([s.get(SHARP_KEY) for s in data_samples])


@MODELS.register_module()
class MotionBlurBatchAugment(nn.Module):
    """Blur a preprocessed training batch with random camera-shake motion
    kernels on its device (``DetDataPreprocessor.batch_augments``: mmdet
    applies them in training only, after normalisation and padding).

    Every image is blurred with probability ``prob`` by its own kernel: a
    type drawn from ``kernel_types`` (see
    :mod:`skd_det.datasets.transforms.motion_blur`) and a severity drawn
    uniformly from ``severities`` (extent 5, 9, 15, 21, 31 px for 1..5).
    Kernels sum to one, so blurring the normalised batch equals normalising
    blurred images away from the padding. Geometric augmentation happened
    upstream in the pipeline, so both views share the boxes, which are left
    untouched.

    ``keep_sharp=True`` (blur-robust S-KD) stores each image's un-blurred
    view, (C, H, W), on its data sample as ``sharp_inputs`` for the teacher
    part, which reads it with :func:`sharp_views`; ``inputs`` becomes the
    blurred view the student sees. ``keep_sharp=False`` is plain blur
    augmentation.

    Randomness comes from torch's global generator (seeded by mmengine's
    ``randomness`` config), through one seed per batch for the numpy kernel
    generator, mixed with the distributed rank so that data-parallel ranks
    draw different kernels even with the same seed.

    Args:
        prob (float): Probability to blur an image. Defaults to 1.0.
        severities (Sequence[int]): Severities to draw from (each 1..5).
            Defaults to (1, 2, 3, 4, 5).
        kernel_types (Sequence[str]): Kernel types to draw from
            ('trajectory', 'linear'). Defaults to ('trajectory', 'linear').
        keep_sharp (bool): Store the sharp views. Defaults to False.
    """

    def __init__(self,
                 prob: float = 1.0,
                 severities: Sequence[int] = (1, 2, 3, 4, 5),
                 kernel_types: Sequence[str] = KERNEL_TYPES,
                 keep_sharp: bool = False) -> None:
        super().__init__()
        if not 0 <= prob <= 1:
            raise ValueError(f'MotionBlurBatchAugment.prob must be in [0, 1], '
                             f'got {prob!r}')
        if not severities:
            raise ValueError('MotionBlurBatchAugment.severities is empty')
        self.severities = [check_severity(s) for s in severities]
        unknown = [k for k in kernel_types if k not in KERNEL_TYPES]
        if unknown or not kernel_types:
            raise ValueError(f'MotionBlurBatchAugment.kernel_types must be a '
                             f'non-empty subset of {KERNEL_TYPES}, got '
                             f'{list(kernel_types)}')
        self.kernel_types = list(kernel_types)
        self.prob = float(prob)
        self.keep_sharp = bool(keep_sharp)

    def sample_kernels(self, num: int) -> List[np.ndarray]:
        """``num`` kernels; an image left sharp gets the 1x1 identity."""
        seed = int(torch.randint(0, 2**62, (1, )).item())
        rank = get_rank()
        # mmengine seeds every rank alike (unless diff_rank_seed): the rank
        # gives each its own kernels; rank 0 (and a single process) keeps
        # the plain seed
        rng = np.random.default_rng(seed if rank == 0 else [seed, rank])
        kernels = []
        for _ in range(num):
            if rng.random() >= self.prob:
                kernels.append(np.ones((1, 1), np.float32))
                continue
            kind = self.kernel_types[rng.integers(len(self.kernel_types))]
            severity = self.severities[rng.integers(len(self.severities))]
            kernels.append(random_kernel(kind, severity, rng))
        return kernels

    def forward(self, inputs: Tensor, data_samples: list) -> Tuple[Tensor, list]:
        """Blur ``inputs`` (N, C, H, W); see the class docstring."""
        if self.keep_sharp:
            for img, sample in zip(inputs, data_samples):
                sample.set_field(img, SHARP_KEY)
        kernels = self.sample_kernels(inputs.shape[0])
        if all(k.shape == (1, 1) for k in kernels):
            return inputs, data_samples
        return blur_tensor(inputs, kernels), data_samples
