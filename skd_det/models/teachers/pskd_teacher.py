# Copyright (c) skd_det contributors.
"""PS-KD teacher parts: the previous epoch's model as a frozen snapshot whose
predictions, mixed with the labels, are the student's classification
targets.

"Self-Knowledge Distillation with Progressive Refinement of Targets" (Kim et
al., ICCV 2021, https://arxiv.org/abs/2006.12000). The authors' code
(lgcnsai/PS-KD-Pytorch, main.py) stores every training sample's softmax
output of epoch t-1 and trains epoch t on::

    target = (1 - alpha_t) * y + alpha_t * P_{t-1}(x)        main.py:426
    alpha_t = alpha_T * (t + 1) / T   (0-based epoch t of T)  main.py:323
    P_{-1}(x) = y   (epoch 0: the stored predictions are the labels)
                                                              main.py:422-423
    loss = -sum_c target_c log softmax(z)_c, mean over samples
                                                    loss/pskd_loss.py:18-19

For dense outputs a stored prediction per training image is a whole
probability map that random crops, flips and resizing misalign from epoch to
epoch; the part keeps instead one frozen copy of the student (the
alternative the paper gives for large data sets such as ImageNet, where the
predictions do not fit in memory; not in the public code), refreshed
at every epoch boundary by :class:`~skd_det.engine.hooks.PSKDHook`, and runs
it on the batch the student sees. Pure torch on the duck-typed mmdet/mmseg
head API: nothing here imports mmdet or mmseg.
"""
import copy
import logging
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce, broadcast
from mmengine.logging import print_log
from mmengine.registry import MODELS
from torch import Tensor

from ..distillers.base import BaseSelfTeacher, StudentOutputs
from .utils import flatten_cls


