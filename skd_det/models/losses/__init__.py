# Copyright (c) skd_det contributors.
from .active_mse_loss import ActiveMSELoss
from .attention_transfer_loss import AttentionTransferLoss, attention_map
from .fgfi_loss import FGFILoss
from .instance_norm_mse_loss import InstanceNormMSELoss, instance_norm
from .kd_losses import PixelKLLoss, SigmoidKDLoss, SoftmaxKDLoss
from .normalized_l1_loss import NormalizedL1Loss
from .quality_focal_kd_loss import QualityFocalKDLoss
from .soft_target_losses import SoftTargetCrossEntropyLoss, SoftTargetFocalLoss

__all__ = [
    'AttentionTransferLoss', 'attention_map', 'SoftmaxKDLoss', 'SigmoidKDLoss', 'PixelKLLoss',
    'InstanceNormMSELoss', 'instance_norm', 'NormalizedL1Loss', 'FGFILoss', 'ActiveMSELoss',
    'SoftTargetCrossEntropyLoss', 'SoftTargetFocalLoss', 'QualityFocalKDLoss'
]
