# Copyright (c) skd_det contributors.
"""Dataset utilities. The synthetic generator needs only numpy and Pillow: nothing here may
import mmdet or mmseg, so either can be missing."""
from .synthetic import (CITYSCAPES_CLASSES, COCO_CATEGORIES, VOC_CLASSES, generate_cityscapes,
                        generate_coco, generate_voc)

__all__ = [
    'CITYSCAPES_CLASSES', 'COCO_CATEGORIES', 'VOC_CLASSES', 'generate_cityscapes', 'generate_coco',
    'generate_voc'
]