class PSKDTeacher(BaseSelfTeacher):
    """What both PS-KD parts share: the snapshot, ``alpha_t`` and the
    snapshot's checkpoint state.

    The snapshot is a deep copy of the student with ``requires_grad=False``,
    always in eval mode (its BN layers use the running statistics copied at
    the refresh and never update them), held as a plain attribute like
    :class:`FrozenTeacher`'s model: it is not in ``parameters()`` nor in the
    wrapper's state dict, ``_apply`` moves it with the wrapper.
    :class:`~skd_det.engine.hooks.PSKDHook` saves it in checkpoints under
    ``pskd_snapshot`` and restores it on ``--resume``.

    Before every iteration the hook calls :meth:`set_progress`; the part
    then mixes the targets with ``alpha`` (``alpha_t``, or 0 in the first
    epoch, where the authors' target is the label), and runs the snapshot
    only when ``alpha > 0``. Without the hook (a model stepped outside a
    runner: the config tests, ``tools/analysis/benchmark_train.py``) the
    part is in the state of the last epoch, ``alpha = alpha_T`` with the
    snapshot as built (the student before ``init_weights``), as the other
    schedule hooks' models default to their final state; training without
    the hook logs a warning at the first step.

    Args:
        student (nn.Module): The built student (filled in by the wrapper).
        student_cfg (dict): The student's config (filled in by the wrapper).
        alpha_T (float): ``alpha_t`` of the last epoch, in [0, 1]. Defaults
            to 0.8 (the authors' default, main.py:69).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 student: nn.Module,
                 student_cfg: dict,
                 alpha_T: float = 0.8,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(alpha_T, bool) or not isinstance(alpha_T,
                                                       (int, float)) or not 0 <= alpha_T <= 1:
            raise ValueError(f'teacher.alpha_T must be a number in [0, 1], '
                             f'got {alpha_T!r}')
        self.alpha_T = float(alpha_T)
        snapshot = copy.deepcopy(student)
        snapshot.requires_grad_(False)
        snapshot.eval()
        self.__dict__['snapshot'] = snapshot  # a plain attribute, see above
        #: how many times the snapshot was refreshed (epochs/intervals done)
        self.refreshes = 0
        #: the authors' alpha_t of the current epoch, and the mixing weight
        #: used (0 in the first epoch); the last epoch's until PSKDHook
        #: sets them
        self.alpha_t = self.alpha = self.alpha_T
        #: set by PSKDHook before training
        self.scheduled = False
        self._warned = False

    def _apply(self, fn, *args, **kwargs):
        self.snapshot._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True) -> 'PSKDTeacher':
        super().train(mode)
        self.snapshot.eval()
        return self

    def set_progress(self, stage: int, num_stages: int) -> None:
        """Set ``alpha_t = alpha_T * (stage + 1) / num_stages`` for the
        0-based epoch (or refresh interval) ``stage`` of ``num_stages``, and
        the mixing weight ``alpha`` (0 at stage 0)."""
        self.alpha_t = self.alpha_T * (stage + 1) / num_stages
        self.alpha = self.alpha_t if stage > 0 else 0.0

    @torch.no_grad()
    def refresh(self, student: nn.Module) -> None:
        """Copy the student's weights and buffers into the snapshot. Under
        DDP rank 0's copy is broadcast: the weights agree across ranks, but
        BN running statistics are each rank's own since the last forward."""
        self.snapshot.load_state_dict(student.state_dict())
        for tensor in self.snapshot.state_dict().values():
            broadcast(tensor, src=0)
        self.refreshes += 1

    def snapshot_state(self) -> dict:
        """The checkpoint entry: ``{'state_dict': ..., 'refreshes': n}``,
        tensors on the CPU."""
        return dict(
            state_dict={
                k: v.detach().cpu()
                for k, v in self.snapshot.state_dict().items()
            },
            refreshes=self.refreshes)

    def load_snapshot_state(self, state: Any, where: str) -> None:
        """Load :meth:`snapshot_state` output; ValueError naming the first
        missing, unexpected or mismatched key if it is not a snapshot of
        this student (``where`` names the entry in messages)."""
        if not isinstance(state, dict) or not isinstance(
                state.get('state_dict'), dict) or not isinstance(state.get('refreshes'), int):
            raise ValueError(f'{where} must be a dict with state_dict and '
                             f'refreshes, got {type(state).__name__}')
        given, own = state['state_dict'], self.snapshot.state_dict()
        missing = sorted(set(own) - set(given))
        unexpected = sorted(set(given) - set(own))
        if missing or unexpected:
            raise ValueError(f'{where} is not a snapshot of this student: '
                             f'{len(missing)} missing keys (first: {missing[:1]}), '
                             f'{len(unexpected)} unexpected (first: {unexpected[:1]})')
        for key, value in own.items():
            if given[key].shape != value.shape:
                raise ValueError(f'{where} is not a snapshot of this student: {key} has '
                                 f'shape {tuple(given[key].shape)}, the student '
                                 f'{tuple(value.shape)}')
        self.snapshot.load_state_dict(given)
        self.refreshes = state['refreshes']

    def _mixing_weight(self) -> float:
        if not self.scheduled and not self._warned:
            print_log(
                f'{type(self).__name__} without PSKDHook: alpha_t stays '
                f'{self.alpha} and the snapshot is never refreshed; add '
                "dict(type='PSKDHook') to custom_hooks to train PS-KD",
                logger='current',
                level=logging.WARNING)
            self._warned = True
        return self.alpha


