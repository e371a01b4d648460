# Copyright (c) skd_det contributors.
"""BYOT exits for encoder-decoder segmentors (see byot_teacher.py)."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.config import ConfigDict
from mmengine.registry import MODELS, DefaultScope
from torch import Tensor

from ..distillers.base import StudentOutputs
from .byot_teacher import BYOTTeacherBase, check_exit_stages
from .utils import probe_input, probing, scale_losses


class BranchBottleneck(nn.Module):
    """The authors' exit bottleneck (``branchBottleNeck``,
    models/resnet.py:11-25): 1x1 conv to ``out_channels / 4``, a
    ``stride`` x ``stride`` conv of that stride, 1x1 conv to
    ``out_channels``, each with norm and ReLU. Maps a shallow stage
    (N, C_k, H_k, W_k) to the deepest one's shape (N, C, ceil(H_k / stride),
    ceil(W_k / stride)): the input is zero-padded at the bottom/right to a
    multiple of ``stride``, which a ResNet's ceil-rounding strides need on
    odd sizes and the authors' CIFAR sizes never did."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, norm_cfg: dict) -> None:
        super().__init__()
        mid = out_channels // 4
        self.stride = stride
        self.convs = nn.Sequential(
            ConvModule(in_channels, mid, 1, norm_cfg=norm_cfg),
            ConvModule(mid, mid, stride, stride=stride, norm_cfg=norm_cfg),
            ConvModule(mid, out_channels, 1, norm_cfg=norm_cfg))

    def forward(self, x: Tensor) -> Tensor:
        pad_h = -x.shape[-2] % self.stride
        pad_w = -x.shape[-1] % self.stride
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        return self.convs(x)


