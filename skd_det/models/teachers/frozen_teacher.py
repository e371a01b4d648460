# Copyright (c) skd_det contributors.
"""A frozen, pretrained external teacher as a teacher part (classic KD)."""
import copy
import os.path as osp
from typing import Any, Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import CheckpointLoader
from torch import Tensor

from ...utils.safe_load import trust_checkpoint as trust_source
from ..data_preprocessors.motion_blur_augment import sharp_views
from ..distillers.base import BaseSelfTeacher, StudentOutputs, student_state_dict
from .utils import check_kd_avg_factor, kd_pairs, probe_input, probing

#: The data preprocessor settings a teacher must share with the student: it
#: is fed the student's normalised batch, not its own preprocessing.
_NORMALISATION_KEYS = ('mean', 'std', 'bgr_to_rgb', 'rgb_to_bgr')


def _model_config(config: Union[str, dict]) -> Tuple[dict, str]:
    """(model config, registry scope) from a config file path, a full config
    (with ``model``) or a model config."""
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'teacher.config: no config file {config}')
        # imports the file's custom_imports too
        config = Config.fromfile(config).to_dict()
    if not isinstance(config, dict):
        raise TypeError('teacher.config must be a config file path or dict, '
                        f'got {type(config).__name__}')
    scope = config.get('default_scope')
    model = config['model'] if 'model' in config else config
    if 'type' not in model:
        raise ValueError('teacher.config: the model config has no type')
    current = DefaultScope.get_current_instance()
    scope = scope or (current.scope_name if current else 'mmdet')
    # attribute access, as mmdet's two-stage detectors read train_cfg.rpn
    return ConfigDict(copy.deepcopy(dict(model))), scope


def _normalisation(model_cfg: dict) -> dict:
    """The ``_NORMALISATION_KEYS`` of a model config's data preprocessor,
    with mmengine's defaults (no normalisation, no channel flip) where
    unset; mean/std as float lists."""
    dp = model_cfg.get('data_preprocessor') or {}
    out = {}
    for key in _NORMALISATION_KEYS:
        value = dp.get(key)
        if key in ('mean', 'std'):
            out[key] = None if value is None else [float(v) for v in value]
        else:
            out[key] = bool(value)
    return out


def _check_normalisation(student_cfg: dict, teacher_cfg: dict) -> None:
    student, teacher = _normalisation(student_cfg), _normalisation(teacher_cfg)
    if student != teacher:
        raise ValueError('FrozenTeacher: the teacher is fed the student\'s preprocessed '
                         'batch, so its config\'s data_preprocessor must normalise as '
                         f'the student\'s does; student {student}, teacher {teacher}')


def _load_weights(model: nn.Module, path: str, trust: bool = False) -> None:
    """Load a checkpoint strictly: a plain detector's or a self-distillation
    wrapper's (its ``student.*`` weights), from a local file or a URL that
    mmengine's ``CheckpointLoader`` reads (``https://``, ``open-mmlab://``,
    ...: the form of mmdet's LD configs' ``teacher_ckpt``), without running
    code unless ``trust`` (see :mod:`skd_det.utils.safe_load`)."""
    if trust:
        trust_source(path)
    if osp.isfile(path) or '://' in path:
        # skd_det's CheckpointLoader schemes: weights-only, URLs hash-checked
        ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    else:
        raise FileNotFoundError(f'teacher.checkpoint: no file {path}')
    state = ckpt.get('state_dict', ckpt)
    state = student_state_dict(state) or state
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ValueError(f'teacher.checkpoint {path} does not match the '
                         f'teacher model: {e}') from e


class FrozenDetectorPart(BaseSelfTeacher):
    """Base of the teacher parts around a frozen, pretrained detector
    (:class:`FrozenTeacher`, :class:`~skd_det.models.teachers.FGFITeacher`).

    The detector is built from its own config (file or dict, mmdet scope
    unless the file says otherwise) and loaded from ``checkpoint`` (a plain
    detector checkpoint, or a ``SelfDistillDetector`` one: its ``student.*``
    weights); it stays in eval mode with ``requires_grad=False`` as
    ``self.model``. Like mmdet's ``KnowledgeDistillationSingleStageDetector``
    it is held as a plain attribute, not a submodule: it is not in the
    wrapper's state dict (checkpoints stay the student's size; the teacher
    comes from its own file on resume) nor its ``parameters()``; ``_apply``
    moves it with the wrapper (``.to()``, ``.cuda()``, dtype casts). Its
    config's data preprocessor must normalise as the student's does (it is
    fed the student's preprocessed batch). Without ``checkpoint`` it keeps
    its random initialisation and a warning is logged.

    Args:
        student_cfg (dict): The student's config.
        config (str | dict): Teacher config file, full config or model
            config.
        checkpoint (str, optional): Teacher weights: a file or a URL.
        trust_checkpoint (bool): Load ``checkpoint`` in full, running any
            code its pickle names (a legacy file from a trusted source);
            by default it is loaded weights-only and refused if it needs
            more. Defaults to False.
        init_cfg (dict, optional): mmengine init config of the part's own
            modules (the frozen detector is not one of them).
    """

    def __init__(self,
                 student_cfg: dict,
                 config: Union[str, dict],
                 checkpoint: Optional[str] = None,
                 trust_checkpoint: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        model_cfg, scope = _model_config(config)
        _check_normalisation(student_cfg, model_cfg)
        with DefaultScope.overwrite_default_scope(scope):
            model = MODELS.build(model_cfg)
        if checkpoint is None:
            print_log(
                f'{type(self).__name__}: no checkpoint, the teacher keeps its '
                'random initialisation',
                logger='current',
                level=30)
        else:
            _load_weights(model, checkpoint, trust_checkpoint)
        model.requires_grad_(False)
        model.eval()
        # a plain attribute (see the class docstring)
        self.__dict__['model'] = model

    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _apply(self, fn, *args, **kwargs):
        self.model._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True) -> 'FrozenDetectorPart':
        super().train(mode)
        self.model.eval()
        return self


