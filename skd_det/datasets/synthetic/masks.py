# Copyright (c) skd_det contributors.
"""Mask encodings of COCO: exact pixel-edge polygons and uncompressed RLE."""
from typing import List

import numpy as np


def mask_to_polygons(mask: np.ndarray) -> List[np.ndarray]:
    """Traces the outer boundaries of a binary mask along pixel edges.

    Pixels are unit squares with integer corners, so the polygons are exact: they enclose
    exactly the mask's pixels (pycocotools rasterises them back to the same mask) and their
    area is the pixel count. Diagonally touching pixels become separate polygons
    (4-connectivity). Holes are not traced; COCO polygons cannot express them.

    Args:
        mask (np.ndarray): Bool array of shape ``(H, W)``.

    Returns:
        list[np.ndarray]: ``(N, 2)`` int arrays of ``(x, y)`` corners, clockwise on screen,
        collinear corners removed.
    """
    height, width = mask.shape
    padded = np.pad(mask, 1)
    inside = padded[1:-1, 1:-1]
    stride = width + 1
    # (outside neighbour, start corner, end corner) of the edges of each side of a pixel,
    # walking clockwise on screen: top, right, bottom, left.
    sides = ((padded[:-2, 1:-1], (0, 0), (1, 0)), (padded[1:-1, 2:], (1, 0), (1, 1)),
             (padded[2:, 1:-1], (1, 1), (0, 1)), (padded[1:-1, :-2], (0, 1), (0, 0)))
    starts, ends, pixels = [], [], []
    for neighbour, (sx, sy), (ex, ey) in sides:
        ys, xs = np.nonzero(inside & ~neighbour)
        starts.append((ys + sy) * stride + xs + sx)
        ends.append((ys + ey) * stride + xs + ex)
        pixels.append(ys * width + xs)
    start, end, pixel = (np.concatenate(a) for a in (starts, ends, pixels))
    if not len(start):
        return []
    order = np.argsort(start, kind='stable')
    first = np.searchsorted(start[order], end)
    second = np.minimum(first + 1, len(order) - 1)
    # Where two pixels touch only diagonally, a corner has two outgoing edges: keep walking
    # around the same pixel so that the two pixels end up in different polygons.
    saddle = (start[order[second]] == end) & (second != first)
    succ = np.where(saddle & (pixel[order[first]] != pixel), order[second], order[first]).tolist()
    seen = bytearray(len(succ))
    polygons = []
    for first_edge in range(len(succ)):
        cycle = []
        edge = first_edge
        while not seen[edge]:
            seen[edge] = 1
            cycle.append(edge)
            edge = succ[edge]
        if not cycle:
            continue
        cycle = np.array(cycle)
        step = end[cycle] - start[cycle]
        corners = start[cycle][step != np.roll(step, 1)]
        xs, ys = corners % stride, corners // stride
        # Outer boundaries run clockwise on screen (positive shoelace area), holes the other way.
        if np.dot(xs, np.roll(ys, -1)) - np.dot(np.roll(xs, -1), ys) > 0:
            polygons.append(np.stack([xs, ys], 1))
    return polygons


def mask_to_rle(mask: np.ndarray) -> dict:
    """Uncompressed COCO RLE (column-major run lengths, starting with background)."""
    flat = mask.ravel(order='F').astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    counts = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return dict(counts=counts, size=list(mask.shape))
