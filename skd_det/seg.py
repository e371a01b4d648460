# Copyright (c) skd_det contributors.
"""Plugin entry for mmseg configs::

    custom_imports = dict(imports=['skd_det.seg'], allow_failed_imports=False)

Registers everything segmentation needs; never imports mmdet."""
from . import engine, models  # noqa: F401
from .datasets import transforms  # noqa: F401
from .models.decode_heads import EfficientDetSegHead
from .models.distillers.self_distill_segmentor import SelfDistillSegmentor

__all__ = ['EfficientDetSegHead', 'SelfDistillSegmentor']
