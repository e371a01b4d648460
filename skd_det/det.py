# Copyright (c) skd_det contributors.
"""Plugin entry for mmdet configs::

    custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)

Registers everything detection needs; never imports mmseg."""
from . import engine, models  # noqa: F401
from .datasets import transforms  # noqa: F401
from .models.dense_heads import EfficientDetHead
from .models.detectors import EfficientDet
from .models.distillers.self_distill_detector import SelfDistillDetector

__all__ = ['EfficientDet', 'EfficientDetHead', 'SelfDistillDetector']
