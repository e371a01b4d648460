# Copyright (c) skd_det contributors.
from typing import List, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

__all__ = ['EfficientDetSegHead']


def _up(in_channels: int, out_channels: int) -> nn.ConvTranspose2d:
    """3x3 stride-2 transposed conv ("SAME": 2x the input size)."""
    return nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1, output_padding=1)


@MODELS.register_module()
class EfficientDetSegHead(BaseDecodeHead):
    """The segmentation head of the official EfficientDet code (automl's
    ``SegmentationHead``), over the BiFPN levels.

    "EfficientDet: Scalable and Efficient Object Detection" (Tan, Pang, Le,
    CVPR 2020). Not FRSKD's segmentation model (Ji et al., CVPR 2021: an FPN
    over P2..P7 with BiFPN-seg layers, ``BiFPNSeg`` / ``BiFPNSegHead``). From
    the coarsest level, a U-Net-like path of 3x3 stride-2 transposed convs
    (+ BN + activation), each output concatenated with the next finer level,
    then a 3x3 stride-2 transposed conv to the classes (``conv_seg``)::

        x = F_{n-1}                                  (N, C, H_{n-1}, W_{n-1})
        x = cat(act(BN(up_i(x))), F_i)  i = n-2..0   (N, channels + C, H_i, W_i)
        logits = conv_seg(dropout(x))                (N, K, 2 H_0, 2 W_0)

    With the BiFPN's P3..P7 the logits are at stride 4. Each upsampled map
    is cut to the exact size of the level it joins (``ceil`` halving makes
    odd sizes, e.g. 43 -> 22 -> 44 -> 43).

    Args:
        in_channels (Sequence[int]): Widths of the selected levels (finest
            first).
        channels (int): Width of the transposed convs (the official head:
            the BiFPN width).
        **kwargs: :class:`BaseDecodeHead` arguments (``num_classes``,
            ``in_index``, ``norm_cfg`` (default BN), ``act_cfg`` (default
            Swish), ``dropout_ratio``, ``loss_decode``, ...).
            ``input_transform`` is always 'multiple_select'.
    """

    def __init__(self, in_channels: Sequence[int], channels: int, **kwargs) -> None:
        if kwargs.pop('input_transform', 'multiple_select') != \
                'multiple_select':
            raise ValueError("EfficientDetSegHead takes the levels as they "
                             "are: input_transform must be 'multiple_select'")
        kwargs.setdefault('norm_cfg', dict(type='BN'))
        kwargs.setdefault('act_cfg', dict(type='Swish'))
        super().__init__(list(in_channels), channels, input_transform='multiple_select', **kwargs)
        if len(self.in_channels) < 2:
            raise ValueError('EfficientDetSegHead needs >= 2 levels, got '
                             f'in_channels={self.in_channels}')
        widths = self.in_channels
        self.up_convs = nn.ModuleList(
            _up(widths[-1] if i == len(widths) - 2 else channels + widths[i + 1], channels)
            for i in range(len(widths) - 1))
        self.up_norms = nn.ModuleList(
            build_norm_layer(self.norm_cfg, channels)[1] for _ in range(len(widths) - 1))
        self.act = build_activation_layer(self.act_cfg)
        self.conv_seg = _up(channels + widths[0], self.out_channels)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Levels -> (N, num_classes, 2 H_0, 2 W_0) logits."""
        feats = self._transform_inputs(inputs)
        x = feats[-1]
        for i in range(len(feats) - 2, -1, -1):
            skip = feats[i]
            x = self.up_convs[i](x)[..., :skip.shape[-2], :skip.shape[-1]]
            x = torch.cat([self.act(self.up_norms[i](x)), skip], dim=1)
        return self.cls_seg(x)
