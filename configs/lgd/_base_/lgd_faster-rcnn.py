# LGD (Zhang et al., AAAI 2022) on a two-stage detector, as the authors run Faster R-CNN
# (megvii-research/LGD configs/Distillation/FasterRCNN/faster_rcnn_R_50_2xMS_*.yaml): no context
# object (ADD_CONTEXT_BOX: False), appearance features detached (DETACH_APPEARANCE_EMBED: True),
# 256-d embeddings and 8 heads, the teacher pyramid through the student's own RPN and RoI head,
# feature loss weight 1.0 (LAMBDA). A leaf wraps its student with
#   _base_ = [<student config>, '../lgd/_base_/lgd_faster-rcnn.py']
#   model = dict(_base_.lgd, _delete_=True, student=_base_.model)
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
lgd = dict(
    type='SelfDistillDetector',
    # None: the student's preprocessor (the Runner fills a top-level `data_preprocessor` into
    # the model config only where the key is missing)
    data_preprocessor=None,
    teacher=dict(
        type='LGDTeacher',
        label_encoder=dict(context=False),
        embed_dims=256,
        num_heads=8,
        detach_appearance=True),
    distill_losses=dict(loss_feat=dict(type='InstanceNormMSELoss', loss_weight=1.0)))
# authors' phases (PRE_NONDISTILL_ITERS 30k, PRE_FREEZE_STUDENT_BACKBONE_ITERS 20k of 180k) as
# fractions of the run
custom_hooks = [dict(type='LGDPhaseHook', adapter_warmup=1 / 6, freeze_backbone=1 / 9)]
# DDP: the frozen backbone gets no gradient in the first phase
find_unused_parameters = True
