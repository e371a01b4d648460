# Copyright (c) skd_det contributors.
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor

from .utils import Features, as_level_pairs, check_loss_weight


def attention_map(feat: Tensor, p: int = 2) -> Tensor:
    """Spatial attention of "Paying More Attention to Attention"
    (Zagoruyko & Komodakis, ICLR 2017): ``phi(F) = normalize(mean_c |F|^p)``.

    Args:
        feat (Tensor): Features of shape (N, C, H, W).
        p (int): Exponent. Defaults to 2.

    Returns:
        Tensor: (N, H*W), each row of unit L2 norm (float32).
    """
    am = feat.float().abs().pow(p).mean(dim=1).flatten(1)
    return F.normalize(am, p=2, dim=1)


@MODELS.register_module()
class AttentionTransferLoss(nn.Module):
    """Attention-transfer feature loss ``L_F`` of FRSKD.

    "Refine Myself by Teaching Myself: Feature Refinement via Self-Knowledge
    Distillation" (Ji et al., CVPR 2021), with the attention map of
    "Paying More Attention to Attention" (Zagoruyko & Komodakis, ICLR 2017)::

        phi(F) = L2-normalise(flatten(mean_c F^p))          (N, H*W)
        L_F    = sum_levels mean((phi(relu(F_s)) - phi(relu(F_t)).detach())^2)

    The mean runs over samples and positions. Student and teacher maps of a
    level must have the same batch and spatial size (N, H, W); their channel
    counts may differ. The teacher is detached inside the loss.

    Both sides are ReLU'd first because the authors compare activated
    features: their backbones and BiFPN return ReLU'd maps unless their
    overhaul-distillation option asks for pre-activation ones (MingiJi/FRSKD
    classification/models/resnet.py:203, wrn.py:96, bifpnc.py:120-121,
    utils.py:59-65). Detection students here give signed FPN outputs, so the
    ReLU is not a no-op.

    Args:
        p (int): Exponent in the attention map. Defaults to 2.
        relu_inputs (bool): ReLU both maps before the attention map (the
            authors' form). False compares the raw (pre-activation) maps, as
            an earlier version of this loss did. Defaults to True.
        loss_weight (float): Weight of the loss (FRSKD's beta).
            Defaults to 1.0.
    """

    def __init__(self, p: int = 2, relu_inputs: bool = True, loss_weight: float = 1.0) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f'p must be > 0, got {p}')
        self.p = p
        self.relu_inputs = relu_inputs
        self.loss_weight = check_loss_weight(loss_weight, 'AttentionTransferLoss')

    def forward(self, pred: Features, target: Features) -> Tensor:
        """Forward function.

        Args:
            pred (Tensor | Sequence[Tensor]): Student features, one
                (N, C_s, H, W) map or one per level.
            target (Tensor | Sequence[Tensor]): Teacher features matching
                ``pred`` level by level, (N, C_t, H, W) each.

        Returns:
            Tensor: Scalar loss (summed over levels).
        """
        loss = 0
        for s, t in as_level_pairs(pred, target, 'AttentionTransferLoss', same_channels=False):
            t = t.detach()
            if self.relu_inputs:
                s, t = F.relu(s), F.relu(t)
            diff = attention_map(s, self.p) - attention_map(t, self.p)
            loss = loss + diff.pow(2).mean()
        return self.loss_weight * loss
