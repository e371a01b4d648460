# Copyright (c) skd_det contributors.
"""EfficientNet backbone (torchvision's implementation) for mmdet and mmseg.

Pure torch + torchvision, registered in mmengine's root ``MODELS`` registry
(mmdet's and mmseg's registries fall back to it), like :class:`BiFPN`.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.registry import MODELS
from torch import Tensor
from torchvision.models import efficientnet

__all__ = ['TorchvisionEfficientNet']

#: (width, depth) multipliers of EfficientNet-B0..B7 (torchvision's
#: ``efficientnet_b*`` builders, the paper's compound scaling).
_SCALING = {
    'b0': (1.0, 1.0),
    'b1': (1.0, 1.1),
    'b2': (1.1, 1.2),
    'b3': (1.2, 1.4),
    'b4': (1.4, 1.8),
    'b5': (1.6, 2.2),
    'b6': (1.8, 2.6),
    'b7': (2.0, 3.1),
}
#: Index in torchvision's ``features`` of the last block of each output
#: level; level ``i`` has stride ``2 ** (i + 1)`` (2, 4, 8, 16, 32).
_LEVEL_END = (1, 2, 3, 5, 7)


@MODELS.register_module()
class TorchvisionEfficientNet(nn.Module):
    """EfficientNet-B0..B7 feature extractor.

    "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks" (Tan and Le, ICML 2019, https://arxiv.org/abs/1905.11946), the
    backbone of EfficientDet. The blocks are torchvision's
    (``torchvision.models.efficientnet_b*``), without the final 1x1 conv and
    the classifier, which detection and segmentation do not use.

    torchvision rather than timm: it is already a dependency (timm would
    add ten packages) and has the same architecture and parameter counts;
    its convs pad symmetrically where the official TensorFlow models pad
    "SAME" (asymmetric on stride-2 convs, a one-pixel shift), which matters
    only for TF-ported weights. Named apart from mmdet's own hand-written
    ``EfficientNet`` (mmdet registry only, no mmseg counterpart).

    Input (N, 3, H, W). Output: a tuple with, for each level ``i`` in
    ``out_indices``, a map (N, out_channels[k], ceil(H / 2**(i+1)),
    ceil(W / 2**(i+1))). Levels 0..4 have strides 2, 4, 8, 16, 32; B0 widths
    16, 24, 40, 112, 320 (B2: 16, 24, 48, 120, 352).

    Args:
        arch (str): 'b0' .. 'b7'. Defaults to 'b0'.
        out_indices (Sequence[int]): Output levels (0..4). Defaults to
            (2, 3, 4), strides 8/16/32 (EfficientDet's C3..C5); (1, 2, 3, 4)
            adds stride 4 for segmentation.
        frozen_stages (int): Freeze (no gradients, BN in eval mode) the stem
            and the blocks up to the end of this level; -1 freezes nothing.
            Defaults to -1.
        norm_eval (bool): Keep every BN in eval mode while training (with
            pretrained weights and small batches). Defaults to False.
        norm_cfg (dict): ``dict(type='BN' | 'SyncBN', **BatchNorm2d
            kwargs)``. Defaults to the official models' ``eps=1e-3,
            momentum=0.01`` (TF's decay 0.99).
        drop_path_rate (float): Stochastic-depth rate of the last block
            (torchvision's ``stochastic_depth_prob``, linearly increasing
            over blocks). Defaults to 0.2.
        pretrained (str, optional): Path of a local checkpoint of
            torchvision's EfficientNet (``features.*`` keys; ``classifier.*``
            and the last conv are ignored), loaded by ``init_weights``.
            Nothing is downloaded. Defaults to None.
    """

    def __init__(self,
                 arch: str = 'b0',
                 out_indices: Sequence[int] = (2, 3, 4),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: Optional[dict] = None,
                 drop_path_rate: float = 0.2,
                 pretrained: Optional[str] = None) -> None:
        super().__init__()
        if arch not in self.arch_settings:
            raise ValueError(f'{type(self).__name__} arch must be one of '
                             f'{tuple(self.arch_settings)}, got {arch!r}')
        out_indices = tuple(int(i) for i in out_indices)
        if not out_indices or sorted(
                set(out_indices)) != list(out_indices) or not all(0 <= i <= 4 for i in out_indices):
            raise ValueError(f'EfficientNet out_indices must be increasing '
                             f'levels in 0..4 (strides 2..32), got '
                             f'{out_indices}')
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'EfficientNet frozen_stages must be in -1..4, '
                             f'got {frozen_stages}')
        norm_cfg = dict(type='BN', eps=1e-3, momentum=0.01) \
            if norm_cfg is None else dict(norm_cfg)
        # torchvision initialises BN and GN only, and frozen stages are
        # frozen by _freeze_stages: BN types, built by mmcv
        if norm_cfg.get('type') not in ('BN', 'SyncBN'):
            raise ValueError(f"EfficientNet norm_cfg type must be 'BN' or "
                             f"'SyncBN', got norm_cfg={norm_cfg!r}")
        self.arch = arch
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.pretrained = pretrained

        net = self.build_network(
            arch,
            norm_layer=lambda channels: build_norm_layer(norm_cfg, channels)[1],
            drop_path_rate=drop_path_rate)
        self.features = net.features[:_LEVEL_END[max(out_indices)] + 1]
        self.out_channels: List[int] = [self._width(_LEVEL_END[i]) for i in out_indices]
        self.strides: List[int] = [2**(i + 1) for i in out_indices]
        self._freeze_stages()

    #: arch -> (width, depth) multipliers (a subclass brings its own family)
    arch_settings = _SCALING

    @staticmethod
    def build_network(arch: str,
                      norm_layer=None,
                      drop_path_rate: float = 0.2,
                      num_classes: int = 1000,
                      dropout: float = 0.0) -> efficientnet.EfficientNet:
        """torchvision's whole EfficientNet-``arch`` (classifier included), whose ``features``
        the backbone keeps. The class, not the efficientnet_b* builders: b5..b7's set their own
        norm_layer and would reject ours."""
        width, depth = _SCALING[arch]
        blocks, last_channel = efficientnet._efficientnet_conf(
            f'efficientnet_{arch}', width_mult=width, depth_mult=depth)
        return efficientnet.EfficientNet(
            blocks,
            dropout=dropout,
            stochastic_depth_prob=drop_path_rate,
            num_classes=num_classes,
            norm_layer=norm_layer,
            last_channel=last_channel)

    def _width(self, index: int) -> int:
        convs = [m for m in self.features[index].modules() if isinstance(m, nn.Conv2d)]
        return convs[-1].out_channels

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        for block in self.features[:_LEVEL_END[self.frozen_stages] + 1]:
            block.eval()
            for p in block.parameters():
                p.requires_grad = False

    #: what to do about a missing or unfitting ``pretrained`` file (said in the error)
    weights_hint = ('give a local torchvision EfficientNet checkpoint (features.* keys); '
                    'nothing is downloaded')

    def init_weights(self) -> None:
        """Load ``pretrained`` if given (torchvision's own initialisation
        otherwise, done at construction)."""
        if self.pretrained is None:
            return
        name = f'{type(self).__name__}-{self.arch} pretrained={self.pretrained!r}'
        # checked here, not at construction: as with mmengine's Pretrained init, a config
        # builds (tests, analysis tools) before its weights file exists; the runner
        # initialises the weights before the first iteration
        if not osp.isfile(self.pretrained):
            raise FileNotFoundError(f'{name}: no such file ({self.weights_hint})')
        ckpt = torch.load(self.pretrained, map_location='cpu', weights_only=True)
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
        if not isinstance(state, dict):
            raise TypeError(f'{name} holds no state dict ({self.weights_hint})')
        own = self.state_dict()
        state = {k: v for k, v in state.items() if k in own}
        missing = sorted(set(own) - set(state))
        if missing:
            raise KeyError(f'{name} lacks {len(missing)} of its {len(own)} entries, e.g. '
                           f'{missing[:3]} ({self.weights_hint})')
        wrong = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in state.items()
                 if v.shape != own[k].shape]
        if wrong:
            raise ValueError(f'{name}: {len(wrong)} entries of another shape, e.g. {wrong[0][0]} '
                             f'{wrong[0][1]} (the backbone has {wrong[0][2]}; '
                             f'{self.weights_hint})')
        self.load_state_dict(state)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, 3, H, W) -> tuple of (N, C_i, H / s_i, W / s_i)."""
        ends = {_LEVEL_END[i]: i for i in self.out_indices}
        outs = []
        for index, block in enumerate(self.features):
            x = block(x)
            if index in ends:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'TorchvisionEfficientNet':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self
