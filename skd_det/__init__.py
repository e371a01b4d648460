"""Self-knowledge distillation for mmdet detectors and mmseg segmentors."""
from .version import __version__

__all__ = ['__version__']
