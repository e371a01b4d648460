# Copyright (c) skd_det contributors.
"""Focal soft-label distillation for sigmoid dense detectors."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor

from .kd_losses import _check_anchor_weight, _check_logits, _check_temperature
from .utils import ReducedLoss, weight_elements


@MODELS.register_module()
class QualityFocalKDLoss(ReducedLoss):
    """Soft-label distillation of a sigmoid classifier in the form of the
    Quality Focal Loss ("Generalized Focal Loss", Li et al., NeurIPS 2020;
    mmdet's ``QualityFocalLoss``) with the teacher's probability as the
    quality target::

        q = sigmoid(z_t / T),  p = sigmoid(z_s / T)
        loss_{a,c} = T^2 * BCE(z_s / T, q) * |q - p|^beta

    Unlike :class:`SigmoidKDLoss` (a binary KL over every anchor and class),
    the factor ``|q - p|^beta`` suppresses the (anchor, class) pairs where
    student and teacher already agree, as the focal loss suppresses easy
    background by ``p^gamma``: the distillation gradient goes where the two
    disagree, not to the thousands of background anchors both call
    background. The loss and its gradient are zero where ``p = q``
    (``beta > 1``). Normalise by the number of positive anchors
    (``avg_factor``, a teacher part's ``kd_avg_factor='num_pos'``), as the
    focal loss is, and a ``loss_weight`` near 1 puts it on the task loss's
    scale. A project form for detection KD (FRSKD, LGD and the frozen-teacher
    KD publish none for dense sigmoid heads).

    ``pred``/``target`` are (N, C) student/teacher logits for N anchors of
    all images and levels; the teacher gets no gradient. The loss is summed
    over classes; ``avg_factor`` divides the sum over anchors, otherwise
    ('mean') it is averaged over the N anchors.

    Args:
        beta (float): Focusing exponent (QFL's beta). Defaults to 2.0.
        temperature (float): T. Defaults to 1.0.
        reduction (str): 'none' | 'mean' | 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 beta: float = 2.0,
                 temperature: float = 1.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        if not isinstance(beta, (int, float)) or beta < 0:
            raise ValueError(f'QualityFocalKDLoss: beta must be >= 0, got {beta!r}')
        self.beta = float(beta)
        self.temperature = _check_temperature(type(self).__name__, temperature)

    def elementwise(self, pred: Tensor, target: Tensor, weight: Optional[Tensor]) -> Tensor:
        """(N, C) student and teacher logits, per-anchor (N,) or per-element
        (N, C) weights -> (N,), summed over classes."""
        _check_logits('QualityFocalKDLoss', pred, target, 2)
        _check_anchor_weight('QualityFocalKDLoss', pred, weight)
        T = self.temperature
        s = pred.float() / T
        q = torch.sigmoid(target.detach().float() / T)
        modulating = (q - s.sigmoid()).abs().pow(self.beta)
        loss = F.binary_cross_entropy_with_logits(s, q, reduction='none') * modulating
        return weight_elements(loss * T**2, weight).sum(1)
