# Copyright (c) skd_det contributors.
from typing import List, Tuple, Union

from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.detectors import BaseDetector, SingleStageDetector
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import OptSampleList, SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from .base import SelfDistillMixin, StudentOutputs, resolve_data_preprocessor


@MODELS.register_module()
class SelfDistillDetector(SelfDistillMixin, BaseDetector):
    """Self-knowledge distillation around an unchanged mmdet detector.

    The student is built from its own config and kept whole as
    ``self.student`` (state-dict keys ``student.*``); a training-only teacher
    part (``teacher.*``) and distillation losses come on top. ``predict`` and
    ``_forward`` are the student's, so test results are the base model's and
    ``tools/model_converters/export_student.py`` keeps ``student.*`` alone.

    Training losses: the student's own (``loss_cls``, ``loss_bbox``, ...,
    computed exactly as its ``loss()`` does), the teacher part's task losses
    as ``teacher.<key>``, and ``distill.<name>`` for each entry of
    ``distill_losses`` scaled by ``distill_weight_scale`` (see
    :class:`~skd_det.models.distillers.base.SelfDistillMixin`).

    Supported students: single-stage detectors with a dense head whose
    ``loss()`` is mmdet's ``SingleStageDetector.loss`` (backbone -> neck ->
    ``bbox_head.loss``): RetinaNet, FCOS, ATSS, GFL, YOLOX, ... Two-stage
    detectors and DETR-like models are rejected at build.

    Args:
        student (dict): The base detector's config, unmodified (e.g. the
            whole ``model`` of a RetinaNet config).
        teacher (dict): The teacher part's config, e.g.
            ``dict(type='FRSKDDetTeacher', ...)``; built with the student
            (see :class:`~skd_det.models.distillers.base.BaseSelfTeacher`).
        distill_losses (dict, optional): ``{pair name: loss config}``, names
            among the teacher's ``distill_pairs``, e.g.
            ``dict(loss_feat=dict(type='AttentionTransferLoss',
            loss_weight=100.), loss_kd=dict(type='SigmoidKDLoss'))``.
        data_preprocessor (dict, optional): Defaults to the student's.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 student: ConfigType,
                 teacher: ConfigType,
                 distill_losses: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=resolve_data_preprocessor(
                student, data_preprocessor),
            init_cfg=init_cfg)
        self._init_self_distill(MODELS, student, teacher, distill_losses)

    def _check_student(self, student) -> None:
        cls = type(student)
        ok = (
            isinstance(student, SingleStageDetector)
            and cls.loss is SingleStageDetector.loss
            and cls.extract_feat is SingleStageDetector.extract_feat
            and isinstance(getattr(student, 'bbox_head', None), BaseDenseHead)
            and type(student.bbox_head).loss is BaseDenseHead.loss)
        if not ok:
            raise TypeError(
                f'SelfDistillDetector wraps single-stage detectors with a '
                f'dense head and mmdet\'s standard loss (RetinaNet, FCOS, '
                f'ATSS, GFL, YOLOX, ...); the student {cls.__name__} is not '
                f'one (two-stage and DETR-like detectors are not supported)')

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict:
        """Student losses + ``teacher.*`` + ``distill.*`` losses.

        Args:
            batch_inputs (Tensor): Images (N, 3, H, W), preprocessed.
            batch_data_samples (list[:obj:`DetDataSample`]): Ground truth.

        Returns:
            dict[str, Tensor | list[Tensor]]: The loss components.
        """
        student = self.student
        backbone_feats = student.backbone(batch_inputs)
        feats = student.neck(
            backbone_feats) if student.with_neck else backbone_feats
        head_outs = student.bbox_head(feats)
        gt_instances, gt_instances_ignore, img_metas = unpack_gt_instances(
            batch_data_samples)
        loss_inputs = (gt_instances, img_metas, gt_instances_ignore)
        losses = student.bbox_head.loss_by_feat(*head_outs, *loss_inputs)
        outs = StudentOutputs(
            backbone_feats=backbone_feats,
            feats=feats,
            head_outs=head_outs,
            loss_inputs=loss_inputs)
        return self._merge_losses(losses, batch_inputs, batch_data_samples,
                                  outs)

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """The student's predictions (the teacher part is not run)."""
        return self.student.predict(
            batch_inputs, batch_data_samples, rescale=rescale)

    def _forward(self,
                 batch_inputs: Tensor,
                 batch_data_samples: OptSampleList = None
                 ) -> Tuple[List[Tensor]]:
        """The student's raw head outputs."""
        return self.student._forward(batch_inputs, batch_data_samples)

    def extract_feat(self, batch_inputs: Tensor) -> Union[Tuple[Tensor],
                                                           List[Tensor]]:
        """The student's features."""
        return self.student.extract_feat(batch_inputs)
