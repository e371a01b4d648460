# Copyright (c) skd_det contributors.
"""LGD's intra-object knowledge mapper: object embeddings -> teacher maps."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor

from .utils import conv3x3, group_norm


@MODELS.register_module()
class LGDKnowledgeMapper(BaseModule):
    """Intra-object knowledge mapper of LGD (the authors' ``rendering`` and
    ``refinement_module``). Per level, each object's embedding is projected
    (linear D -> C) and added onto the cells of its mask (overlapping
    objects sum), then::

        X = conv3x3(scatter)                                   (N, C, H, W)
        X = ReLU(X + linear_ctx(context embedding))    with ``context``
        X = ReLU(X)                                    without
        teacher map = [conv3x3, GN_1, ReLU] x 2, conv3x3, GN_1 of X

    With ``context`` the last object of each image is its context object:
    it is not scattered, its own linear projection is added to every cell
    as a per-channel bias. Group norms without affine parameters; all
    layers are shared by the levels.

    Args:
        embed_dims (int): D. Defaults to 256.
        out_channels (int): C, the width of the student's FPN (its head's
            ``in_channels``). Defaults to 256.
        context (bool): The last object of each image is a context object.
            Defaults to True.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 out_channels: int = 256,
                 context: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        c = out_channels
        self.context = bool(context)
        self.proj = nn.Linear(embed_dims, c)
        self.local_conv = conv3x3(c, c)
        # the authors build it also without context, unused: here only with
        self.context_proj = nn.Linear(embed_dims, c) if context else None
        self.refine = nn.Sequential(
            conv3x3(c, c), group_norm(c), nn.ReLU(inplace=True), conv3x3(c, c), group_norm(c),
            nn.ReLU(inplace=True), conv3x3(c, c), group_norm(c))

    @staticmethod
    def scatter(obj_feats: Tensor, masks: Tensor, counts: Sequence[int],
                size: Tuple[int, int]) -> Tensor:
        """(M, C) object features, (M, H*W) masks -> (N, C, H, W): each
        image's map is the sum of its objects' features over their cells
        (zero for an image with no object here)."""
        maps = [
            o.t() @ m.to(o.dtype)
            for o, m in zip(obj_feats.split(list(counts)), masks.split(list(counts)))
        ]
        return torch.stack(maps).unflatten(2, tuple(size))

    def forward(self, obj_feats: Tensor, masks: Sequence[Tensor], counts: Sequence[int],
                sizes: Sequence[Tuple[int, int]]) -> List[Tensor]:
        """(L, M, D) object embeddings, L masks (M, H_l*W_l), L sizes ->
        L teacher maps (N, C, H_l, W_l)."""
        counts = list(counts)
        if self.context:
            last = torch.as_tensor(counts, device=obj_feats.device).cumsum(0) - 1
            inst = torch.ones(obj_feats.shape[1], dtype=torch.bool, device=obj_feats.device)
            inst[last] = False
            inst_counts = [n - 1 for n in counts]
        outs = []
        for obj, mask, size in zip(obj_feats, masks, sizes):
            if self.context:
                local = self.local_conv(
                    self.scatter(self.proj(obj[inst]), mask[inst], inst_counts, size))
                bias = self.context_proj(obj[last])[:, :, None, None]
                x = F.relu(local + bias)
            else:
                x = F.relu(self.local_conv(self.scatter(self.proj(obj), mask, counts, size)))
            outs.append(self.refine(x))
        return outs
