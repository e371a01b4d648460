# LGD (Zhang et al., AAAI 2022) on a dense single-stage detector, as the authors run RetinaNet
# (megvii-research/LGD configs/Distillation/RetinaNet/*.yaml): context object on, 256-d
# embeddings, 8 heads, the teacher pyramid through the student's own head (it exists only in
# training: tools/model_converters/export_student.py writes the plain detector), feature loss
# weight 1.0. A leaf wraps its student with
#   _base_ = [<student config>, './_base_/lgd_retinanet.py']
#   model = dict(_base_.lgd, _delete_=True, student=_base_.model)
# (mmengine forbids a key, e.g. `model`, in two bases, hence the separate names).
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
lgd = dict(
    type='SelfDistillDetector',
    # None: the student's preprocessor (the Runner fills a top-level `data_preprocessor` into
    # the model config only where the key is missing)
    data_preprocessor=None,
    teacher=dict(type='LGDTeacher', label_encoder=dict(context=True), embed_dims=256, num_heads=8),
    distill_losses=dict(loss_feat=dict(type='InstanceNormMSELoss', loss_weight=1.0)))
# the authors' phases (PRE_NONDISTILL_ITERS 30k adapter warm-up, PRE_FREEZE_STUDENT_BACKBONE_ITERS
# 20k frozen backbone of 180k iterations) as fractions of the run
custom_hooks = [dict(type='LGDPhaseHook', adapter_warmup=1 / 6, freeze_backbone=1 / 9)]
# DDP: the frozen backbone gets no gradient in the first phase
find_unused_parameters = True
