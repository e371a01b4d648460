# Copyright (c) skd_det contributors.
"""Soft-label distillation losses: softmax (classification), sigmoid (dense
detection) and pixel-wise (segmentation) KL divergences.

Pure torch (no mmdet/mmseg import), registered in mmengine's root ``MODELS``
registry so mmdet and mmseg configs both find them.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor

from .utils import ReducedLoss, check_loss_weight, weight_elements


def _check_temperature(name: str, temperature: float) -> float:
    if temperature <= 0:
        raise ValueError(f'{name}: temperature must be > 0, got {temperature}')
    return temperature


def _check_logits(name: str, pred: Tensor, target: Tensor, dim: int) -> None:
    if pred.dim() != dim or pred.shape != target.shape:
        raise ValueError(f'{name}: pred (student) shape {tuple(pred.shape)} '
                         f'and target (teacher) shape {tuple(target.shape)} '
                         f'must be equal and {dim}-D')


def _check_anchor_weight(name: str, pred: Tensor, weight: Optional[Tensor]) -> None:
    if weight is not None and weight.shape not in (pred.shape[:1], pred.shape):
        raise ValueError(f'{name}: weight shape {tuple(weight.shape)} must be (N,) or (N, C) '
                         f'for pred shape {tuple(pred.shape)}')


@MODELS.register_module()
class SoftmaxKDLoss(ReducedLoss):
    """Soft-label knowledge distillation, "Distilling the Knowledge in a
    Neural Network" (Hinton et al., 2015); FRSKD's ``L_KD``::

        loss_n = T^2 * KL(softmax(z_t / T) || softmax(z_s / T))
               = T^2 * sum_c p_t,c * (log p_t,c - log p_s,c)

    ``pred`` (student) and ``target`` (teacher) logits are (N, C); the
    teacher is detached. 'mean' reduction averages ``loss_n`` over samples
    (PyTorch's 'batchmean'); with ``avg_factor`` it is
    ``sum_n w_n * loss_n / avg_factor``.

    Args:
        temperature (float): T. Defaults to 4.0 (FRSKD classification).
        reduction (str): 'none' | 'mean' | 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss (FRSKD's alpha).
            Defaults to 1.0.
    """

    def __init__(self,
                 temperature: float = 4.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.temperature = _check_temperature(type(self).__name__, temperature)

    def elementwise(self, pred: Tensor, target: Tensor, weight: Optional[Tensor]) -> Tensor:
        """(N, C) student and teacher logits, (N,) per-sample weights ->
        (N,)."""
        _check_logits('SoftmaxKDLoss', pred, target, 2)
        if weight is not None and weight.shape != pred.shape[:1]:
            raise ValueError(f'SoftmaxKDLoss: weight shape '
                             f'{tuple(weight.shape)} must be (N,) for pred '
                             f'shape {tuple(pred.shape)}')
        T = self.temperature
        log_p_s = F.log_softmax(pred.float() / T, dim=1)
        log_p_t = F.log_softmax(target.detach().float() / T, dim=1)
        loss = F.kl_div(log_p_s, log_p_t, reduction='none', log_target=True).sum(1)
        loss = loss * T**2
        return loss if weight is None else loss * weight.float()


@MODELS.register_module()
class SigmoidKDLoss(ReducedLoss):
    """Soft-label distillation for sigmoid classifiers of dense detectors
    (RetinaNet, FCOS, ...): the per-class binary analogue of Hinton et al.'s
    KD, as FRSKD's ``L_KD`` needs for "Focal Loss for Dense Object
    Detection"-style heads::

        q = sigmoid(z_t / T),  p = sigmoid(z_s / T)
        loss_{a,c} = T^2 * [q log(q/p) + (1-q) log((1-q)/(1-p))]

    Binary KL rather than BCE(p, q): both give the student the same gradient
    (they differ by the teacher's entropy, a constant), but the KL is zero
    when the student equals the teacher, so the logged value measures the
    remaining disagreement; BCE would not go below the teacher's entropy.

    ``pred``/``target`` are (N, C) logits for all N anchors/points, the
    teacher is detached. Normalisation: the loss is summed over classes;
    with ``avg_factor`` (pass the number of positive anchors, as the focal
    loss does) the sum over anchors is divided by it, otherwise ('mean')
    it is averaged over the N anchors.

    Args:
        temperature (float): T. Detection has no published default; 1.0
            keeps the focal-loss scale. Defaults to 1.0.
        reduction (str): 'none' | 'mean' | 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 temperature: float = 1.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.temperature = _check_temperature(type(self).__name__, temperature)

    def elementwise(self, pred: Tensor, target: Tensor, weight: Optional[Tensor]) -> Tensor:
        """(N, C) student and teacher logits for N anchors of all images and
        levels, per-anchor (N,) or per-element (N, C) weights (e.g. label
        weights that mask ignored anchors) -> (N,), summed over classes."""
        _check_logits('SigmoidKDLoss', pred, target, 2)
        _check_anchor_weight('SigmoidKDLoss', pred, weight)
        T = self.temperature
        s = pred.float() / T
        t = target.detach().float() / T
        q = torch.sigmoid(t)
        loss = q * (F.logsigmoid(t) - F.logsigmoid(s)) + (1 - q) * (
            F.logsigmoid(-t) - F.logsigmoid(-s))
        return weight_elements(loss * T**2, weight).sum(1)


@MODELS.register_module()
class PixelKLLoss(nn.Module):
    """Pixel-wise soft-label distillation for semantic segmentation (FRSKD's
    segmentation ``L_KD``; Hinton et al.'s KD applied at every pixel)::

        loss_{n,h,w} = T^2 * KL(softmax_c(z_t / T) || softmax_c(z_s / T))

    summed over all N*H*W pixels and divided by N*H*W, ignored pixels
    included, as the authors do (MingiJi/FRSKD segmentation/utils/
    distill.py:10-15). With ``avg_non_ignore=True`` (an addition, off by
    default) it is averaged over the valid pixels only, those whose
    ``label`` is not ``ignore_index``: the teacher's logits at ignored
    pixels (borders, void) were never trained towards a class. ``pred``
    (student) and ``target`` (teacher) logits are (N, C, H, W); the teacher
    is detached. Logits and label must have the same (H, W): resizing is the
    caller's job.

    Args:
        temperature (float): T. Defaults to 1.0 (FRSKD segmentation).
        avg_non_ignore (bool): Average over the valid pixels of ``label``
            instead of all pixels. Defaults to False.
        ignore_index (int): Label value of excluded pixels (with
            ``avg_non_ignore``). Defaults to 255.
        loss_weight (float): Weight of the loss (FRSKD's alpha).
            Defaults to 1.0.
    """

    def __init__(self,
                 temperature: float = 1.0,
                 avg_non_ignore: bool = False,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = _check_temperature('PixelKLLoss', temperature)
        self.avg_non_ignore = avg_non_ignore
        self.ignore_index = ignore_index
        self.loss_weight = check_loss_weight(loss_weight, 'PixelKLLoss')

    def forward(self,
                pred: Tensor,
                target: Tensor,
                label: Optional[Tensor] = None,
                ignore_index: Optional[int] = None) -> Tensor:
        """Forward function.

        Args:
            pred (Tensor): Student logits (N, C, H, W).
            target (Tensor): Teacher logits (N, C, H, W), detached here.
            label (Tensor, optional): Ground truth (N, H, W) or (N, 1, H, W);
                with ``avg_non_ignore``, pixels equal to ``ignore_index``
                are excluded (all pixels count without a label).
            ignore_index (int, optional): Overrides ``self.ignore_index``.

        Returns:
            Tensor: Scalar loss (with ``avg_non_ignore``: 0 with a gradient
            path when no pixel is valid).
        """
        _check_logits('PixelKLLoss', pred, target, 4)
        T = self.temperature
        log_p_s = F.log_softmax(pred.float() / T, dim=1)
        log_p_t = F.log_softmax(target.detach().float() / T, dim=1)
        loss = F.kl_div(log_p_s, log_p_t, reduction='none', log_target=True).sum(1)
        loss = loss * T**2  # (N, H, W)
        if label is not None:
            if label.dim() == 4 and label.shape[1] == 1:
                label = label[:, 0]
            if label.shape != loss.shape:
                raise ValueError(f'PixelKLLoss: label shape {tuple(label.shape)} must be '
                                 f'(N, H, W) of the logits shape {tuple(pred.shape)}; '
                                 'resize first')
        if label is None or not self.avg_non_ignore:
            return self.loss_weight * loss.mean()
        ignore = self.ignore_index if ignore_index is None else ignore_index
        valid = label != ignore
        # where() rather than indexing: ignored pixels get no gradient
        total = torch.where(valid, loss, torch.zeros_like(loss)).sum()
        return self.loss_weight * total / valid.sum().clamp(min=1)
