# Copyright (c) skd_det contributors.
"""The teacher BiFPN of the FRSKD teacher parts (dense detectors,
segmentors, two-stage detectors): which student levels it reads, its build
with the checks a BiFPN needs, and what the teacher head reads from it."""
import math
from typing import List, Optional, Sequence

import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from .utils import PROBE_SIZE


def describe_levels(feats: Sequence[Tensor]) -> str:
    """'5 levels of 64 channels' / '2 levels of [64, 512] channels'."""
    widths = [int(f.shape[1]) for f in feats]
    width = widths[0] if len(set(widths)) == 1 else widths
    return f'{len(widths)} levels of {width} channels'


def select_levels(num_levels: int, in_indices: Optional[Sequence[int]], source: str) -> List[int]:
    """The student levels the teacher reads: all, or checked ``in_indices``."""
    if in_indices is None:
        return list(range(num_levels))
    indices = [int(i) for i in in_indices]
    if not indices or sorted(set(indices)) != indices or not all(0 <= i < num_levels
                                                                 for i in indices):
        raise ValueError(f'teacher.in_indices={list(in_indices)} must be '
                         f'increasing indices into {source}, which has '
                         f'{num_levels} levels')
    return indices


def halving_levels(feats: Sequence[Tensor], required: Sequence[int]) -> Optional[List[int]]:
    """Indices into ``feats`` (all the student's levels) a BiFPN can read and that include
    ``required``: one level per resolution (a required one, else the deepest of that
    resolution), each at half the previous resolution; None if there are none."""
    required = [r % len(feats) for r in required]
    chosen: dict = {}
    for i, f in enumerate(feats):
        size = tuple(f.shape[-2:])
        held = chosen.get(size)
        if held is not None and held in required:
            if i in required:
                return None  # two required levels of one resolution
            continue
        chosen[size] = i
    sizes = list(chosen)
    if any((h2, w2) != (math.ceil(h / 2), math.ceil(w / 2))
           for (h, w), (h2, w2) in zip(sizes, sizes[1:])):
        return None
    return list(chosen.values())


def build_neck(neck_cfg: dict,
               feats: Sequence[Tensor],
               indices: Sequence[int],
               source: str,
               suggestion: Optional[Sequence[int]] = None) -> nn.Module:
    """Build the teacher BiFPN over ``feats`` (the selected student levels),
    filling ``in_channels`` and checking what a BiFPN needs: the given
    ``in_channels`` (if any) equal the student's widths, and every level
    halves the previous one's resolution."""
    widths = [int(f.shape[1]) for f in feats]
    given = neck_cfg.get('in_channels')
    if given is not None and [int(c) for c in given] != widths:
        raise ValueError(f'teacher.neck.in_channels={list(given)} ({len(given)} levels) '
                         f'does not match {source} at in_indices={list(indices)}: '
                         f'{describe_levels(feats)}')
    sizes = [tuple(f.shape[-2:]) for f in feats]
    for (h, w), (h2, w2) in zip(sizes, sizes[1:]):
        if (h2, w2) != (math.ceil(h / 2), math.ceil(w / 2)):
            raise ValueError(
                f'teacher: a BiFPN needs each level at half the resolution '
                f'of the previous one, but {source} at in_indices='
                f'{list(indices)} have sizes {sizes} on a {PROBE_SIZE}x'
                f'{PROBE_SIZE} image: choose in_indices of halving '
                'resolutions' +
                (f', e.g. teacher.in_indices={tuple(suggestion)}' if suggestion else ''))
    cfg = dict(neck_cfg, in_channels=widths)
    return MODELS.build(cfg)


def check_head_input(head_input: str, neck: nn.Module) -> str:
    if head_input not in ('pre_activation', 'activated'):
        raise ValueError("teacher.head_input must be 'pre_activation' or "
                         f"'activated', got {head_input!r}")
    if head_input == 'activated' and not (getattr(neck, 'return_pre_activation', False)
                                          and hasattr(neck, 'out_act')):
        raise ValueError("teacher.head_input='activated' activates pre-activation "
                         'BiFPN outputs: the teacher neck needs '
                         'return_pre_activation=True (and an out_act)')
    return head_input


def head_inputs(neck: nn.Module, feats: Sequence[Tensor], head_input: str) -> List[Tensor]:
    """The teacher head's input: the BiFPN outputs ``feats`` as they are
    or through the BiFPN's output activation."""
    if head_input == 'pre_activation':
        return list(feats)
    return [neck.out_act(t) for t in feats]
