# Copyright (c) skd_det contributors.
import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from .utils import Features, as_level_pairs, check_loss_weight


@MODELS.register_module()
class NormalizedL1Loss(nn.Module):
    """Hint loss of blur-robust S-KD (Cho et al., IEEE Access 2022): L1
    distance between channel-L1-normalised student and teacher features::

        n(F)[c, y, x] = F[c, y, x] / (sum_c' |F[c', y, x]| + eps)
        loss = sum_levels mean_{n, y, x} sum_c |n(F_s) - n(F_t).detach()|

    Normalising each position's feature vector compares feature directions
    and keeps a level's loss in [0, 2] whatever the feature scale, so no
    level or bright region dominates. ``normalize=False`` compares raw
    features (mean absolute difference summed over channels). The teacher is
    detached inside the loss.

    Args:
        normalize (bool): Channel-L1-normalise both sides. Defaults to True.
        eps (float): Added to the norms. Defaults to 1e-6.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self, normalize: bool = True, eps: float = 1e-6, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.normalize = normalize
        self.eps = eps
        self.loss_weight = check_loss_weight(loss_weight, 'NormalizedL1Loss')

    def _norm(self, x: Tensor) -> Tensor:
        x = x.float()
        if not self.normalize:
            return x
        return x / (x.abs().sum(1, keepdim=True) + self.eps)

    def forward(self, pred: Features, target: Features) -> Tensor:
        """Forward function.

        Args:
            pred (Tensor | Sequence[Tensor]): Student features, (N, C, H, W)
                or one such map per level.
            target (Tensor | Sequence[Tensor]): Teacher features of the same
                shapes.

        Returns:
            Tensor: Scalar loss (summed over levels).
        """
        loss = 0
        for s, t in as_level_pairs(pred, target, 'NormalizedL1Loss'):
            diff = self._norm(s) - self._norm(t.detach())
            loss = loss + diff.abs().sum(1).mean()
        return self.loss_weight * loss
