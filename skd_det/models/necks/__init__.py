# Copyright (c) skd_det contributors.
from .bifpn import BiFPN
from .bifpn_seg import BiFPNSeg, EffDetSegFPN
from .deblur_neck import DeblurNeck
from .sequential_neck import SequentialNeck

__all__ = ['BiFPN', 'BiFPNSeg', 'DeblurNeck', 'EffDetSegFPN', 'SequentialNeck']
