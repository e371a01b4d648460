# Copyright (c) skd_det contributors.
"""Runner extensions (mmengine only: usable from mmdet and mmseg configs)."""
from .hooks import *  # noqa: F401,F403
