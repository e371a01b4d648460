# Copyright (c) skd_det contributors.
from .block_tap_efficientnet import BlockTapEfficientNet
from .efficientnet import TorchvisionEfficientNet

__all__ = ['BlockTapEfficientNet', 'TorchvisionEfficientNet']
