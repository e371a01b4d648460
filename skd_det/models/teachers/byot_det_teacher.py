# Copyright (c) skd_det contributors.
"""BYOT exits for dense single-stage detectors (see byot_teacher.py)."""
import inspect
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from ..distillers.base import StudentOutputs
from .byot_teacher import BYOTTeacherBase, check_exit_stages
from .utils import flatten_cls, probe_input, probing, rebuild_like, scale_losses


@MODELS.register_module()
class BYOTDetTeacher(BYOTTeacherBase):
    """BYOT exits for dense single-stage detectors (RetinaNet, FCOS, ...).

    Exit ``k`` rebuilds the student's neck class over the backbone stages up
    to ``k`` (``in_channels`` cut there): a light pyramid with the levels,
    strides and width of the student's neck outputs (the stages it lacks
    come from the neck's extra stride-2 convs), and a copy of the student's
    head on it::

        B_s      = student backbone outputs               (N, C_s, H_s, W_s)
        F_k      = neck_k(B_0..B_k)  per level            (N, d, H_l, W_l)
        z_k      = head_k(F_k)       cls (N, A*K, H_l, W_l), boxes, ...
        teacher loss (per exit) = (1 - alpha) * head_k.loss_by_feat(z_k, gt)
                                   keys exit<k>.loss_cls, exit<k>.loss_bbox
        loss_kd   (per exit): pred z_k cls, target z_C cls (the student's,
                  detached), both (M, K) over all M anchors  -> SigmoidKDLoss
        loss_feat (per exit): pred F_k, target F_C (the student's neck
                  outputs, detached), per level            -> ActiveMSELoss

    ``F`` is what a classifier reads, as in the authors' code, where it is
    the pooled input of each fully connected layer (models/resnet.py:182-
    204); the exit pyramid has the student's shapes, so no adapter is
    needed. The student's own losses are weighted by ``1 - alpha`` through
    ``student_loss_weight`` (train.py:226).

    The student's neck must take ``end_level`` (FPN-like: FPN, PAFPN, ...);
    a neck with one output per input and no extra levels (YOLOX's, RTMDet's
    PAFPN) cannot give an exit the levels its head reads, and building
    stops naming it.

    Exits (``exit_stages``) index the backbone outputs. Default: every
    output the student's neck reads but the deepest, i.e. stages 1, 2
    (C3, C4) of a RetinaNet/FCOS ResNet-FPN, whose pyramid starts at C3; the
    authors put exits after every stage but the last of their 4-stage
    ResNets (0, 1, 2), but stage 0 (C2) feeds no pyramid level here.

    Args:
        student (nn.Module): The built student (filled in by the wrapper).
        student_cfg (dict): The student's config (filled in by the wrapper).
        exit_stages (Sequence[int], optional): Backbone outputs with an exit.
            Defaults to all the neck reads but the deepest.
        alpha (float): BYOT's alpha in [0, 1]; ``1 - alpha`` weighs the task
            losses (give ``distill_losses.loss_kd`` ``loss_weight=alpha``).
            Defaults to 0.1 (train.py:66).
        neck (dict, optional): Overrides of every exit neck's config (the
            student's, ``in_channels`` cut), e.g. ``dict(add_extra_convs=
            'on_output')``. The type stays the student's.
        head (dict, optional): Overrides of every exit head's config (the
            student's), e.g. ``dict(stacked_convs=1)`` for lighter exits.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 student: nn.Module,
                 student_cfg: dict,
                 exit_stages: Optional[Sequence[int]] = None,
                 alpha: float = 0.1,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(student_cfg, alpha, init_cfg)
        if not student.with_neck or not isinstance(student_cfg['neck'].get('in_channels'),
                                                   (list, tuple)):
            raise ValueError('BYOTDetTeacher builds its exit pyramids from the student\'s '
                             'neck config: the student needs a neck with an in_channels '
                             'list (FPN-like)')
        neck_params = inspect.signature(type(student.neck).__init__).parameters
        if 'end_level' not in neck_params and not any(p.kind == p.VAR_KEYWORD
                                                      for p in neck_params.values()):
            raise ValueError(f"BYOTDetTeacher cuts the student's neck at an exit's backbone "
                             f'stage and lets extra stride-2 convs make the missing levels '
                             f'(an FPN-like neck with end_level: FPN, PAFPN, ...); the '
                             f"student's neck {type(student.neck).__name__} has no "
                             f'end_level (one output per input), so an exit over fewer '
                             f'stages cannot give its head the levels it reads')
        for what, overrides in (('neck', neck), ('head', head)):
            if overrides is not None and 'type' in overrides:
                raise ValueError(f'teacher.{what} overrides the exit {what} '
                                 f'config; its type stays the student\'s, '
                                 f'got type={overrides["type"]!r}')
        with probing(student):
            backbone_feats = student.backbone(probe_input(student))
            feats = student.neck(backbone_feats)
        first = getattr(student.neck, 'start_level', 0)
        last = getattr(student.neck, 'backbone_end_level', len(backbone_feats)) - 1
        self.exit_stages = check_exit_stages(
            exit_stages, range(first, last),
            f"the student's {type(student.neck).__name__} reads backbone "
            f'outputs {first}..{last} and {last} is the deepest')

        head_cfg = dict(student_cfg['bbox_head'], **(head or {}))
        self.necks, self.heads = nn.ModuleDict(), nn.ModuleDict()
        for k in self.exit_stages:
            neck_cfg = dict(student_cfg['neck'], end_level=-1)
            neck_cfg['in_channels'] = list(neck_cfg['in_channels'])[:k + 1]
            neck_cfg.update(neck or {})
            self.necks[str(k)] = rebuild_like(student.neck, neck_cfg)
            with probing(self.necks[str(k)]):
                exit_feats = self.necks[str(k)](backbone_feats[:k + 1])
            shapes = [tuple(f.shape) for f in exit_feats]
            if shapes != [tuple(f.shape) for f in feats]:
                raise ValueError(f'teacher: exit {k}\'s neck gives maps of shapes {shapes} '
                                 f'but the student\'s head reads '
                                 f'{[tuple(f.shape) for f in feats]} (on a probe image): '
                                 f'adjust teacher.neck (num_outs, add_extra_convs)')
            self.heads[str(k)] = rebuild_like(
                student.bbox_head,
                head_cfg,
                train_cfg=student_cfg.get('train_cfg'),
                test_cfg=student_cfg.get('test_cfg'))
            self._set_exit_model(k, student, neck=neck_cfg, bbox_head=head_cfg)

    def exit_prefixes(self, stage: int) -> Dict[str, str]:
        k = self._check_exit(stage)
        return {
            'backbone.': 'student.backbone.',
            'neck.': f'teacher.necks.{k}.',
            'bbox_head.': f'teacher.heads.{k}.'
        }

    def loss_and_targets(
            self, student: nn.Module, inputs: Tensor, data_samples: list,
            student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, List[dict]]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets`: the exits' task
        losses (``exit<k>.loss_cls``, ...) and per exit a ``loss_kd`` and a
        ``loss_feat`` pair (see the class docstring)."""
        num_classes = student.bbox_head.cls_out_channels
        target_cls = flatten_cls(student_outs.head_outs[0], num_classes).detach()
        target_feats = [f.detach() for f in student_outs.feats]
        losses, kd, feat = {}, [], []
        for k in self.exit_stages:
            stages = student_outs.backbone_feats[:k + 1]
            exit_feats = self.necks[str(k)](stages)
            head = self.heads[str(k)]
            outs = head(exit_feats)
            exit_losses = scale_losses(
                head.loss_by_feat(*outs, *student_outs.loss_inputs), 1.0 - self.alpha)
            losses.update({f'exit{k}.{name}': v for name, v in exit_losses.items()})
            kd.append(dict(pred=flatten_cls(outs[0], num_classes), target=target_cls))
            feat.append(dict(pred=list(exit_feats), target=target_feats))
        return losses, dict(loss_kd=kd, loss_feat=feat)
