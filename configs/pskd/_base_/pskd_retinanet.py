# PS-KD (Kim et al., ICCV 2021) teacher part, loss and schedule for a RetinaNet-like student
# (anchor head, sigmoid classifier). A leaf config lists [student config, this file] as _base_
# and sets
#   model = dict(_base_.pskd, _delete_=True, student=_base_.model)
# (mmengine forbids a key, e.g. `model`, in two bases, hence the separate names).
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
pskd = dict(
    type='SelfDistillDetector',
    # None: the student's preprocessor (the Runner fills a top-level `data_preprocessor` into
    # the model config only where the key is missing)
    data_preprocessor=None,
    # the authors' alpha_T (lgcnsai/PS-KD-Pytorch main.py:69)
    teacher=dict(type='PSKDDetTeacher', alpha_T=0.8),
    # replaces the student's loss_cls: RetinaNet's focal loss (gamma 2, alpha 0.25, weight 1) on the
    # mixed targets; with hard targets (the first epoch) it is exactly the student's loss_cls
    distill_losses=dict(
        loss_cls=dict(type='SoftTargetFocalLoss', gamma=2.0, alpha=0.25, loss_weight=1.0)))
# alpha_t = alpha_T * (epoch + 1) / max_epochs; snapshot refreshed after every epoch
custom_hooks = [dict(type='PSKDHook')]