@MODELS.register_module()
class PSKDDetTeacher(PSKDTeacher):
    """PS-KD for anchor-based dense detectors with a sigmoid focal-loss
    classifier on one-hot labels (RetinaNet, ATSS; AnchorHead's or ATSSHead's
    ``get_anchors``/``get_targets``)::

        y      = one-hot labels of the head's own target assignment
                 (M, C), background anchors all zero   (M anchors, all levels)
        p_prev = sigmoid(snapshot's class logits on the same batch) (M, C)
        target = (1 - alpha) * y + alpha * p_prev       (no gradient)
        pair loss_cls: pred = student class logits (M, C), target,
                       weight = label weights (M,) (0: ignored anchors),
                       avg_factor = the head's (number of positives)

    The pair's loss (:class:`~skd_det.models.losses.SoftTargetFocalLoss`,
    RetinaNet's focal loss for hard targets) replaces the student's
    ``loss_cls``; ``loss_bbox`` keeps the box targets. With ``alpha = 0``
    (the first epoch) the snapshot is not run and the loss equals the
    student's own. See :class:`PSKDTeacher` for the arguments.
    """

    distill_pairs = ('loss_cls', )
    replaced_losses = {'loss_cls': 'loss_cls'}

    #: ``get_targets`` of these classes (by ``__qualname__``): where its
    #: labels and label weights are in the returned tuple, and whether the
    #: head averages ``avg_factor`` over ranks and clamps it at 1 (ATSS)
    _TARGETS = {
        'AnchorHead.get_targets': (0, 1, False),
        'ATSSHead.get_targets': (1, 2, True),
    }

    def __init__(self, student: nn.Module, student_cfg: dict, **kwargs) -> None:
        head = getattr(student, 'bbox_head', None)
        if not (hasattr(head, 'get_anchors') and hasattr(head, 'get_targets')
                and getattr(head, 'use_sigmoid_cls', False)):
            raise ValueError("PSKDDetTeacher mixes the targets of an anchor-based dense "
                             "head with a sigmoid classifier (RetinaNet, ATSS); the student's "
                             f'bbox_head {type(head).__name__} is not one')
        loss = getattr(head, 'loss_cls', None)
        if type(loss).__name__ != 'FocalLoss':
            raise ValueError("PSKDDetTeacher replaces a classification loss that is a sigmoid "
                             "FocalLoss on one-hot labels (RetinaNet, ATSS); the student's "
                             f'bbox_head {type(head).__name__} has loss_cls '
                             f'{type(loss).__name__}')
        get_targets = getattr(type(head).get_targets, '__qualname__', '')
        if get_targets not in self._TARGETS:
            raise ValueError("PSKDDetTeacher mixes the targets of AnchorHead's or ATSSHead's "
                             "get_targets (RetinaNet, ATSS); the student's bbox_head "
                             f'{type(head).__name__} assigns its targets with its own '
                             f'{get_targets or "get_targets"}')
        super().__init__(student, student_cfg, **kwargs)
        self._labels_at, self._weights_at, self._mean_avg_factor = self._TARGETS[get_targets]

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets`: no task losses;
        the pair ``loss_cls`` (see the class docstring)."""
        alpha = self._mixing_weight()
        head = student.bbox_head
        num_classes = head.cls_out_channels
        cls_scores = student_outs.head_outs[0]
        gt_instances, img_metas, gt_instances_ignore = \
            student_outs.loss_inputs
        with torch.no_grad():
            anchors, valid_flags = head.get_anchors([s.shape[-2:] for s in cls_scores],
                                                    img_metas,
                                                    device=cls_scores[0].device)
            # AnchorHead-family get_targets: labels, label weights, ...,
            # avg_factor; per level (N, anchors of the level)
            targets = head.get_targets(anchors, valid_flags, gt_instances, img_metas,
                                       gt_instances_ignore)
            labels = torch.cat([t.reshape(-1) for t in targets[self._labels_at]])
            weights = torch.cat([t.reshape(-1) for t in targets[self._weights_at]])
            avg_factor = targets[-1]
            if self._mean_avg_factor:
                # as ATSSHead.loss_by_feat: mean over ranks, at least 1
                avg_factor = torch.tensor(avg_factor, dtype=torch.float, device=labels.device)
                all_reduce(avg_factor, op='mean')  # in place; nothing on one process
                avg_factor = max(avg_factor.item(), 1.0)
            if alpha > 0:
                snap = self.snapshot
                prev = snap.bbox_head(snap.extract_feat(inputs))[0]
                target = flatten_cls(prev, num_classes).float().sigmoid()
                target.mul_(alpha)
            else:
                target = weights.new_zeros(len(labels), num_classes)
            # background anchors have label num_classes: no one-hot part
            pos = (labels >= 0) & (labels < num_classes)
            target[pos, labels[pos]] += 1 - alpha
        return {}, dict(
            loss_cls=dict(
                pred=flatten_cls(cls_scores, num_classes),
                target=target,
                weight=weights,
                avg_factor=avg_factor))


@MODELS.register_module()
class PSKDSegTeacher(PSKDTeacher):
    """PS-KD for encoder-decoder segmentors with a softmax decode head whose
    loss is one mmseg ``CrossEntropyLoss`` (FCN, PSPNet, DeepLabV3, ...)::

        y      = one-hot labels (N, K, H, W); 0 at ignore_index pixels
        p_prev = softmax(snapshot's decode-head logits, resized to the label
                 size as mmseg resizes the student's)          (N, K, H, W)
        target = (1 - alpha) * y + alpha * p_prev, 0 at ignored pixels
        pair loss_ce: pred = student logits resized to the label size,
                      target, weight = valid pixels (N, H, W),
                      avg_factor = N*H*W, or the number of valid pixels
                      with the student loss' avg_non_ignore

    The pair's loss (:class:`~skd_det.models.losses.
    SoftTargetCrossEntropyLoss`, the authors' loss) replaces the student's
    ``decode.<loss_name>``, normalised as that loss is, so with ``alpha = 0``
    (the first epoch) the two are equal and the snapshot is not run. The
    auxiliary head keeps its hard-label loss (a training-only deep
    supervision branch; PS-KD's target concerns the model's prediction).
    See :class:`PSKDTeacher` for the arguments.
    """

    distill_pairs = ('loss_ce', )

    def __init__(self, student: nn.Module, student_cfg: dict, **kwargs) -> None:
        head = getattr(student, 'decode_head', None)
        loss = getattr(head, 'loss_decode', None)
        if (type(loss).__name__ != 'CrossEntropyLoss' or getattr(loss, 'use_sigmoid', True)
                or getattr(loss, 'use_mask', True)
                or getattr(loss, 'class_weight', None) is not None
                or getattr(head, 'sampler', None) is not None):
            raise ValueError('PSKDSegTeacher replaces a decode head loss that is one '
                             'softmax CrossEntropyLoss without class_weight and without '
                             f'a pixel sampler; the student has loss_decode '
                             f'{type(loss).__name__} and sampler '
                             f'{type(getattr(head, "sampler", None)).__name__}')
        super().__init__(student, student_cfg, **kwargs)
        self.avg_non_ignore = bool(loss.avg_non_ignore)
        self.replaced_losses = {'loss_ce': f'decode.{loss.loss_name}'}

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets`: no task losses;
        the pair ``loss_ce`` (see the class docstring)."""
        alpha = self._mixing_weight()
        head = student.decode_head
        label = torch.stack([s.gt_sem_seg.data for s in data_samples])[:, 0]

        def to_label_size(logits: Tensor) -> Tensor:
            return F.interpolate(
                logits, size=label.shape[-2:], mode='bilinear', align_corners=head.align_corners)

        pred = to_label_size(student_outs.head_outs)
        with torch.no_grad():
            valid = label != head.ignore_index
            if alpha > 0:
                snap = self.snapshot
                prev = to_label_size(snap.decode_head(snap.extract_feat(inputs)))
                target = prev.float().softmax(1).mul_(alpha)
            else:
                target = pred.new_zeros(pred.shape, dtype=torch.float32)
            # in place, without a (N, K, H, W) one-hot tensor: dense maps are
            # large
            index = torch.where(valid, label, torch.zeros_like(label))
            target.scatter_add_(1, index[:, None], valid[:, None].to(target.dtype) * (1 - alpha))
            target.mul_(valid[:, None])
        avg_factor = valid.sum() if self.avg_non_ignore else label.numel()
        return {}, dict(
            loss_ce=dict(pred=pred, target=target, weight=valid.float(), avg_factor=avg_factor))
