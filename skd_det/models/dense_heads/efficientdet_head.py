# Copyright (c) skd_det contributors.
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmdet.models.dense_heads import AnchorHead
from mmdet.registry import MODELS
from mmdet.utils import OptConfigType
from mmengine.model import bias_init_with_prob
from torch import Tensor

__all__ = ['EfficientDetHead']


def _separable_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """Depthwise 3x3 (no bias) -> pointwise 1x1 (with bias), as the official
    ``SeparableConv2D``; stride 1, so symmetric padding 1 is TF "SAME"."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
        nn.Conv2d(in_channels, out_channels, 1))


@MODELS.register_module()
class EfficientDetHead(AnchorHead):
    """EfficientDet's class and box nets.

    "EfficientDet: Scalable and Efficient Object Detection" (Tan, Pang, Le,
    CVPR 2020, https://arxiv.org/abs/1911.09070). Each net is
    ``stacked_convs`` x (separable conv -> BN -> swish) then a separable-conv
    predictor; the convs are shared across levels, the BNs are not (one set
    per level, as the official models: statistics differ level to level)::

        x_l                          (N, in_channels, H_l, W_l), l < num_levels
        cls_score_l = cls_net(x_l)   (N, A * num_classes, H_l, W_l)
        bbox_pred_l = box_net(x_l)   (N, A * 4, H_l, W_l)

    Anchors, assignment, box coding and losses are :class:`AnchorHead`'s;
    the EfficientDet configs set 9 anchors per location (scales
    ``4 * 2**(k/3)``, ratios 0.5/1/2), focal loss with gamma 1.5 and a Huber
    box loss (``SmoothL1Loss``, see configs/_base_/models/efficientdet_d0.py
    for its weight).

    Args:
        num_classes (int): Number of classes (no background).
        in_channels (int): Width of every input level (the BiFPN width).
        feat_channels (int, optional): Width of the class/box nets.
            Defaults to ``in_channels`` (EfficientDet's W_bifpn).
        stacked_convs (int): Separable conv layers per net (D_class).
            Defaults to 3.
        num_levels (int): Input levels, one set of BNs each. Defaults to 5
            (P3..P7).
        norm_cfg (dict): ``dict(type='BN' | 'SyncBN', **kwargs)`` of the
            per-level BNs. Defaults to ``eps=1e-3, momentum=0.01`` (TF's
            decay 0.99).
        prior_prob (float): Initial foreground probability of the class
            logits. Defaults to 0.01.
        act_cfg (dict): Activation after each BN (mmcv config). Defaults to
            ``dict(type='SiLU')`` (swish); EfficientDet-Lite uses ReLU6.
        **kwargs: :class:`AnchorHead` arguments (``anchor_generator``,
            ``bbox_coder``, ``loss_cls``, ``loss_bbox``, ``train_cfg``, ...);
            ``init_cfg`` defaults to conv weights N(0, 0.01), zero biases.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 feat_channels: Optional[int] = None,
                 stacked_convs: int = 3,
                 num_levels: int = 5,
                 norm_cfg: OptConfigType = None,
                 prior_prob: float = 0.01,
                 act_cfg: OptConfigType = None,
                 **kwargs) -> None:
        if stacked_convs < 1 or num_levels < 1:
            raise ValueError(f'EfficientDetHead: stacked_convs and '
                             f'num_levels must be >= 1, got {stacked_convs}, '
                             f'{num_levels}')
        self.stacked_convs = stacked_convs
        self.num_levels = num_levels
        self.norm_cfg = dict(type='BN', eps=1e-3, momentum=0.01) \
            if norm_cfg is None else dict(norm_cfg)
        self.prior_prob = prior_prob
        self.act_cfg = dict(type='SiLU') if act_cfg is None else dict(act_cfg)
        # conv weights N(0, 0.01), zero biases (the class-logit bias: init_weights)
        kwargs.setdefault('init_cfg', dict(type='Normal', layer='Conv2d', std=0.01, bias=0))
        super().__init__(
            num_classes,
            in_channels,
            feat_channels=in_channels if feat_channels is None else feat_channels,
            **kwargs)
        strides = self.prior_generator.strides
        if len(strides) != num_levels:
            raise ValueError(f'EfficientDetHead: num_levels={num_levels} but the anchor '
                             f'generator has {len(strides)} strides {list(strides)}')

    def _norm(self) -> nn.Module:
        return build_norm_layer(self.norm_cfg, self.feat_channels)[1]

    def _net(self, out_channels: int) -> Tuple[nn.ModuleList, nn.ModuleList, nn.Module]:
        """Shared separable convs, per-level BNs ``[level][conv]`` and the
        separable-conv predictor of one net."""
        widths = [self.in_channels] + [self.feat_channels] * self.stacked_convs
        convs = nn.ModuleList(
            _separable_conv(widths[i], self.feat_channels) for i in range(self.stacked_convs))
        norms = nn.ModuleList(
            nn.ModuleList(self._norm() for _ in range(self.stacked_convs))
            for _ in range(self.num_levels))
        return convs, norms, _separable_conv(self.feat_channels, out_channels)

    def _init_layers(self) -> None:
        self.cls_convs, self.cls_norms, self.cls_pred = self._net(self.num_base_priors *
                                                                  self.cls_out_channels)
        self.reg_convs, self.reg_norms, self.reg_pred = self._net(self.num_base_priors *
                                                                  self.bbox_coder.encode_size)
        self.act = build_activation_layer(self.act_cfg)

    def init_weights(self) -> None:
        """``init_cfg`` (conv weights N(0, 0.01), zero biases), then the
        class-logit biases at the prior ``-log((1 - p) / p)`` (RetinaNet's
        focal-loss init). Not an init_cfg ``override`` with ``bias_prob``:
        that would draw the predictor's conv weights a second time."""
        super().init_weights()
        nn.init.constant_(self.cls_pred[-1].bias, bias_init_with_prob(self.prior_prob))

    def _run(self, x: Tensor, level: int, convs: nn.ModuleList, norms: nn.ModuleList,
             pred: nn.Module) -> Tensor:
        for conv, norm in zip(convs, norms[level]):
            x = self.act(norm(conv(x)))
        return pred(x)

    def forward(self, x: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Levels (N, in_channels, H_l, W_l) -> (cls_scores, bbox_preds),
        lists over levels of (N, A*K, H_l, W_l) and (N, A*4, H_l, W_l)."""
        if len(x) != self.num_levels:
            raise ValueError(f'EfficientDetHead expects {self.num_levels} '
                             f'levels, got {len(x)}')
        cls_scores, bbox_preds = [], []
        for level, feat in enumerate(x):
            cls_scores.append(self._run(feat, level, self.cls_convs, self.cls_norms, self.cls_pred))
            bbox_preds.append(self._run(feat, level, self.reg_convs, self.reg_norms, self.reg_pred))
        return cls_scores, bbox_preds