@MODELS.register_module()
class BYOTSegTeacher(BYOTTeacherBase):
    """BYOT exits for encoder-decoder segmentors (FCN, PSPNet, ...).

    Exit ``k`` is a decode head on feature level ``k`` (an FCNHead like
    mmseg's auxiliary head by default), distilled from the student's decode
    head, and a bottleneck that maps level ``k`` to the shape of the
    student's decode-head input for the feature loss::

        B_l  = student levels (extract_feat)              (N, C_l, H_l, W_l)
        z_k  = head_k(B_k)                                (N, K, h_k, w_k)
        teacher loss (per exit) = (1 - alpha) * head_k.loss_by_feat(z_k, gt)
                                   keys exit<k>.decode.loss_ce, ...
        loss_kd   (per exit): pred z_k, target z_C (the student's logits,
                  detached), both resized (bilinear) to the label size
                  (N, K, H, W), label (N, 1, H, W) with the student head's
                  ignore_index                             -> PixelKLLoss
        loss_feat (per exit): pred bottleneck_k(B_k), target B_d (the
                  student's decode-head input, detached)   -> ActiveMSELoss

    Adaptation: in the authors' network the bottleneck also feeds the
    exit's classifier (models/resnet.py:182-186); here the exit head reads
    ``B_k`` itself, so that an exit exports as a plain mmseg model (a cut
    backbone and an FCNHead), and the bottleneck is a training-only adapter
    of the feature loss. ``B_d`` is the deepest backbone output the decode
    head reads, as ``F_C`` is the authors' last stage (resnet.py:202-204).

    Exits (``exit_stages``) index the ``extract_feat`` levels; default:
    every level before the one the decode head reads (0, 1, 2 for FCN's
    4-stage ResNet, the authors' exits after layer1-layer3).

    Args:
        student (nn.Module): The built student (filled in by the wrapper).
        student_cfg (dict): The student's config (filled in by the wrapper).
        exit_stages (Sequence[int], optional): Levels with an exit. Defaults
            to all before the decode head's.
        alpha (float): BYOT's alpha in [0, 1] (see BYOTDetTeacher).
            Defaults to 0.1.
        head (dict, optional): Overrides of every exit head's config. The
            default is ``dict(type='FCNHead', num_convs=1, concat_input=False,
            channels=<decode head channels // 2>, dropout_ratio=0.1)`` (the
            shape of mmseg's auxiliary FCNHead next to a 512-channel FCN
            decode head) with ``num_classes``, ``norm_cfg``,
            ``align_corners``, ``ignore_index`` and ``loss_decode`` of the
            student's decode head, and ``in_channels``/``in_index`` of
            level ``k``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 student: nn.Module,
                 student_cfg: dict,
                 exit_stages: Optional[Sequence[int]] = None,
                 alpha: float = 0.1,
                 head: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(student_cfg, alpha, init_cfg)
        decode = student.decode_head
        if not isinstance(decode.in_index, int) or student.with_neck:
            raise ValueError(
                'BYOTSegTeacher needs a student without a neck whose decode '
                f'head reads one level (an int in_index), got the student\'s '
                f'{type(decode).__name__} with in_index={decode.in_index!r}' +
                (f' and a neck {type(student.neck).__name__}' if student.with_neck else ''))
        with probing(student):
            feats = student.extract_feat(probe_input(student))
        deepest = decode.in_index % len(feats)
        self.deepest = deepest
        self.exit_stages = check_exit_stages(
            exit_stages, range(deepest), f"the student's {type(decode).__name__} reads level "
            f'{deepest} of the {len(feats)} {type(student.backbone).__name__} outputs')

        decode_cfg = student_cfg['decode_head']
        head_cfg = dict(
            type='FCNHead',
            num_convs=1,
            concat_input=False,
            channels=decode.channels // 2,
            dropout_ratio=0.1)
        head_cfg.update({
            key: decode_cfg[key]
            for key in ('num_classes', 'norm_cfg', 'align_corners', 'ignore_index', 'loss_decode')
            if key in decode_cfg
        })
        norm_cfg = decode_cfg.get('norm_cfg') or dict(type='BN')
        target = feats[deepest]
        self.heads, self.bottlenecks = nn.ModuleDict(), nn.ModuleDict()
        for k in self.exit_stages:
            stride = feats[k].shape[-1] // target.shape[-1]
            if feats[k].shape[-1] != stride * target.shape[-1]:
                raise ValueError(f'teacher: level {k} ({feats[k].shape[-1]} wide) is not '
                                 f'an integer multiple of level {deepest} '
                                 f'({target.shape[-1]} wide) on a probe image')
            self.bottlenecks[str(k)] = BranchBottleneck(
                int(feats[k].shape[1]), int(target.shape[1]), stride, norm_cfg)
            cfg = dict(head_cfg, in_channels=int(feats[k].shape[1]), in_index=k)
            cfg.update(head or {})
            with DefaultScope.overwrite_default_scope('mmseg'):
                self.heads[str(k)] = MODELS.build(cfg)
            self._set_exit_model(k, student, decode_head=cfg, auxiliary_head=None)

    def exit_model(self, stage: int) -> ConfigDict:
        model = super().exit_model(stage)
        del model['auxiliary_head']
        return model

    def exit_prefixes(self, stage: int) -> Dict[str, str]:
        k = self._check_exit(stage)
        return {'backbone.': 'student.backbone.', 'decode_head.': f'teacher.heads.{k}.'}

    def loss_and_targets(
            self, student: nn.Module, inputs: Tensor, data_samples: list,
            student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, List[dict]]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets`: the exits' task
        losses (``exit<k>.decode.loss_ce``, ...) and per exit a ``loss_kd``
        and a ``loss_feat`` pair (see the class docstring)."""
        label = torch.stack([s.gt_sem_seg.data for s in data_samples])
        decode = student.decode_head

        def to_label_size(logits: Tensor) -> Tensor:
            return F.interpolate(
                logits, size=label.shape[-2:], mode='bilinear', align_corners=decode.align_corners)

        target_logits = to_label_size(student_outs.head_outs.detach())
        target_feat = student_outs.feats[self.deepest].detach()
        losses, kd, feat = {}, [], []
        for k in self.exit_stages:
            head = self.heads[str(k)]
            logits = head(student_outs.feats)
            exit_losses = scale_losses(head.loss_by_feat(logits, data_samples), 1.0 - self.alpha)
            losses.update({f'exit{k}.decode.{name}': v for name, v in exit_losses.items()})
            kd.append(
                dict(
                    pred=to_label_size(logits),
                    target=target_logits,
                    label=label,
                    ignore_index=decode.ignore_index))
            feat.append(
                dict(pred=self.bottlenecks[str(k)](student_outs.feats[k]), target=target_feat))
        return losses, dict(loss_kd=kd, loss_feat=feat)
