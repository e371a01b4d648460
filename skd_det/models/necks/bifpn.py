# Copyright (c) skd_det contributors.
"""BiFPN: the one bidirectional feature pyramid shared by FRSKD's self-teacher
and EfficientDet's neck.

Pure torch (``torch.nn``): no mmcv/mmdet/mmseg import, so the same class serves
mmdet and mmseg configs. It is registered in mmengine's root ``MODELS``
registry, which mmdet's and mmseg's ``MODELS`` registries fall back to.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor

__all__ = ['BiFPN', 'BiFPNLayer', 'FastNormalizedFusion', 'MaxPool2dSame']

_ACTIVATIONS = {
    'relu': lambda: nn.ReLU(inplace=False),
    'swish': nn.SiLU,
    'silu': nn.SiLU,
}
_NORMS = {'bn': nn.BatchNorm2d, 'syncbn': nn.SyncBatchNorm}


def _act_type(act_cfg: Union[str, dict]) -> str:
    """Normalise ``'relu'`` / ``dict(type='Swish')`` to a key of
    ``_ACTIVATIONS``."""
    act_type = act_cfg['type'] if isinstance(act_cfg, dict) else act_cfg
    if not isinstance(act_type, str) or act_type.lower() not in _ACTIVATIONS:
        raise ValueError(f'act_cfg must name one of {sorted(_ACTIVATIONS)} '
                         f'(a string or dict(type=...)), got {act_cfg!r}')
    if isinstance(act_cfg, dict) and set(act_cfg) - {'type', 'inplace'}:
        raise ValueError(f'act_cfg takes no arguments besides type '
                         f'(and an ignored inplace), got {act_cfg!r}')
    return act_type.lower()


def _build_norm(norm_cfg: dict, channels: int) -> nn.Module:
    """``dict(type='BN' | 'SyncBN', **BatchNorm2d kwargs)`` -> module."""
    cfg = dict(norm_cfg)
    norm_type = str(cfg.pop('type', 'BN')).lower()
    if norm_type not in _NORMS:
        raise ValueError(f"norm_cfg type must be 'BN' or 'SyncBN', "
                         f'got {norm_cfg!r}')
    cfg.pop('requires_grad', None)  # mmcv key; BN here is always trainable
    return _NORMS[norm_type](channels, **cfg)


def _conv_norm(in_channels: int, out_channels: int, norm_cfg: dict,
               act_type: Optional[str]) -> nn.Sequential:
    """1x1 Conv (no bias) -> BN (-> activation)."""
    layers = [
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        _build_norm(norm_cfg, out_channels)
    ]
    if act_type is not None:
        layers.append(_ACTIVATIONS[act_type]())
    return nn.Sequential(*layers)


def _fit_size(x: Tensor, size: Sequence[int]) -> Tensor:
    """Crop (bottom/right) or zero-pad (bottom/right) ``x`` to ``size``."""
    h, w = x.shape[-2:]
    th, tw = int(size[0]), int(size[1])
    if (h, w) == (th, tw):
        return x
    x = x[..., :th, :tw]
    return F.pad(x, (0, max(tw - w, 0), 0, max(th - h, 0)))


class MaxPool2dSame(nn.Module):
    """Max-pool with TensorFlow "SAME" padding: output size ``ceil(H / s)``.

    Padding is split as TF does (the extra pixel goes bottom/right) and
    padded pixels never win the max (they are ``-inf``).

    Args:
        kernel_size (int): Pooling window. Defaults to 3.
        stride (int): Stride. Defaults to 2.
    """

    def __init__(self, kernel_size: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, ceil(H/s), ceil(W/s))."""
        k, s = self.kernel_size, self.stride
        pads = []
        for size in reversed(x.shape[-2:]):  # W first, as F.pad expects
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads, value=float('-inf'))
        return F.max_pool2d(x, k, s)


