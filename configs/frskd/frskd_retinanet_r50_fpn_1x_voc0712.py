# FRSKD (Ji et al., CVPR 2021) on RetinaNet R50-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images.
# The student is exactly configs/retinanet/retinanet_r50_fpn_1x_voc0712.py's model; the
# self-teacher (BiFPN over P3..P7 + its own copy of the head) and its losses exist only in
# training: tools/model_converters/export_student.py writes the plain RetinaNet.
# Detection has no published FRSKD defaults; these are this project's (configs/frskd/README.md).
_base_ = '../retinanet/retinanet_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='SelfDistillDetector',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=dict(
        type='FRSKDDetTeacher',
        neck=dict(type='BiFPN', out_channels=256),
        tap='neck',
        shared_head=False,
        kd_avg_factor='mean'),
    distill_losses=dict(
        loss_feat=dict(type='AttentionTransferLoss', loss_weight=100.0),
        loss_kd=dict(type='SigmoidKDLoss', temperature=1.0, loss_weight=100.0)))
# distillation off while the teacher learns (first 2/3), then a sigmoid ramp (the authors'
# segmentation schedule)
custom_hooks = [dict(type='DistillWarmupHook', begin=2 / 3, end=1.0)]
