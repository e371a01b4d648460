# Copyright (c) skd_det contributors.
"""Does LGD's teacher know which object is which? Statistics of the relation adapter's
inputs on a batch (``tools/analysis/lgd_teacher_probe.py``).

The teacher's only label information reaches each object through the relation adapter:
attention with the object's appearance as query and the label embeddings of its image's
objects as keys and values. If the label embeddings of an image's objects are all alike, the
attention is uniform and every object gets the same mixture of its image's labels: the
teacher then cannot tell the classes of the objects apart, whatever the ground truth says.
"""
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from skd_det.models.layers.lgd import block_diagonal_mask


@torch.no_grad()
def relation_stats(adapter: torch.nn.Module, appearance: Tensor, labels: Tensor,
                   counts: Sequence[int]) -> Dict[str, List[float]]:
    """Per image with at least two objects (the context object counts):

    - ``label_cosine``: mean cosine similarity of the label embeddings of two different
      objects (1: all alike);
    - ``self_attention``: the attention weight an object puts on its own label embedding,
      averaged over objects, levels and heads;
    - ``uniform``: that weight under uniform attention, 1 / objects.

    Args:
        adapter: An ``LGDRelationAdapter``.
        appearance (Tensor): (L, M, D), its queries.
        labels (Tensor): (M, D), its keys and values.
        counts (Sequence[int]): Objects of each image, summing to M.
    """
    mask = block_diagonal_mask(counts, appearance.device)
    kv = labels.to(appearance.dtype).expand(appearance.shape[0], -1, -1)
    _, weights = adapter.attn(appearance, kv, kv, attn_mask=mask, need_weights=True)
    stats = dict(label_cosine=[], self_attention=[], uniform=[])
    start = 0
    for count in counts:
        end = start + count
        if count > 1:
            unit = F.normalize(labels[start:end].float(), dim=-1)
            others = ~torch.eye(count, dtype=torch.bool, device=labels.device)
            stats['label_cosine'].append((unit @ unit.T)[others].mean().item())
            own = torch.diagonal(weights[:, start:end, start:end], dim1=1, dim2=2)
            stats['self_attention'].append(own.mean().item())
            stats['uniform'].append(1. / count)
        start = end
    return stats
