# Copyright (c) skd_det contributors.
from typing import Optional

from mmdet.models.detectors import SingleStageDetector
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from ..necks import BiFPN

__all__ = ['EFFICIENTDET_SCALING', 'EfficientDet', 'efficientdet_scaling']

#: EfficientDet compound scaling (Tan et al., CVPR 2020, Table 1):
#: phi -> input side R, backbone EfficientNet-B*, BiFPN width W and layers
#: D_bifpn, class/box net layers D_class (= 3 + floor(phi / 3)).
EFFICIENTDET_SCALING = {
    0: dict(input_size=512, arch='b0', width=64, repeats=3, head_convs=3),
    1: dict(input_size=640, arch='b1', width=88, repeats=4, head_convs=3),
    2: dict(input_size=768, arch='b2', width=112, repeats=5, head_convs=3),
    3: dict(input_size=896, arch='b3', width=160, repeats=6, head_convs=4),
    4: dict(input_size=1024, arch='b4', width=224, repeats=7, head_convs=4),
    5: dict(input_size=1280, arch='b5', width=288, repeats=7, head_convs=4),
    6: dict(input_size=1280, arch='b6', width=384, repeats=8, head_convs=5),
    7: dict(input_size=1536, arch='b6', width=384, repeats=8, head_convs=5),
}
#: Stride of the coarsest level, P7: input sides must be multiples of it.
MAX_STRIDE = 128


def efficientdet_scaling(compound_coef: int) -> dict:
    """The row of :data:`EFFICIENTDET_SCALING` for ``compound_coef``."""
    if compound_coef not in EFFICIENTDET_SCALING:
        raise ValueError(f'EfficientDet compound_coef={compound_coef!r} is unknown; '
                         f'EfficientDet-D0..D7 have {sorted(EFFICIENTDET_SCALING)}')
    return dict(EFFICIENTDET_SCALING[compound_coef])


@MODELS.register_module()
class EfficientDet(SingleStageDetector):
    """EfficientDet: EfficientNet backbone -> BiFPN -> EfficientDetHead.

    "EfficientDet: Scalable and Efficient Object Detection" (Tan, Pang, Le,
    CVPR 2020, https://arxiv.org/abs/1911.09070). A
    :class:`SingleStageDetector` (same ``loss``/``predict``) that checks its
    parts at build time:

    - ``compound_coef`` (phi) must be in :data:`EFFICIENTDET_SCALING`; the
      backbone arch, BiFPN width and layers and head layers must be that
      row's (None for a custom scaling, e.g. the CPU configs);
    - ``input_size`` (the square training input side the configs' pipelines
      use; phi's R by default) must be a multiple of ``size_divisor``
      (128, P7's stride, by default);
    - the BiFPN takes exactly the backbone's levels and widths, and gives as
      many levels of the head's width as the head has anchor strides.

    Images (N, 3, H, W) -> EfficientNet levels C3..C5 -> BiFPN P3..P7
    (N, W, H / 2**l, W / 2**l), l = 3..7 -> class/box maps per level.

    Args:
        backbone (dict): ``TorchvisionEfficientNet`` config.
        neck (dict): ``BiFPN`` config.
        bbox_head (dict): ``EfficientDetHead`` config.
        compound_coef (int, optional): phi, 0..7. Defaults to None.
        input_size (int, optional): Training input side. Defaults to phi's
            R (required without ``compound_coef``).
        size_divisor (int): ``input_size`` must be a multiple of it. Defaults
            to 128: every level halves exactly. EfficientDet-Lite0..2's
            published sides (320, 384, 448) are multiples of 64 only: their P7
            is the "same" max-pool's ceil of an odd P6 (320: 5 -> 3).
        train_cfg, test_cfg, data_preprocessor, init_cfg: as
            :class:`SingleStageDetector`.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 bbox_head: ConfigType,
                 compound_coef: Optional[int] = None,
                 input_size: Optional[int] = None,
                 size_divisor: int = MAX_STRIDE,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        scaling = None if compound_coef is None else efficientdet_scaling(compound_coef)
        if input_size is None:
            if scaling is None:
                raise ValueError('EfficientDet needs input_size when '
                                 'compound_coef is None')
            input_size = scaling['input_size']
        if not isinstance(input_size, int) or input_size <= 0 or \
                input_size % size_divisor:
            raise ValueError(f'EfficientDet input_size={input_size!r} must be a positive '
                             f'multiple of {size_divisor} (size_divisor; P7\'s stride by default)')
        super().__init__(
            backbone=backbone,
            neck=neck,
            bbox_head=bbox_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.compound_coef = compound_coef
        self.input_size = input_size
        self._check_levels()
        if scaling is not None:
            self._check_scaling(compound_coef, scaling)

    def _check_levels(self) -> None:
        backbone, neck, head = self.backbone, self.neck, self.bbox_head
        if not isinstance(neck, BiFPN):
            raise TypeError(f'EfficientDet needs a BiFPN neck, got '
                            f'{type(neck).__name__}')
        widths = list(getattr(backbone, 'out_channels', []))
        if list(neck.in_channels) != widths:
            raise ValueError(f'EfficientDet: neck.in_channels={list(neck.in_channels)} '
                             f'({len(neck.in_channels)} levels) does not match the '
                             f'backbone {type(backbone).__name__} outputs: {len(widths)} '
                             f'levels of {widths} channels (out_indices='
                             f'{getattr(backbone, "out_indices", "?")})')
        strides = list(head.prior_generator.strides)
        outs = list(neck.out_channels)
        if len(outs) != len(strides) or set(outs) != {head.in_channels}:
            raise ValueError(f'EfficientDet: the neck gives {len(outs)} levels of {outs} '
                             f'channels, the head takes {len(strides)} levels (anchor '
                             f'strides {strides}) of {head.in_channels} channels')

    def _check_scaling(self, phi: int, scaling: dict) -> None:
        got = dict(
            input_size=self.input_size,
            arch=getattr(self.backbone, 'arch', None),
            width=self.neck.out_channels[0],
            repeats=self.neck.num_repeats,
            head_convs=self.bbox_head.stacked_convs)
        wrong = {k: v for k, v in got.items() if v != scaling[k]}
        if wrong:
            raise ValueError(f'EfficientDet compound_coef={phi} is {scaling}, but the '
                             f'config gives {wrong} (backbone.arch, neck.out_channels, '
                             'neck.num_repeats, bbox_head.stacked_convs, input_size); '
                             'use compound_coef=None for a custom scaling')
