# Copyright (c) skd_det contributors.
from .det_calibration import DetectionCalibrationMetric
from .seg_calibration import SegCalibrationMetric

__all__ = ['DetectionCalibrationMetric', 'SegCalibrationMetric']
