# Copyright (c) skd_det contributors.
"""BiFPN: the one bidirectional feature pyramid shared by FRSKD's self-teacher
and EfficientDet's neck.

Pure torch + mmcv.cnn builders (no mmdet/mmseg import; its parts are in
:mod:`.bifpn_layer`), so the same class serves mmdet and mmseg configs. It
is registered in mmengine's root ``MODELS`` registry, which mmdet's and
mmseg's ``MODELS`` registries fall back to.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from .bifpn_layer import (BiFPNLayer, FastNormalizedFusion, MaxPool2dSame, act_type, build_act,
                          build_norm, conv_norm)

__all__ = ['BiFPN', 'BiFPNLayer', 'FastNormalizedFusion', 'MaxPool2dSame']


@MODELS.register_module()
class BiFPN(nn.Module):
    """Bidirectional feature pyramid with fast normalised fusion.

    One implementation for two papers:

    - FRSKD self-teacher: "Refine Myself by Teaching Myself: Feature
      Refinement via Self-Knowledge Distillation" (Ji et al., CVPR 2021,
      https://arxiv.org/abs/2103.08273) -- BiFPN and BiFPNc.
    - EfficientDet neck: "EfficientDet: Scalable and Efficient Object
      Detection" (Tan et al., CVPR 2020, https://arxiv.org/abs/1911.09070).

    Input: a tuple of ``len(in_channels)`` maps, level ``i`` of shape
    (N, in_channels[i], H_i, W_i), resolution halving level to level (odd
    sizes are fine: every resampled map is fitted to its target's exact
    size, e.g. 25x19 -> 13x10). Output: a tuple of ``num_outs`` maps, level
    ``i`` of shape (N, d_i, H_i, W_i); extra levels (``num_outs >
    len(in_channels)``) have size ``ceil(H/2)`` of the level below.

    Each layer follows :class:`BiFPNLayer` (two lateral sets ``L``/``L'``,
    top-down ``P_i = node(w1*L_i + w2*Up(P_{i+1}))``, bottom-up
    ``T_i = node(w1*L'_i + w2*P_i + w3*Down(T_{i-1}))``, top
    ``T_n = node(w1*L'_n + w2*Down(T_{n-1}))``). Lateral 1x1 convs exist
    only in the first layer and only for the input levels; later layers
    and the extra levels use identities (their widths already match; the
    authors' single-width BiFPN keeps 1x1 bottom-up laterals in later
    layers too, but FRSKD uses one layer).

    Configurations (defaults = the authors' single-width BiFPN, FRSKD
    classification/models/bifpn.py at MingiJi/FRSKD 98b87e5):

    - FRSKD BiFPN: ``BiFPN(in_channels, out_channels=256)``: ReLU on the
      inputs, then Conv-BN-ReLU laterals; no resample convs (max-pool
      "same" down, nearest up, each on the ReLU'd map); ReLU on each fused
      input; 2 separable convs per node; eps 1e-6; ReLU'd outputs
      (``return_pre_activation=True`` returns them before that ReLU).
    - FRSKD BiFPNc (d_i = 2 * c_i): ``BiFPN(in_channels, out_channels=None,
      width_mult=2)``: as above, plus
      the 1x1 Conv-BN-ReLU after each resize that the changing width needs
      (authors' classification/models/bifpnc.py).
    - EfficientDet-d0 neck (d1/d2: 88/4, 112/5)::

          BiFPN(in_channels=[40, 112, 320], out_channels=64, num_outs=5,
                num_repeats=3, act_cfg=dict(type='Swish'),
                norm_cfg=dict(type='BN', momentum=0.01, eps=1e-3),
                fusion_eps=1e-4, relu_before_fusion=False,
                act_before_node=True, node_num_convs=1, lateral_act=False,
                relu_before_lateral=False, relu_before_resample=False,
                out_activation=False)

      i.e. P6 = maxpool(BN(conv1x1(C5))), P7 = maxpool(P6), swish on the
      fused sum then one separable conv + BN per node, no resample convs,
      no ReLU on inputs or resized maps, pre-activation outputs.

    Args:
        in_channels (Sequence[int]): Widths of the input levels (>= 2
            levels, or >= 1 with ``num_outs >= 2``).
        out_channels (int | Sequence[int] | None): One width for all
            levels (int), or one per output level. None to use
            ``width_mult``. Defaults to 256.
        width_mult (float, optional): With ``out_channels=None``:
            ``d_i = round(width_mult * in_channels[i])`` (BiFPNc: 2). Extra
            levels take the last input level's width. Defaults to None.
        num_outs (int, optional): Number of output levels; the levels past
            ``len(in_channels)`` are made from the last input by (1x1
            Conv-BN where widths differ) + 3x3/2 "same" max-pool.
            Defaults to ``len(in_channels)``.
        num_repeats (int): Stacked BiFPN layers (EfficientDet D_bifpn).
            Defaults to 1.
        act_cfg (str | dict): 'relu', 'relu6' or 'swish'/'silu' (or
            ``dict(type='ReLU' | 'ReLU6' | 'Swish' | 'SiLU')``). Defaults to
            'relu'.
        norm_cfg (dict): ``dict(type='BN' | 'SyncBN', **kwargs)`` with
            ``nn.BatchNorm2d`` keyword arguments. Defaults to
            ``dict(type='BN')``.
        fusion_eps (float): eps of the fast normalised fusion (FRSKD 1e-6,
            EfficientDet 1e-4). Defaults to 1e-6.
        weighted_fusion (bool): Fast normalised fusion; False: a plain sum
            of the inputs (EfficientDet-Lite). Defaults to True.
        relu_before_fusion (bool): ReLU on each fused input (FRSKD).
            Defaults to True.
        act_before_node (bool): Activation on the fused sum before the
            node's first conv (EfficientDet). Defaults to False.
        node_num_convs (int): Separable 3x3 convs per node (FRSKD 2,
            EfficientDet 1). Defaults to 2.
        lateral_act (bool): Activation after the lateral Conv-BN (FRSKD
            Conv-BN-ReLU; EfficientDet Conv-BN). Defaults to True.
        resample_conv (bool): A 1x1 Conv-BN-act after every Up/Down resize,
            also between levels of one width (neither FRSKD's BiFPN nor
            EfficientDet has these; an earlier version of this module built
            them). If False, only where the two levels' widths differ
            (BiFPNc). Defaults to False.
        relu_before_lateral (bool): ReLU on the layer inputs before the
            laterals (FRSKD; a no-op for ReLU'd backbone stages, not for
            signed FPN outputs). Defaults to True.
        relu_before_resample (bool): ReLU on a map before it is resized
            (and passed through a resample conv) for the next level
            (FRSKD). Defaults to True.
        out_activation (bool): Apply the activation to each layer's outputs
            (FRSKD: ReLU'd outputs). Defaults to True.
        return_pre_activation (bool): Return the last layer's outputs
            before the output activation (FRSKD's attention loss uses
            these). Defaults to False.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Union[int, Sequence[int], None] = 256,
                 width_mult: Optional[float] = None,
                 num_outs: Optional[int] = None,
                 num_repeats: int = 1,
                 act_cfg: Union[str, dict] = 'relu',
                 norm_cfg: Optional[dict] = None,
                 fusion_eps: float = 1e-6,
                 weighted_fusion: bool = True,
                 relu_before_fusion: bool = True,
                 act_before_node: bool = False,
                 node_num_convs: int = 2,
                 lateral_act: bool = True,
                 resample_conv: bool = False,
                 relu_before_lateral: bool = True,
                 relu_before_resample: bool = True,
                 out_activation: bool = True,
                 return_pre_activation: bool = False) -> None:
        super().__init__()
        in_channels = [int(c) for c in in_channels]
        num_ins = len(in_channels)
        num_outs = num_ins if num_outs is None else int(num_outs)
        if num_ins < 1 or num_outs < max(num_ins, 2):
            raise ValueError(f'BiFPN needs num_outs >= len(in_channels) and >= 2 levels, '
                             f'got in_channels={in_channels}, num_outs={num_outs}')
        if num_repeats < 1 or node_num_convs < 1:
            raise ValueError(f'num_repeats and node_num_convs must be >= 1, '
                             f'got {num_repeats}, {node_num_convs}')
        self.in_channels = in_channels
        self.num_outs = num_outs
        self.out_channels = self._resolve_widths(in_channels, out_channels, width_mult, num_outs)
        self.num_repeats = num_repeats
        self.act_type = act_type(act_cfg)
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        build_norm(norm_cfg, 1)  # validate early
        self.out_activation = out_activation
        self.return_pre_activation = return_pre_activation

        # extra levels: [1x1 Conv-BN where widths differ] -> max-pool same
        widths = list(in_channels)
        self.extra_convs = nn.ModuleList()
        for i in range(num_ins, num_outs):
            c_in, c_out = widths[-1], self.out_channels[i]
            conv = (conv_norm(c_in, c_out, norm_cfg, None) if c_in != c_out else nn.Identity())
            self.extra_convs.append(nn.Sequential(conv, MaxPool2dSame(3, 2)))
            widths.append(c_out)

        self.layers = nn.ModuleList()
        for r in range(num_repeats):
            self.layers.append(
                BiFPNLayer(
                    in_channels=widths if r == 0 else self.out_channels,
                    out_channels=self.out_channels,
                    lateral_convs=[r == 0 and i < num_ins for i in range(num_outs)],
                    act_type=self.act_type,
                    norm_cfg=norm_cfg,
                    fusion_eps=fusion_eps,
                    relu_before_fusion=relu_before_fusion,
                    act_before_node=act_before_node,
                    node_num_convs=node_num_convs,
                    lateral_act=lateral_act,
                    resample_conv=resample_conv,
                    relu_before_lateral=relu_before_lateral,
                    relu_before_resample=relu_before_resample,
                    weighted_fusion=weighted_fusion))
        self.out_act = build_act(self.act_type)
        self.init_weights()

    @staticmethod
    def _resolve_widths(in_channels: List[int], out_channels: Union[int, Sequence[int], None],
                        width_mult: Optional[float], num_outs: int) -> List[int]:
        if out_channels is None:
            if width_mult is None or width_mult <= 0:
                raise ValueError('BiFPN: give out_channels, or '
                                 'out_channels=None with width_mult > 0, '
                                 f'got width_mult={width_mult}')
            widths = [max(1, round(width_mult * c)) for c in in_channels]
            return widths + [widths[-1]] * (num_outs - len(in_channels))
        if width_mult is not None:
            raise ValueError('BiFPN: width_mult needs out_channels=None, got '
                             f'out_channels={out_channels}')
        if isinstance(out_channels, int):
            widths = [out_channels] * num_outs
        else:
            widths = [int(c) for c in out_channels]
            if len(widths) != num_outs:
                raise ValueError(f'BiFPN: out_channels {widths} must give one width per '
                                 f'output level (num_outs={num_outs})')
        if min(widths) < 1:
            raise ValueError(f'BiFPN: widths must be >= 1, got {widths}')
        return widths

    def init_weights(self) -> None:
        """Kaiming-normal (fan_out, ReLU) convs with zero bias, BN weight 1
        and bias 0, fusion weights 1.

        At construction, not an mmengine ``init_cfg``: BiFPN is a plain
        ``nn.Module`` (the authors' and the teacher parts build it outside a
        runner), and init_cfg would only apply on ``init_weights()``."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, FastNormalizedFusion):
                m.init_weights()

    def _check_inputs(self, inputs: Sequence[Tensor]) -> None:
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f'BiFPN expects a list/tuple of feature maps, '
                            f'got {type(inputs).__name__}')
        ok = len(inputs) == len(self.in_channels) and all(
            isinstance(x, Tensor) and x.dim() == 4 and x.shape[1] == c
            for x, c in zip(inputs, self.in_channels))
        if not ok:
            shapes = [tuple(getattr(x, 'shape', ())) for x in inputs]
            raise ValueError(f'BiFPN expects {len(self.in_channels)} inputs of shape '
                             f'(N, C_i, H_i, W_i) with in_channels={self.in_channels}, '
                             f'got {len(inputs)} inputs of shapes {shapes}')

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Tuple of (N, in_channels[i], H_i, W_i) -> tuple of ``num_outs``
        maps (N, d_i, H_i, W_i)."""
        self._check_inputs(inputs)
        feats = list(inputs)
        for extra in self.extra_convs:
            feats.append(extra(feats[-1]))
        for r, layer in enumerate(self.layers):
            feats = layer(feats)
            last = r == len(self.layers) - 1
            if self.out_activation and not (last and self.return_pre_activation):
                feats = [self.out_act(x) for x in feats]
        return tuple(feats)