@MODELS.register_module()
class FrozenTeacher(FrozenDetectorPart):
    """A pretrained dense detector as a frozen teacher ("Distilling the
    Knowledge in a Neural Network", Hinton et al. 2015; hints as in
    "FitNets", Romero et al. 2015): the KD comparator of blur-robust S-KD
    (Cho et al., IEEE Access 2022: a sharp-trained teacher on the sharp view
    teaching a student on the blurred one)::

        x     = sharp view (view='sharp') or the student's inputs  (N, 3, H, W)
        F_t   = teacher.extract_feat(x)       (N, C, H_l, W_l), no grad
        z_t   = teacher.bbox_head(F_t)        cls (N, A*K, H_l, W_l)
        loss_feat: pred student feats (its head inputs), target F_t
        loss_kd:   pred z_s, target z_t, (M, K) over all M anchors
        teacher losses: none

    The teacher is built, loaded, frozen and hidden as
    :class:`FrozenDetectorPart` describes. Without ``checkpoint`` it keeps
    its random initialisation and a warning is logged (config tests build
    the model that way; train with
    ``--cfg-options model.teacher.checkpoint=PATH``).

    Student and teacher must give the same number of feature levels, widths
    and sizes, and the same class-score layout (checked at build on a probe
    image); their configs' data preprocessors must have the same ``mean``,
    ``std`` and channel order (``bgr_to_rgb``/``rgb_to_bgr``): the teacher
    is fed the student's preprocessed batch (checked at build).

    Args:
        student (nn.Module): The built student (filled in by the wrapper).
        student_cfg (dict): The student's config (filled in by the wrapper).
        config (str | dict): Teacher config file, full config or model
            config.
        checkpoint (str, optional): Teacher weights: a file or a URL.
            Defaults to None.
        trust_checkpoint (bool): See :class:`FrozenDetectorPart`.
            Defaults to False.
        view (str): 'sharp' (the sharp views ``MotionBlurBatchAugment(
            keep_sharp=True)`` stores) or 'inputs' (what the student sees).
            Defaults to 'inputs'.
        kd_avg_factor (str): 'mean' or 'num_pos', as in
            :class:`BlurSKDTeacher`. Defaults to 'num_pos'.
        init_cfg (dict, optional): mmengine init config.
    """

    distill_pairs = ('loss_feat', 'loss_kd')

    def __init__(self,
                 student: nn.Module,
                 student_cfg: dict,
                 config: Union[str, dict],
                 checkpoint: Optional[str] = None,
                 trust_checkpoint: bool = False,
                 view: str = 'inputs',
                 kd_avg_factor: str = 'num_pos',
                 init_cfg: Optional[dict] = None) -> None:
        if view not in ('sharp', 'inputs'):
            raise ValueError("teacher.view must be 'sharp' or 'inputs', got "
                             f'{view!r}')
        kd_avg_factor = check_kd_avg_factor(kd_avg_factor, student.bbox_head)
        super().__init__(student_cfg, config, checkpoint, trust_checkpoint, init_cfg=init_cfg)
        self.view = view
        self.kd_avg_factor = kd_avg_factor
        self._check_compatible(student)

    def _check_compatible(self, student: nn.Module) -> None:
        with probing(student):
            x = probe_input(student)
            s_feats = student.extract_feat(x)
            s_cls = student.bbox_head(s_feats)[0]
        with torch.no_grad():
            t_feats = self.model.extract_feat(x.to(self._device()))
            t_cls = self.model.bbox_head(t_feats)[0]

        def shapes(ts):
            return [tuple(t.shape) for t in ts]

        s_classes = student.bbox_head.num_classes
        t_classes = getattr(self.model.bbox_head, 'num_classes', s_classes)
        if s_classes != t_classes:
            raise ValueError(f'FrozenTeacher: the teacher predicts {t_classes} classes, the '
                             f'student {s_classes}: distill from a teacher trained on the '
                             "student's classes (teacher.config's num_classes)")
        if shapes(s_feats) != shapes(t_feats) or shapes(s_cls) != shapes(t_cls):
            raise ValueError('FrozenTeacher: student and teacher must give the same '
                             'feature and class-score shapes; on a probe image the student '
                             f'gives features {shapes(s_feats)} and scores {shapes(s_cls)},'
                             f' the teacher {shapes(t_feats)} and {shapes(t_cls)}')

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets`: no task losses, and
        the pairs ``loss_feat`` and ``loss_kd``."""
        x = inputs if self.view == 'inputs' else sharp_views(data_samples,
                                                             'FrozenTeacher(view=sharp)').to(inputs)
        with torch.no_grad():
            feats = self.model.extract_feat(x)
            cls_scores = self.model.bbox_head(feats)[0]
        return {}, kd_pairs(student, student_outs, feats, cls_scores, self.kd_avg_factor)
