# Copyright (c) skd_det contributors.
"""FRSKD self-teacher part for two-stage detectors (Faster R-CNN, ...).

"Refine Myself by Teaching Myself: Feature Refinement via Self-Knowledge
Distillation" (Ji et al., CVPR 2021, https://arxiv.org/abs/2103.08273). The
authors publish classification and segmentation code only (MingiJi/FRSKD);
the two-stage form here is this project's adaptation: the self-teacher is a
BiFPN over the student's pyramid with its own RPN and RoI head, and the
soft-label loss is the authors' classification KD applied to RoIs. Pure
torch on the duck-typed mmdet API: nothing here imports mmdet.
"""
from typing import Any, Dict, Optional, Tuple

import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from ..distillers.base import BaseSelfTeacher, StudentOutputs
from ..distillers.two_stage import roi_loss, rpn_loss
from .frskd_neck import build_neck, check_head_input, head_inputs
from .utils import PROBE_SIZE, check_loss_weight, probe_input, probing, rebuild_like, scale_losses


def _stage_cfg(student_cfg: dict, key: str, stage: str) -> Optional[dict]:
    """``student_cfg[key][stage]`` (e.g. ``train_cfg.rpn``), None if the
    student has no ``key``, as ``TwoStageDetector`` builds its heads."""
    cfg = student_cfg.get(key)
    return None if cfg is None else cfg.get(stage)


@MODELS.register_module()
class FRSKDTwoStageTeacher(BaseSelfTeacher):
    """FRSKD self-teacher for two-stage detectors with an RPN and a
    standard RoI head::

        F_s   = student FPN levels (P2..P6)                (N, C, H_l, W_l)
        T     = BiFPN(F_s)         pre-activation outputs   (N, C, H_l, W_l)
        teacher RPN  (own copy) on relu(T): loss_rpn_cls, loss_rpn_bbox
        teacher RoI head (own copy) on relu(T), over the RoIs the student's
            RoI head was trained on (StudentOutputs.rois.sampling_results):
            loss_cls, acc, loss_bbox (+ loss_mask for Mask R-CNN)
            and logits z_t                                  (R, K + 1)
        teacher loss = loss_weight * (RPN + RoI losses)
                      (trains BiFPN + heads + the student's backbone/FPN)
        loss_feat: pred F_s, target T (detached)   -> AttentionTransferLoss
        loss_kd:   pred z_s (the student's RoI logits), target z_t
                   (detached), the same R RoIs          -> SoftmaxKDLoss

    Adaptation (not the authors'): FRSKD's classifier distils one logit
    vector per image (MingiJi/FRSKD classification/distill_loss/KD.py:10-14,
    the teacher's logits from the BiFPN, classification/models/bifpnc.py:
    25-35); here every sampled RoI is such a sample, and teacher and student
    classify the *same* RoIs so that their logits compare row by row. The
    teacher's RPN is trained (its loss reaches the BiFPN) but its proposals
    are not used. The teacher heads read the ReLU'd BiFPN outputs, as the
    authors' classifier does (bifpnc.py:32; ``head_input``).

    The heads are copies built from the student's config (same classes, own
    weights), so the BiFPN keeps the student's FPN width.

    Args:
        student (nn.Module): The built student (filled in by the wrapper).
        student_cfg (dict): The student's config (filled in by the wrapper).
        neck (dict, optional): Teacher BiFPN config; ``in_channels`` is
            filled in (checked if given). Defaults to ``dict(type='BiFPN',
            out_channels=<student FPN width>, return_pre_activation=True)``.
        head_input (str): 'activated' or 'pre_activation', see
            :class:`~skd_det.models.teachers.FRSKDDetTeacher`. Defaults to
            'activated'.
        loss_weight (float): Factor on the teacher's task losses.
            Defaults to 1.0.
        init_cfg (dict, optional): mmengine init config.
    """

    distill_pairs = ('loss_feat', 'loss_kd')

    def __init__(self,
                 student: nn.Module,
                 student_cfg: dict,
                 neck: Optional[dict] = None,
                 head_input: str = 'activated',
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not (hasattr(student, 'rpn_head') and hasattr(student, 'roi_head')):
            raise TypeError('FRSKDTwoStageTeacher needs a two-stage student (rpn_head + '
                            f'roi_head), got {type(student).__name__}; FRSKDDetTeacher '
                            'is the dense-detector form')
        self.loss_weight = check_loss_weight(loss_weight)
        with probing(student):
            feats = list(student.extract_feat(probe_input(student)))
        source = f"the student's {type(student.neck).__name__} outputs"
        width = int(feats[0].shape[1])
        neck_cfg = dict(
            type='BiFPN', out_channels=width, num_outs=len(feats), return_pre_activation=True)
        neck_cfg.update(neck or {})
        self.neck = build_neck(neck_cfg, feats, list(range(len(feats))), source)
        self.head_input = check_head_input(head_input, self.neck)
        with probing(self.neck):
            teacher_feats = self.neck(feats)
        t_shapes = [tuple(t.shape[1:]) for t in teacher_feats]
        s_shapes = [tuple(f.shape[1:]) for f in feats]
        if t_shapes != s_shapes:
            raise ValueError(f'teacher: the BiFPN gives (C, H, W) {t_shapes} on a '
                             f'{PROBE_SIZE}x{PROBE_SIZE} image, but the RPN and RoI head '
                             f"copies take the student's {s_shapes}: teacher.neck "
                             f'needs out_channels={width} and num_outs={len(feats)}')
        self.rpn_head = rebuild_like(
            student.rpn_head,
            student_cfg['rpn_head'],
            train_cfg=_stage_cfg(student_cfg, 'train_cfg', 'rpn'),
            test_cfg=_stage_cfg(student_cfg, 'test_cfg', 'rpn'))
        self.roi_head = rebuild_like(
            student.roi_head,
            student_cfg['roi_head'],
            train_cfg=_stage_cfg(student_cfg, 'train_cfg', 'rcnn'),
            test_cfg=_stage_cfg(student_cfg, 'test_cfg', 'rcnn'))

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets` and the class
        docstring."""
        rois = student_outs.rois
        student_feats = list(student_outs.feats)
        teacher_feats = self.neck(student_feats)
        head_feats = head_inputs(self.neck, teacher_feats, self.head_input)
        losses, _, _ = rpn_loss(
            self.rpn_head, head_feats, student_outs.loss_inputs, with_proposals=False)
        roi_losses, results = roi_loss(self.roi_head, head_feats, rois.sampling_results,
                                       student_outs.loss_inputs[0])
        losses.update(roi_losses)
        if self.loss_weight != 1.0:
            losses = scale_losses(losses, self.loss_weight)
        pairs = dict(
            loss_feat=dict(pred=student_feats, target=[t.detach() for t in teacher_feats]),
            loss_kd=dict(pred=rois.cls_score, target=results['cls_score'].detach()))
        return losses, pairs
