# Copyright (c) skd_det contributors.
"""Blur-robust S-KD self-teacher part.

"Blur-Robust Object Detection Using Feature-Level Deblurring via Self-Guided
Knowledge Distillation" (Cho et al., IEEE Access 2022). Pure torch on the
duck-typed mmdet detector API (``backbone``, ``neck``, ``bbox_head``; or
``rpn_head`` + ``roi_head`` through
:func:`~skd_det.models.distillers.two_stage.two_stage_loss`): nothing here
imports mmdet.
"""
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.registry import MODELS
from torch import Tensor

from ..data_preprocessors.motion_blur_augment import sharp_views
from ..distillers.base import BaseSelfTeacher, StudentOutputs
from ..distillers.two_stage import two_stage_loss
from ..necks.deblur_neck import DeblurNeck
from .utils import check_kd_avg_factor, check_loss_weight, kd_pairs, rebuild_like, scale_losses


@MODELS.register_module()
class BlurSKDTeacher(BaseSelfTeacher):
    """Self-guided teacher of blur-robust S-KD: the student's own network on
    the sharp view of each image teaches its pass on the blurred view.

    Data: ``MotionBlurBatchAugment(keep_sharp=True)`` in the wrapper's
    ``data_preprocessor.batch_augments`` makes ``inputs`` the blurred view
    and stores the sharp one on each data sample (same geometric
    augmentation, same boxes). Student: ``neck=[FPN, DeblurNeck]``, so the
    wrapper's student pass is ``head(deblur(FPN(backbone(blurred))))``.
    Teacher pass, with the same parameters::

        x_s, x_t = blurred, sharp views                 (N, 3, H, W)
        F_s   = deblur(FPN(backbone(x_s)))  student_outs.feats, (N, C, H_l, W_l)
        F_t   = FPN(backbone(x_t))          neck stages before the DeblurNeck
                (through it too with teacher_deblur=True)
        z_t   = head(F_t)                   cls (N, A*K, H_l, W_l), boxes
        teacher loss = loss_weight * head.loss_by_feat(z_t, gt)  (teacher.*)
        loss_feat: pred F_s, target F_t (detached)   -> NormalizedL1Loss
        loss_kd:   pred z_s, target z_t (detached)   -> SigmoidKDLoss

    The sharp pass carries gradients when ``loss_weight > 0`` (its detection
    loss trains the shared network, the paper's det(sharp) term); its
    features and logits enter the pairs only as detached targets, so the
    distillation losses train the blurred pass alone. With ``loss_weight=0``
    the sharp pass runs under ``torch.no_grad()``.

    Two-stage students (Faster R-CNN, ...): the sharp view goes through the
    whole shared detector, its RPN proposing and its RoI head sampling on
    the sharp features (teacher losses ``loss_rpn_cls``, ``loss_rpn_bbox``,
    ``loss_cls``, ``acc``, ``loss_bbox``); ``loss_kd`` compares RoI
    classification logits, (R, K + 1), of the RoIs the blurred pass was
    trained on (``StudentOutputs.rois``), the sharp ones from the shared RoI
    head on the sharp features without gradient -> ``SoftmaxKDLoss``. Needs
    ``shared_head=True`` and ``kd_avg_factor='mean'`` (the RoI head's own
    loss averages over the sampled RoIs).

    Which parts are shared: backbone and FPN always (the method's point);
    the head with ``shared_head=True`` (default; ``False`` gives the teacher
    its own copy of the head, built from the student head's config); the
    deblurring subnet is student-only unless ``teacher_deblur=True``.
    Without a ``DeblurNeck`` in the student's neck, the teacher uses the
    whole neck (S-KD without deblurring, an ablation).

    Args:
        student (nn.Module): The built student (filled in by the wrapper).
        student_cfg (dict): The student's config (filled in by the wrapper).
        shared_head (bool): See above; False needs ``loss_weight > 0``
            (the only loss reaching the copy). Defaults to True.
        teacher_deblur (bool): Run the sharp view through the DeblurNeck
            too. Defaults to False.
        kd_avg_factor (str): 'num_pos' (default: the soft-label sum over
            anchors divided by the positives, at least 1, as the focal
            loss and the design note's loss) or 'mean' (averaged over
            anchors).
        loss_weight (float): Factor on the sharp-view detection losses.
            Defaults to 1.0.
        init_cfg (dict, optional): mmengine init config.
    """

    distill_pairs = ('loss_feat', 'loss_kd')

    def __init__(self,
                 student: nn.Module,
                 student_cfg: dict,
                 shared_head: bool = True,
                 teacher_deblur: bool = False,
                 kd_avg_factor: str = 'num_pos',
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_weight = check_loss_weight(loss_weight)
        if not shared_head and self.loss_weight == 0:
            # its own head would get no gradient at all: an unused
            # parameter, which DDP rejects (find_unused_parameters=False)
            raise ValueError('BlurSKDTeacher: shared_head=False trains the teacher head '
                             'with the sharp-view detection loss only, which '
                             'loss_weight=0 switches off; use shared_head=True or '
                             'loss_weight > 0')
        self.two_stage = hasattr(student, 'roi_head')
        if self.two_stage and not (shared_head and kd_avg_factor == 'mean'):
            raise ValueError('BlurSKDTeacher on a two-stage student shares the whole '
                             'detector: it needs shared_head=True and '
                             f"kd_avg_factor='mean', got shared_head={shared_head!r}, "
                             f'kd_avg_factor={kd_avg_factor!r}')
        head = student.rpn_head if self.two_stage else student.bbox_head
        self.kd_avg_factor = check_kd_avg_factor(kd_avg_factor, head)
        self.teacher_deblur = bool(teacher_deblur)
        stages = list(student.neck) if isinstance(student.neck, nn.Sequential) else [student.neck]
        deblur = [i for i, m in enumerate(stages) if isinstance(m, DeblurNeck)]
        if deblur and deblur != list(range(deblur[0], len(stages))):
            raise ValueError('BlurSKDTeacher: the DeblurNeck stages must come last in the '
                             f"student's neck, got {[type(m).__name__ for m in stages]}")
        if not deblur:
            print_log(
                "BlurSKDTeacher: the student's neck has no DeblurNeck; the "
                'sharp and blurred passes share the whole network',
                logger='current')
        #: neck stages the sharp view runs through
        self.num_teacher_stages = len(stages) if (teacher_deblur or not deblur) else deblur[0]
        self.head = None if shared_head else rebuild_like(
            head,
            student_cfg['bbox_head'],
            train_cfg=student_cfg.get('train_cfg'),
            test_cfg=student_cfg.get('test_cfg'))

    def sharp_features(self, student: nn.Module, sharp: Tensor) -> Tuple[Tensor, ...]:
        """FPN features of the sharp view (see ``teacher_deblur``)."""
        x = student.backbone(sharp)
        stages = list(student.neck) if isinstance(student.neck, nn.Sequential) else [student.neck]
        for stage in stages[:self.num_teacher_stages]:
            x = stage(x)
        return tuple(x)

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets` and the class
        docstring."""
        sharp = sharp_views(data_samples, 'BlurSKDTeacher').to(inputs)
        if self.two_stage:
            return self._two_stage_loss(student, sharp, student_outs)
        head = student.bbox_head if self.head is None else self.head
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.loss_weight > 0):
            feats = self.sharp_features(student, sharp)
            outs = head(feats)
        losses = {}
        if self.loss_weight > 0:
            losses = head.loss_by_feat(*outs, *student_outs.loss_inputs)
            if self.loss_weight != 1.0:
                losses = scale_losses(losses, self.loss_weight)
        return losses, kd_pairs(student, student_outs, feats, outs[0], self.kd_avg_factor)

    def _two_stage_loss(self, student: nn.Module, sharp: Tensor,
                        student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        losses = {}
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.loss_weight > 0):
            feats = self.sharp_features(student, sharp)
            if self.loss_weight > 0:
                losses, _, _ = two_stage_loss(student, feats, student_outs.loss_inputs)
                if self.loss_weight != 1.0:
                    losses = scale_losses(losses, self.loss_weight)
        rois = student_outs.rois
        with torch.no_grad():
            # the shared RoI head on the sharp features, the blurred pass's
            # RoIs (mmdet's bbox_loss forward without the loss)
            target = student.roi_head._bbox_forward(feats, rois.rois)['cls_score']
        pairs = dict(
            loss_feat=dict(pred=list(student_outs.feats), target=[f.detach() for f in feats]),
            loss_kd=dict(pred=rois.cls_score, target=target))
        return losses, pairs
