# Copyright (c) skd_det contributors.
from .bifpn_seg_head import BiFPNSegHead
from .efficientdet_seg_head import EfficientDetSegHead

__all__ = ['BiFPNSegHead', 'EfficientDetSegHead']
