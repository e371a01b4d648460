# Copyright (c) skd_det contributors.
"""The FPN and the BiFPN-seg layers of FRSKD's segmentation model.

"Refine Myself by Teaching Myself: Feature Refinement via Self-Knowledge
Distillation" (Ji et al., CVPR 2021, https://arxiv.org/abs/2103.08273),
authors' segmentation/utils/efficientdet.py and utils/BiFPN.py. Pure torch +
mmcv.cnn builders, registered in mmengine's root ``MODELS`` registry.
"""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor

__all__ = ['EffDetSegFPN', 'BiFPNSeg']


def _conv_norm_act(in_channels: int,
                   out_channels: int,
                   kernel_size: int,
                   norm_cfg: dict,
                   act_cfg: Optional[dict],
                   stride: int = 1,
                   groups: int = 1) -> nn.Sequential:
    """conv (with bias, as the authors') -> norm -> act (none if
    ``act_cfg`` is None). Not mmcv's ConvModule: that re-initialises the
    conv (Kaiming normal), the authors keep PyTorch's default
    initialisation."""
    layers = [
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=groups),
        build_norm_layer(norm_cfg, out_channels)[1]
    ]
    if act_cfg is not None:
        layers.append(build_activation_layer(act_cfg))
    return nn.Sequential(*layers)


def _resize(x: Tensor, like: Tensor, mode: str) -> Tensor:
    if mode == 'nearest':
        return F.interpolate(x, size=like.shape[-2:], mode=mode)
    return F.interpolate(x, size=like.shape[-2:], mode=mode, align_corners=False)


