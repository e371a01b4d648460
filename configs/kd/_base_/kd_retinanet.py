# Classic knowledge distillation from a trained, frozen teacher ("Distilling the Knowledge in a
# Neural Network", Hinton et al. 2015) on a dense single-stage mmdet detector: the positive
# control of the self-distillation studies (a teacher known to be ahead of the student, issue 27).
# A leaf lists [student config, this file] as _base_ and sets
#   model = dict(_base_.kd, _delete_=True, student=_base_.model,
#                teacher=dict(_base_.kd.teacher, config=TEACHER_CONFIG))
# Train the teacher with TEACHER_CONFIG first and pass --cfg-options model.teacher.checkpoint=PATH
# (without one it keeps its random initialisation and a warning is logged).
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
kd = dict(
    type='SelfDistillDetector',
    data_preprocessor=None,  # the student's
    teacher=dict(type='FrozenTeacher', checkpoint=None, kd_avg_factor='num_pos'),
    # the focal form of sigmoid KD, normalised by the positive anchors as the focal loss is
    # (no published dense setting; configs/kd/README.md)
    distill_losses=dict(loss_kd=dict(type='QualityFocalKDLoss', beta=2.0, loss_weight=1.0)))
