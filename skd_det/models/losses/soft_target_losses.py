# Copyright (c) skd_det contributors.
"""Task losses on soft (probability) targets, for PS-KD's progressively
refined targets: softmax cross-entropy (classification, segmentation) and a
focal loss for the sigmoid classifiers of dense detectors.

Pure torch (no mmdet/mmseg import), registered in mmengine's root ``MODELS``
registry so mmdet and mmseg configs both find them.
"""
from typing import Optional

import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor

from .utils import ReducedLoss, weight_elements


def _check(name: str, pred: Tensor, target: Tensor, weight: Optional[Tensor],
           weight_shapes: tuple) -> None:
    if pred.shape != target.shape or pred.dim() < 2:
        raise ValueError(f'{name}: pred shape {tuple(pred.shape)} and target '
                         f'shape {tuple(target.shape)} must be equal, with '
                         'classes on dim 1')
    if weight is not None and tuple(weight.shape) not in weight_shapes:
        raise ValueError(f'{name}: weight shape {tuple(weight.shape)} must be '
                         f'one of {[tuple(s) for s in weight_shapes]}')


@MODELS.register_module()
class SoftTargetCrossEntropyLoss(ReducedLoss):
    """Cross-entropy with a probability target, PS-KD's loss
    ("Self-Knowledge Distillation with Progressive Refinement of Targets",
    Kim et al., ICCV 2021; lgcnsai/PS-KD-Pytorch loss/pskd_loss.py:18-19)::

        loss_n = -sum_c t_{n,c} * log softmax(z_n)_c

    for every sample (classification, ``pred`` (N, C)) or pixel
    (segmentation, ``pred`` (N, C, H, W)); ``target`` has ``pred``'s shape
    and sums to 1 over dim 1 (or to 0 where the weight is 0). With a one-hot
    target it is the usual cross-entropy. 'mean' averages ``loss_n`` over
    all samples/pixels (the authors' ``.mean(0)``); with ``avg_factor`` the
    weighted sum is divided by it instead, which is how
    :class:`~skd_det.models.teachers.PSKDSegTeacher` reproduces mmseg's
    ``CrossEntropyLoss`` normalisation (all pixels, or the non-ignored ones
    with ``avg_non_ignore``). The target gets no gradient.

    Args:
        reduction (str): 'none' | 'mean' | 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def elementwise(self, pred: Tensor, target: Tensor, weight: Optional[Tensor]) -> Tensor:
        """(N, C, *) logits (``*``: none or H, W), (N, C, *) probabilities,
        per-sample/pixel weights (N, *) (e.g. 0 at ignored pixels) ->
        (N, *)."""
        shape = (pred.shape[:1] + pred.shape[2:], )
        _check('SoftTargetCrossEntropyLoss', pred, target, weight, shape)
        loss = -(target.detach().float() * F.log_softmax(pred.float(), dim=1)).sum(1)
        return loss if weight is None else loss * weight.float()


@MODELS.register_module()
class SoftTargetFocalLoss(ReducedLoss):
    """Focal loss of a sigmoid classifier with soft targets ``t`` in [0, 1],
    for PS-KD's mixed targets on dense detectors::

        p = sigmoid(z)
        loss_{a,c} = [alpha t + (1 - alpha)(1 - t)] * |t - p|^gamma
                     * BCE(z, t)

    The modulating factor ``|t - p|^gamma`` is the Quality Focal Loss' of
    "Generalized Focal Loss" (Li et al., NeurIPS 2020; mmdet's
    ``QualityFocalLoss`` with a tensor target, ``beta = gamma``), and the
    class-balance weight is the focal loss' alpha, linear in ``t``. For
    ``t`` in {0, 1} it is exactly the focal loss of "Focal Loss for Dense
    Object Detection" (Lin et al., ICCV 2017; mmdet's ``FocalLoss``), so a
    hard target gives RetinaNet's ``loss_cls``; for soft ``t`` it is zero
    with a zero gradient at ``p = t``, i.e. it pulls the prediction to the
    target. mmdet's focal loss itself is not a soft-target loss: its factor
    ``(1-p) t + p (1-t)`` does not vanish at ``p = t``, so its minimum is
    not the target. ``gamma=0, alpha=0.5`` gives half the plain soft BCE
    (the sigmoid analogue of PS-KD's soft cross-entropy).

    ``pred``/``target`` are (N, C) for N anchors of all images and levels;
    the loss is summed over classes and anchors and divided by
    ``avg_factor`` (the number of positive anchors, as the focal loss) or,
    without it, averaged over anchors ('mean'). The target gets no gradient.

    Args:
        gamma (float): Focusing exponent. Defaults to 2.0 (RetinaNet's).
        alpha (float): Weight of the positive part, in [0, 1]. Defaults
            to 0.25 (RetinaNet's).
        reduction (str): 'none' | 'mean' | 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 gamma: float = 2.0,
                 alpha: float = 0.25,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        if not isinstance(gamma, (int, float)) or gamma < 0:
            raise ValueError(f'SoftTargetFocalLoss: gamma must be >= 0, got '
                             f'{gamma!r}')
        if not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
            raise ValueError(f'SoftTargetFocalLoss: alpha must be in [0, 1], '
                             f'got {alpha!r}')
        self.gamma = float(gamma)
        self.alpha = float(alpha)

    def elementwise(self, pred: Tensor, target: Tensor, weight: Optional[Tensor]) -> Tensor:
        """(N, C) logits for N anchors of all images and levels, (N, C)
        targets in [0, 1], per-anchor (N,) or per-element (N, C) weights
        (e.g. label weights that mask ignored anchors) -> (N,), summed over
        classes."""
        _check('SoftTargetFocalLoss', pred, target, weight, (pred.shape[:1], pred.shape))
        if pred.dim() != 2:
            raise ValueError('SoftTargetFocalLoss: pred must be (N, C), got '
                             f'{tuple(pred.shape)}')
        z = pred.float()
        t = target.detach().float()
        balance = self.alpha * t + (1 - self.alpha) * (1 - t)
        modulating = (t - z.sigmoid()).abs().pow(self.gamma)
        loss = F.binary_cross_entropy_with_logits(z, t, reduction='none') * balance * modulating
        return weight_elements(loss, weight).sum(1)
