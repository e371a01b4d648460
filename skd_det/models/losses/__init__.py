# Copyright (c) skd_det contributors.
from .attention_transfer_loss import AttentionTransferLoss, attention_map
from .kd_losses import PixelKLLoss, SigmoidKDLoss, SoftmaxKDLoss

__all__ = [
    'AttentionTransferLoss', 'attention_map', 'SoftmaxKDLoss',
    'SigmoidKDLoss', 'PixelKLLoss'
]
