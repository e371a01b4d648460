# Copyright (c) skd_det contributors.
"""Task-agnostic half of the self-distillation wrappers.

A self-distillation method is a *teacher part* plus *distillation losses* (plus
an optional schedule hook) on top of an unchanged base model, the *student*.
:class:`SelfDistillMixin` holds what the mmdet wrapper ``SelfDistillDetector``
and the mmseg wrapper ``SelfDistillSegmentor`` (``self_distill_detector.py``,
``self_distill_segmentor.py`` beside this file) share; :class:`BaseSelfTeacher`
is the interface every teacher part implements. Pure python/torch: nothing
here imports mmdet or mmseg, the wrappers pass their registry in.

One training step of a wrapper::

    student_outs = <task-specific forward of the student>      # StudentOutputs
    student_losses = <the student's own losses, as its loss() computes them>
    teacher_losses, pairs = teacher.loss_and_targets(
        student, inputs, data_samples, student_outs)
    losses = student_losses                              # loss_cls, ...
           + {'teacher.' + k: v for teacher_losses}      # teacher.loss_cls
           + {'distill.' + name:                         # distill.loss_kd
              scale * distill_losses[name](**pairs[name])}

Teacher parts live in ``skd_det/models/teachers/``, one class per method,
each documenting its own architecture and distillation pairs. What the
wrappers rely on is :class:`BaseSelfTeacher`: trainable teacher weights are
registered submodules (under ``teacher.`` in the state dict, dropped by
``tools/export_student.py``); a frozen network a part uses (a pretrained
detector, a snapshot of the student) is held as a plain attribute, as mmdet's
``KnowledgeDistillationSingleStageDetector`` does, so that it stays out of
the wrapper's state dict and ``parameters()``.
"""
import copy
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from .two_stage import RoIOutputs

STUDENT_PREFIX = 'student.'
TEACHER_PREFIX = 'teacher.'
DISTILL_PREFIX = 'distill.'


def student_state_dict(state_dict: Mapping[str, Any]) -> 'OrderedDict[str, Any]':
    """The student's weights in a wrapper's state dict, ``student.`` removed
    from their keys (empty when there are none): what the plain base model
    loads."""
    return OrderedDict(
        (k[len(STUDENT_PREFIX):], v) for k, v in state_dict.items() if k.startswith(STUDENT_PREFIX))


@dataclass
class StudentOutputs:
    """What the wrapper computed on the student in one training step.

    Attributes:
        backbone_feats (tuple[Tensor]): Backbone outputs, stage ``i`` of shape
            (N, C_i, H_i, W_i).
        feats (tuple[Tensor]): The student's ``extract_feat`` outputs, i.e.
            what its head sees: neck outputs (FPN P3..P7 for RetinaNet), or
            the backbone outputs when it has no neck (FCN).
        head_outs (Any): The student head's forward outputs. Detection:
            ``(cls_scores, bbox_preds, ...)``, each a list over levels of
            (N, A*C, H_l, W_l) / (N, A*4, H_l, W_l); segmentation: the seg
            logits (N, K, h, w).
        loss_inputs (tuple): The targets after ``head_outs`` in the head's
            ``loss_by_feat``. Detection: ``(batch_gt_instances,
            batch_img_metas, batch_gt_instances_ignore)``; segmentation:
            ``(data_samples, )``.
        rois (RoIOutputs, optional): Two-stage detectors only: proposals,
            sampled RoIs and the RoI head's outputs on them (see
            :class:`~skd_det.models.distillers.two_stage.RoIOutputs`);
            ``head_outs`` are then the RPN's ``(cls_scores, bbox_preds)``
            and ``loss_inputs`` keep the real class labels (the RPN's
            class-agnostic targets are its own business). None otherwise.
    """
    backbone_feats: Tuple[Tensor, ...]
    feats: Tuple[Tensor, ...]
    head_outs: Any
    loss_inputs: tuple
    rois: Optional[RoIOutputs] = None


