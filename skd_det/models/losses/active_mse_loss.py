# Copyright (c) skd_det contributors.
import torch
import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from .utils import Features, as_level_pairs, check_loss_weight, check_reduction


@MODELS.register_module()
class ActiveMSELoss(nn.Module):
    """Feature loss of BYOT, "Be Your Own Teacher: Improve the Performance of
    Convolutional Neural Networks via Self Distillation" (Zhang et al., ICCV
    2019): the squared error over the elements where the student or the
    teacher is active (> 0), as the public code computes ``||F_i - F_C||^2``
    (luanyunteng/pytorch-be-your-own-teacher train.py:372-374)::

        L = sum over elements of (F_s - F_t.detach())^2 * [F_s > 0 or F_t > 0]

    summed over all elements of all levels ('sum', the authors' reduction,
    which grows with batch size and resolution) or divided by their count
    ('mean'). On ReLU'd features (the authors') the mask changes nothing,
    since both sides are then 0 where it is off; on signed features (FPN
    outputs) it leaves the elements where both sides are negative untouched.
    ``pred`` (student) and ``target`` (teacher) are (N, C, H, W) maps, one
    or one per level, of equal shapes; the teacher is detached here.

    Args:
        reduction (str): 'sum' or 'mean'. Defaults to 'sum'.
        loss_weight (float): BYOT's lambda (1e-6 in the public code, for a
            sum over pooled (N, 512 * expansion) features). Defaults to 1.0.
    """

    def __init__(self, reduction: str = 'sum', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction, 'ActiveMSELoss', ('sum', 'mean'))
        self.loss_weight = check_loss_weight(loss_weight, 'ActiveMSELoss')

    def forward(self, pred: Features, target: Features) -> Tensor:
        """Forward function.

        Args:
            pred (Tensor | Sequence[Tensor]): Student features.
            target (Tensor | Sequence[Tensor]): Teacher features, same shapes.

        Returns:
            Tensor: Scalar float32 loss.
        """
        total, count = 0, 0
        for s, t in as_level_pairs(pred, target, 'ActiveMSELoss'):
            s, t = s.float(), t.detach().float()
            active = (s > 0) | (t > 0)
            # where() rather than a product: inactive elements get no gradient
            total = total + torch.where(active, (s - t).pow(2), torch.zeros_like(s)).sum()
            count += s.numel()
        if self.reduction == 'mean':
            total = total / max(count, 1)
        return self.loss_weight * total
