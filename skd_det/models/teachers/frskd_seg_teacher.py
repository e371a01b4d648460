# Copyright (c) skd_det contributors.
"""FRSKD self-teacher part for encoder-decoder segmentors.

"Refine Myself by Teaching Myself: Feature Refinement via Self-Knowledge
Distillation" (Ji et al., CVPR 2021, https://arxiv.org/abs/2103.08273); see
:mod:`.frskd_teacher` for the detection part.
"""
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor

from ..distillers.base import BaseSelfTeacher, StudentOutputs
from .frskd_neck import build_neck, check_head_input, halving_levels, head_inputs, select_levels
from .utils import probe_input, probing, rebuild_like


@MODELS.register_module()
class FRSKDSegTeacher(BaseSelfTeacher):
    """FRSKD self-teacher for encoder-decoder segmentors.

    A BiFPN over the student's ``extract_feat`` levels (backbone stages
    C1..C4 for FCN, which has no neck; a neck's outputs otherwise) and a
    duplicate of the student's decode head (same class and config, own
    weights, inputs re-pointed at the BiFPN outputs)::

        F_s  = student levels at in_indices             (N, C_l, H_l, W_l)
        T    = BiFPN(F_s)      pre-activation outputs    (N, d, H_l, W_l)
        z_t  = head'(relu(T))  (head'(T) with head_input='pre_activation')
                                                         (N, K, h, w)
        teacher loss = head'.loss_by_feat(z_t, gt)  (keys decode.loss_ce, ...)
        loss_feat: pred F_s, target T (detached)      -> AttentionTransferLoss
        loss_kd:   pred z_s, target z_t (detached), both resized (bilinear)
                   to the label size (N, K, H, W), label (N, 1, H, W) with the
                   head's ignore_index                -> PixelKLLoss

    Where the teacher taps FCN: a dilated (D8) ResNet has strides 4, 8, 8, 8,
    and a BiFPN needs every level at half the previous resolution, so the
    FRSKD FCN configs take ``in_indices=(0, 3)``: C1 (stride 4) refines C4
    (stride 8, the decode head's input), the low-level/high-level pairing of
    DeepLabv3+'s decoder. The decoder of FCN is single-scale, so there are
    no multi-level decoder features to tap. The auxiliary head is not
    duplicated. A DeepLabV3+ head (``c1_in_channels``) also reads level 0 as
    its low-level skip: the teacher's copy reads the BiFPN refinement of it
    (``in_indices`` must start at 0). Where ``in_indices`` do not halve the
    resolution level by level (the FCN configs' ``(0, 3)`` on an undilated
    backbone: UPerNet, SegFormer), building stops with the levels that do.

    Args:
        student (nn.Module): The built student (filled in by the wrapper).
        student_cfg (dict): The student's config (filled in by the wrapper).
        neck (dict, optional): Teacher BiFPN config; ``in_channels`` is
            filled in (checked if given). Defaults to ``dict(type='BiFPN',
            out_channels=256, return_pre_activation=True)``.
        in_indices (Sequence[int], optional): Levels of ``extract_feat`` the
            teacher takes; must include the decode head's ``in_index``.
            Defaults to all.
        head_input (str): 'activated' (the authors' classifier reads
            ReLU'd BiFPN outputs, MingiJi/FRSKD segmentation/utils/BiFPN.py
            ends every node with a ReLU) or 'pre_activation'; see
            :class:`FRSKDDetTeacher`. Defaults to 'activated'.
        init_cfg (dict, optional): mmengine init config.
    """

    distill_pairs = ('loss_feat', 'loss_kd')

    def __init__(self,
                 student: nn.Module,
                 student_cfg: dict,
                 neck: Optional[dict] = None,
                 in_indices: Optional[Sequence[int]] = None,
                 head_input: str = 'activated',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        with probing(student):
            feats = student.extract_feat(probe_input(student))
        part = student.neck if student.with_neck else student.backbone
        source = f"the student's {type(part).__name__} outputs"
        self.in_indices = select_levels(len(feats), in_indices, source)
        selected = [feats[i] for i in self.in_indices]
        neck_cfg = dict(type='BiFPN', out_channels=256, return_pre_activation=True)
        neck_cfg.update(neck or {})
        head = student.decode_head
        in_index = head.in_index
        student_levels = list(in_index) if isinstance(in_index, (list, tuple)) else [in_index]
        if getattr(head, 'c1_bottleneck', None) is not None:
            student_levels = sorted({0, *student_levels})
        self.neck = build_neck(neck_cfg, selected, self.in_indices, source,
                               halving_levels(feats, student_levels))
        self.head_input = check_head_input(head_input, self.neck)
        with probing(self.neck):
            teacher_feats = self.neck(selected)

        student_levels = list(in_index) if isinstance(in_index, (list, tuple)) else [in_index]
        missing = [i for i in student_levels if i not in self.in_indices]
        if missing:
            raise ValueError(f'teacher.in_indices={self.in_indices} must include the '
                             f"levels {student_levels} the student's decode head reads "
                             f'(its in_index)')
        positions = [self.in_indices.index(i) for i in student_levels]
        widths = [int(teacher_feats[p].shape[1]) for p in positions]
        if isinstance(in_index, (list, tuple)):
            overrides = dict(in_index=positions, in_channels=widths)
        else:
            overrides = dict(in_index=positions[0], in_channels=widths[0])
        if getattr(head, 'c1_bottleneck', None) is not None:
            # DeepLabV3+'s decoder also reads inputs[0], the stride-4 level,
            # as its low-level skip (c1): the teacher's reads the BiFPN
            # refinement of that level
            if self.in_indices[0] != 0:
                raise ValueError(f"teacher.in_indices={self.in_indices} must start at 0: the "
                                 f"student's {type(head).__name__} reads level 0 as its "
                                 'low-level skip (c1_in_channels)')
            overrides['c1_in_channels'] = int(teacher_feats[0].shape[1])
        self.head = rebuild_like(head, student_cfg['decode_head'], **overrides)

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets`. Returns the
        duplicate head's losses under ``decode.`` (as EncoderDecoder names
        them) and the pairs ``loss_feat`` and ``loss_kd`` (see the class
        docstring)."""
        student_feats = [student_outs.feats[i] for i in self.in_indices]
        teacher_feats = self.neck(student_feats)
        teacher_logits = self.head(head_inputs(self.neck, teacher_feats, self.head_input))
        # Imported here: only the segmentation teacher needs mmseg, and
        # skd_det.models must import without it.
        from mmseg.utils import add_prefix
        losses = add_prefix(self.head.loss_by_feat(teacher_logits, data_samples), 'decode')
        label = torch.stack([s.gt_sem_seg.data for s in data_samples])

        def to_label_size(logits: Tensor) -> Tensor:
            return F.interpolate(
                logits,
                size=label.shape[-2:],
                mode='bilinear',
                align_corners=self.head.align_corners)

        pairs = dict(
            loss_feat=dict(
                pred=student_feats,
                target=[t.detach() for t in teacher_feats[:len(student_feats)]]),
            loss_kd=dict(
                pred=to_label_size(student_outs.head_outs),
                target=to_label_size(teacher_logits.detach()),
                label=label,
                ignore_index=self.head.ignore_index))
        return losses, pairs
