# Copyright (c) skd_det contributors.
"""LGD's inter-object relation adapter (attention within each image)."""
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor

from .utils import block_diagonal_mask


@MODELS.register_module()
class LGDRelationAdapter(BaseModule):
    """Inter-object relation adapter of LGD: multi-head attention with the
    appearance embeddings as queries and the label embeddings as keys and
    values, each object attending to the objects of its own image only
    (:func:`block_diagonal_mask`), per level; no residual connection.

    Args:
        embed_dims (int): D. Defaults to 256.
        num_heads (int): Defaults to 8.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, batch_first=True)

    def forward(self, appearance: Tensor, labels: Tensor, counts: Sequence[int]) -> Tensor:
        """(L, M, D) appearance, (M, D) label embeddings -> (L, M, D)."""
        mask = block_diagonal_mask(counts, appearance.device)
        kv = labels.to(appearance.dtype).expand(appearance.shape[0], -1, -1)
        out, _ = self.attn(appearance, kv, kv, attn_mask=mask, need_weights=False)
        return out
