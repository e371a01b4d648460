# Copyright (c) skd_det contributors.
from .bifpn import BiFPN, BiFPNc

__all__ = ['BiFPN', 'BiFPNc']
