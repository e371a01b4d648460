# Copyright (c) skd_det contributors.
"""Necks applied one after the other, for models whose neck is several
registered parts (mmseg's EncoderDecoder and mmdet's detectors take one)."""
from typing import List, Sequence, Tuple

from mmengine.model import BaseModule, ModuleList
from mmengine.registry import MODELS
from torch import Tensor

__all__ = ['SequentialNeck']


@MODELS.register_module()
class SequentialNeck(BaseModule):
    """``necks[-1](...necks[1](necks[0](x)))``, e.g. FRSKD's segmentation
    neck: an FPN to P2..P7 and then BiFPN-seg layers.

    Input: what ``necks[0]`` takes (a tuple of backbone levels). Output:
    what ``necks[-1]`` returns (a tuple of levels).

    Args:
        necks (Sequence[dict]): Configs of the necks, in order; each one's
            ``in_channels`` is given in its config.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self, necks: Sequence[dict], init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not necks:
            raise ValueError('SequentialNeck needs at least one neck config')
        self.necks = ModuleList(MODELS.build(cfg) for cfg in necks)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        feats: List[Tensor] = list(inputs)
        for neck in self.necks:
            feats = neck(feats)
        return tuple(feats)
