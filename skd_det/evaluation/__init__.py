# Copyright (c) skd_det contributors.
"""Evaluation metrics registered in mmengine's root ``METRICS`` registry, so mmdet and mmseg
configs alike find them (``custom_imports = dict(imports=['skd_det.evaluation'])``).
Importing this package imports neither mmdet nor mmseg."""
from .metrics import DetectionCalibrationMetric, SegCalibrationMetric

__all__ = ['DetectionCalibrationMetric', 'SegCalibrationMetric']
