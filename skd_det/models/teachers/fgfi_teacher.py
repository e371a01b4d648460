# Copyright (c) skd_det contributors.
"""FGFI: fine-grained feature imitation from a frozen pretrained teacher.
Pure torch on the duck-typed mmdet API (``prior_generator.grid_priors``,
``extract_feat``): nothing here imports mmdet."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor
from torchvision.ops import box_iou

from ..distillers.base import StudentOutputs
from .frozen_teacher import FrozenDetectorPart
from .utils import probe_input, probing


def imitation_masks(anchors: Sequence[Tensor], featmap_sizes: Sequence[Tuple[int, int]],
                    gt_bboxes: Tensor, psi: float) -> List[Tensor]:
    """FGFI's imitation mask of one image (Wang et al., CVPR 2019, Sec. 3.1).

    For each ground-truth box, the IoU with every anchor of every level is
    computed and thresholded at ``psi`` times its largest value; a location
    is imitated if any of its anchors passes for any box::

        m_g  = max_a IoU(a, g)                       over all anchors a
        I_ij = OR_g OR_{a at (i, j)} [IoU(a, g) > psi * m_g]

    Args:
        anchors (Sequence[Tensor]): Per level (H_l*W_l*A_l, 4) anchors in
            mmdet's grid order (row-major locations, A_l anchors each), as
            ``AnchorGenerator.grid_priors`` gives them.
        featmap_sizes (Sequence[tuple]): Per level (H_l, W_l).
        gt_bboxes (Tensor): (G, 4) boxes (x1, y1, x2, y2).
        psi (float): The threshold factor, in (0, 1].

    Returns:
        list[Tensor]: Per level an (H_l, W_l) bool mask.
    """
    device = anchors[0].device
    if len(gt_bboxes) == 0:
        return [torch.zeros(h, w, dtype=torch.bool, device=device) for h, w in featmap_sizes]
    ious = box_iou(torch.cat(anchors), gt_bboxes.to(anchors[0]))  # (M, G)
    hit = (ious > psi * ious.max(dim=0).values).any(dim=1)
    masks = []
    for level, (h, w) in zip(hit.split([len(a) for a in anchors]), featmap_sizes):
        masks.append(level.view(h, w, -1).any(dim=-1))
    return masks


def anchor_generator(student: nn.Module):
    """The student's anchor generator: its RPN's (two-stage, as the authors'
    Faster R-CNN) or its dense head's. ValueError if it has none."""
    for name in ('rpn_head', 'bbox_head'):
        generator = getattr(getattr(student, name, None), 'prior_generator', None)
        if hasattr(generator, 'num_base_anchors'):
            return generator
    raise ValueError(
        'FGFITeacher: the imitation mask comes from the student\'s anchors, and '
        f'{type(student).__name__} has no anchor generator (rpn_head.prior_generator or '
        'bbox_head.prior_generator an AnchorGenerator): use an anchor-based student')


def num_classes(detector: nn.Module) -> Optional[int]:
    """The class count of a one-stage (``bbox_head``) or two-stage
    (``roi_head.bbox_head``) detector; None if neither is there."""
    head = getattr(getattr(detector, 'roi_head', None), 'bbox_head', None)
    head = head if head is not None else getattr(detector, 'bbox_head', None)
    return getattr(head, 'num_classes', None)


