"""Self-knowledge distillation for mmdet detectors and mmseg segmentors.

Importing skd_det (the plugin entries ``skd_det.det`` / ``skd_det.seg`` of a config's
``custom_imports`` included) makes mmengine load every checkpoint without running code:
:mod:`skd_det.utils.safe_load`."""
from .utils import safe_load  # noqa: F401
from .version import __version__

__all__ = ['__version__']