class BaseSelfTeacher(BaseModule):
    """Interface of a training-only teacher part.

    The wrapper builds the part after the student, with two extra keyword
    arguments filled in (``default_args``): ``student``, the built student
    module, to read shapes from (e.g. a forward on a small probe) and classes
    to copy -- it must not be kept as an attribute, or its weights would
    also appear under ``teacher.`` -- and ``student_cfg``, the student's
    config dict.

    A part declares the distillation pairs it produces in ``distill_pairs``;
    the wrapper's ``distill_losses`` config maps (a subset of) these names to
    loss modules. Its own weights are trained with the student and live under
    the wrapper's ``teacher.`` prefix; nothing of it is used at inference.
    """

    #: Names of the distillation pairs ``loss_and_targets`` returns.
    distill_pairs: Tuple[str, ...] = ()

    #: Factor on the student's own losses (BYOT weighs the deepest
    #: classifier's task loss by 1 - alpha); 1.0 leaves them as they are.
    student_loss_weight: float = 1.0

    #: ``{pair name: student loss key}``: student losses that the
    #: distillation losses of these pairs replace (PS-KD trains the
    #: student's classifier on soft targets instead of the labels). The
    #: wrapper drops those keys from the student's losses and requires a
    #: distillation loss for each of these pairs.
    replaced_losses: Dict[str, str] = {}

    def init_weights(self) -> None:
        # On a forked RNG, like the part's construction in the wrapper: the
        # random stream after initialisation is then the base model's, so a
        # seed gives the student the same weights (and the run the same
        # random draws) with or without the teacher part, and a comparison
        # with the baseline needs no same-initialisation control.
        with torch.random.fork_rng():
            super().init_weights()

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """Compute the teacher's task losses and the distillation pairs.

        Args:
            student (nn.Module): The student (for shared modules).
            inputs (Tensor): The batch the student saw, (N, 3, H, W).
            data_samples (list): The batch's data samples (ground truth).
            student_outs (StudentOutputs): The student's features and head
                outputs of this step (not detached: the pairs' student sides
                must carry gradients).

        Returns:
            tuple[dict, dict]: The teacher's own losses (mmdet/mmseg loss-dict
            keys, e.g. ``loss_cls``; the wrapper prefixes ``teacher.``), and
            for every name in ``distill_pairs`` the keyword arguments of the
            loss applied to it, e.g. ``dict(pred=student_feats,
            target=teacher_feats)``, or a list of such dicts whose losses
            are summed (BYOT: one per exit). Teacher sides in the pairs are
            targets: losses must not backpropagate into them (the part may
            detach them; skd_det's losses detach ``target`` themselves).
        """
        raise NotImplementedError


