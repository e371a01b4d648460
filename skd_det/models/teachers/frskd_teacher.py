# Copyright (c) skd_det contributors.
"""FRSKD self-teacher parts for dense detectors and segmentors.

"Refine Myself by Teaching Myself: Feature Refinement via Self-Knowledge
Distillation" (Ji et al., CVPR 2021, https://arxiv.org/abs/2103.08273).

A teacher part is a BiFPN over the student's multi-scale features and a
head: its task loss trains it (and, through the un-detached student features,
the student's backbone too), and its refined features and logits are the
detached targets of the feature-attention loss ``L_F`` and the soft-label
loss ``L_KD``. Pure torch on the duck-typed mmdet/mmseg head API
(``loss_by_feat``, ``get_anchors``/``get_targets``): nothing here imports
mmdet or mmseg; the heads are rebuilt from the student head's own class.
"""
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor

from ..distillers.base import BaseSelfTeacher, StudentOutputs
from .utils import (PROBE_SIZE, check_kd_avg_factor, check_loss_weight, flatten_cls,
                    num_pos_avg_factor, probe_input, probing, rebuild_like, scale_losses)


def _describe(feats: Sequence[Tensor]) -> str:
    """'5 levels of 64 channels' / '2 levels of [64, 512] channels'."""
    widths = [int(f.shape[1]) for f in feats]
    width = widths[0] if len(set(widths)) == 1 else widths
    return f'{len(widths)} levels of {width} channels'


def _select_levels(num_levels: int, in_indices: Optional[Sequence[int]], source: str) -> List[int]:
    if in_indices is None:
        return list(range(num_levels))
    indices = [int(i) for i in in_indices]
    if not indices or sorted(set(indices)) != indices or not all(0 <= i < num_levels
                                                                 for i in indices):
        raise ValueError(f'teacher.in_indices={list(in_indices)} must be '
                         f'increasing indices into {source}, which has '
                         f'{num_levels} levels')
    return indices


def _build_neck(neck_cfg: dict, feats: Sequence[Tensor], indices: Sequence[int],
                source: str) -> nn.Module:
    """Build the teacher BiFPN over ``feats`` (the selected student levels),
    filling ``in_channels`` and checking what a BiFPN needs: the given
    ``in_channels`` (if any) equal the student's widths, and every level
    halves the previous one's resolution."""
    widths = [int(f.shape[1]) for f in feats]
    given = neck_cfg.get('in_channels')
    if given is not None and [int(c) for c in given] != widths:
        raise ValueError(f'teacher.neck.in_channels={list(given)} ({len(given)} levels) '
                         f'does not match {source} at in_indices={list(indices)}: '
                         f'{_describe(feats)}')
    sizes = [tuple(f.shape[-2:]) for f in feats]
    for (h, w), (h2, w2) in zip(sizes, sizes[1:]):
        if (h2, w2) != (math.ceil(h / 2), math.ceil(w / 2)):
            raise ValueError(f'teacher: a BiFPN needs each level at half the resolution '
                             f'of the previous one, but {source} at in_indices='
                             f'{list(indices)} have sizes {sizes} on a {PROBE_SIZE}x'
                             f'{PROBE_SIZE} image (dilated stages share a resolution): '
                             'choose in_indices of distinct strides')
    cfg = dict(neck_cfg, in_channels=widths)
    return MODELS.build(cfg)


def _check_head_input(head_input: str, neck: nn.Module) -> str:
    if head_input not in ('pre_activation', 'activated'):
        raise ValueError("teacher.head_input must be 'pre_activation' or "
                         f"'activated', got {head_input!r}")
    if head_input == 'activated' and not (getattr(neck, 'return_pre_activation', False)
                                          and hasattr(neck, 'out_act')):
        raise ValueError("teacher.head_input='activated' activates pre-activation "
                         'BiFPN outputs: the teacher neck needs '
                         'return_pre_activation=True (and an out_act)')
    return head_input