class FastNormalizedFusion(nn.Module):
    """Fast normalised fusion of EfficientDet (Tan et al., CVPR 2020):
    ``out = sum_j w_hat_j * x_j`` with
    ``w_hat_j = relu(w_j) / (sum_k relu(w_k) + eps)``, weights initialised
    to 1.

    Args:
        num_inputs (int): Number of fused tensors (all of one shape
            (N, C, H, W)).
        eps (float): Stabiliser of the normalisation.
        relu_inputs (bool): Pass every input through ReLU before fusing
            (FRSKD). Defaults to True.
    """

    def __init__(self, num_inputs: int, eps: float = 1e-6, relu_inputs: bool = True) -> None:
        super().__init__()
        if eps <= 0:
            raise ValueError(f'fusion eps must be > 0, got {eps}')
        self.num_inputs = num_inputs
        self.eps = eps
        self.relu_inputs = relu_inputs
        self.weight = nn.Parameter(torch.ones(num_inputs))

    def init_weights(self) -> None:
        nn.init.ones_(self.weight)

    def normalized_weights(self) -> Tensor:
        """The non-negative weights ``w_hat`` actually used, shape (K,)."""
        w = F.relu(self.weight)
        return w / (w.sum() + self.eps)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        if len(inputs) != self.num_inputs:
            raise ValueError(f'FastNormalizedFusion expects '
                             f'{self.num_inputs} inputs, got {len(inputs)}')
        w = self.normalized_weights()
        out = 0
        for j, x in enumerate(inputs):
            if self.relu_inputs:
                x = F.relu(x)
            out = out + w[j] * x
        return out


