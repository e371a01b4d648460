# LGD (Zhang et al., AAAI 2022) on FCOS R50-FPN (caffe-style R50, GroupNorm head), COCO 2017, 1x,
# 8 GPUs x 2 images. The student is exactly configs/fcos/fcos_r50_fpn_1x_coco.py's model; the
# label-guided teacher shares the FCOS head (its classification, box and centerness losses are
# the teacher.* losses) and exists only in training.
_base_ = '../fcos/fcos_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='SelfDistillDetector',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    # authors' FCOS R50 config: no context object (ADD_CONTEXT_BOX: False), 256-d, 8 heads
    teacher=dict(type='LGDTeacher', label_encoder=dict(context=False), embed_dims=256, num_heads=8),
    distill_losses=dict(loss_feat=dict(type='InstanceNormMSELoss', loss_weight=1.0)))
# authors: per-element gradient clipping at 1.0 (replaces the baseline's norm clipping at 35)
optim_wrapper = dict(clip_grad=dict(_delete_=True, type='value', clip_value=1.0))
# authors' phases (30k adapter warm-up, 20k frozen backbone of 180k iterations) as fractions
custom_hooks = [dict(type='LGDPhaseHook', adapter_warmup=1 / 6, freeze_backbone=1 / 9)]
# DDP: the frozen backbone gets no gradient in the first phase
find_unused_parameters = True