@MODELS.register_module()
class EffDetSegFPN(BaseModule):
    """FPN from four backbone levels C2..C5 to six levels P2..P7 (FRSKD's
    segmentation model, efficientdet.py:32-45, 67-74)::

        P5 = act(BN(conv1x1(C5)))                    (N, d, H/32, W/32)
        P_l = up(P_{l+1}) + act(BN(conv1x1(C_l)))    l = 4, 3, 2 (bilinear)
        P6 = act(BN(conv3x3_s2(C5)))                 (N, d, H/64, W/64)
        P7 = act(BN(conv3x3_s2(P6)))                 (N, d, H/128, W/128)

    P6 is computed from the backbone's C5, not from P5. The top-down sums
    are not convolved again: the authors build two 3x3 "smooth" convs but
    never call them (efficientdet.py:39-40, 67-73), so they are left
    out here.

    Args:
        in_channels (Sequence[int]): Widths of C2..C5.
        out_channels (int): d (B0: 64, B1: 88).
        norm_cfg (dict): Defaults to the authors' ``BN`` with ``eps=1e-4,
            momentum=0.997`` (efficientdet.py:90; in PyTorch's convention,
            so the running statistics follow the last batch almost fully).
        act_cfg (dict): Defaults to ReLU.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 norm_cfg: dict = dict(type='BN', eps=1e-4, momentum=0.997),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 4:
            raise ValueError(f'EffDetSegFPN takes C2..C5: in_channels must '
                             f'have 4 widths, got {list(in_channels)}')
        self.in_channels = [int(c) for c in in_channels]
        self.out_channels = out_channels

        def conv(c_in, k, stride=1):
            return _conv_norm_act(c_in, out_channels, k, norm_cfg, act_cfg, stride)

        self.lateral_convs = nn.ModuleList(conv(c, 1) for c in in_channels)
        self.p6_conv = conv(self.in_channels[-1], 3, stride=2)
        self.p7_conv = conv(out_channels, 3, stride=2)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """C2..C5 -> (P2, ..., P7), each (N, d, H_l, W_l)."""
        if len(inputs) != 4:
            raise ValueError(f'EffDetSegFPN takes 4 levels (C2..C5), got '
                             f'{len(inputs)}')
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, inputs)]
        outs = [laterals[-1]]
        for lateral in reversed(laterals[:-1]):
            outs.insert(0, _resize(outs[0], lateral, 'bilinear') + lateral)
        p6 = self.p6_conv(inputs[-1])
        return (*outs, p6, self.p7_conv(p6))


class BiFPNSegLayer(nn.Module):
    """One unweighted BiFPN-seg layer over L levels (BiFPN.py:5-76)::

        U_{L-1} = node(F_{L-1})
        U_l = node(F_l + up(U_{l+1}))              l = L-2..0  (bilinear)
        O_0 = U_0
        O_l = node(F_l + U_l + down(O_{l-1}))      l = 1..L-1  (nearest)
        node = act(BN(depthwise conv1x1(.)))

    Inputs are summed without fusion weights; every node is a 1x1
    depthwise conv (with bias) + BN + ReLU; up-sampling is bilinear, and
    down-sampling is nearest interpolation (``F.interpolate``'s default,
    BiFPN.py:68-72), no strided conv or pooling. Unlike EfficientDet's
    BiFPN, the top level is convolved on the way down too, and its
    bottom-up node also sums three inputs. With ``top_down_only`` the layer
    stops after the top-down path and returns (U_0, ..., U_{L-1})
    (``is_last``, BiFPN.py:75-76). ``forward(feats, pre_activation=True)``
    returns the outputs before their nodes' activation (used internally
    activated either way).
    """

    def __init__(self, num_levels: int, channels: int, top_down_only: bool, norm_cfg: dict,
                 act_cfg: dict) -> None:
        super().__init__()
        self.top_down_only = top_down_only

        def nodes(n):
            return nn.ModuleList(
                _conv_norm_act(channels, channels, 1, norm_cfg, None, groups=channels)
                for _ in range(n))

        # up_nodes[l] makes U_l, down_nodes[l - 1] makes O_l (conv + BN;
        # the activation is self.act)
        self.up_nodes = nodes(num_levels)
        self.down_nodes = None if top_down_only else nodes(num_levels - 1)
        self.act = build_activation_layer(act_cfg)

    def forward(self, feats: Sequence[Tensor], pre_activation: bool = False) -> List[Tensor]:
        num_levels = len(feats)
        up_pre: List[Tensor] = [None] * num_levels
        up: List[Tensor] = [None] * num_levels
        for level in range(num_levels - 1, -1, -1):
            x = feats[level]
            if level < num_levels - 1:
                x = x + _resize(up[level + 1], x, 'bilinear')
            up_pre[level] = self.up_nodes[level](x)
            up[level] = self.act(up_pre[level])
        if self.top_down_only:
            return up_pre if pre_activation else up
        out_pre, out = [up_pre[0]], [up[0]]
        for level in range(1, num_levels):
            out_pre.append(self.down_nodes[level - 1](feats[level] + up[level] +
                                                      _resize(out[-1], up[level], 'nearest')))
            out.append(self.act(out_pre[-1]))
        return out_pre if pre_activation else out


@MODELS.register_module()
class BiFPNSeg(BaseModule):
    """A stack of unweighted BiFPN-seg layers (:class:`BiFPNSegLayer`), the
    student's and the self-teacher's feature refinement in FRSKD's
    segmentation model: the student has three full layers over its FPN's
    P2..P7, the teacher two over the student's outputs, the second
    top-down only (efficientdet.py:46-47, 76-77).

    Input: L levels (N, d, H_l, W_l), every level the same width d and, for
    the resizing, each coarser than the previous. Output: L levels of the
    same shapes, after the last nodes' ReLU (before it with
    ``return_pre_activation``).

    Args:
        in_channels (Sequence[int]): Widths of the input levels; all equal
            to ``out_channels`` (the layers have no lateral convs).
        out_channels (int): d.
        num_layers (int): Number of layers. Defaults to 3 (the student).
        last_top_down_only (bool): The last layer has only the top-down
            path (the teacher's second layer). Defaults to False.
        return_pre_activation (bool): Return the last layer's outputs
            before their ReLU (``out_act``), as the FRSKD teacher part takes
            them: it applies ``out_act`` for its classifier
            (``head_input='activated'``), and the attention loss ReLUs them,
            so both see the authors' activated maps. Defaults to False
            (activated outputs, what the student's classifier reads).
        norm_cfg (dict): Defaults to ``BN`` with PyTorch's defaults
            (BiFPN.py:14).
        act_cfg (dict): Defaults to ReLU.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 num_layers: int = 3,
                 last_top_down_only: bool = False,
                 return_pre_activation: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        widths = [int(c) for c in in_channels]
        if len(widths) < 2 or set(widths) != {out_channels}:
            raise ValueError(f'BiFPNSeg has no lateral convs: in_channels={widths} must '
                             f'be >= 2 levels of out_channels={out_channels}')
        if num_layers < 1:
            raise ValueError(f'BiFPNSeg num_layers must be >= 1, got '
                             f'{num_layers}')
        self.in_channels = widths
        self.out_channels = out_channels
        self.return_pre_activation = return_pre_activation
        self.layers = nn.ModuleList(
            BiFPNSegLayer(
                len(widths), out_channels, last_top_down_only and i == num_layers -
                1, norm_cfg, act_cfg) for i in range(num_layers))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """L levels -> L refined levels of the same shapes."""
        if [int(x.shape[1]) for x in inputs] != self.in_channels:
            raise ValueError(f'BiFPNSeg expects levels of widths {self.in_channels}, got '
                             f'{[int(x.shape[1]) for x in inputs]}')
        feats = list(inputs)
        for layer in self.layers[:-1]:
            feats = layer(feats)
        return tuple(self.layers[-1](feats, self.return_pre_activation))

    @property
    def out_act(self) -> nn.Module:
        """The activation of the last layer's outputs."""
        return self.layers[-1].act
