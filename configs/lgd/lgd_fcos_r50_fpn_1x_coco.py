# LGD (Zhang et al., AAAI 2022) on FCOS R50-FPN (caffe-style R50, GroupNorm head), COCO 2017, 1x,
# 8 GPUs x 2 images. The student is exactly configs/fcos/fcos_r50_fpn_1x_coco.py's model; the
# label-guided teacher shares the FCOS head (its classification, box and centerness losses are
# the teacher.* losses) and exists only in training.
_base_ = ['../fcos/fcos_r50_fpn_1x_coco.py', './_base_/lgd_retinanet.py']
model = dict(
    _base_.lgd,
    _delete_=True,
    student=_base_.model,
    # authors' FCOS R50 config: no context object (ADD_CONTEXT_BOX: False)
    teacher=dict(_base_.lgd.teacher, label_encoder=dict(context=False)))
# authors: per-element gradient clipping at 1.0 (replaces the baseline's norm clipping at 35)
optim_wrapper = dict(clip_grad=dict(_delete_=True, type='value', clip_value=1.0))
