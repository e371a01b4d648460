# LGD (Zhang et al., AAAI 2022) on RetinaNet R50-FPN, COCO 2017, 1x, 8 GPUs x 2 images.
# The student is exactly configs/retinanet/retinanet_r50_fpn_1x_coco.py's model; the
# label-guided teacher (label encoder, appearance encoder, relation adapter, knowledge mapper,
# student-side adapter; 10.07M parameters) shares the student's head and exists only in
# training: tools/model_converters/export_student.py writes the plain RetinaNet.
_base_ = '../retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='SelfDistillDetector',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    # authors' RetinaNet configs: context object on, 256-d embeddings, 8 heads
    teacher=dict(type='LGDTeacher', label_encoder=dict(context=True), embed_dims=256, num_heads=8),
    distill_losses=dict(loss_feat=dict(type='InstanceNormMSELoss', loss_weight=1.0)))
# authors: per-element gradient clipping at 1.0
optim_wrapper = dict(clip_grad=dict(type='value', clip_value=1.0))
# authors' phases (2x = 180k iterations: adapter warm-up 30k, frozen backbone 20k) as
# fractions of the run
custom_hooks = [dict(type='LGDPhaseHook', adapter_warmup=1 / 6, freeze_backbone=1 / 9)]
# DDP: the frozen backbone gets no gradient in the first phase
find_unused_parameters = True
