# Copyright (c) skd_det contributors.
from typing import List

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.segmentors import BaseSegmentor, EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList, add_prefix
from torch import Tensor

from .base import SelfDistillMixin, StudentOutputs


@MODELS.register_module()
class SelfDistillSegmentor(SelfDistillMixin, BaseSegmentor):
    """Self-knowledge distillation around an unchanged mmseg segmentor.

    The mmseg counterpart of ``SelfDistillDetector``: ``self.student``
    (``student.*``) is the base segmentor, ``self.teacher`` (``teacher.*``)
    the training-only teacher part; ``predict``, ``_forward`` and
    ``encode_decode`` are the student's.

    Training losses: the student's own (``decode.loss_ce``, ``decode.acc_seg``,
    ``aux.loss_ce``, ..., computed exactly as ``EncoderDecoder.loss`` does),
    the teacher part's as ``teacher.<key>`` (``teacher.decode.loss_ce``), and
    ``distill.<name>`` per entry of ``distill_losses``, scaled by
    ``distill_weight_scale``.

    Supported students: ``EncoderDecoder`` (and subclasses keeping its
    ``loss``) with one decode head using mmseg's standard head ``loss`` (FCN,
    PSPNet, DeepLabV3(+), UPerNet, ...). ``CascadeEncoderDecoder`` and
    other segmentors are rejected at build.

    Args:
        student (dict): The base segmentor's config, unmodified.
        teacher (dict): The teacher part's config, e.g.
            ``dict(type='FRSKDSegTeacher', ...)``.
        distill_losses (dict, optional): ``{pair name: loss config}``, e.g.
            ``dict(loss_feat=dict(type='AttentionTransferLoss',
            loss_weight=50.), loss_kd=dict(type='PixelKLLoss'))``.
        data_preprocessor (dict, optional): Defaults to the student's.
        init_cfg (dict, optional): mmengine init config.
    """

    _registry = MODELS  # builds the student and the teacher part (SelfDistillMixin)

    def _check_student(self, student) -> None:
        cls = type(student)
        head = getattr(student, 'decode_head', None)
        ok = (
            isinstance(student, EncoderDecoder) and cls.loss is EncoderDecoder.loss
            and cls.extract_feat is EncoderDecoder.extract_feat
            and isinstance(head, BaseDecodeHead) and type(head).loss is BaseDecodeHead.loss)
        if not ok:
            raise TypeError(f'SelfDistillSegmentor wraps EncoderDecoder segmentors with '
                            f'one decode head and mmseg\'s standard loss (FCN, PSPNet, '
                            f'DeepLabV3, UPerNet, ...); the student {cls.__name__} is not '
                            f'one (CascadeEncoderDecoder and others are not supported)')

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Student losses + ``teacher.*`` + ``distill.*`` losses.

        Args:
            inputs (Tensor): Images (N, 3, H, W), preprocessed.
            data_samples (list[:obj:`SegDataSample`]): With ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: The loss components.
        """
        student = self.student
        backbone_feats = student.backbone(inputs)
        feats = student.neck(backbone_feats) if student.with_neck else backbone_feats
        seg_logits = student.decode_head(feats)
        losses = add_prefix(student.decode_head.loss_by_feat(seg_logits, data_samples), 'decode')
        if student.with_auxiliary_head:
            losses.update(student._auxiliary_head_forward_train(feats, data_samples))
        outs = StudentOutputs(
            backbone_feats=backbone_feats,
            feats=feats,
            head_outs=seg_logits,
            loss_inputs=(data_samples, ))
        return self._merge_losses(losses, inputs, data_samples, outs)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """The student's predictions (the teacher part is not run)."""
        return self.student.predict(inputs, data_samples)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        """The student's raw decode-head logits."""
        return self.student._forward(inputs, data_samples)

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """The student's features."""
        return self.student.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """The student's logits at input size."""
        return self.student.encode_decode(inputs, batch_img_metas)
