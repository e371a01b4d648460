# Copyright (c) skd_det contributors.
import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

from ..necks.bifpn_seg import _conv_norm_act

__all__ = ['BiFPNSegHead']


@MODELS.register_module()
class BiFPNSegHead(BaseDecodeHead):
    """The classifier of FRSKD's segmentation model on one BiFPN-seg level
    (P2, stride 4).

    "Refine Myself by Teaching Myself: Feature Refinement via Self-Knowledge
    Distillation" (Ji et al., CVPR 2021), authors'
    segmentation/utils/efficientdet.py:49-56::

        x      = F                                (N, d, H/4, W/4)
        x      = act(BN(conv3x3(x)))              (N, channels, H/4, W/4)
        logits = conv_seg(x), a 3x3 conv          (N, num_classes, H/4, W/4)

    The logits are resized (bilinear) to the label / image size by mmseg's
    ``loss_by_feat`` and ``predict``, as the authors resize them to the
    input (efficientdet.py:82-83). Both convs have biases and PyTorch's
    default initialisation, as the authors' (mmseg's default normal(0.01)
    init of ``conv_seg`` is not applied unless ``init_cfg`` asks for it).

    Args:
        in_channels (int): d.
        channels (int): Width of the hidden conv. The authors' 256.
        **kwargs: :class:`BaseDecodeHead` arguments (``num_classes``,
            ``in_index`` (default 0: P2), ``loss_decode``, ...).
            ``dropout_ratio`` defaults to 0, ``norm_cfg`` to the authors'
            ``BN`` with ``eps=1e-4, momentum=0.997`` (PyTorch convention),
            ``act_cfg`` to ReLU, ``init_cfg`` to None.
    """

    def __init__(self, in_channels: int, channels: int, **kwargs) -> None:
        kwargs.setdefault('in_index', 0)
        kwargs.setdefault('dropout_ratio', 0.0)
        kwargs.setdefault('norm_cfg', dict(type='BN', eps=1e-4, momentum=0.997))
        kwargs.setdefault('act_cfg', dict(type='ReLU'))
        kwargs.setdefault('init_cfg', None)
        in_index = kwargs['in_index']
        if not isinstance(in_channels, int) or not isinstance(in_index, int):
            raise ValueError('BiFPNSegHead classifies one level: in_channels and in_index '
                             f'must be ints, got {in_channels!r} and {in_index!r}')
        super().__init__(in_channels, channels, **kwargs)
        self.conv = _conv_norm_act(in_channels, channels, 3, self.norm_cfg, self.act_cfg)
        self.conv_seg = nn.Conv2d(channels, self.out_channels, kernel_size=3, padding=1)

    def forward(self, inputs) -> Tensor:
        """Levels -> (N, num_classes, H_l, W_l) logits of level in_index."""
        return self.cls_seg(self.conv(self._transform_inputs(inputs)))
