# Copyright (c) skd_det contributors.
"""LGD's appearance encoder: FPN levels -> per-object appearance embeddings."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor

from .utils import conv3x3, group_norm


@MODELS.register_module()
class LGDAppearanceEncoder(BaseModule):
    """Appearance embeddings of LGD: per object and FPN level, the average
    of ``ReLU(GN_1(conv3x3(F_l)))`` (group norm without affine parameters)
    over the cells of the object's mask. The conv is shared by the levels.

    Args:
        in_channels (int): Width of the student's FPN levels.
        embed_dims (int): D. Defaults to 256.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int = 256,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.conv = conv3x3(in_channels, embed_dims)
        self.norm = group_norm(embed_dims)

    @staticmethod
    def masked_average(feat: Tensor, masks: Tensor, counts: Sequence[int]) -> Tensor:
        """(N, D, H, W) map, (M, H*W) masks -> (M, D) mean inside each
        mask (zero for an empty mask), the objects of image ``n`` reading
        ``feat[n]``. The masks are normalised before the product: summing
        up to H*W cells first could overflow in half precision (AMP)."""
        out = [(m / m.sum(1, keepdim=True).clamp(min=1)) @ f.flatten(1).t()
               for f, m in zip(feat, masks.split(list(counts)))]
        return torch.cat(out)

    def forward(self, feats: Sequence[Tensor], masks: Sequence[Tensor],
                counts: Sequence[int]) -> Tensor:
        """L levels (N, C_in, H_l, W_l) and their (M, H_l*W_l) masks ->
        (L, M, D)."""
        return torch.stack([
            self.masked_average(F.relu(self.norm(self.conv(f))), m.to(f.dtype), counts)
            for f, m in zip(feats, masks)
        ])
