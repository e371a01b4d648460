# Copyright (c) skd_det contributors.
from .efficientnet import TorchvisionEfficientNet

__all__ = ['TorchvisionEfficientNet']
