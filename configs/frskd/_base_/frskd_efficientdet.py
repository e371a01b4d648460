# FRSKD (Ji et al., CVPR 2021) on a dense single-stage detector whose config already imports
# skd_det (EfficientDet) and may have its own hooks (EMA): the wrapper and the schedule hook
# only. The self-teacher is a BiFPN of the student's neck width over its levels + a copy of its
# head (FRSKDDetTeacher's defaults); attention transfer (beta=100) and sigmoid KD at T=1
# (alpha=100): detection has no published FRSKD defaults, these are the project's
# (configs/frskd/README.md). A leaf wraps its student with
#   _base_ = [<student config>, './_base_/frskd_efficientdet.py']
#   model = dict(_base_.frskd, _delete_=True, student=_base_.model)
#   custom_hooks = [*_base_.custom_hooks, *_base_.frskd_hooks]   # or _base_.frskd_hooks
# (mmengine forbids a key, e.g. `model`, in two bases, hence the separate names).
frskd = dict(
    type='SelfDistillDetector',
    # None: the student's preprocessor (the Runner fills a top-level `data_preprocessor` into
    # the model config only where the key is missing)
    data_preprocessor=None,
    # the BiFPN takes the student's neck width and level count; its type is written out so that
    # a --cfg-options override of model.teacher.neck is checked against BiFPN's arguments
    teacher=dict(type='FRSKDDetTeacher', neck=dict(type='BiFPN')),
    distill_losses=dict(
        loss_feat=dict(type='AttentionTransferLoss', loss_weight=100.0),
        loss_kd=dict(type='SigmoidKDLoss', temperature=1.0, loss_weight=100.0)))
# distillation off while the teacher learns (first 2/3), then a sigmoid ramp (the authors'
# segmentation schedule)
frskd_hooks = [dict(type='DistillWarmupHook', begin=2 / 3, end=1.0)]
