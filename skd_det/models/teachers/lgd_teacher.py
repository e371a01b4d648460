# Copyright (c) skd_det contributors.
"""LGD teacher part for dense single-stage and two-stage detectors.

"LGD: Label-guided Self-distillation for Object Detection" (Zhang et al.,
AAAI 2022, https://arxiv.org/abs/2109.11496). Pure torch on the duck-typed
mmdet head API (``prior_generator.strides``, ``loss_by_feat``; RPN + RoI
head through :func:`~skd_det.models.distillers.two_stage.two_stage_loss`):
nothing here imports mmdet.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from ..distillers.base import BaseSelfTeacher, StudentOutputs
from ..distillers.two_stage import two_stage_loss
from ..layers.lgd import box_cell_masks, box_overlap_masks, level_sizes
from .utils import PROBE_SIZE, check_loss_weight, probe_input, probing, scale_losses


@MODELS.register_module()
class LGDTeacher(BaseSelfTeacher):
    """LGD's label-guided teacher for dense single-stage detectors
    (RetinaNet, FCOS, ...) and two-stage detectors (Faster R-CNN, ...), with
    the student's head(s) shared::

        F_s  = student FPN levels                         (N, C, H_l, W_l)
        e    = LGDLabelEncoder(descriptors of the gt)     (M, D)
        a    = LGDAppearanceEncoder(F_s, boxes)           (L, M, D)
        r    = LGDRelationAdapter(a, e), same-image only  (L, M, D)
        F_t  = LGDKnowledgeMapper(r, boxes)               (N, C, H_l, W_l)
        teacher loss = head.loss_by_feat(head(F_t), gt)   (student's head)
                     two-stage: the student's RPN on F_t, its RoI head on
                     the RPN's proposals from F_t (two_stage_loss)
        loss_feat: pred LGDStudentAdapter(F_s), target F_t (detached)
                                                  -> InstanceNormMSELoss

    The M objects are each image's ground-truth boxes (clipped to the
    image; boxes with no area left dropped), plus the whole-image context
    object (``label_encoder.context``), or the authors' dummy object for an
    image with none (see
    :meth:`~skd_det.models.layers.LGDLabelEncoder.build_objects`).
    Ignored/crowd boxes (``gt_instances_ignore``) are no objects; the
    student's and the teacher's detection losses treat them as the student
    head's assigner does. Boxes map onto the cells of each level by the
    authors' rule (:func:`~skd_det.models.layers.lgd.box_cell_masks`,
    relative to the padded batch shape ``batch_input_shape``).

    Two-stage students (the authors' ``DistillatorGeneralizedRCNN``,
    megvii-research/LGD models/distillator.py:184-198): the teacher pyramid
    goes through the student's own RPN and RoI head, which propose and
    sample on it as in the student's step (``loss_rpn_cls``,
    ``loss_rpn_bbox``, ``loss_cls``, ``acc``, ``loss_bbox`` under
    ``teacher.``). The levels are the RPN's (P2..P6 of Faster R-CNN, whose
    RoI head reads P2..P5); the classes are the RoI box head's.

    The teacher branch reads the student's FPN levels without detaching
    them (as the authors' RetinaNet and FCOS configs do), unless
    ``detach_appearance=True``: the appearance encoder then reads them
    detached, as the authors' Faster R-CNN configs do
    (``DETACH_APPEARANCE_EMBED: True``, applied in
    models/customized_detectors/dynamic_teacher/dynamic_teacher.py:220-221;
    those configs also have no context object, ``ADD_CONTEXT_BOX: False``).
    Phase:
    ``detach_distill_student``, a plain attribute set by
    :class:`~skd_det.engine.hooks.LGDPhaseHook` before every iteration
    (False without it): the adapter gets ``F_s.detach()``, so the feature
    loss trains only the adapter (the authors' ``distill_flag = 0`` during
    their first 30k iterations). Their other phase, the frozen backbone,
    is the hook's alone.

    Args:
        student (nn.Module): The built student (filled in by the wrapper;
            read for shapes, strides and classes, not kept).
        student_cfg (dict): The student's config (filled in by the wrapper).
        label_encoder (dict, optional): Overrides of the
            ``LGDLabelEncoder`` config, e.g. ``dict(context=False)``.
            ``num_classes`` and ``embed_dims`` are the student head's and
            ``embed_dims`` (an error if given and different: the
            descriptors one-hot encode the classes the head predicts).
        embed_dims (int): D of the label, appearance and relation
            embeddings. Defaults to 256.
        num_heads (int): Attention heads of the relation adapter.
            Defaults to 8.
        cell_rule (str): ``'inside'`` (the authors' rule,
            :func:`~skd_det.models.layers.lgd.box_cell_masks`; a small box
            may own no cell of a coarse level) or ``'overlap'`` (not the
            authors': every cell a box overlaps and at least one,
            :func:`~skd_det.models.layers.lgd.box_overlap_masks`). Defaults
            to ``'inside'``.
        detach_appearance (bool): The appearance encoder reads the student
            levels detached, so the teacher's detection loss reaches the
            student only through the shared heads (the authors'
            ``DETACH_APPEARANCE_EMBED``). Defaults to False.
        loss_weight (float): Factor on the teacher's detection losses (the
            ``teacher.*`` keys). Defaults to 1.0.
        init_cfg (dict, optional): mmengine init config.
    """

    distill_pairs = ('loss_feat', )
    cell_rules = dict(inside=box_cell_masks, overlap=box_overlap_masks)

    def __init__(self,
                 student: nn.Module,
                 student_cfg: dict,
                 label_encoder: Optional[dict] = None,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 cell_rule: str = 'inside',
                 detach_appearance: bool = False,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        loss_weight = check_loss_weight(loss_weight)
        if cell_rule not in self.cell_rules:
            raise ValueError(f'LGDTeacher.cell_rule must be one of '
                             f'{sorted(self.cell_rules)}, got {cell_rule!r}')
        self.cell_masks = self.cell_rules[cell_rule]
        self.two_stage = hasattr(student, 'roi_head')
        # two-stage: the levels and strides are the RPN's, the classes the
        # RoI box head's
        head = student.rpn_head if self.two_stage else student.bbox_head
        classes = student.roi_head.bbox_head if self.two_stage else head
        priors = getattr(head, 'prior_generator', None)
        if priors is None or not hasattr(classes, 'num_classes'):
            raise TypeError(f"LGDTeacher needs a dense head with a prior_generator "
                            f"(its strides) and num_classes; the student's "
                            f'{type(head).__name__} has not')
        self.strides = [(float(s[0]), float(s[1])) for s in priors.strides]
        with probing(student):
            feats = student.extract_feat(probe_input(student))
        sizes = [tuple(f.shape[-2:]) for f in feats]
        expected = level_sizes((PROBE_SIZE, PROBE_SIZE), self.strides)
        if sizes != expected:
            raise ValueError(f"LGDTeacher: the student's features have sizes {sizes} on a "
                             f'{PROBE_SIZE}x{PROBE_SIZE} image, but its head\'s strides '
                             f'{self.strides} give {expected}; LGD maps boxes onto the '
                             'levels the head sees')
        widths = {int(f.shape[1]) for f in feats}
        if widths != {head.in_channels}:
            raise ValueError(f"LGDTeacher: the student's head takes {head.in_channels} "
                             f'channels, its features have {sorted(widths)}')
        width = head.in_channels

        encoder_cfg = dict(type='LGDLabelEncoder')
        encoder_cfg.update(label_encoder or {})
        for key, value, source in (('num_classes', classes.num_classes,
                                    f"the student's {type(classes).__name__} num_classes"),
                                   ('embed_dims', embed_dims, 'teacher.embed_dims')):
            given = encoder_cfg.setdefault(key, value)
            if given != value:
                raise ValueError(f'teacher.label_encoder.{key}={given} does not match '
                                 f'{source}={value}')
        self.label_encoder = MODELS.build(encoder_cfg)
        self.appearance_encoder = MODELS.build(
            dict(type='LGDAppearanceEncoder', in_channels=width, embed_dims=embed_dims))
        self.relation_adapter = MODELS.build(
            dict(type='LGDRelationAdapter', embed_dims=embed_dims, num_heads=num_heads))
        self.knowledge_mapper = MODELS.build(
            dict(
                type='LGDKnowledgeMapper',
                embed_dims=embed_dims,
                out_channels=width,
                context=self.label_encoder.context))
        self.student_adapter = MODELS.build(dict(type='LGDStudentAdapter', channels=width))
        self.loss_weight = float(loss_weight)
        self.detach_appearance = bool(detach_appearance)
        self.detach_distill_student = False

    def teacher_feats(self, feats: Sequence[Tensor], gt_instances: Sequence[Any],
                      img_metas: Sequence[dict]) -> List[Tensor]:
        """The teacher pyramid: L maps of the shapes of ``feats``.

        Args:
            feats (Sequence[Tensor]): Student levels (N, C, H_l, W_l).
            gt_instances (Sequence): Per image, with ``bboxes`` (K, 4) in
                input pixels and ``labels`` (K,).
            img_metas (Sequence[dict]): Per image, with ``img_shape`` and
                ``batch_input_shape`` (the padded batch's (H, W), set by
                mmdet's data preprocessor).
        """
        missing = [k for k in ('img_shape', 'batch_input_shape') if k not in img_metas[0]]
        if missing:
            raise KeyError(f'LGDTeacher: the image metainfo lacks {missing} '
                           f'(it has {sorted(img_metas[0])})')
        # Imported here: skd_det.models must import without mmdet
        from mmdet.structures.bbox import get_box_tensor
        pad_shape = tuple(img_metas[0]['batch_input_shape'][:2])
        desc, boxes, counts = self.label_encoder.build_objects(
            [get_box_tensor(g.bboxes) for g in gt_instances], [g.labels for g in gt_instances],
            [m['img_shape'][:2] for m in img_metas], pad_shape)
        labels = self.label_encoder(desc, counts)
        sizes = [tuple(f.shape[-2:]) for f in feats]
        masks = [self.cell_masks(boxes, size, pad_shape) for size in sizes]
        if self.detach_appearance:
            feats = [f.detach() for f in feats]
        appearance = self.appearance_encoder(feats, masks, counts)
        relation = self.relation_adapter(appearance, labels, counts)
        return self.knowledge_mapper(relation, masks, counts, sizes)

    def loss_and_targets(self, student: nn.Module, inputs: Tensor, data_samples: list,
                         student_outs: StudentOutputs) -> Tuple[Dict[str, Any], Dict[str, dict]]:
        """See :meth:`BaseSelfTeacher.loss_and_targets`. Returns the
        student head's losses on the teacher pyramid (``loss_cls``,
        ``loss_bbox``, ...; two-stage: the RPN's and the RoI head's) and the
        pair ``loss_feat`` (adapted student levels vs the detached teacher
        levels)."""
        feats = list(student_outs.feats)
        gt_instances, img_metas, _ = student_outs.loss_inputs
        teacher_feats = self.teacher_feats(feats, gt_instances, img_metas)
        if self.two_stage:
            losses, _, _ = two_stage_loss(student, teacher_feats, student_outs.loss_inputs)
        else:
            head = student.bbox_head
            losses = head.loss_by_feat(*head(teacher_feats), *student_outs.loss_inputs)
        if self.loss_weight != 1.0:
            losses = scale_losses(losses, self.loss_weight)
        adapter_in = [f.detach() for f in feats] if self.detach_distill_student else feats
        pairs = dict(
            loss_feat=dict(
                pred=self.student_adapter(adapter_in), target=[t.detach() for t in teacher_feats]))
        return losses, pairs

    def predict(self,
                student: nn.Module,
                inputs: Tensor,
                data_samples: list,
                rescale: bool = True) -> list:
        """The teacher's detections: the teacher pyramid built from each test
        image's ground truth through the student's head(s), written into
        ``data_samples`` as the student's ``predict`` does. The authors
        evaluate their teacher so (``EVAL_TEACHER``: megvii-research/LGD
        models/distillator.py:75-85, train.py:223-225 and 284-287; their
        test mapper keeps the non-crowd annotations,
        utils/dataset_mapper.py:300-320, boxes resized with the image). The
        test pipeline must load the annotations (mmdet's ``LoadAnnotations``),
        in the original image's pixels (after ``Resize``, as mmdet's test
        pipelines do); they are scaled by ``scale_factor`` here."""
        missing = [i for i, s in enumerate(data_samples) if 'gt_instances' not in s]
        if missing:
            raise KeyError(f'LGDTeacher.predict needs the ground truth of the test images '
                           f'(images {missing} of the batch have no gt_instances): add '
                           "dict(type='LoadAnnotations', with_bbox=True) to the test pipeline")
        from mmdet.models.utils import unpack_gt_instances
        from mmdet.structures.bbox import scale_boxes
        gt_instances, _, img_metas = unpack_gt_instances(data_samples)
        # mmdet's test pipelines load the annotations after Resize: the boxes are in the
        # original image's pixels, the features in the resized input's
        gt_in_input = [
            g.new(bboxes=scale_boxes(g.bboxes, m['scale_factor']), labels=g.labels)
            for g, m in zip(gt_instances, img_metas)
        ]
        feats = self.teacher_feats(list(student.extract_feat(inputs)), gt_in_input, img_metas)
        if self.two_stage:
            proposals = student.rpn_head.predict(feats, data_samples, rescale=False)
            results = student.roi_head.predict(feats, proposals, data_samples, rescale=rescale)
        else:
            results = student.bbox_head.predict(feats, data_samples, rescale=rescale)
        return student.add_pred_to_datasample(data_samples, results)
