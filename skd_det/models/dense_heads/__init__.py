# Copyright (c) skd_det contributors.
from .efficientdet_head import EfficientDetHead

__all__ = ['EfficientDetHead']
