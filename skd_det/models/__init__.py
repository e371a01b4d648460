# Copyright (c) skd_det contributors.
"""Pure-torch building blocks, registered in mmengine's root registry (mmdet
and mmseg scopes both find them). Nothing imported here needs mmdet or mmseg;
the task wrappers come with ``skd_det.det`` / ``skd_det.seg``."""
from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .teachers import *  # noqa: F401,F403
