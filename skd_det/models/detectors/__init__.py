# Copyright (c) skd_det contributors.
from .efficientdet import EFFICIENTDET_SCALING, EfficientDet, efficientdet_scaling

__all__ = ['EFFICIENTDET_SCALING', 'EfficientDet', 'efficientdet_scaling']
