# Copyright (c) skd_det contributors.
"""What the losses share: input checks, the reduction and the mmdet loss API."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

Features = Union[Tensor, Sequence[Tensor]]
REDUCTIONS = ('none', 'mean', 'sum')


def check_loss_weight(loss_weight: float, name: str) -> float:
    """``loss_weight`` as a float; a ValueError naming the loss otherwise."""
    if not isinstance(loss_weight, (int, float)) or loss_weight < 0:
        raise ValueError(f'{name}: loss_weight must be a number >= 0, got {loss_weight!r}')
    return float(loss_weight)


def check_reduction(reduction: str, name: str, allowed: Sequence[str] = REDUCTIONS) -> str:
    if reduction not in allowed:
        raise ValueError(f'{name}: reduction must be one of {tuple(allowed)}, got {reduction!r}')
    return reduction


def weight_elements(loss: Tensor, weight: Optional[Tensor]) -> Tensor:
    """An (N, C) loss times per-row (N,) or per-element (N, C) weights."""
    if weight is None:
        return loss
    weight = weight.float()
    return loss * (weight[:, None] if weight.dim() == 1 else weight)


def as_level_pairs(pred: Features,
                   target: Features,
                   name: str,
                   same_channels: bool = True) -> List[Tuple[Tensor, Tensor]]:
    """(student, teacher) map pairs, one per level, from one (N, C, H, W)
    map each or one per level.

    Args:
        pred (Tensor | Sequence[Tensor]): Student features.
        target (Tensor | Sequence[Tensor]): Teacher features, level by
            level.
        name (str): The loss, for the error messages.
        same_channels (bool): Require equal shapes; False lets the channel
            counts differ (N, H, W must still be equal). Defaults to True.

    Raises:
        ValueError: One side is a tensor and the other a sequence, the
            level counts differ or are zero, or a level's maps are not
            4-d or differ in shape.
    """
    if isinstance(pred, Tensor) != isinstance(target, Tensor):
        raise ValueError(f'{name}: pred and target must both be tensors or '
                         'both be sequences')
    preds = [pred] if isinstance(pred, Tensor) else list(pred)
    targets = [target] if isinstance(target, Tensor) else list(target)
    if len(preds) != len(targets) or not preds:
        raise ValueError(f'{name}: got {len(preds)} student and '
                         f'{len(targets)} teacher levels')
    for lvl, (s, t) in enumerate(zip(preds, targets)):
        if same_channels:
            ok = s.dim() == 4 and s.shape == t.shape
            rule = 'must be equal and (N, C, H, W)'
        else:
            ok = (
                s.dim() == 4 and t.dim() == 4 and s.shape[0] == t.shape[0]
                and s.shape[2:] == t.shape[2:])
            rule = 'must be (N, C, H, W) with equal N, H, W'
        if not ok:
            raise ValueError(f'{name}: level {lvl} student shape '
                             f'{tuple(s.shape)} and teacher shape '
                             f'{tuple(t.shape)} {rule}')
    return list(zip(preds, targets))


def reduce_loss(loss: Tensor, reduction: str, avg_factor: Optional[Union[float, Tensor]]) -> Tensor:
    """mmdet's ``weight_reduce_loss`` rule for an already weighted loss.

    Without ``avg_factor``: 'mean' / 'sum' / 'none'. With it: 'mean' gives
    ``loss.sum() / avg_factor``, 'none' returns the loss, 'sum' is an error.
    Kept here rather than imported: these losses serve mmdet and mmseg
    configs, and ``skd_det.models`` must import without either.
    """
    if avg_factor is None:
        if reduction == 'mean':
            return loss.mean()
        return loss.sum() if reduction == 'sum' else loss
    if reduction == 'mean':
        eps = torch.finfo(torch.float32).eps
        return loss.sum() / (avg_factor + eps)
    if reduction == 'none':
        return loss
    raise ValueError('avg_factor can not be used with reduction="sum"')


class ReducedLoss(nn.Module):
    """Base of the losses with mmdet's loss API (``pred, target, weight,
    avg_factor, reduction_override``): ``loss_weight`` times the
    :func:`reduce_loss` of the weighted per-sample loss that a subclass's
    :meth:`elementwise` gives.

    Args:
        reduction (str): 'none' | 'mean' | 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction, type(self).__name__)
        self.loss_weight = check_loss_weight(loss_weight, type(self).__name__)

    def elementwise(self, pred: Tensor, target: Tensor, weight: Optional[Tensor]) -> Tensor:
        """The weighted loss per sample (N, *), summed over the classes."""
        raise NotImplementedError

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Forward function.

        Args:
            pred (Tensor): Student (predicted) logits, (N, C, *).
            target (Tensor): Teacher logits or targets of ``pred``'s shape,
                detached.
            weight (Tensor, optional): Weights, of the shapes
                :meth:`elementwise` takes.
            avg_factor (float | Tensor, optional): Divisor of the summed
                loss, e.g. the number of positive anchors.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: Scalar, or (N, *) with reduction 'none'.
        """
        reduction = check_reduction(reduction_override or self.reduction, type(self).__name__)
        loss = self.elementwise(pred, target, weight)
        return self.loss_weight * reduce_loss(loss, reduction, avg_factor)