def _head_feats(neck: nn.Module, feats: Sequence[Tensor], head_input: str) -> List[Tensor]:
    """The teacher head's input: the BiFPN outputs ``feats`` as they are
    or through the BiFPN's output activation."""
    if head_input == 'pre_activation':
        return list(feats)
    return [neck.out_act(t) for t in feats]


def _box_kd_pair(head: nn.Module, student_outs: Sequence, teacher_outs: Sequence,
                 num_classes: int) -> dict:
    """The ``loss_kd_bbox`` pair: box outputs flattened to (M, B) per anchor
    (B = box channels per anchor), weighted by the teacher's confidence."""
    cls_t, box_s, box_t = teacher_outs[0], student_outs[1], teacher_outs[1]
    num_anchors = cls_t[0].shape[1] // num_classes
    box_dim = box_s[0].shape[1] // num_anchors
    with torch.no_grad():
        logits = flatten_cls(cls_t, num_classes)
        if getattr(head, 'use_sigmoid_cls', True):
            conf = logits.sigmoid().max(dim=1).values
        else:  # softmax heads: the last channel is the background
            conf = logits.softmax(dim=1)[:, :-1].max(dim=1).values
    pred = flatten_cls(box_s, box_dim)
    return dict(
        pred=pred,
        target=flatten_cls(box_t, box_dim).detach(),
        weight=conf[:, None].expand_as(pred),
        avg_factor=conf.sum().clamp(min=1e-6))


