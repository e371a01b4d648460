# Copyright (c) skd_det contributors.
from .bifpn import BiFPN, BiFPNc
from .deblur_neck import DeblurNeck

__all__ = ['BiFPN', 'BiFPNc', 'DeblurNeck']
