# Copyright (c) skd_det contributors.
"""BYOT teacher parts: shallow exits distilled from the deepest classifier.

"Be Your Own Teacher: Improve the Performance of Convolutional Neural
Networks via Self Distillation" (Zhang et al., ICCV 2019,
https://arxiv.org/abs/1905.08094); public code followed here:
luanyunteng/pytorch-be-your-own-teacher (``train.py``, ``models/resnet.py``).

The network is cut into depth sections; an *exit* after section ``k`` is a
bottleneck and a classifier of its own. The deepest classifier (here: the
student's own head, the model that is deployed) teaches every exit::

    L = (1 - alpha) * (CE(q_C, y) + sum_i CE(q_i, y))      (train.py:226)
        + alpha * sum_i T^2 KL(q_C^T || q_i^T)               (train.py:206-216)
        + lambda * sum_i ||F_i - F_C||^2                     (train.py:219-224)

with ``q_C`` and ``F_C`` detached (train.py:210, 219) and ``F`` the features
each classifier reads. The public code's defaults: alpha 0.1, T 3, lambda
1e-6 (train.py:63-69), exits after ``layer1``-``layer3`` of a 4-stage ResNet
(models/resnet.py:181-200).

Here the ``(1 - alpha)`` weights are the teacher part's (exit task losses,
``teacher.exit<k>.*``) and ``student_loss_weight`` (the student's own
losses); ``alpha`` and ``T`` are ``distill_losses.loss_kd``'s ``loss_weight``
and ``temperature``, ``lambda`` is ``distill_losses.loss_feat.loss_weight``
(configs/byot/_base_/ sets them together). Each of the two pairs is a list,
one entry per exit, whose losses the wrapper sums.

The parts: ``BYOTDetTeacher`` (byot_det_teacher.py) and ``BYOTSegTeacher``
(byot_seg_teacher.py); this file holds what they share, including the
plain-model config of an exit that ``export_student.py --exit K`` writes.
"""
import copy
from typing import Any, Dict, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.config import ConfigDict

from ..distillers.base import BaseSelfTeacher


def check_alpha(alpha: Any) -> float:
    """``alpha`` as a float; ValueError unless a number in [0, 1]."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or \
            not 0 <= alpha <= 1:
        raise ValueError(f'teacher.alpha must be a number in [0, 1], got '
                         f'{alpha!r}')
    return float(alpha)


def check_exit_stages(exit_stages: Optional[Sequence[int]], allowed: Sequence[int],
                      where: str) -> Tuple[int, ...]:
    """The exits as a tuple of distinct increasing stages among ``allowed``
    (all of them when None); ValueError naming the value otherwise."""
    if not allowed:
        raise ValueError(f'BYOT needs a stage shallower than the deepest classifier\'s input '
                         f'for an exit; {where}, so there is none')
    if exit_stages is None:
        return tuple(allowed)
    stages = list(exit_stages) if isinstance(exit_stages, (list, tuple)) else None
    if not stages or not all(isinstance(s, int) and not isinstance(s, bool) for s in stages):
        raise ValueError(f'teacher.exit_stages must be a non-empty list of '
                         f'stage indices, got {exit_stages!r}')
    repeated = sorted({s for s in stages if stages.count(s) > 1})
    if repeated:
        raise ValueError(f'teacher.exit_stages={list(stages)} repeats the '
                         f'stage(s) {repeated}')
    missing = [s for s in stages if s not in allowed]
    if missing:
        raise ValueError(f'teacher.exit_stages={list(stages)}: stage(s) {missing} do not '
                         f'exist as shallow exits; {where}, so exits can be '
                         f'{list(allowed)}')
    return tuple(sorted(stages))


def truncated_backbone(backbone: nn.Module, cfg: dict, position: int) -> dict:
    """The config of ``backbone`` (a built ResNet-like: ``num_stages``,
    ``strides``, ``dilations``, ``out_indices``) cut after the stage of its
    output ``position``: the same weights compute the same features up to
    there, and nothing after."""
    needed = ('num_stages', 'strides', 'dilations', 'out_indices')
    if not all(hasattr(backbone, a) for a in needed):
        raise ValueError(f'an exit exports with a truncated backbone: the student\'s '
                         f'{type(backbone).__name__} is not ResNet-like (needs '
                         f'{", ".join(needed)})')
    if getattr(backbone, 'multi_grid', None) or cfg.get('plugins'):
        raise ValueError('an exit cannot truncate a backbone with multi_grid '
                         'or plugins (they are laid out per stage)')
    n = int(backbone.out_indices[position]) + 1
    out = copy.deepcopy(dict(cfg))
    out.update(
        num_stages=n,
        strides=tuple(backbone.strides[:n]),
        dilations=tuple(backbone.dilations[:n]),
        out_indices=tuple(i for i in backbone.out_indices if i < n))
    if out.get('dcn') is not None:
        out['stage_with_dcn'] = tuple(backbone.stage_with_dcn[:n])
    if getattr(backbone, 'frozen_stages', -1) > n:
        out['frozen_stages'] = n
    return out


class BYOTTeacherBase(BaseSelfTeacher):
    """What the detection and segmentation parts share: alpha, the exits and
    their export (``exit_model`` / ``exit_prefixes``)."""

    distill_pairs = ('loss_kd', 'loss_feat')

    def __init__(self, student_cfg: dict, alpha: float, init_cfg: Optional[dict]) -> None:
        super().__init__(init_cfg=init_cfg)
        self.alpha = check_alpha(alpha)
        # the deepest classifier's task loss is weighted like the exits'
        self.student_loss_weight = 1.0 - self.alpha
        self._student_cfg = copy.deepcopy(dict(student_cfg))
        self._exit_cfgs: Dict[int, dict] = {}

    def _check_exit(self, stage: int) -> str:
        if stage not in self.exit_stages:
            raise ValueError(f'exit {stage!r} does not exist; the exits are '
                             f'{list(self.exit_stages)}')
        return str(stage)

    def _set_exit_model(self, stage: int, student: nn.Module, **parts: dict) -> None:
        model = copy.deepcopy(self._student_cfg)
        model.update(parts)
        try:
            model['backbone'] = truncated_backbone(student.backbone, model['backbone'], stage)
        except ValueError as e:
            model = str(e)  # only the export needs it: raised there
        self._exit_cfgs[stage] = model

    def exit_model(self, stage: int) -> ConfigDict:
        """The plain mmdet/mmseg model config of exit ``stage``: the
        student's config with its backbone cut after that stage and the
        exit's own modules in place of the deeper ones."""
        self._check_exit(stage)
        model = self._exit_cfgs[stage]
        if isinstance(model, str):
            raise ValueError(model)
        # a ConfigDict, as mmseg's EncoderDecoder sets attributes of it
        return ConfigDict(copy.deepcopy(model))

    def exit_prefixes(self, stage: int) -> Dict[str, str]:
        """``{key prefix in exit_model's state dict: key prefix in the
        wrapper's}``."""
        raise NotImplementedError
