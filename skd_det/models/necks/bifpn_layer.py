# Copyright (c) skd_det contributors.
"""The parts of :class:`~skd_det.models.necks.BiFPN`: one bidirectional layer,
its separable-conv nodes, the fast normalised fusion and TF-"same" max-pool.

Pure torch + mmcv.cnn builders (no mmdet/mmseg import), so the same classes
serve mmdet and mmseg configs.
"""
import math
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import Tensor

__all__ = ['BiFPNLayer', 'FastNormalizedFusion', 'MaxPool2dSame']

# the activation names BiFPN accepts -> mmcv's (swish is SiLU: x * sigmoid(x); ReLU6 is
# EfficientDet-Lite's)
_ACT_TYPES = {'relu': 'ReLU', 'relu6': 'ReLU6', 'swish': 'SiLU', 'silu': 'SiLU'}


def act_type(act_cfg: Union[str, dict]) -> str:
    """Normalise ``'relu'`` / ``dict(type='Swish')`` to a key of
    ``_ACT_TYPES``."""
    name = act_cfg['type'] if isinstance(act_cfg, dict) else act_cfg
    if not isinstance(name, str) or name.lower() not in _ACT_TYPES:
        raise ValueError(f'act_cfg must name one of {sorted(_ACT_TYPES)} '
                         f'(a string or dict(type=...)), got {act_cfg!r}')
    if isinstance(act_cfg, dict) and set(act_cfg) - {'type', 'inplace'}:
        raise ValueError(f'act_cfg takes no arguments besides type '
                         f'(and an ignored inplace), got {act_cfg!r}')
    return name.lower()


def build_act(act_type: str) -> nn.Module:
    """An out-of-place activation (the fusions read the maps again)."""
    return build_activation_layer(dict(type=_ACT_TYPES[act_type], inplace=False))


def build_norm(norm_cfg: dict, channels: int) -> nn.Module:
    """mmcv's ``build_norm_layer``, with the bad config named."""
    try:
        return build_norm_layer(norm_cfg, channels)[1]
    except (KeyError, TypeError) as err:
        raise ValueError(f'norm_cfg={norm_cfg!r} is not an mmcv norm layer config: {err}') from err


def conv_norm(in_channels: int, out_channels: int, norm_cfg: dict,
              act_type: Optional[str]) -> nn.Sequential:
    """1x1 Conv (no bias) -> norm (-> activation). Not mmcv's ConvModule:
    its names (``conv.weight``, ``bn.*``) would change the state-dict keys
    (``.0.weight``, ``.1.*``) of every BiFPN checkpoint."""
    layers = [
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        build_norm(norm_cfg, out_channels)
    ]
    if act_type is not None:
        layers.append(build_act(act_type))
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
        weighted (bool): Learn the weights. False: a plain sum, ``w_hat_j = 1``
            without parameters (EfficientDet-Lite's ``fpn_weight_method='sum'``,
            the official D6/D7's too). Defaults to True.
    """

    def __init__(self,
                 num_inputs: int,
                 eps: float = 1e-6,
                 relu_inputs: bool = True,
                 weighted: bool = True) -> None:
        super().__init__()
        if eps <= 0:
            raise ValueError(f'fusion eps must be > 0, got {eps}')
        self.num_inputs = num_inputs
        self.eps = eps
        self.relu_inputs = relu_inputs
        self.weighted = weighted
        self.weight = nn.Parameter(torch.ones(num_inputs)) if weighted else None

    def init_weights(self) -> None:
        if self.weighted:
            nn.init.ones_(self.weight)

    def normalized_weights(self) -> Tensor:
        """The non-negative weights ``w_hat`` actually used, shape (K,)."""
        if not self.weighted:
            return torch.ones(self.num_inputs)
        w = F.relu(self.weight)
        return w / (w.sum() + self.eps)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        if len(inputs) != self.num_inputs:
            raise ValueError(f'FastNormalizedFusion expects '
                             f'{self.num_inputs} inputs, got {len(inputs)}')
        w = self.normalized_weights() if self.weighted else None
        out = 0
        for j, x in enumerate(inputs):
            if self.relu_inputs:
                x = F.relu(x)
            out = out + (x if w is None else w[j] * x)
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
            layers.append(build_act(act_type))
        for i in range(num_convs):
            if i > 0:
                layers.append(build_act(act_type))
            layers += [
                nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
                nn.Conv2d(channels, channels, 1, bias=False),
                build_norm(norm_cfg, channels),
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

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Sequence[int],
                 lateral_convs: Sequence[bool],
                 act_type: str,
                 norm_cfg: dict,
                 fusion_eps: float,
                 relu_before_fusion: bool,
                 act_before_node: bool,
                 node_num_convs: int,
                 lateral_act: bool,
                 resample_conv: bool,
                 relu_before_lateral: bool,
                 relu_before_resample: bool,
                 weighted_fusion: bool = True) -> None:
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
                return conv_norm(in_channels[i], out_channels[i], norm_cfg, lat_act)
            if in_channels[i] != out_channels[i]:
                raise ValueError(f'level {i}: identity lateral needs equal widths, got '
                                 f'{in_channels[i]} -> {out_channels[i]}')
            return nn.Identity()

        def resample(c_in: int, c_out: int) -> nn.Module:
            if resample_conv or c_in != c_out:
                return conv_norm(c_in, c_out, norm_cfg, act_type)
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
            FastNormalizedFusion(2, fusion_eps, relu_before_fusion, weighted_fusion)
            for _ in range(n - 1))
        self.td_nodes = nn.ModuleList(node(out_channels[i]) for i in range(n - 1))
        # bottom-up: entry i - 1 (level i = 1..n-1) takes T_{i-1}
        self.down_pool = MaxPool2dSame(3, 2)
        self.down_convs = nn.ModuleList(
            resample(out_channels[i - 1], out_channels[i]) for i in range(1, n))
        self.bu_fusions = nn.ModuleList(
            FastNormalizedFusion(2 + (i < n - 1), fusion_eps, relu_before_fusion, weighted_fusion)
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
