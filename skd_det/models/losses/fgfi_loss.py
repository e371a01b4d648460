# Copyright (c) skd_det contributors.
from typing import Sequence, Union

import torch
import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from .utils import as_level_pairs, check_loss_weight

Masks = Union[Tensor, Sequence[Tensor]]


@MODELS.register_module()
class FGFILoss(nn.Module):
    """Fine-grained feature imitation loss of "Distilling Object Detectors
    with Fine-grained Feature Imitation" (Wang et al., CVPR 2019), Eq. 2-3:
    a squared error on the masked locations only, normalised by twice the
    number of masked locations::

        N_p = sum_l sum_{n,i,j} I^l_nij
        L   = sum_l sum_{n,c,i,j} I^l_nij * (f_adap(s)^l_ncij - t^l_ncij)^2
              / (2 * N_p)

    summed over channels (not averaged), as in the authors' code
    (``trainval_net_sup.py``: ``norms = mask_batch.sum() * 2``). With FPN the
    sums run over all levels together, so ``N_p`` counts every masked
    location of every level and image once. ``pred`` is the adapted student
    side, ``target`` the teacher's features (detached here), ``mask`` the
    imitation mask :math:`I` (see :class:`~skd_det.models.teachers.FGFITeacher`).
    A batch without any masked location (no ground truth) gives zero, where
    the authors' code would divide by zero. Computed
    in float32 with autocast off.

    Args:
        loss_weight (float): The imitation weight lambda. Defaults to 0.01
            (the authors' ``--ilw`` default).
    """

    def __init__(self, loss_weight: float = 0.01) -> None:
        super().__init__()
        self.loss_weight = check_loss_weight(loss_weight, 'FGFILoss')

    def forward(self, pred: Union[Tensor, Sequence[Tensor]],
                target: Union[Tensor, Sequence[Tensor]], mask: Masks) -> Tensor:
        """Forward function.

        Args:
            pred (Tensor | Sequence[Tensor]): Adapted student features, one
                (N, C, H, W) map or one per level.
            target (Tensor | Sequence[Tensor]): Teacher features, same shapes.
            mask (Tensor | Sequence[Tensor]): Imitation masks (N, H, W), one
                per level, nonzero where imitated.

        Returns:
            Tensor: Scalar float32 loss.
        """
        pairs = as_level_pairs(pred, target, 'FGFILoss')
        masks = [mask] if isinstance(mask, Tensor) else list(mask)
        if len(masks) != len(pairs):
            raise ValueError(f'FGFILoss: got {len(masks)} masks for {len(pairs)} levels')
        total, num_pos = 0, 0
        with torch.autocast(device_type=pairs[0][0].device.type, enabled=False):
            for lvl, ((s, t), m) in enumerate(zip(pairs, masks)):
                if m.shape != s.shape[:1] + s.shape[2:]:
                    raise ValueError(f'FGFILoss: level {lvl} mask shape {tuple(m.shape)} must '
                                     f'be (N, H, W) of features {tuple(s.shape)}')
                m = (m > 0).float().unsqueeze(1)
                total = total + ((s.float() - t.detach().float()).pow(2) * m).sum()
                num_pos = num_pos + m.sum()
        # no masked location: total is a zero that keeps the graph
        return self.loss_weight * total / (2 * num_pos.clamp(min=1))