class SelfDistillMixin:
    """What the detector and segmentor wrappers share: building the student,
    the teacher part and the distillation losses, checking them, and merging
    the three groups of losses under distinct keys.

    Loss keys of a training step:

    - the student's own losses, with the base model's keys (``loss_cls``,
      ``loss_bbox``; ``decode.loss_ce``, ``aux.loss_ce``, ...);
    - the teacher part's task losses prefixed ``teacher.`` (e.g.
      ``teacher.loss_cls``, ``teacher.decode.loss_ce``);
    - one ``distill.<name>`` per configured distillation loss (e.g.
      ``distill.loss_feat``, ``distill.loss_kd``), multiplied by
      ``distill_weight_scale``.

    Names of losses contain ``loss`` so mmengine's ``parse_losses`` sums them
    all into the optimised total; other entries (``acc_seg``) are only
    logged.

    ``distill_weight_scale`` (default 1.0) is a plain attribute, not state:
    :class:`~skd_det.engine.hooks.DistillWarmupHook` recomputes it from the
    iteration before every step, so a resumed run gets the same value.
    """

    #: The task's ``MODELS`` registry (mmdet's or mmseg's), set by the wrapper.
    _registry = None

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 distill_losses: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        # the base model's __init__ (mmdet's BaseDetector, mmseg's BaseSegmentor)
        super().__init__(
            data_preprocessor=resolve_data_preprocessor(student, data_preprocessor),
            init_cfg=init_cfg)
        self._init_self_distill(self._registry, student, teacher, distill_losses)

    def _init_self_distill(self, registry, student: dict, teacher: dict,
                           distill_losses: Optional[dict]) -> None:
        """Build ``self.student``, ``self.teacher`` and
        ``self.distill_losses`` (an ``nn.ModuleDict``) with ``registry``.

        Raises:
            TypeError: ``self._check_student`` rejects the student.
            ValueError: A distillation loss has a negative ``loss_weight`` or
                names a pair the teacher part does not produce, or a pair
                that replaces a student loss has no distillation loss.
        """
        if not isinstance(student, dict) or not isinstance(teacher, dict):
            raise TypeError('student and teacher must be config dicts, got '
                            f'{type(student).__name__} and '
                            f'{type(teacher).__name__}')
        # building mutates nested dicts (SingleStageDetector adds train_cfg to
        # bbox_head): keep the user's config intact for the teacher part
        student_cfg = copy.deepcopy(student)
        self.student = registry.build(copy.deepcopy(student))
        self._check_student(self.student)
        # see BaseSelfTeacher.init_weights
        with torch.random.fork_rng():
            self.teacher = registry.build(
                teacher, default_args=dict(student=self.student, student_cfg=student_cfg))
        if not isinstance(self.teacher, BaseSelfTeacher):
            raise TypeError(f'teacher must build a BaseSelfTeacher, got '
                            f'{type(self.teacher).__name__}')
        self.distill_losses = nn.ModuleDict()
        for name, cfg in (distill_losses or {}).items():
            self._check_distill_loss(name, cfg)
            self.distill_losses[name] = registry.build(cfg)
        for name, key in self.teacher.replaced_losses.items():
            if name not in self.distill_losses:
                raise ValueError(f'{type(self.teacher).__name__} replaces the student\'s '
                                 f'{key} by distill.{name}; configure '
                                 f'distill_losses.{name}')
        self.distill_weight_scale = 1.0

    def _check_student(self, student: nn.Module) -> None:
        """Raise TypeError if the wrapper cannot wrap ``student``."""
        raise NotImplementedError

    def _check_distill_loss(self, name: str, cfg: dict) -> None:
        pairs = type(self.teacher).distill_pairs
        if name not in pairs:
            raise ValueError(f'distill_losses.{name}: {type(self.teacher).__name__} '
                             f'produces the distillation pairs {list(pairs)}; name each '
                             'distillation loss after one of them')
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise TypeError(f'distill_losses.{name} must be a loss config '
                            f'dict with a type, got {cfg!r}')
        weight = cfg.get('loss_weight', 1.0)
        if not isinstance(weight, (int, float)) or weight < 0:
            raise ValueError(f'distill_losses.{name}.loss_weight must be a '
                             f'number >= 0, got {weight!r}')

    def _merge_losses(self, student_losses: dict, inputs: Tensor, data_samples: Sequence,
                      student_outs: StudentOutputs) -> dict:
        """Run the teacher part and return student, ``teacher.`` and
        ``distill.`` losses in one dict."""
        teacher_losses, pairs = self.teacher.loss_and_targets(self.student, inputs, data_samples,
                                                              student_outs)
        weight = self.teacher.student_loss_weight
        losses = dict(student_losses) if weight == 1.0 else {
            k: _scale(v, weight) if 'loss' in k else v
            for k, v in student_losses.items()
        }
        for key in self.teacher.replaced_losses.values():
            if key not in losses:
                raise KeyError(f'{type(self.teacher).__name__} replaces the student '
                               f'loss {key!r}, which the student does not compute (its '
                               f'losses: {sorted(student_losses)})')
            del losses[key]
        losses.update({TEACHER_PREFIX + k: v for k, v in teacher_losses.items()})
        for name, loss_fn in self.distill_losses.items():
            pair = pairs[name]
            loss = sum(loss_fn(**p) for p in pair) if isinstance(pair, list) else loss_fn(**pair)
            losses[DISTILL_PREFIX + name] = loss * self.distill_weight_scale
        return losses


def _scale(value, weight: float):
    """A loss entry (a tensor, or a list of per-level tensors as mmdet's heads
    return them) times ``weight``."""
    if isinstance(value, (list, tuple)):
        return [v * weight for v in value]
    return value * weight


def resolve_data_preprocessor(student: dict, data_preprocessor: Optional[dict]) -> Optional[dict]:
    """The wrapper's data preprocessor config: the given one, else a copy of
    the student's (None if it has none, as the student itself would use)."""
    if data_preprocessor is not None:
        return data_preprocessor
    return copy.deepcopy(student.get('data_preprocessor')) if isinstance(student, dict) else None
