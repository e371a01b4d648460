# Copyright (c) skd_det contributors.
"""Helpers the teacher parts share. Pure torch on the duck-typed mmdet head
API (``get_anchors``/``get_targets``, ``cls_out_channels``): nothing here
imports mmdet or mmseg."""
import copy
from contextlib import contextmanager
from typing import Any, Dict, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from ..distillers.base import StudentOutputs

#: Side of the all-zero image used to read the student's feature shapes.
PROBE_SIZE = 128

#: The ``kd_avg_factor`` modes of the teacher parts' ``loss_kd`` pair.
KD_AVG_FACTORS = ('mean', 'num_pos')


@contextmanager
def probing(*modules: nn.Module):
    """Eval mode (no BN statistics update) and no autograd; restores each
    module's mode through its own ``train()`` (which re-applies mmdet's
    ``norm_eval``)."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


def probe_input(student: nn.Module) -> Tensor:
    """An all-zero (1, 3, PROBE_SIZE, PROBE_SIZE) image on the student's
    device."""
    device = next(student.parameters()).device
    return torch.zeros(1, 3, PROBE_SIZE, PROBE_SIZE, device=device)


def rebuild_like(module: nn.Module, cfg: dict, **overrides) -> nn.Module:
    """A fresh instance of ``module``'s class from its config: the class
    comes from the built module so no registry (and no mmdet/mmseg import)
    is needed; nested configs are built by that class as usual."""
    kwargs = copy.deepcopy(dict(cfg))
    kwargs.pop('type', None)
    kwargs.update(overrides)
    return type(module)(**kwargs)


def flatten_cls(cls_scores: Sequence[Tensor], num_classes: int) -> Tensor:
    """Per-level (N, A*C, H, W) -> (sum_l N*H*W*A, C), mmdet's order."""
    return torch.cat([s.permute(0, 2, 3, 1).reshape(-1, num_classes) for s in cls_scores])


def scale_losses(losses: Dict[str, Any], weight: float) -> Dict[str, Any]:
    """``weight`` times every loss entry (a tensor or a list of per-level
    tensors, as mmdet's heads return them); other entries unchanged."""

    def scale(v):
        return [x * weight for x in v] if isinstance(v, (list, tuple)) \
            else v * weight

    return {k: scale(v) if 'loss' in k else v for k, v in losses.items()}


def check_loss_weight(loss_weight: Any) -> float:
    """``teacher.loss_weight`` as a float; ValueError unless a number
    >= 0."""
    if not isinstance(loss_weight, (int, float)) or loss_weight < 0:
        raise ValueError('teacher.loss_weight must be a number >= 0, '
                         f'got {loss_weight!r}')
    return float(loss_weight)


def check_kd_avg_factor(kd_avg_factor: str, head: nn.Module) -> str:
    """``kd_avg_factor`` if it is a known mode that ``head`` supports
    ('num_pos' needs the AnchorHead API); ValueError otherwise."""
    if kd_avg_factor not in KD_AVG_FACTORS:
        raise ValueError("teacher.kd_avg_factor must be 'mean' or 'num_pos', "
                         f'got {kd_avg_factor!r}')
    if kd_avg_factor == 'num_pos' and not hasattr(head, 'get_anchors'):
        raise ValueError("teacher.kd_avg_factor='num_pos' counts the positive anchors of "
                         f"an anchor-based head (AnchorHead API); the student's "
                         f"{type(head).__name__} has none: use 'mean'")
    return kd_avg_factor


def num_pos_avg_factor(mode: str, head: nn.Module, cls_scores: Sequence[Tensor],
                       loss_inputs: tuple) -> Optional[float]:
    """The ``avg_factor`` of the ``loss_kd`` pair: None ('mean': average
    over anchors) or the number of positive anchors of ``head``'s target
    assignment, at least 1 ('num_pos', the focal loss' divisor; a batch
    without positives must not multiply the summed KD by 1/eps)."""
    if mode == 'mean':
        return None
    gt_instances, img_metas, gt_instances_ignore = loss_inputs
    featmap_sizes = [s.shape[-2:] for s in cls_scores]
    anchors, valid_flags = head.get_anchors(featmap_sizes, img_metas, device=cls_scores[0].device)
    with torch.no_grad():
        # AnchorHead-family get_targets all end with avg_factor
        targets = head.get_targets(anchors, valid_flags, gt_instances, img_metas,
                                   gt_instances_ignore)
    return max(float(targets[-1]), 1.0)


def kd_pairs(student: nn.Module, student_outs: StudentOutputs, teacher_feats: Sequence[Tensor],
             teacher_cls: Sequence[Tensor], avg_mode: str) -> Dict[str, dict]:
    """The ``loss_feat`` (student head inputs vs detached teacher features,
    per level) and ``loss_kd`` (student vs detached teacher class logits,
    (M, K) over all M anchors) pairs of a dense detector."""
    head = student.bbox_head
    num_classes = head.cls_out_channels
    student_cls = student_outs.head_outs[0]
    return dict(
        loss_feat=dict(pred=list(student_outs.feats), target=[t.detach() for t in teacher_feats]),
        loss_kd=dict(
            pred=flatten_cls(student_cls, num_classes),
            target=flatten_cls(teacher_cls, num_classes).detach(),
            avg_factor=num_pos_avg_factor(avg_mode, head, student_cls, student_outs.loss_inputs)))
