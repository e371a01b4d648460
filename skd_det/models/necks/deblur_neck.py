# Copyright (c) skd_det contributors.
# Pure torch: registered in mmengine's root registry for mmdet and mmseg.
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor


class _ResidualBlock(nn.Module):
    """``x + conv(act(conv(x)))``; the last conv starts at zero, so the
    block starts as the identity."""

    def __init__(self, channels: int, mid_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, mid_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(mid_channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.conv1(x).relu())


@MODELS.register_module()
class DeblurNeck(BaseModule):
    """Feature-level deblurring subnet of blur-robust S-KD, "Blur-Robust
    Object Detection Using Feature-Level Deblurring via Self-Guided Knowledge
    Distillation" (Cho et al., IEEE Access 2022).

    A stack of residual conv blocks applied to every FPN level with the same
    weights (the levels share a width and, under blur, a degradation)::

        P_l (N, C, H_l, W_l) -> P_l + f_k(...f_1(P_l))   (N, C, H_l, W_l)
        f_i(x) = conv3x3(ReLU(conv3x3(x)))  (C -> mid_channels -> C, no norm:
                                             pure torch, batch-independent)

    A second neck stage after the FPN, so it stays in the deployed model::

        neck=[dict(type='FPN', ...), dict(type='DeblurNeck', in_channels=C)]

    (mmengine builds a list of neck configs as an ``nn.Sequential``). The
    last conv of each block is zero-initialised: the subnet starts as the
    identity and the detector as without it. It is the only inference
    overhead of the method: 2 * num_blocks * 9 * C * mid_channels weights.
    One block is the default; configs/blur_skd/README.md has the ablation
    against two and their cost.

    Args:
        in_channels (int): C, the width of every level.
        num_blocks (int): Residual blocks. Defaults to 1.
        mid_channels (int, optional): Inner width. Defaults to C.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 num_blocks: int = 1,
                 mid_channels: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(num_blocks, int) or num_blocks < 1:
            raise ValueError(f'DeblurNeck.num_blocks must be an integer >= 1, '
                             f'got {num_blocks!r}')
        self.in_channels = in_channels
        self.blocks = nn.Sequential(
            *[_ResidualBlock(in_channels, mid_channels or in_channels) for _ in range(num_blocks)])
        self.zero_init_last()

    def zero_init_last(self) -> None:
        for block in self.blocks:
            nn.init.zeros_(block.conv2.weight)
            nn.init.zeros_(block.conv2.bias)

    def init_weights(self) -> None:
        super().init_weights()
        # an init_cfg (or mmengine's default) must not undo the identity start
        self.zero_init_last()

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Args: inputs: levels (N, C, H_l, W_l). Returns: a tuple of the
        same shapes."""
        for x in inputs:
            if x.dim() != 4 or x.shape[1] != self.in_channels:
                raise ValueError(f'DeblurNeck(in_channels={self.in_channels}) got a level '
                                 f'of shape {tuple(x.shape)}')
        return tuple(self.blocks(x) for x in inputs)
