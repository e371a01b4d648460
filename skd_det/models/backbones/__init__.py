# Copyright (c) skd_det contributors.
from .block_tap_efficientnet import BlockTapEfficientNet
from .efficientnet import TorchvisionEfficientNet
from .efficientnet_lite import EfficientNetLite

__all__ = ['BlockTapEfficientNet', 'EfficientNetLite', 'TorchvisionEfficientNet']
