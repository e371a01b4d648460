# Copyright (c) skd_det contributors.
from typing import List, Optional, Tuple, Union

from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.detectors import BaseDetector, SingleStageDetector, TwoStageDetector
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import OptSampleList, SampleList
from torch import Tensor

from .base import SelfDistillMixin, StudentOutputs
from .two_stage import two_stage_loss


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

    Supported students, each with mmdet's own ``loss()``:

    - single-stage detectors with a dense head (``SingleStageDetector.loss``:
      backbone -> neck -> ``bbox_head.loss``): RetinaNet, FCOS, ATSS, GFL,
      YOLOX, ...;
    - two-stage detectors with an RPN and a standard RoI head
      (``TwoStageDetector.loss`` with ``StandardRoIHead.loss``): Faster
      R-CNN, Mask R-CNN, ... The wrapper runs those steps itself
      (:func:`~skd_det.models.distillers.two_stage.two_stage_loss`, same
      order, same sampler draws) to hand the teacher part the proposals,
      the sampled RoIs and the RoI head's outputs on them
      (``StudentOutputs.rois``). Cascade-like heads (their own ``loss``)
      are rejected.

    DETR-like models are rejected at build.

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
        eval_teacher (bool): ``predict`` returns the teacher part's
            predictions instead of the student's, for analysis (LGD's
            label-guided teacher through the student's head, as the authors'
            ``MODEL.DISTILLATOR.EVAL_TEACHER``); only teacher parts with a
            ``predict`` method. Usually set at test time:
            ``tools/test.py CONFIG CKPT --cfg-options model.eval_teacher=True``.
            Defaults to False.
        init_cfg (dict, optional): mmengine init config.
    """

    _registry = MODELS  # builds the student and the teacher part (SelfDistillMixin)

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 distill_losses: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 eval_teacher: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(student, teacher, distill_losses, data_preprocessor, init_cfg)
        if eval_teacher and not callable(getattr(self.teacher, 'predict', None)):
            raise TypeError(f'SelfDistillDetector.eval_teacher: {type(self.teacher).__name__} '
                            'makes no predictions of its own (it has no predict method)')
        self.eval_teacher = bool(eval_teacher)

    def _check_student(self, student) -> None:
        cls = type(student)
        if isinstance(student, TwoStageDetector):
            self._check_two_stage(student)
            return
        ok = (
            isinstance(student, SingleStageDetector) and cls.loss is SingleStageDetector.loss
            and cls.extract_feat is SingleStageDetector.extract_feat
            and isinstance(getattr(student, 'bbox_head', None), BaseDenseHead)
            and type(student.bbox_head).loss is BaseDenseHead.loss)
        if not ok:
            raise TypeError(f'SelfDistillDetector wraps single-stage detectors with a '
                            f'dense head and mmdet\'s standard loss (RetinaNet, FCOS, '
                            f'ATSS, GFL, YOLOX, ...) and two-stage detectors with an RPN '
                            f'and a standard RoI head (Faster R-CNN, Mask R-CNN); the '
                            f'student {cls.__name__} is neither (DETR-like detectors are '
                            f'not supported)')

    @staticmethod
    def _check_two_stage(student) -> None:
        name = type(student).__name__
        if (type(student).loss is not TwoStageDetector.loss
                or type(student).extract_feat is not TwoStageDetector.extract_feat):
            raise TypeError(f'SelfDistillDetector: the two-stage student {name} '
                            f'overrides loss() or extract_feat(); only mmdet\'s '
                            f'TwoStageDetector steps are supported')
        rpn = getattr(student, 'rpn_head', None)
        if not (isinstance(rpn, BaseDenseHead)
                and type(rpn).loss_and_predict is BaseDenseHead.loss_and_predict):
            raise TypeError(f'SelfDistillDetector: student.rpn_head of {name} must be a '
                            f'dense head with mmdet\'s loss_and_predict, got '
                            f'{type(rpn).__name__}')
        roi = getattr(student, 'roi_head', None)
        if getattr(roi, 'bbox_head', None) is None:
            raise TypeError(f'SelfDistillDetector: student.roi_head.bbox_head is missing '
                            f'({name} with roi_head {type(roi).__name__}); the wrapper '
                            f'needs a standard RoI head with a bbox_head')
        if not isinstance(roi, StandardRoIHead) or type(roi).loss is not StandardRoIHead.loss:
            raise TypeError(f'SelfDistillDetector: student.roi_head must be a '
                            f'StandardRoIHead with its own loss() (Faster/Mask R-CNN); '
                            f'{name} has {type(roi).__name__} (cascade-like heads are '
                            f'not supported)')

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """Student losses + ``teacher.*`` + ``distill.*`` losses.

        Args:
            batch_inputs (Tensor): Images (N, 3, H, W), preprocessed.
            batch_data_samples (list[:obj:`DetDataSample`]): Ground truth.

        Returns:
            dict[str, Tensor | list[Tensor]]: The loss components.
        """
        student = self.student
        backbone_feats = student.backbone(batch_inputs)
        feats = student.neck(backbone_feats) if student.with_neck else backbone_feats
        gt_instances, gt_instances_ignore, img_metas = unpack_gt_instances(batch_data_samples)
        loss_inputs = (gt_instances, img_metas, gt_instances_ignore)
        rois = None
        if isinstance(student, TwoStageDetector):
            losses, head_outs, rois = two_stage_loss(student, feats, loss_inputs)
        else:
            head_outs = student.bbox_head(feats)
            losses = student.bbox_head.loss_by_feat(*head_outs, *loss_inputs)
        outs = StudentOutputs(
            backbone_feats=backbone_feats,
            feats=feats,
            head_outs=head_outs,
            loss_inputs=loss_inputs,
            rois=rois)
        return self._merge_losses(losses, batch_inputs, batch_data_samples, outs)

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """The student's predictions (the teacher part is not run), or the
        teacher part's with ``eval_teacher``."""
        if self.eval_teacher:
            return self.teacher.predict(
                self.student, batch_inputs, batch_data_samples, rescale=rescale)
        return self.student.predict(batch_inputs, batch_data_samples, rescale=rescale)

    def _forward(self,
                 batch_inputs: Tensor,
                 batch_data_samples: OptSampleList = None) -> Tuple[List[Tensor]]:
        """The student's raw head outputs."""
        return self.student._forward(batch_inputs, batch_data_samples)

    def extract_feat(self, batch_inputs: Tensor) -> Union[Tuple[Tensor], List[Tensor]]:
        """The student's features."""
        return self.student.extract_feat(batch_inputs)
