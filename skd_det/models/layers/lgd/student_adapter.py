# Copyright (c) skd_det contributors.
"""LGD's adapter on the student's FPN levels before the feature loss."""
from typing import List, Optional, Sequence

import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor

from .utils import conv3x3


@MODELS.register_module()
class LGDStudentAdapter(BaseModule):
    """Adapter on the student's FPN levels before LGD's feature loss (the
    authors' ``SequentialConvs``)::

        conv3x3, ReLU, conv3x3, ReLU, conv3x3          shared by the levels

    Args:
        channels (int): Width of the student's FPN (in and out).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self, channels: int, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.layers = nn.Sequential(
            conv3x3(channels, channels), nn.ReLU(inplace=True), conv3x3(channels, channels),
            nn.ReLU(inplace=True), conv3x3(channels, channels))

    def forward(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """L levels (N, C_in, H_l, W_l) -> L adapted levels, same shapes."""
        return [self.layers(f) for f in feats]
