# Copyright (c) skd_det contributors.
import torch
import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from .utils import Features, as_level_pairs, check_loss_weight


def instance_norm(feat: Tensor, eps: float = 1e-5) -> Tensor:
    """Each channel map of each sample to zero mean and unit (biased)
    variance over its H*W positions, without affine parameters.

    Unlike ``F.instance_norm`` in training mode it accepts 1x1 maps (the
    coarsest FPN levels of small images), which it maps to zero.

    Args:
        feat (Tensor): (N, C, H, W).
        eps (float): Added to the variance. Defaults to 1e-5.

    Returns:
        Tensor: (N, C, H, W), dtype of ``feat``.
    """
    mean = feat.mean(dim=(2, 3), keepdim=True)
    var = feat.var(dim=(2, 3), unbiased=False, keepdim=True)
    return (feat - mean) / torch.sqrt(var + eps)


@MODELS.register_module()
class InstanceNormMSELoss(nn.Module):
    """Feature loss of LGD, "LGD: Label-guided Self-distillation for Object
    Detection" (Zhang et al., AAAI 2022): one mean squared error over the
    elements of all levels taken together (the authors concatenate the
    flattened levels, then ``F.mse_loss``)::

        L = sum_l sum((IN(F_s^l) - IN(F_t^l).detach())^2) / sum_l N*C*H_l*W_l

    so each level weighs by its element count (not a sum of per-level
    means). ``IN`` normalises each channel map of each sample
    (:func:`instance_norm`). ``pred`` is the student side (LGD: the adapted
    student features), ``target`` the teacher side, detached here. Computed
    in float32 with autocast off, so AMP training neither normalises nor
    squares in half precision.

    Args:
        eps (float): Instance-norm epsilon. Defaults to 1e-5.
        loss_weight (float): LGD's lambda. Defaults to 1.0.
    """

    def __init__(self, eps: float = 1e-5, loss_weight: float = 1.0) -> None:
        super().__init__()
        if eps <= 0:
            raise ValueError(f'eps must be > 0, got {eps}')
        self.eps = eps
        self.loss_weight = check_loss_weight(loss_weight, 'InstanceNormMSELoss')

    def forward(self, pred: Features, target: Features) -> Tensor:
        """Forward function.

        Args:
            pred (Tensor | Sequence[Tensor]): Student features, one
                (N, C, H, W) map or one per level.
            target (Tensor | Sequence[Tensor]): Teacher features of the same
                shapes.

        Returns:
            Tensor: Scalar float32 loss.
        """
        pairs = as_level_pairs(pred, target, 'InstanceNormMSELoss')
        total, count = 0, 0
        with torch.autocast(device_type=pairs[0][0].device.type, enabled=False):
            for s, t in pairs:
                diff = instance_norm(s.float(), self.eps) - instance_norm(
                    t.detach().float(), self.eps)
                total = total + diff.pow(2).sum()
                count += diff.numel()
        return self.loss_weight * total / max(count, 1)