@MODELS.register_module()
class FGFITeacher(FrozenDetectorPart):
    """Fine-grained feature imitation, "Distilling Object Detectors with
    Fine-grained Feature Imitation" (Wang et al., CVPR 2019): a frozen
    pretrained teacher (built, loaded and hidden as
    :class:`~skd_det.models.teachers.frozen_teacher.FrozenDetectorPart`
    describes) and one trainable adapter per student feature level::

        F_s   = student feats (its head inputs)      (N, C_s, H_l, W_l)
        F_t   = teacher.extract_feat(inputs)         (N, C_t, H_l, W_l), no grad
        A(F)  = ReLU(conv3x3(F))                     C_s -> C_t, per level
        I     = imitation_masks(student anchors, gt, psi)   (N, H_l, W_l)
        loss_feat: pred A(F_s), target F_t, mask I   (FGFILoss)
        teacher losses: none

    The mask comes from the student's anchors (its RPN's for two-stage
    students, as the authors' Faster R-CNN) and the ground truth
    (``gt_instances`` of the data samples; ignored boxes take no part), with
    the maximum IoU of a box taken over the anchors of all levels
    (:func:`imitation_masks`). Adapters: the authors' 3x3 convolution and
    ReLU with weights from a normal of std 1e-4 truncated at two std and a
    zero bias (``init_cfg``); they train with the student and are dropped at
    export (``teacher.`` prefix).

    Student and teacher must give features at the same levels and sizes
    (widths may differ; checked at build on a probe image) and detect the
    same number of classes; the teacher config's data preprocessor must
    normalise as the student's.

    Args:
        student (nn.Module), student_cfg (dict): Filled in by the wrapper.
        config (str | dict), checkpoint (str, optional), trust_checkpoint
            (bool): The frozen teacher's config and weights, see
            :class:`FrozenDetectorPart`.
        psi (float): Threshold factor of the mask, in (0, 1]. Defaults to
            0.5 (the paper's).
        adapter_relu (bool): End each adapter with a ReLU, as the authors
            (whose teacher features are post-ReLU). FPN features are signed,
            so a ReLU adapter cannot reach the teacher's negative values;
            False gives a linear adapter (a deviation). Defaults to True.
        init_cfg (dict): mmengine init config of the adapters.
    """

    distill_pairs = ('loss_feat', )

    def __init__(
        self,
        student: nn.Module,
        student_cfg: dict,
        config: Union[str, dict],
        checkpoint: Optional[str] = None,
        trust_checkpoint: bool = False,
        psi: float = 0.5,
        adapter_relu: bool = True,
        init_cfg: Optional[dict] = dict(
            type='TruncNormal', layer='Conv2d', std=1e-4, a=-2e-4, b=2e-4, bias=0.)
    ) -> None:
        if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not 0 < psi <= 1:
            raise ValueError(f'teacher.psi must be a number in (0, 1], got {psi!r}')
        generator = anchor_generator(student)
        super().__init__(student_cfg, config, checkpoint, trust_checkpoint, init_cfg=init_cfg)
        self.psi = float(psi)
        s_classes, t_classes = num_classes(student), num_classes(self.model)
        if s_classes != t_classes:
            raise ValueError(
                f'teacher.config: the teacher detects {t_classes} classes and the student '
                f'{s_classes}; FGFI imitates a teacher trained for the student\'s classes')
        widths = self._check_levels(student, generator.num_levels)
        self.adapters = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c_s, c_t, 3, padding=1), *([nn.ReLU()] if adapter_relu else []))
            for c_s, c_t in widths)

    def _check_levels(self, student: nn.Module, num_levels: int) -> List[Tuple[int, int]]:
        """(student, teacher) width per level, after checking on a probe
        image that both give ``num_levels`` levels of the same sizes."""
        with probing(student):
            x = probe_input(student)
            s_feats = student.extract_feat(x)
        with torch.no_grad():
            t_feats = self.model.extract_feat(x.to(self._device()))
        s_sizes = [tuple(f.shape[-2:]) for f in s_feats]
        t_sizes = [tuple(f.shape[-2:]) for f in t_feats]
        if s_sizes != t_sizes or len(s_sizes) != num_levels:
            raise ValueError(
                'FGFITeacher: student and teacher must give features at the levels of the '
                f'student\'s anchors ({num_levels}) with the same sizes; on a probe image the '
                f'student gives {s_sizes}, the teacher {t_sizes}')
        return [(s.shape[1], t.shape[1]) for s, t in zip(s_feats, t_feats)]

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets`: no task losses, and
        the pair ``loss_feat`` (``pred``, ``target``, ``mask``)."""
        feats = student_outs.feats
        sizes = [tuple(f.shape[-2:]) for f in feats]
        # Imported here: skd_det.models must import without mmdet
        from mmdet.structures.bbox import get_box_tensor
        with torch.no_grad():
            teacher_feats = self.model.extract_feat(inputs)
            anchors = anchor_generator(student).grid_priors(sizes, device=inputs.device)
            per_image = []
            for sample in data_samples:
                boxes = get_box_tensor(sample.gt_instances.bboxes)
                per_image.append(imitation_masks(anchors, sizes, boxes, self.psi))
            masks = [torch.stack(level) for level in zip(*per_image)]
        pred = [adapter(f) for adapter, f in zip(self.adapters, feats)]
        return {}, dict(loss_feat=dict(pred=pred, target=list(teacher_feats), mask=masks))
