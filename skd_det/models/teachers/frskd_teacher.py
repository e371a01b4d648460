# Copyright (c) skd_det contributors.
"""FRSKD self-teacher part for dense detectors.

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
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from ..distillers.base import BaseSelfTeacher, StudentOutputs
from .frskd_neck import build_neck, check_head_input, describe_levels, head_inputs, select_levels
from .utils import (PROBE_SIZE, check_kd_avg_factor, check_loss_weight, flatten_cls,
                    num_pos_avg_factor, probe_input, probing, rebuild_like, scale_losses)


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
        self.in_indices = select_levels(len(tapped), in_indices, source)
        selected = [tapped[i] for i in self.in_indices]
        neck_cfg = dict(
            type='BiFPN',
            out_channels=int(head_feats[0].shape[1]),
            num_outs=len(head_feats),
            return_pre_activation=True)
        neck_cfg.update(neck or {})
        self.neck = build_neck(neck_cfg, selected, self.in_indices, source)
        self.head_input = check_head_input(head_input, self.neck)

        with probing(self.neck):
            teacher_feats = self.neck(selected)
        t_sizes = [tuple(t.shape[-2:]) for t in teacher_feats]
        s_sizes = [tuple(f.shape[-2:]) for f in head_feats]
        widths = sorted({int(t.shape[1]) for t in teacher_feats})
        if t_sizes != s_sizes or len(widths) != 1:
            raise ValueError(f'teacher: the BiFPN gives {describe_levels(teacher_feats)} of '
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
        teacher_outs = head(head_inputs(self.neck, teacher_feats, self.head_input))
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
