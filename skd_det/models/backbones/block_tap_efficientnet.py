# Copyright (c) skd_det contributors.
"""EfficientNet tapped after chosen MBConv blocks (FRSKD's segmentation
backbone)."""
from typing import List, Sequence, Tuple

from mmengine.registry import MODELS
from torch import Tensor
from torchvision.models import efficientnet

from .efficientnet import _SCALING, TorchvisionEfficientNet

__all__ = ['BlockTapEfficientNet']


@MODELS.register_module()
class BlockTapEfficientNet(TorchvisionEfficientNet):
    """:class:`TorchvisionEfficientNet` whose outputs are the features after
    chosen MBConv blocks rather than at the ends of the stride levels.

    FRSKD's segmentation model ("Refine Myself by Teaching Myself", Ji et
    al., CVPR 2021; authors' segmentation/utils/efficientdet.py) cuts
    ``efficientnet_pytorch``'s block list into ``layer1..layer5`` so that
    each of C2..C4 ends with the *first* (stride-2) block of the next stage,
    not the last block of its own: on B0 after blocks 1, 3, 5 (24, 40, 80
    channels, strides 4, 8, 16) and 15 (320 channels, stride 32); on B1
    after blocks 2, 5, 8 and 22. Blocks are numbered over the whole network
    from 0, as ``efficientnet_pytorch``'s ``_blocks`` (torchvision has the
    same blocks in the same order).

    Input (N, 3, H, W). Output: a tuple with, for each index in
    ``out_blocks``, the block's output (N, out_channels[k], ceil(H / s_k),
    ceil(W / s_k)), ``s_k = strides[k]``.

    Args:
        out_blocks (Sequence[int]): Increasing global block indices to
            output.
        stem_act (bool): Apply the stem's activation (SiLU). The authors'
            ``layer0`` is the stem conv and BN only (efficientdet.py:13), so
            their configs set False. Defaults to True (EfficientNet).
        **kwargs: :class:`TorchvisionEfficientNet` arguments except
            ``out_indices`` (``arch``, ``frozen_stages``, ``norm_eval``,
            ``norm_cfg``, ``drop_path_rate``, ``pretrained``).
    """

    def __init__(self, out_blocks: Sequence[int], stem_act: bool = True, **kwargs) -> None:
        if 'out_indices' in kwargs:
            raise ValueError('BlockTapEfficientNet takes out_blocks (block '
                             'indices), not out_indices')
        super().__init__(out_indices=(4, ), **kwargs)
        blocks = [b for stage in self.features[1:] for b in stage]
        out_blocks = tuple(int(i) for i in out_blocks)
        if not out_blocks or sorted(
                set(out_blocks)) != list(out_blocks) or not all(0 <= i < len(blocks)
                                                                for i in out_blocks):
            raise ValueError(f'BlockTapEfficientNet out_blocks must be increasing block '
                             f'indices in 0..{len(blocks) - 1} (EfficientNet-{self.arch} '
                             f'has {len(blocks)} blocks), got {out_blocks}')
        self.out_blocks = out_blocks
        self._drop_blocks_after(out_blocks[-1])
        self.stem_act = stem_act
        self.out_channels: List[int] = [blocks[i].out_channels for i in out_blocks]
        self.strides: List[int] = [self._block_strides()[i] for i in out_blocks]

    def _drop_blocks_after(self, last: int) -> None:
        """Keep the blocks up to ``last`` only (later ones would be
        parameters without gradients)."""
        for s, stage in enumerate(self.features[1:], start=1):
            if last < len(stage):
                self.features[s] = stage[:last + 1]
                del self.features[s + 1:]
                return
            last -= len(stage)

    def _block_strides(self) -> List[int]:
        """Cumulative stride after each block (the stem halves first; the
        first block of each stage has the stage's stride)."""
        width, depth = _SCALING[self.arch]
        confs, _ = efficientnet._efficientnet_conf(
            f'efficientnet_{self.arch}', width_mult=width, depth_mult=depth)
        stride, strides = 2, []
        for conf in confs:
            for k in range(conf.num_layers):
                stride *= conf.stride if k == 0 else 1
                strides.append(stride)
        return strides

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, 3, H, W) -> tuple of (N, C_k, H / s_k, W / s_k)."""
        stem = self.features[0]
        x = stem(x) if self.stem_act else stem[1](stem[0](x))
        taps = set(self.out_blocks)
        outs = []
        blocks = (b for stage in self.features[1:] for b in stage)
        for index, block in enumerate(blocks):
            x = block(x)
            if index in taps:
                outs.append(x)
        return tuple(outs)