@MODELS.register_module()
class FRSKDDetTeacher(BaseSelfTeacher):
    """FRSKD self-teacher for dense single-stage detectors (RetinaNet, ...).

    The teacher refines the student's features with a BiFPN and runs a dense
    head on them::

        F_s   = student levels (FPN P3..P7 by default)    (N, C, H_l, W_l)
        T     = BiFPN(F_s)        pre-activation outputs   (N, d, H_l, W_l)
        z_t   = head(relu(T))     cls (N, A*K, H_l, W_l), boxes (N, A*4, ...)
                                  (head(T) with head_input='pre_activation')
        teacher loss = loss_weight * head.loss_by_feat(z_t, gt)
                                  (trains BiFPN + head + backbone)
        loss_feat: pred F_s, target T (detached)   -> AttentionTransferLoss
                   (which ReLUs both, as the authors compare activated maps)
        loss_kd:   pred z_s, target z_t (detached), both (M, K) over all M
                   anchors; mean over anchors      -> SigmoidKDLoss
        loss_kd_bbox (optional): pred b_s, target b_t (detached), both
                   (M, B) box regression outputs (B = 4 deltas for
                   RetinaNet/FCOS), weight (M, B) = the teacher's top class
                   probability at the anchor, avg_factor = sum of those
                   weights                        -> e.g. mmdet's L1Loss

    The student features feeding the teacher are not detached: the teacher's
    detection loss reaches the student's backbone and neck, as in the paper.

    Head: ``shared_head=False`` (default) builds a separate copy from the
    student's head config (same class, own weights, ``in_channels`` = the
    BiFPN width); ``True`` runs the student's own head on the teacher
    features, so the teacher adds only the BiFPN. The head runs once more on
    the teacher features either way, so both cost the same compute; the
    copy adds the head's parameters and their optimizer state. The copy is
    the default because the shared head trains the student's head on two
    feature distributions (FPN and BiFPN outputs), which cost the student
    accuracy in the measurements of configs/frskd/README.md.

    Head input: the authors' classifier reads the ReLU'd BiFPN output
    (MingiJi/FRSKD classification/models/bifpnc.py:32), hence the default
    ``head_input='activated'``; 'pre_activation' (the BN outputs, like the
    un-activated FPN outputs the student head reads) is this project's
    option, measured in configs/frskd/README.md.

    Box KD (``loss_kd_bbox``, off unless ``distill_losses`` names it): the
    teacher's box outputs are targets where the teacher believes there is an
    object, so each anchor's term is weighted by the teacher's highest class
    probability; on background anchors the box output is never trained and
    would be noise. Student and teacher heads share the anchors, so their
    deltas are comparable as they are.

    KD normalisation (``kd_avg_factor``): 'mean' (default) averages the
    binary KL, summed over classes, over all anchors. 'num_pos' divides the
    sum by the number of positive anchors of the student head's target
    assignment (at least 1), as its focal loss does; but unlike the focal
    loss the KL does not down-weight the easy negatives, so the sum grows
    with the anchor count while the positives do not (README). 'num_pos'
    needs the AnchorHead API (``get_anchors``/
    ``get_targets``: RetinaNet, ATSS, GFL, ...); 'mean' fits any dense head.

    Args:
        student (nn.Module): The built student (filled in by the wrapper;
            read for shapes and head class, not kept).
        student_cfg (dict): The student's config (filled in by the wrapper).
        neck (dict, optional): Teacher BiFPN config. ``in_channels`` is
            filled in from the student (checked if given), ``num_outs``
            defaults to the number of levels the head takes. Defaults to
            ``dict(type='BiFPN', out_channels=<student FPN width>,
            return_pre_activation=True)`` (pre-activation outputs, like the
            un-activated FPN outputs they are compared with).
        tap (str): Which student features feed the teacher: 'neck' (the
            head's input, P3..P7) or 'backbone' (stages C2..C5). Defaults to
            'neck'.
        in_indices (Sequence[int], optional): Levels of the tapped features
            to use (e.g. ``(1, 2, 3)`` for C3..C5 with ``tap='backbone'``).
            Defaults to all.
        shared_head (bool): Share the student's head (see above). Defaults
            to False.
        kd_avg_factor (str): 'mean' or 'num_pos' (see above). Defaults to
            'mean'.
        head_input (str): What the teacher head gets: 'activated' (``T``
            through the BiFPN's output activation, as the authors'
            classifier gets them) or 'pre_activation' (``T`` itself). Either
            way ``L_F`` gets ``T``. 'activated' needs a BiFPN with
            ``return_pre_activation=True``. Defaults to 'activated'.
        loss_weight (float): Factor on the teacher's task losses (the
            ``teacher.*`` keys); the paper's 1.0 weights them as the
            student's. Defaults to 1.0.
        init_cfg (dict, optional): mmengine init config.
    """

    distill_pairs = ('loss_feat', 'loss_kd', 'loss_kd_bbox')

    def __init__(self,
                 student: nn.Module,
                 student_cfg: dict,
                 neck: Optional[dict] = None,
                 tap: str = 'neck',
                 in_indices: Optional[Sequence[int]] = None,
                 shared_head: bool = False,
                 kd_avg_factor: str = 'mean',
                 head_input: str = 'activated',
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if tap not in ('neck', 'backbone'):
            raise ValueError(f"teacher.tap must be 'neck' or 'backbone', "
                             f'got {tap!r}')
        head = student.bbox_head
        self.tap = tap
        self.kd_avg_factor = check_kd_avg_factor(kd_avg_factor, head)
        self.loss_weight = check_loss_weight(loss_weight)

        with probing(student):
            x = probe_input(student)
            backbone_feats = student.backbone(x)
            head_feats = student.neck(backbone_feats) if student.with_neck else backbone_feats
        tapped = head_feats if tap == 'neck' else backbone_feats
        part = student.neck if tap == 'neck' and student.with_neck \
            else student.backbone
        source = f"the student's {type(part).__name__} outputs"
        self.in_indices = _select_levels(len(tapped), in_indices, source)
        selected = [tapped[i] for i in self.in_indices]
        neck_cfg = dict(
            type='BiFPN',
            out_channels=int(head_feats[0].shape[1]),
            num_outs=len(head_feats),
            return_pre_activation=True)
        neck_cfg.update(neck or {})
        self.neck = _build_neck(neck_cfg, selected, self.in_indices, source)
        self.head_input = _check_head_input(head_input, self.neck)

        with probing(self.neck):
            teacher_feats = self.neck(selected)
        t_sizes = [tuple(t.shape[-2:]) for t in teacher_feats]
        s_sizes = [tuple(f.shape[-2:]) for f in head_feats]
        widths = sorted({int(t.shape[1]) for t in teacher_feats})
        if t_sizes != s_sizes or len(widths) != 1:
            raise ValueError(f'teacher: the BiFPN gives {_describe(teacher_feats)} of '
                             f'sizes {t_sizes}, but the head needs one width over the '
                             f"{len(s_sizes)} levels of sizes {s_sizes} the student's "
                             f'head takes (on a {PROBE_SIZE}x{PROBE_SIZE} image)')
        if shared_head:
            if widths[0] != head.in_channels:
                raise ValueError(f'teacher.shared_head=True: the BiFPN width {widths[0]} '
                                 f"must equal the student head's in_channels="
                                 f'{head.in_channels}')
            self.head = None
        else:
            self.head = rebuild_like(
                head,
                student_cfg['bbox_head'],
                in_channels=widths[0],
                train_cfg=student_cfg.get('train_cfg'),
                test_cfg=student_cfg.get('test_cfg'))

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets`. Returns the
        teacher head's losses (``loss_cls``, ``loss_bbox``) and the pairs
        ``loss_feat`` (student levels vs detached BiFPN outputs) and
        ``loss_kd`` (student vs detached teacher class logits, (M, K),
        and the ``avg_factor``: None for the mean, or the positives) and
        ``loss_kd_bbox`` (box outputs, (M, B), weighted by the teacher's
        confidence)."""
        head = student.bbox_head if self.head is None else self.head
        tapped = (student_outs.feats if self.tap == 'neck' else student_outs.backbone_feats)
        student_feats = [tapped[i] for i in self.in_indices]
        teacher_feats = self.neck(student_feats)
        teacher_outs = head(_head_feats(self.neck, teacher_feats, self.head_input))
        losses = head.loss_by_feat(*teacher_outs, *student_outs.loss_inputs)
        if self.loss_weight != 1.0:
            losses = scale_losses(losses, self.loss_weight)

        num_classes = head.cls_out_channels
        student_cls = student_outs.head_outs[0]
        pairs = dict(
            loss_feat=dict(
                pred=student_feats,
                target=[t.detach() for t in teacher_feats[:len(student_feats)]]),
            loss_kd=dict(
                pred=flatten_cls(student_cls, num_classes),
                target=flatten_cls(teacher_outs[0], num_classes).detach(),
                avg_factor=num_pos_avg_factor(self.kd_avg_factor, student.bbox_head, student_cls,
                                              student_outs.loss_inputs)),
            loss_kd_bbox=_box_kd_pair(head, student_outs.head_outs, teacher_outs, num_classes))
        return losses, pairs


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
    duplicated.

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
        self.in_indices = _select_levels(len(feats), in_indices, source)
        selected = [feats[i] for i in self.in_indices]
        neck_cfg = dict(type='BiFPN', out_channels=256, return_pre_activation=True)
        neck_cfg.update(neck or {})
        self.neck = _build_neck(neck_cfg, selected, self.in_indices, source)
        self.head_input = _check_head_input(head_input, self.neck)
        with probing(self.neck):
            teacher_feats = self.neck(selected)

        head = student.decode_head
        in_index = head.in_index
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
        self.head = rebuild_like(head, student_cfg['decode_head'], **overrides)

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets`. Returns the
        duplicate head's losses under ``decode.`` (as EncoderDecoder names
        them) and the pairs ``loss_feat`` and ``loss_kd`` (see the class
        docstring)."""
        student_feats = [student_outs.feats[i] for i in self.in_indices]
        teacher_feats = self.neck(student_feats)
        teacher_logits = self.head(_head_feats(self.neck, teacher_feats, self.head_input))
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