class _SeparableConvNode(nn.Module):
    """BiFPN node: ``num_convs`` x (depthwise 3x3 -> pointwise 1x1 -> BN),
    activation between consecutive convs, optionally one before the first.

    The output is pre-activation (the BN output).
    """

    def __init__(self, channels: int, num_convs: int, act_type: str, norm_cfg: dict,
                 act_first: bool) -> None:
        super().__init__()
        layers = []
        if act_first:
            layers.append(_ACTIVATIONS[act_type]())
        for i in range(num_convs):
            if i > 0:
                layers.append(_ACTIVATIONS[act_type]())
            layers += [
                nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
                nn.Conv2d(channels, channels, 1, bias=False),
                _build_norm(norm_cfg, channels),
            ]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class BiFPNLayer(nn.Module):
    """One bidirectional (top-down then bottom-up) BiFPN layer.

    Levels are indexed 0..n-1 from the highest resolution. With ``L`` the
    top-down laterals, ``L'`` the bottom-up laterals and ``node`` a
    separable-conv node::

        P_{n-1} = L_{n-1}
        P_i     = node(fuse(L_i, Up(P_{i+1})))                 i < n-1
        T_0     = P_0
        T_i     = node(fuse(L'_i, P_i, Down(T_{i-1})))        0 < i < n-1
        T_{n-1} = node(fuse(L'_{n-1}, Down(T_{n-2})))

    ``Up`` = nearest resize to the exact target size (+ 1x1 Conv-BN-act);
    ``Down`` = 3x3/2 TF-"same" max-pool, crop/pad to the target size
    (+ 1x1 Conv-BN-act); with ``relu_before_resample`` both read the ReLU'd
    map. Laterals are 1x1 Conv-BN(-act) where ``lateral_convs`` is True (the
    first layer, on the input features) and identities otherwise; with
    ``relu_before_lateral`` they read the ReLU'd inputs. See :class:`BiFPN`
    for the other arguments.

    Returns the pre-activation outputs ``(T_0, ..., T_{n-1})``.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: Sequence[int],
                 lateral_convs: Sequence[bool], act_type: str, norm_cfg: dict, fusion_eps: float,
                 relu_before_fusion: bool, act_before_node: bool, node_num_convs: int,
                 lateral_act: bool, resample_conv: bool, relu_before_lateral: bool,
                 relu_before_resample: bool) -> None:
        super().__init__()
        n = len(out_channels)
        if len(in_channels) != n or len(lateral_convs) != n or n < 2:
            raise ValueError('BiFPNLayer needs >= 2 levels and one in/out '
                             'width and lateral flag per level')
        self.in_channels = list(in_channels)
        self.out_channels = list(out_channels)
        self.relu_before_lateral = relu_before_lateral
        self.relu_before_resample = relu_before_resample
        lat_act = act_type if lateral_act else None

        def lateral(i: int) -> nn.Module:
            if lateral_convs[i]:
                return _conv_norm(in_channels[i], out_channels[i], norm_cfg, lat_act)
            if in_channels[i] != out_channels[i]:
                raise ValueError(f'level {i}: identity lateral needs equal widths, got '
                                 f'{in_channels[i]} -> {out_channels[i]}')
            return nn.Identity()

        def resample(c_in: int, c_out: int) -> nn.Module:
            if resample_conv or c_in != c_out:
                return _conv_norm(c_in, c_out, norm_cfg, act_type)
            return nn.Identity()

        def node(c: int) -> nn.Module:
            return _SeparableConvNode(c, node_num_convs, act_type, norm_cfg, act_before_node)

        # top-down laterals L_i for every level
        self.td_laterals = nn.ModuleList(lateral(i) for i in range(n))
        # bottom-up laterals L'_i for levels 1..n-1 (T_0 = P_0 needs none)
        self.bu_laterals = nn.ModuleList(lateral(i) for i in range(1, n))
        # top-down: entry i (level i = 0..n-2) takes P_{i+1}
        self.up_convs = nn.ModuleList(
            resample(out_channels[i + 1], out_channels[i]) for i in range(n - 1))
        self.td_fusions = nn.ModuleList(
            FastNormalizedFusion(2, fusion_eps, relu_before_fusion) for _ in range(n - 1))
        self.td_nodes = nn.ModuleList(node(out_channels[i]) for i in range(n - 1))
        # bottom-up: entry i - 1 (level i = 1..n-1) takes T_{i-1}
        self.down_pool = MaxPool2dSame(3, 2)
        self.down_convs = nn.ModuleList(
            resample(out_channels[i - 1], out_channels[i]) for i in range(1, n))
        self.bu_fusions = nn.ModuleList(
            FastNormalizedFusion(3 if i < n - 1 else 2, fusion_eps, relu_before_fusion)
            for i in range(1, n))
        self.bu_nodes = nn.ModuleList(node(out_channels[i]) for i in range(1, n))

    def forward(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        n = len(self.out_channels)
        # FRSKD ReLUs every map a conv reads: inputs may be signed (FPN
        # outputs) and the node outputs are pre-activation BN outputs
        if self.relu_before_lateral:
            inputs = [F.relu(x) for x in inputs]
        lat_td = [self.td_laterals[i](x) for i, x in enumerate(inputs)]
        lat_bu = [None] + [self.bu_laterals[i - 1](inputs[i]) for i in range(1, n)]
        # top-down
        td = [None] * n
        td[-1] = lat_td[-1]
        for i in range(n - 2, -1, -1):
            up = F.relu(td[i + 1]) if self.relu_before_resample \
                else td[i + 1]
            up = F.interpolate(up, size=lat_td[i].shape[-2:], mode='nearest')
            up = self.up_convs[i](up)
            td[i] = self.td_nodes[i](self.td_fusions[i]([lat_td[i], up]))
        # bottom-up
        outs = [td[0]]
        for i in range(1, n):
            down = F.relu(outs[-1]) if self.relu_before_resample \
                else outs[-1]
            down = _fit_size(self.down_pool(down), td[i].shape[-2:])
            down = self.down_convs[i - 1](down)
            fused = [lat_bu[i], td[i], down] if i < n - 1 else [lat_bu[i], down]
            outs.append(self.bu_nodes[i - 1](self.bu_fusions[i - 1](fused)))
        return outs


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
        act_cfg (str | dict): 'relu' or 'swish'/'silu' (or
            ``dict(type='ReLU' | 'Swish' | 'SiLU')``). Defaults to 'relu'.
        norm_cfg (dict): ``dict(type='BN' | 'SyncBN', **kwargs)`` with
            ``nn.BatchNorm2d`` keyword arguments. Defaults to
            ``dict(type='BN')``.
        fusion_eps (float): eps of the fast normalised fusion (FRSKD 1e-6,
            EfficientDet 1e-4). Defaults to 1e-6.
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
        self.act_type = _act_type(act_cfg)
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        _build_norm(norm_cfg, 1)  # validate early
        self.out_activation = out_activation
        self.return_pre_activation = return_pre_activation

        # extra levels: [1x1 Conv-BN where widths differ] -> max-pool same
        widths = list(in_channels)
        self.extra_convs = nn.ModuleList()
        for i in range(num_ins, num_outs):
            c_in, c_out = widths[-1], self.out_channels[i]
            conv = (_conv_norm(c_in, c_out, norm_cfg, None) if c_in != c_out else nn.Identity())
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
                    relu_before_resample=relu_before_resample))
        self.out_act = _ACTIVATIONS[self.act_type]()
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
        and bias 0, fusion weights 1."""
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
