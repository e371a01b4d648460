# Copyright (c) skd_det contributors.
"""Helpers of the LGD modules: per-image object bookkeeping, box -> cell
masks, level sizes and the authors' conv / norm layers."""
import math
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1)


def group_norm(channels: int) -> nn.GroupNorm:
    """One group, no affine parameters (the authors' ``get_norm``)."""
    return nn.GroupNorm(1, channels, affine=False)


def image_index(counts: Sequence[int], device=None) -> Tensor:
    """(M,) image of each concatenated object: ``[0]*counts[0] + [1]*...``."""
    return torch.repeat_interleave(
        torch.arange(len(counts), device=device), torch.as_tensor(list(counts), device=device))


def block_diagonal_mask(counts: Sequence[int], device=None) -> Tensor:
    """(M, M) bool attention mask, True where object ``i`` may NOT attend
    to object ``j``: everywhere except between objects of the same image
    (``nn.MultiheadAttention``'s boolean ``attn_mask`` convention)."""
    img = image_index(counts, device)
    return img[:, None] != img[None, :]


def max_per_image(x: Tensor, counts: Sequence[int]) -> Tensor:
    """(M, D) -> (N, D): max over the objects of each image."""
    return torch.stack([part.max(0).values for part in x.split(list(counts))])


def box_cell_masks(boxes: Tensor, size: Tuple[int, int], pad_shape: Tuple[int, int]) -> Tensor:
    """The authors' box -> cells rule, as (M, H*W) 0/1 floats.

    With ``r_x = W / W_pad`` and ``r_y = H / H_pad`` (feature size over the
    padded batch input size), cell ``(i, j)`` (row, column, counted from 0)
    is inside box ``(x1, y1, x2, y2)`` iff::

        x1 * r_x <= j <= x2 * r_x   and   y1 * r_y <= i <= y2 * r_y

    (the authors' ``get_inside_gt_mask``: ``|cell - centre| / size <= 1/2``
    in feature coordinates). A box that contains no cell coordinate, e.g. a
    small box on a coarse level, owns no cell there.

    Args:
        boxes (Tensor): (M, 4) boxes in input pixels.
        size (tuple[int, int]): The map's (H, W).
        pad_shape (tuple[int, int]): The padded batch input's (H_pad, W_pad).

    Returns:
        Tensor: (M, H*W), dtype of ``boxes``.
    """
    h, w = int(size[0]), int(size[1])
    cols = torch.arange(w, device=boxes.device, dtype=boxes.dtype)
    rows = torch.arange(h, device=boxes.device, dtype=boxes.dtype)
    xs = boxes[:, 0::2] * (w / pad_shape[1])
    ys = boxes[:, 1::2] * (h / pad_shape[0])
    in_cols = (cols >= xs[:, :1]) & (cols <= xs[:, 1:])
    in_rows = (rows >= ys[:, :1]) & (rows <= ys[:, 1:])
    return (in_rows[:, :, None] & in_cols[:, None, :]).flatten(1).to(boxes.dtype)


def box_overlap_masks(boxes: Tensor, size: Tuple[int, int], pad_shape: Tuple[int, int]) -> Tensor:
    """An alternative to :func:`box_cell_masks` (not the authors'): the
    cells a box overlaps, at least one.

    Cell ``(i, j)`` covers the input pixels ``[j*s_x, (j+1)*s_x) x [i*s_y,
    (i+1)*s_y)``, ``s = pad / size``; box ``(x1, y1, x2, y2)`` covers
    columns ``floor(x1/s_x) .. ceil(x2/s_x)-1`` and the rows alike, clipped
    to the map and at least one cell wide, so a box smaller than a cell of
    a coarse level still owns the cell it lies in. Same arguments and
    result as :func:`box_cell_masks`.
    """
    h, w = int(size[0]), int(size[1])
    sx, sy = pad_shape[1] / w, pad_shape[0] / h

    def span(lo, hi, s, n):
        start = torch.floor(lo / s).clamp(0, n - 1)
        end = torch.maximum(torch.ceil(hi / s).clamp(max=n), start + 1)
        return start, end

    x0, x1 = span(boxes[:, 0], boxes[:, 2], sx, w)
    y0, y1 = span(boxes[:, 1], boxes[:, 3], sy, h)
    cols = torch.arange(w, device=boxes.device, dtype=boxes.dtype)
    rows = torch.arange(h, device=boxes.device, dtype=boxes.dtype)
    in_cols = (cols >= x0[:, None]) & (cols < x1[:, None])
    in_rows = (rows >= y0[:, None]) & (rows < y1[:, None])
    return (in_rows[:, :, None] & in_cols[:, None, :]).flatten(1).to(boxes.dtype)


def level_sizes(img_size: Tuple[int, int],
                strides: Sequence[Tuple[float, float]]) -> List[Tuple[int, int]]:
    """(H_l, W_l) = (ceil(H / s_y), ceil(W / s_x)) per level: the sizes of
    ResNet/FPN maps (padding 1, stride 2 convs) for an (H, W) input."""
    h, w = img_size
    return [(math.ceil(h / sy), math.ceil(w / sx)) for sx, sy in strides]
